/**
 * The chains misbehaving under the node: an RPC endpoint that goes away and comes back, a dead
 * fallback URL, and a reorganisation of the origin chain (EVM snapshot / revert).
 */
import { expect } from "chai";
import type { Hex } from "viem";

import { feeLie, startLyingRpc } from "../helpers/lyingRpc.js";
import { mine, waitFor, type ServedNetwork } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { freePort, killAll } from "./helpers/proc.js";
import {
  deliveries,
  deliverTxs,
  deploySink,
  dispatchMany,
  fundedKey,
  missing,
  bundlePair,
  queueCounts,
  runNode,
} from "./helpers/scenario.js";

describe("relayer e2e: RPC outages and reorgs", function () {
  const net = useServedNetwork({ name: "chain", confirmations: 1, intervalMiningMs: 100 });
  let sink: string;
  before(async () => (sink = await deploySink(net.b)));
  let relayerKey: Hex;
  beforeEach(async () => (relayerKey = await fundedKey(net)));

  /** Runs `fn` (which writes config files) with the routing table edited by `edit`, then restores it. */
  async function withEntries<T>(
    edit: (entries: ServedNetwork["chainEntries"]) => void,
    fn: () => Promise<T>,
  ): Promise<T> {
    const saved = structuredClone(net.chainEntries);
    edit(net.chainEntries);
    try {
      return await fn();
    } finally {
      for (const code of Object.keys(saved)) net.chainEntries[code] = saved[code]!;
    }
  }
  afterEach(async function () {
    for (const rpc of net.rpcs) rpc.up();
    await net.a.connection.provider.request({ method: "evm_setIntervalMining", params: [100] });
  });

  it("an RPC endpoint down for a while, then back, loses nothing (and a dead fallback URL is skipped)", async function () {
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const codeB = net.b.suite.addresses.chainCode;
    // On the bundle flow, home RPC only: A's node hands over, B's node relays (its RPC list starts
    // with a dead fallback URL). Few attempts with a short backoff: an outage must not spend them.
    const pair = await withEntries(
      (e) => (e[codeB]!.rpc = [deadUrl, ...(e[codeB]!.rpc ?? [])]),
      () =>
        bundlePair(net, net.a, net.b, net.prefix, relayerKey, {
          destination: { relayer: { attempts: 2, backoffMs: 100 } },
        }),
    );
    await runNode("rpc-outage-origin", pair.origin.file, pair.origin.env);
    await runNode("rpc-outage", pair.destination.file, pair.destination.env);
    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();

    // B unreachable: A's side goes on (indexed, snapshotted, signed), delivery waits.
    net.rpcs[1]!.down();
    const first = await dispatchMany(net.a, net.b, sink, 10, 1);
    const last = await net.a.suite.outbox.count();
    await waitFor("A's checkpoint covering the messages", async () => {
      const cp = (await (await fetch(`${pair.urls.origin}/v1/checkpoints/latest`)).json()) as {
        count?: number;
      };
      return (cp.count ?? 0) >= Number(last);
    });
    await new Promise((r) => setTimeout(r, 1_500)); // the relayer keeps trying meanwhile
    net.rpcs[1]!.up();
    await waitFor(
      "deliveries after B came back",
      async () => missing(first, await deliveries(net.b, fromBlock)).length === 0,
      60_000,
      200,
    );

    // A unreachable: nothing is indexed meanwhile; everything is once A is back.
    net.rpcs[0]!.down();
    const second = await dispatchMany(net.a, net.b, sink, 10, 2);
    await new Promise((r) => setTimeout(r, 1_500));
    net.rpcs[0]!.up();
    const ids = [...first, ...second];
    await waitFor(
      "deliveries after A came back",
      async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
      60_000,
      200,
    );
    const delivered = await deliveries(net.b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    expect((await deliverTxs(net.b, fromBlock)).filter((t) => t.status !== 1)).to.deep.equal([]);
    const counts = await queueCounts(net.redis, pair.destinationPrefix, codeB);
    expect(counts.failed, "messages dead-lettered during the outage").to.equal(0);
  });

  it("survives a reorg of the origin: what the reorg removed is never delivered, what replaced it is, once", async function () {
    const pair = await withEntries(
      (e) => (e[net.a.suite.addresses.chainCode]!.confirmations = 3),
      () => bundlePair(net, net.a, net.b, net.prefix, relayerKey),
    );
    // A mines only when the test says so from here on.
    await net.a.connection.provider.request({ method: "evm_setIntervalMining", params: [0] });
    const node = await runNode("reorg-origin", pair.origin.file, pair.origin.env);
    const relayer = await runNode("reorg", pair.destination.file, pair.destination.env);
    await mine(net.a, 4);
    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();

    const snapshot = await net.a.connection.provider.request({
      method: "evm_snapshot",
      params: [],
    });
    const count = Number(await net.a.suite.outbox.count());
    const removed = await dispatchMany(net.a, net.b, sink, 3, 1);
    // The attester snapshots the new messages at once: a checkpoint of a fork about to vanish.
    await waitFor(
      "the attester's snapshot on the doomed fork",
      async () => Number((await net.a.suite.outbox.latestSnapshot())[1]) >= count + 3,
    );
    await new Promise((r) => setTimeout(r, 1_000)); // time to (wrongly) act on unconfirmed blocks
    await net.a.connection.provider.request({ method: "evm_revert", params: [snapshot] });

    const replacing = await dispatchMany(net.a, net.b, sink, 3, 2);
    await net.a.connection.provider.request({ method: "evm_setIntervalMining", params: [100] });
    await waitFor(
      "the new fork's messages delivered",
      async () => missing(replacing, await deliveries(net.b, fromBlock)).length === 0,
      60_000,
      200,
    );
    const delivered = await deliveries(net.b, fromBlock);
    for (const id of replacing) expect(delivered.get(id), id).to.have.length(1);
    for (const id of removed)
      expect(delivered.has(id), `removed message ${id} delivered`).to.equal(false);
    expect(node.proc.exitCode).to.equal(null);
    expect(relayer.proc.exitCode).to.equal(null);
  });

  it("an RPC lying about fees gets nothing signed above chains.<code>.maxFeePerGasGwei, and messages still arrive", async function () {
    // Every fee figure both RPCs give is 1.3M gwei; the cap is 50 gwei (the chains' real base fee
    // is far below it).
    const liars = await Promise.all(net.rpcs.map((r) => startLyingRpc(r.url)));
    for (const liar of liars) liar.lie(feeLie(1_300_000n * 10n ** 9n));
    const codes = net.chains.map((c) => c.suite.addresses.chainCode);
    try {
      const pair = await withEntries(
        (e) =>
          codes.forEach((code, i) => {
            e[code] = { ...e[code]!, rpc: [liars[i]!.url], maxFeePerGasGwei: 50 };
          }),
        () => bundlePair(net, net.a, net.b, net.prefix, relayerKey),
      );
      // Both nodes sign: A's attester its snapshots on A, B's relayer its delivers on B.
      const origin = await runNode("fee-liar-origin", pair.origin.file, pair.origin.env);
      const node = await runNode("fee-liar", pair.destination.file, pair.destination.env);
      const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
      const ids = await dispatchMany(net.a, net.b, sink, 5, 7);
      await waitFor(
        "deliveries signed at the cap",
        async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
        60_000,
        200,
      );
      for (const n of [origin, node]) {
        const line = await n.waitForLine(
          (l) => typeof l.msg === "string" && l.msg.startsWith("fee above chains."),
          5_000,
        );
        expect(line.msg).to.match(
          /fee above chains\.[0-9a-f]+\.maxFeePerGasGwei: signing at the cap/,
        );
      }
      // Each node signs on its home chain only.
      for (const [n, code] of [
        [origin, codes[0]!],
        [node, codes[1]!],
      ] as const) {
        const metrics = await (await fetch(`${n.apiUrl}/metrics`)).text();
        expect(metrics).to.match(
          new RegExp(`distpos_fee_capped_total\\{chain="${code}",reason="estimate"\\} [1-9]`),
        );
      }
      const signed = liars.flatMap((l) => l.signed);
      expect(signed.length).to.be.greaterThan(1);
      for (const tx of signed)
        expect(tx.maxFeePerGas ?? tx.gasPrice).to.be.at.most(50n * 10n ** 9n);
    } finally {
      await killAll();
      await Promise.all(liars.map((l) => l.close()));
    }
  });
});
