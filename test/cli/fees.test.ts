/**
 * `distpos quote`, `send --max-fee` and `distpos topup` run as processes (the built CLI) against
 * chains served over JSON-RPC: the happy paths print the fee the Outbox quotes and takes, and each
 * failure path exits with the documented code (relayer/README.md, "Exit codes").
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { suiteAs } from "../../deploy/suite.js";
import { fundedWallets, ONE, publishDeliveryPrice, type TestChain } from "../helpers/suite.js";
import {
  serveNetwork,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { killAll, runCli } from "../relayer/helpers/proc.js";

const KEY = "DISTPOS_CLI_FEES_KEY";
const PER_GAS = 2_000_000_000_000n;
const BASE = 10n ** 16n;

describe("distpos CLI: quote, send --max-fee, topup", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let a: TestChain;
  let b: TestChain;
  let file: string;
  let user: ethers.Wallet;
  const bob = ethers.Wallet.createRandom();
  const to = () => formatChainAddress({ code: b.suite.code, account: bob.address as Hex });
  const cli = (args: string[]) => runCli(["-c", file, ...args], { [KEY]: user.privateKey });
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, string>;

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    await publishDeliveryPrice(b, a, { perGas: PER_GAS, base: BASE });
    [user] = (await fundedWallets(
      a.connection,
      a.suite,
      1,
      20n * ONE,
    )) as unknown as ethers.Wallet[];
    const onA = suiteAs(a.suite, user as unknown as ethers.Signer);
    await (await onA.token.approve(a.suite.addresses.bank, 2n * ONE)).wait();
    await (await onA.bank.prepayFees(2n * ONE)).wait();
    file = writeConfigFile({
      home: a.suite.addresses.chainCode,
      roles: ["indexer", "api"],
      chains: net.chainEntries,
      redis: { url: "redis://127.0.0.1:6379", prefix: testPrefix("cli-fees") },
      keys: { user: KEY },
    });
  });
  after(async function () {
    await killAll();
    await net?.close();
  });

  it("quote prints the Outbox's quote; a malformed flag or an unknown chain exits 2", async function () {
    const r = await cli([
      "--json",
      "quote",
      "--to",
      b.suite.addresses.chainCode,
      "--body-size",
      "10",
      "--handler-gas",
      "100000",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const expected = await a.suite.outbox.quote(b.suite.code, 10, 100_000, 0);
    expect(expected).to.equal(BASE + PER_GAS * (100_000n + 160n));
    expect(json(r.stdout).fee).to.equal(expected.toString());
    const human = await cli(["quote", "--to", b.suite.addresses.chainCode, "--body", "0x0102"]);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.contain(`fee ${ethers.formatUnits(BASE + PER_GAS * 32n, 18)}`);

    const badGas = await cli([
      "quote",
      "--to",
      b.suite.addresses.chainCode,
      "--handler-gas",
      "lots",
    ]);
    expect(badGas.code).to.equal(2);
    expect(badGas.stderr).to.contain("--handler-gas");
    const unknown = await cli(["quote", "--to", "ffff"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("--to ffff");
  });

  it("send --max-fee pays the quote from the prepaid balance and prints it; below the quote exits 3", async function () {
    const before = await a.suite.outbox.feeBalance(user.address);
    const r = await cli([
      "--json",
      "send",
      to(),
      "--text",
      "hi",
      "--max-fee",
      "1",
      "--handler-gas",
      "50000",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const fee = BASE + PER_GAS * (50_000n + 16n * 2n);
    expect(json(r.stdout).fee).to.equal(fee.toString());
    expect(await a.suite.outbox.feeBalance(user.address)).to.equal(before - fee);

    const low = await cli(["send", to(), "--text", "hi", "--max-fee", "0.000001"]);
    expect(low.code).to.equal(3);
    expect(low.stderr).to.contain("FeeAboveMax");
  });

  it("topup adds to a message's fee; above the prepaid balance exits 3, an unknown id 5", async function () {
    const sent = json((await cli(["--json", "send", to(), "--text", "top me"])).stdout);
    const before = await a.suite.outbox.feeBalance(user.address);
    const r = await cli(["--json", "topup", sent.id!, "--amount", "0.25"]);
    expect(r.code, r.stderr).to.equal(0);
    const out = json(r.stdout);
    expect(out.amount).to.equal((ONE / 4n).toString());
    expect(out.topUpId).to.match(/^0x[0-9a-f]{64}$/);
    expect(await a.suite.outbox.feeBalance(user.address)).to.equal(before - ONE / 4n);

    const short = await cli(["topup", sent.id!, "--amount", "100"]);
    expect(short.code).to.equal(3);
    expect(short.stderr).to.contain("FeeBalanceShort");
    const unknown = await cli(["topup", `0x${"ab".repeat(32)}`, "--amount", "1"]);
    expect(unknown.code).to.equal(5);
    const malformed = await cli(["topup", "0x12", "--amount", "1"]);
    expect(malformed.code).to.equal(2);
  });
});
