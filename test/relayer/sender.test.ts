import { expect } from "chai";
import { network } from "hardhat";
import { pino } from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import { publicClientFor, walletClientFor } from "../../relayer/chain/clients.js";
import { TxSender, nonceErrorKind } from "../../relayer/chain/sender.js";
import type { Chain } from "../../relayer/config/load.js";
import { Metrics } from "../../relayer/metrics.js";
import { serveChain, type RpcEndpoint } from "../../deploy/rpcServer.js";
import { feeLie, startLyingRpc } from "../helpers/lyingRpc.js";

const SINK = "0x000000000000000000000000000000000000dEaD";

function chainAt(url: string, chainId: number): Chain {
  return {
    code: BigInt(chainId),
    codeHex: chainId.toString(16),
    name: "test",
    chainId,
    rpc: [url],
    contracts: { outbox: SINK, inbox: SINK, stakingHub: SINK, bank: SINK },
    nodes: [],
    confirmations: 0,
    pollIntervalMs: 50,
    startBlock: 0,
    maxLogRange: 1000,
    rpcBatchSize: 100,
    maxFeePerGasGwei: 1_000,
    txTimeoutMs: 60_000,
    finalityTag: "finalized",
    reorgBound: 64,
    witnessRpc: [],
  };
}

async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return Number(v?.value ?? 0);
}

