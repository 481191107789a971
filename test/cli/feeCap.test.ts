/**
 * The CLI's own transactions obey the fee cap: an RPC that asks more per gas than
 * `chains.<code>.maxFeePerGasGwei` (or `--max-fee-per-gas-gwei`) gets nothing signed, and the
 * command exits 3 naming the chain, the RPC's figure and the setting (relayer/README.md, "Exit
 * codes"). The RPC is a real lying proxy (test/helpers/lyingRpc.ts) in front of a served chain.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { feeLie, startLyingRpc, type LyingRpc } from "../helpers/lyingRpc.js";
import type { TestChain } from "../helpers/suite.js";
import {
  serveNetwork,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { killAll, runCli } from "../relayer/helpers/proc.js";

const KEY = "DISTPOS_CLI_FEECAP_KEY";
/** The figure a broken RPC once answered (issue 15): 1.3M gwei per gas. */
const HUGE = 1_300_000n * 10n ** 9n;

describe("distpos writing commands: the RPC's fee is capped by the config", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let liar: LyingRpc;
  let a: TestChain, b: TestChain;
  let codeA: string;
  let file: string;
  const user = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();
  const cli = (args: string[]) => runCli(["-c", file, ...args], { [KEY]: user.privateKey });
  const nonce = () => a.connection.ethers.provider.getTransactionCount(user.address);
  const to = () => formatChainAddress({ code: b.suite.code, account: bob.address as Hex });

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    codeA = a.suite.addresses.chainCode;
    liar = await startLyingRpc(net.rpcs[0]!.url);
    const chains = structuredClone(net.chainEntries);
    chains[codeA]!.rpc = [liar.url];
    file = writeConfigFile({
      home: codeA,
      roles: ["indexer", "api"],
      chains,
      redis: { url: "redis://127.0.0.1:6379", prefix: testPrefix("cli-feecap") },
      keys: { user: KEY },
    });
    await a.connection.networkHelpers.setBalance(user.address, 10n ** 20n);
  });
  afterEach(() => liar.lie(undefined));
  after(async function () {
    await killAll();
    await liar?.close();
    await net?.close();
  });

  for (const [name, args] of [
    ["send", () => ["send", to(), "--text", "hi"]],
    ["mint", () => ["mint", "1"]],
  ] as const)
    it(`${name}: an RPC asking 1.3M gwei per gas gets nothing signed (exit 3, chain, figure, setting)`, async function () {
      const before = await nonce();
      liar.lie(feeLie(HUGE));
      const r = await cli(args());
      expect(r.code, r.stderr).to.equal(3);
      // viem's estimate is 1.2 x the base fee plus the tip, both lied to be 1.3M gwei.
      const asked = /the RPC asks (\d+) gwei per gas, above the cap of 500 gwei/.exec(r.stderr);
      expect(asked, r.stderr).to.not.equal(null);
      expect(Number(asked![1])).to.be.at.least(1_300_000);
      expect(r.stderr, r.stderr)
        .to.contain(`chain ${codeA}`)
        .and.to.contain(`chains.${codeA}.maxFeePerGasGwei`)
        .and.to.contain("nothing was signed");
      expect(liar.signed).to.have.length(0);
      expect(await nonce()).to.equal(before);
    });

  it("with the RPC honest, send and mint go through the same proxy", async function () {
    const before = await nonce();
    const sent = await cli(["send", to(), "--text", "hi"]);
    expect(sent.code, sent.stderr).to.equal(0);
    const minted = await cli(["mint", "1"]);
    expect(minted.code, minted.stderr).to.equal(0);
    expect(await nonce()).to.equal(before + 2);
    expect(liar.signed).to.have.length(2);
    for (const tx of liar.signed) expect(tx.maxFeePerGas! <= 500n * 10n ** 9n).to.equal(true);
  });

  it("--max-fee-per-gas-gwei overrides the config's cap, and is named when it refuses", async function () {
    const before = await nonce();
    const r = await cli(["--max-fee-per-gas-gwei", "0.000000001", "send", to(), "--text", "hi"]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr)
      .to.contain(`chain ${codeA}`)
      .and.to.contain("above the cap of 0.000000001 gwei (--max-fee-per-gas-gwei 0.000000001)");
    expect(await nonce()).to.equal(before);
    const bad = await cli(["--max-fee-per-gas-gwei", "lots", "mint", "1"]);
    expect(bad.code, bad.stderr).to.equal(2);
    expect(bad.stderr).to.contain("--max-fee-per-gas-gwei lots: not a positive number of gwei");
  });
});
