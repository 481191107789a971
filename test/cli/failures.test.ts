/**
 * The `distpos` CLI run as a process (the built relayer/cli/bin.js) against chains served over
 * JSON-RPC and the real Redis: each failure path prints what is at fault (chain and URL, flag,
 * config field, decoded contract error, amounts in token units) and exits with the documented code
 * (relayer/README.md, "Exit codes").
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { MessagingRecipient__factory } from "../../typechain-types/index.js";
import { suiteAs } from "../../deploy/suite.js";
import { fundedWallets, ONE, relay, type TestChain } from "../helpers/suite.js";
import {
  serveNetwork,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { freePort, killAll, runCli } from "../relayer/helpers/proc.js";

const KEY = "DISTPOS_CLI_TEST_KEY";
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

describe("distpos CLI: failure paths name what is at fault and exit with the documented code", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let a: TestChain;
  let b: TestChain;
  let codeA: string;
  let codeB: string;
  let deadUrl: string;
  let good: string;
  let user: ethers.Wallet;
  let symbol: string;
  const bob = ethers.Wallet.createRandom();

  /** A config for home A over the served network, with `edit` applied to a copy of its chains. */
  const config = (
    edit: (chains: ServedNetwork["chainEntries"]) => void = () => undefined,
    extra: Record<string, unknown> = {},
  ) => {
    const chains = structuredClone(net.chainEntries);
    edit(chains);
    return writeConfigFile({
      home: codeA,
      roles: ["indexer", "api"],
      chains,
      redis: { url: "redis://127.0.0.1:6379", prefix: testPrefix("cli") },
      keys: { user: KEY },
      ...extra,
    });
  };
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { [KEY]: user.privateKey, ...env });

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    codeA = a.suite.addresses.chainCode;
    codeB = b.suite.addresses.chainCode;
    // A's community holds 50 tokens of reserve on B: A's credit there.
    const [treasuryB] = await b.connection.ethers.getSigners();
    const bankB = suiteAs(b.suite, treasuryB!);
    await (await bankB.token.mint(treasuryB!.address, 50n * ONE)).wait();
    await (await bankB.token.approve(b.suite.addresses.bank, 50n * ONE)).wait();
    await (await bankB.bank.fund(a.suite.code, 50n * ONE)).wait();
    await relay(b, a);
    [user] = (await fundedWallets(
      a.connection,
      a.suite,
      1,
      20n * ONE,
    )) as unknown as ethers.Wallet[];
    symbol = await a.suite.token.symbol();
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    good = config();
  });
  after(async function () {
    await killAll();
    await net?.close();
  });

  const to = () => formatChainAddress({ code: b.suite.code, account: bob.address as Hex });

  it("prints its version, and the global options in every command's help", async function () {
    const version = await cli(["--version"]);
    expect(version.code).to.equal(0);
    expect(version.stdout.trim()).to.equal(VERSION);
    for (const command of [
      "send",
      "status",
      "doctor",
      "retry",
      "claim",
      "balance",
      "credit",
      "dlq",
      "mint",
      "requeue",
    ]) {
      const help = await cli([command, "--help"]);
      expect(help.code, command).to.equal(0);
      expect(help.stdout, command)
        .to.contain("Global Options:")
        .and.to.contain("--config <file>")
        .and.to.contain("--json");
    }
  });

  it("send --amount above the balance: refused before any transaction, in token units (exit 3)", async function () {
    const nonce = await a.connection.ethers.provider.getTransactionCount(user.address);
    const r = await cli(["-c", good, "send", to(), "--amount", "30"]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.contain(
      `balance of ${user.address} on chain ${codeA} is 20 ${symbol}, 30 ${symbol} needed`,
    );
    expect(await a.connection.ethers.provider.getTransactionCount(user.address)).to.equal(nonce);
    expect(await a.suite.token.allowance(user.address, a.suite.addresses.bank)).to.equal(0n);
  });

  it("send --amount above the credit: refused before any transaction, naming the route (exit 3)", async function () {
    const [rich] = await fundedWallets(a.connection, a.suite, 1, 100n * ONE);
    const nonce = await a.connection.ethers.provider.getTransactionCount(rich!.address);
    const r = await cli(["-c", good, "send", to(), "--amount", "60"], { [KEY]: rich!.privateKey });
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.contain(
      `credit of chain ${codeA} at ${codeB} is 50 ${symbol}, 60 ${symbol} needed`,
    );
    expect(await a.connection.ethers.provider.getTransactionCount(rich!.address)).to.equal(nonce);
  });

  it("send --amount with more decimals than the token has: a usage error naming the flag (exit 2)", async function () {
    const r = await cli(["-c", good, "send", to(), "--amount", "1.0000000000000000001"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("--amount: 1.0000000000000000001 has more than 18 decimals");
  });

  it("--body that is not hex is refused, pointing at --text (exit 2)", async function () {
    const r = await cli(["-c", good, "send", to(), "--body", "0xZZ"]);
    expect(r.code).to.equal(2);
    expect(r.stderr)
      .to.contain("--body: must be 0x followed by an even number of hex digits")
      .and.to.contain("--text");
    const odd = await cli(["-c", good, "send", to(), "--body", "0x123"]);
    expect(odd.code).to.equal(2);
  });

  it("--timeout that is not a number is refused before anything is sent (exit 2)", async function () {
    const nonce = await a.connection.ethers.provider.getTransactionCount(user.address);
    const r = await cli(["-c", good, "send", to(), "--text", "hi", "--wait", "--timeout", "abc"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--timeout must be a positive number of seconds, got "abc"');
    expect(await a.connection.ethers.provider.getTransactionCount(user.address)).to.equal(nonce);
  });

  it("an unreachable RPC names the chain and the URL and exits 3, for every command (never 'not found')", async function () {
    const dead = config((chains) => (chains[codeA]!.rpc = [deadUrl]));
    const id = `0x${"12".repeat(32)}`;
    for (const args of [
      ["status", id],
      ["send", to(), "--amount", "1"],
      ["send", to(), "--text", "hi"],
      ["balance"],
      ["credit"],
      ["retry", id],
    ]) {
      const r = await cli(["-c", dead, ...args]);
      expect(r.code, `${args[0]}: ${r.stderr}`).to.equal(3);
      expect(r.stderr, args[0]).to.contain(`chain ${codeA}`).and.to.contain(deadUrl);
      expect(r.stderr, args[0]).not.to.contain("not found");
    }
    // With every chain answering, an unknown id is "not found" (exit 5).
    const unknown = await cli(["-c", good, "status", id]);
    expect(unknown.code).to.equal(5);
    expect(unknown.stdout).to.contain("not found on any chain");
  });

  it("dlq with Redis down exits at once, naming redis.url (exit 3)", async function () {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const file = config(undefined, { redis: { url: redisUrl, prefix: "x" } });
    const started = Date.now();
    const r = await cli(["-c", file, "dlq"]);
    expect(Date.now() - started).to.be.lessThan(8_000);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.contain(`redis.url ${redisUrl}`).and.to.contain(file);
    expect(r.stderr).not.to.match(/\n\s+at /); // no stack trace
  });

  it("status --tx finds a message by its dispatch transaction; --wait shows one progress line and times out (exit 4)", async function () {
    const sent = await cli(["-c", good, "--json", "send", to(), "--text", "find me"]);
    expect(sent.code, sent.stderr).to.equal(0);
    const { id, tx } = JSON.parse(sent.stdout) as { id: string; tx: string };
    const byTx = await cli(["-c", good, "--json", "status", "--tx", tx]);
    expect(byTx.code, byTx.stderr).to.equal(6); // pending: nobody relays here
    expect(JSON.parse(byTx.stdout)).to.deep.include({ id });
    const human = await cli(["-c", good, "status", "--tx", tx]);
    expect(human.stdout).to.contain(`message ${id}`).and.to.contain("status pending");

    const waited = await cli([
      "-c",
      good,
      "send",
      to(),
      "--text",
      "wait",
      "--wait",
      "--timeout",
      "3",
    ]);
    expect(waited.code, waited.stderr).to.equal(4);
    const progress = waited.stderr.split("\n").filter((l) => l.startsWith("waiting for delivery"));
    expect(progress, waited.stderr).to.deep.equal([`waiting for delivery on ${codeB}: dispatched`]);
    expect(waited.stdout).to.contain("not delivered after 3s");
  });

  it("balance and credit print token units", async function () {
    const balance = await cli(["-c", good, "balance", "--chain", codeA]);
    expect(balance.code, balance.stderr).to.equal(0);
    expect(balance.stdout).to.match(new RegExp(`${codeA}\\s+\\d+(\\.\\d+)? ${symbol}, gas \\d`));
    const credit = await cli(["-c", good, "credit"]);
    expect(credit.code, credit.stderr).to.equal(0);
    expect(credit.stdout).to.match(
      new RegExp(`${codeA} -> ${codeB}: route active; credit \\d+(\\.\\d+)? ${symbol}`),
    );
    expect(credit.stdout).to.contain("attesters' headroom");
  });

  it("a failed handler: status says how to retry (exit 7), retry runs it again (exit 0); claim of no pending payout is decoded (exit 3)", async function () {
    await b.connection.networkHelpers.setBalance(user.address, 10n ** 20n); // gas for retry on B
    const [deployer] = await b.connection.ethers.getSigners();
    const recipient = await new MessagingRecipient__factory(deployer).deploy();
    await (await recipient.setFailing(true)).wait();
    const target = formatChainAddress({
      code: b.suite.code,
      account: (await recipient.getAddress()) as Hex,
    });
    const sent = await cli(["-c", good, "--json", "send", target, "--body", "0x01"]);
    expect(sent.code, sent.stderr).to.equal(0);
    const { id } = JSON.parse(sent.stdout) as { id: string };
    await relay(a, b);
    const failed = await cli(["-c", good, "status", id]);
    expect(failed.code).to.equal(7);
    expect(failed.stdout)
      .to.contain("status failed on")
      .and.to.contain("HandlerReverted")
      .and.to.contain(`distpos retry ${id}`);
    const still = await cli(["-c", good, "retry", id]);
    expect(still.code).to.equal(3);
    expect(still.stderr)
      .to.contain("Inbox.retry on chain")
      .and.to.contain(`error ${ethers.id("Refused(uint256)").slice(0, 10)}, not one of the DistPOS`)
      .and.to.contain(ethers.toBeHex(42, 32).slice(2));
    await (await recipient.setFailing(false)).wait();
    const retried = await cli(["-c", good, "retry", id]);
    expect(retried.code, retried.stderr).to.equal(0);
    expect(retried.stdout).to.contain("status delivered");
    expect(await recipient.handled()).to.equal(1n);
    const claim = await cli(["-c", good, "claim", id]);
    expect(claim.code).to.equal(3);
    expect(claim.stderr).to.contain(
      `CorrespondentBank.claim on chain ${codeB} reverted: NotPending(id ${id}`,
    );
  });

  it("node names every missing key at once, with the config file, before starting anything (exit 2)", async function () {
    const file = config(undefined, {
      roles: ["indexer", "api", "attester", "relayer", "watcher"],
      keys: {
        attester: "DISTPOS_CLI_TEST_NO_ATTESTER",
        relayer: "DISTPOS_CLI_TEST_NO_RELAYER",
        watcher: "DISTPOS_CLI_TEST_NO_WATCHER",
        user: KEY,
      },
    });
    const r = await cli(["-c", file, "node"]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr)
      .to.contain(file)
      .and.to.contain("keys.attester: environment variable DISTPOS_CLI_TEST_NO_ATTESTER")
      .and.to.contain("keys.relayer: environment variable DISTPOS_CLI_TEST_NO_RELAYER")
      .and.to.contain("keys.watcher: environment variable DISTPOS_CLI_TEST_NO_WATCHER");
  });

  it("doctor: one line per check, ok or problem with what to do; exit 3 when one fails", async function () {
    const ok = await cli(["-c", good, "doctor"]);
    expect(ok.stdout).to.match(/^ok +config: /m);
    expect(ok.stdout).to.match(
      new RegExp(`^ok +keys\\.user: ${KEY} holds the key of ${user.address}`, "m"),
    );
    expect(ok.stdout).to.match(new RegExp(`^ok +chains\\.${codeA}\\.rpc http`, "m"));
    expect(ok.stdout).to.match(/^ok +redis\.url: redis:\/\/127\.0\.0\.1:6379 answers/m);
    expect(ok.stdout).to.match(new RegExp(`^ok +route ${codeA} -> ${codeB} credit: \\d`, "m"));
    expect(ok.stdout).to.match(new RegExp(`^ok +route ${codeA} -> ${codeB} headroom: `, "m"));
    expect(ok.code, ok.stdout).to.equal(0);

    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const broken = config((chains) => (chains[codeB]!.rpc = [deadUrl]), {
      redis: { url: redisUrl, prefix: "x" },
      keys: { user: "DISTPOS_CLI_TEST_ABSENT" },
    });
    const bad = await cli(["-c", broken, "doctor"]);
    expect(bad.code).to.equal(3);
    expect(bad.stdout).to.match(new RegExp(`^problem  chains\\.${codeB}\\.rpc ${deadUrl}: `, "m"));
    expect(bad.stdout).to.contain(`-> start the endpoint or fix chains.${codeB}.rpc`);
    expect(bad.stdout).to.match(
      /^problem  keys\.user: environment variable DISTPOS_CLI_TEST_ABSENT is empty or not set/m,
    );
    expect(bad.stdout).to.match(new RegExp(`^problem  redis\\.url: redis\\.url ${redisUrl}`, "m"));
    expect(bad.stdout).to.match(/\d+ problems\n$/);
  });
});