describe("relayer/chain TxSender", function () {
  let rpc: RpcEndpoint;
  let provider: Awaited<ReturnType<typeof network.create>>["provider"];
  let chain: Chain;
  let key: Hex;

  beforeEach(async function () {
    const conn = await network.create("chainA");
    provider = conn.provider;
    rpc = await serveChain(provider);
    chain = chainAt(rpc.url, 0xa0a1);
    key = generatePrivateKey();
    await provider.request({
      method: "hardhat_setBalance",
      params: [privateKeyToAccount(key).address, "0x3635C9ADC5DEA00000"],
    });
  });
  afterEach(async () => rpc.close());

  function sender(metrics = new Metrics(), receiptTimeoutMs = 5_000) {
    const account = privateKeyToAccount(key);
    return new TxSender(publicClientFor(chain), walletClientFor(chain, account), account, {
      metrics,
      receiptTimeoutMs,
      chainLabel: "a0a1",
    });
  }

  it("classifies nonce errors of common nodes", function () {
    expect(nonceErrorKind(new Error("nonce too low"))).to.equal("too-low");
    expect(nonceErrorKind(new Error("Nonce too low. Expected nonce to be 3 but got 1."))).to.equal(
      "too-low",
    );
    expect(nonceErrorKind(new Error("replacement transaction underpriced"))).to.equal(
      "underpriced",
    );
    expect(nonceErrorKind(new Error("already known"))).to.equal("known");
    expect(nonceErrorKind(new Error("Nonce too high. Expected nonce to be 0 but got 4."))).to.equal(
      "too-high",
    );
    expect(nonceErrorKind(new Error("execution reverted"))).to.equal(undefined);
  });

  it("two senders sharing one key (two processes) get every transaction mined", async function () {
    const metrics = new Metrics();
    const a = sender(metrics);
    const b = sender(metrics);
    const sends = [];
    for (let i = 0; i < 8; i++) {
      sends.push(a.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" }));
      sends.push(b.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" }));
    }
    const receipts = await Promise.all(sends);
    expect(receipts.every((r) => r.status === "success")).to.equal(true);
    const count = await provider.request({
      method: "eth_getTransactionCount",
      params: [a.address, "latest"],
    });
    expect(Number(count)).to.equal(16);
    expect(await metricValue(metrics, "distpos_nonce_resyncs_total", {})).to.be.greaterThan(0);
  });

  it("sends again when its transaction is dropped from the mempool", async function () {
    const metrics = new Metrics();
    const s = sender(metrics, 400);
    await provider.request({ method: "evm_setAutomine", params: [false] });
    const done = s.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" });
    let pending: { hash: Hex }[] = [];
    while (pending.length === 0) {
      pending = (await provider.request({ method: "eth_pendingTransactions", params: [] })) as {
        hash: Hex;
      }[];
      await new Promise((r) => setTimeout(r, 20));
    }
    await provider.request({ method: "hardhat_dropTransaction", params: [pending[0]!.hash] });
    await provider.request({ method: "evm_setAutomine", params: [true] });
    const receipt = await done;
    expect(receipt.status).to.equal("success");
    expect(
      await metricValue(metrics, "distpos_nonce_resyncs_total", { reason: "dropped" }),
    ).to.equal(1);
  });

  it("moves past a nonce held by a pending transaction (replacement underpriced)", async function () {
    const s = sender();
    const account = privateKeyToAccount(key);
    await provider.request({ method: "evm_setAutomine", params: [false] });
    // Someone else with the same key parks a high-fee transaction at nonce 0.
    const other = walletClientFor(chain, account);
    await other.sendTransaction({
      account,
      chain: other.chain,
      to: SINK,
      gas: 21_000n,
      nonce: 0,
      maxFeePerGas: 10n ** 12n,
      maxPriorityFeePerGas: 10n ** 11n,
    });
    const done = s.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" });
    let pending: unknown[] = [];
    while (pending.length < 2) {
      pending = (await provider.request({
        method: "eth_pendingTransactions",
        params: [],
      })) as unknown[];
      await new Promise((r) => setTimeout(r, 20));
    }
    await provider.request({ method: "evm_mine", params: [] });
    await provider.request({ method: "evm_setAutomine", params: [true] });
    const receipt = await done;
    expect(receipt.status).to.equal("success");
    const count = await provider.request({
      method: "eth_getTransactionCount",
      params: [account.address, "latest"],
    });
    expect(Number(count)).to.equal(2);
  });

  it("never signs a fee above chains.<code>.maxFeePerGasGwei, nor a replacement, when the RPC lies about fees", async function () {
    this.timeout(60_000);
    const liar = await startLyingRpc(rpc.url);
    const capGwei = 50;
    const cap = BigInt(capGwei) * 10n ** 9n;
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
    const metrics = new Metrics();
    const lying: Chain = { ...chainAt(liar.url, 0xa0a1), maxFeePerGasGwei: capGwei };
    const account = privateKeyToAccount(key);
    const s = new TxSender(publicClientFor(lying), walletClientFor(lying, account), account, {
      metrics,
      log,
      receiptTimeoutMs: 300,
      dropCheckMs: 100,
      chainLabel: "a0a1",
    });
    const feeOf = (tx: (typeof liar.signed)[number]) => tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
    try {
      await provider.request({ method: "evm_setAutomine", params: [false] });
      // 1. Honest estimates, but the RPC says our pending transaction pays 1.3M gwei: replacements
      // raise the fee we signed, not that figure.
      const pendingLie = feeLie(1_300_000n * 10n ** 9n);
      liar.lie((call, result) =>
        call.method === "eth_getTransactionByHash" ? pendingLie(call, result) : result,
      );
      const first = s.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" });
      while (liar.signed.length < 3) await new Promise((r) => setTimeout(r, 50));
      await provider.request({ method: "evm_mine", params: [] });
      expect((await first).status).to.equal("success");
      const [a, b] = liar.signed as [(typeof liar.signed)[number], (typeof liar.signed)[number]];
      expect(b.nonce).to.equal(a.nonce);
      expect(feeOf(b)).to.equal((feeOf(a) * 5n) / 4n + 1n);

      // 2. Every fee figure is 1.3M gwei (what a mock RPC got signed before the cap): signed at the
      // cap, and not replaced above it.
      liar.lie(feeLie(1_300_000n * 10n ** 9n));
      const second = s.send({ to: SINK, data: "0x", gas: 21_000n, label: "t" });
      while (
        (await metricValue(metrics, "distpos_fee_capped_total", {
          chain: "a0a1",
          reason: "bump",
        })) === 0
      )
        await new Promise((r) => setTimeout(r, 50));
      await provider.request({ method: "evm_mine", params: [] });
      expect((await second).status).to.equal("success");

      for (const tx of liar.signed) {
        expect(feeOf(tx) <= cap, `signed fee ${feeOf(tx)} above the cap ${cap}`).to.equal(true);
        expect((tx.maxPriorityFeePerGas ?? 0n) <= feeOf(tx)).to.equal(true);
      }
      expect(feeOf(liar.signed.at(-1)!)).to.equal(cap);
      expect(
        await metricValue(metrics, "distpos_fee_capped_total", {
          chain: "a0a1",
          reason: "estimate",
        }),
      ).to.be.greaterThan(0);
      expect(lines.join("\n")).to.match(/fee above chains\.a0a1\.maxFeePerGasGwei/);
    } finally {
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await liar.close();
    }
  });
});
