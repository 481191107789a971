/**
 * Value across chains with two communities' nodes, as operators run them: B's community funds A's
 * correspondent account on B (`distpos fund`), B's node carries the reserve report to A, then a user
 * on A sends value to an account on B (`distpos send --amount`), carried by A's node. Each node
 * finds the other's checkpoints through the routing table's entry nodes. Plus the staking commands.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { fundedWallets, ONE, type TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  newRedis,
  serveNetwork,
  testPrefix,
  waitFor,
  type ServedNetwork,
} from "./helpers/net.js";
import { freePort, killAll, runCli } from "./helpers/proc.js";
import { fundedKey, nodeConfigFile, runNode } from "./helpers/scenario.js";

describe("relayer e2e: value between two communities' nodes", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let prefixA: string;
  let prefixB: string;
  let a: TestChain;
  let b: TestChain;

  before(async function () {
    net = await serveNetwork({ confirmations: 1, intervalMiningMs: 100 });
    [a, b] = net.chains as [TestChain, TestChain];
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(() => {
    prefixA = testPrefix("valueA");
    prefixB = testPrefix("valueB");
  });
  afterEach(async function () {
    await killAll();
    await clearPrefix(redis, prefixA);
    await clearPrefix(redis, prefixB);
  });

  it("funds a correspondent account, carries the reserve report, then a value transfer paid from it", async function () {
    const [portA, portB] = [await freePort(), await freePort()];
    const codeA = a.suite.addresses.chainCode;
    const codeB = b.suite.addresses.chainCode;
    net.chainEntries[codeA]!.nodes = [`http://127.0.0.1:${portA}`];
    net.chainEntries[codeB]!.nodes = [`http://127.0.0.1:${portB}`];
    const roles = ["indexer", "api", "attester", "relayer"] as (
      "indexer" | "api" | "attester" | "relayer"
    )[];
    // Each community's node knows its home chain's RPC only and delivers into it what the other
    // hands it as bundles (A's node never holds a key of B's attesters, nor B's of A's); the CLI
    // works from the same home-only configs.
    const nodeA = nodeConfigFile(
      net,
      codeA,
      prefixA,
      { attester: a.attesters[0]!.privateKey as Hex, relayer: await fundedKey(net) },
      {
        roles,
        api: { host: "127.0.0.1", port: portA },
        relayer: { handover: "bundles" },
      },
    );
    const nodeB = nodeConfigFile(
      net,
      codeB,
      prefixB,
      { attester: b.attesters[0]!.privateKey as Hex, relayer: await fundedKey(net) },
      {
        roles,
        api: { host: "127.0.0.1", port: portB },
        relayer: { handover: "bundles" },
      },
    );
    await Promise.all([
      runNode("value-a", nodeA.file, nodeA.env),
      runNode("value-b", nodeB.file, nodeB.env),
    ]);

    // B's community posts 50 tokens for A on B; B's bank reports it to A.
    const [funder] = await fundedWallets(b.connection, b.suite, 1, 50n * ONE);
    const funded = await runCli(
      ["-c", nodeB.file, "--json", "fund", codeA, "50", "--key-env", "FUNDER"],
      { FUNDER: funder!.privateKey },
    );
    expect(funded.code, funded.stderr).to.equal(0);
    expect(JSON.parse(funded.stdout)).to.deep.include({
      peer: codeA,
      reserve: (50n * ONE).toString(),
    });
    await waitFor(
      "A's credit view of its reserve on B",
      async () => (await a.suite.bank.creditView(b.suite.code)) === 50n * ONE,
      60_000,
      200,
    );

    // A user on A sends 10 tokens to an account on B.
    const [user] = await fundedWallets(a.connection, a.suite, 1, 10n * ONE);
    const receiver = ethers.Wallet.createRandom().address;
    const to = formatChainAddress({ code: b.suite.code, account: receiver as Hex });
    const sent = await runCli(
      [
        "-c",
        nodeA.file,
        "--json",
        "send",
        to,
        "--amount",
        "10",
        "--text",
        "invoice 42",
        "--key-env",
        "USER",
        "--wait",
        "--timeout",
        "120",
      ],
      { USER: user!.privateKey },
    );
    expect(sent.code, sent.stderr).to.equal(0);
    expect(JSON.parse(sent.stdout)).to.deep.include({
      status: "delivered",
      amount: (10n * ONE).toString(),
    });
    expect(await b.suite.token.balanceOf(receiver)).to.equal(10n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(40n * ONE);
    expect(await a.suite.token.balanceOf(user!.address)).to.equal(0n);

    // More than the credit view: refused on A before any token moves (exit code 3, reason named).
    const [rich] = await fundedWallets(a.connection, a.suite, 1, 100n * ONE);
    const refused = await runCli(
      ["-c", nodeA.file, "send", to, "--amount", "45", "--key-env", "RICH"],
      { RICH: rich!.privateKey },
    );
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.contain(
      `credit of chain ${a.suite.addresses.chainCode} at ${b.suite.addresses.chainCode} is 40 `,
    );
  });

  it("stakes, allocates and unstakes an attester's tokens with the CLI", async function () {
    const { file } = nodeConfigFile(
      net,
      a.suite.addresses.chainCode,
      prefixA,
      {},
      { roles: ["api"] },
    );
    const [attester] = await fundedWallets(a.connection, a.suite, 1, 30n * ONE);
    const env = { ATT: attester!.privateKey };
    const staked = await runCli(["-c", file, "--json", "stake", "20", "--key-env", "ATT"], env);
    expect(staked.code, staked.stderr).to.equal(0);
    expect(await a.suite.stakingHub.bonded(attester!.address)).to.equal(20n * ONE);
    const allocated = await runCli(
      ["-c", file, "allocate", b.suite.addresses.chainCode, "12.5", "--key-env", "ATT"],
      env,
    );
    expect(allocated.code, allocated.stderr).to.equal(0);
    expect(await a.suite.stakingHub.allocation(attester!.address, b.suite.code)).to.equal(
      (125n * ONE) / 10n,
    );
    const unstaked = await runCli(["-c", file, "unstake", "5", "--key-env", "ATT"], env);
    expect(unstaked.code, unstaked.stderr).to.equal(0);
    expect(await a.suite.stakingHub.freeStake(attester!.address)).to.equal((25n * ONE) / 10n);
    // Nothing matured yet: the revert is named and the exit code says "chain error".
    const early = await runCli(["-c", file, "withdraw", "--key-env", "ATT"], env);
    expect(early.code).to.equal(3);
    expect(early.stderr).to.contain("NothingToWithdraw");
    const tooMuch = await runCli(
      ["-c", file, "allocate", b.suite.addresses.chainCode, "1000", "--key-env", "ATT"],
      env,
    );
    expect(tooMuch.code).to.equal(3);
    expect((await runCli(["-c", file, "stake", "abc", "--key-env", "ATT"], env)).code).to.equal(2);
  });
});
