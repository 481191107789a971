/**
 * Crashes: a relayer process killed with a batch in flight, a Redis that restarts empty. Chain B
 * mines only when the test says so, so "mid-batch" is a state the test waits for (a deliver
 * transaction in B's mempool), not a moment it guesses.
 */
import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import { messageId, unpackMessages } from "../../relayer/protocol/index.js";
import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { startRedisServer, type RedisServer } from "./helpers/proc.js";
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

async function setMining(chain: TestChain, auto: boolean, intervalMs: number): Promise<void> {
  await chain.connection.provider.request({ method: "evm_setAutomine", params: [auto] });
  await chain.connection.provider.request({
    method: "evm_setIntervalMining",
    params: [intervalMs],
  });
}

/** The deliver transactions from `from` in B's mempool, each with the message ids it carries. */
async function pendingDelivers(chain: TestChain, from: string): Promise<Map<Hex, string[]>> {
  const pending = (await chain.connection.provider.request({
    method: "eth_pendingTransactions",
    params: [],
  })) as { hash: Hex; from: string; to: string; input: Hex }[];
  const out = new Map<Hex, string[]>();
  for (const t of pending) {
    if (t.from.toLowerCase() !== from.toLowerCase()) continue;
    if (t.to?.toLowerCase() !== chain.suite.addresses.inbox.toLowerCase()) continue;
    const parsed = chain.suite.inbox.interface.parseTransaction({ data: t.input });
    if (parsed?.name !== "deliver") continue;
    out.set(
      t.hash,
      unpackMessages(parsed.args[2] as Hex).map((m) => messageId(m).toLowerCase()),
    );
  }
  return out;
}

/**
 * Waits until deliver transactions from `from` in B's mempool carry every one of `ids`: the batches
 * in flight. A checkpoint may land while the messages are still being dispatched, so they can take
 * more than one batch; returns the hashes of the transactions that carry any of them.
 */
async function inFlight(chain: TestChain, from: string, ids: string[]): Promise<Hex[]> {
  return waitFor(
    `deliver transactions carrying ${ids.length} messages in the mempool`,
    async () => {
      const pending = await pendingDelivers(chain, from);
      const carried = new Set([...pending.values()].flat());
      if (!ids.every((id) => carried.has(id))) return undefined;
      return [...pending].filter(([, has]) => has.some((id) => ids.includes(id))).map(([h]) => h);
    },
  );
}

describe("relayer e2e: crashes", function () {
  const net = useServedNetwork({ name: "crash", confirmations: 1, intervalMiningMs: 100 });
  let sink: string;
  before(async function () {
    // B's events count at once: the test holds B's blocks back itself.
    net.chainEntries[net.b.suite.addresses.chainCode]!.confirmations = 0;
    sink = await deploySink(net.b);
  });
  beforeEach(async () => setMining(net.b, true, 100));
  afterEach(async () => setMining(net.b, true, 100));

  it("a relayer killed mid-batch and restarted loses and duplicates nothing", async function () {
    const relayerKey = await fundedKey(net);
    const relayer = privateKeyToAccount(relayerKey).address;
    // On the bundle flow, home RPC only: A's node hands its messages to B's node, which relays
    // into B and is the one killed.
    const pair = await bundlePair(net, net.a, net.b, net.prefix, relayerKey);
    const { file, env } = pair.destination;
    await runNode("crash-origin", pair.origin.file, pair.origin.env);
    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();

    // 1. Killed after sending a batch that then lands: the restarted relayer must not send it again.
    await setMining(net.b, false, 0);
    let node = await runNode("crash-1", file, env);
    const landed = await dispatchMany(net.a, net.b, sink, 20, 1);
    await inFlight(net.b, relayer, landed);
    await node.kill();
    // Read again after the kill: a fee bump just before it replaces a transaction's hash.
    const first = [...(await pendingDelivers(net.b, relayer)).keys()];
    await net.b.connection.provider.request({ method: "evm_mine", params: [] });

    // 2. Killed after sending a batch that is then dropped: the restarted relayer must send it again.
    node = await runNode("crash-2", file, env);
    const dropped = await dispatchMany(net.a, net.b, sink, 20, 2);
    await inFlight(net.b, relayer, dropped);
    await node.kill();
    for (const hash of (await pendingDelivers(net.b, relayer)).keys()) {
      await net.b.connection.provider.request({
        method: "hardhat_dropTransaction",
        params: [hash],
      });
    }

    // 3. Restarted with B mining again: everything arrives, once.
    await setMining(net.b, true, 100);
    node = await runNode("crash-3", file, env);
    const ids = [...landed, ...dropped];
    await waitFor(
      "40 deliveries",
      async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
      120_000,
      250,
    );
    const delivered = await deliveries(net.b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    for (const id of landed) expect(first, id).to.include(delivered.get(id)![0]);
    const txs = await deliverTxs(net.b, fromBlock);
    expect(
      txs.filter((t) => t.status !== 1),
      "reverted deliver transactions",
    ).to.deep.equal([]);
    // Every job is done: the restarted relayer recognised the landed batch as delivered.
    await waitFor("queue drained", async () => {
      const c = await queueCounts(
        net.redis,
        pair.destinationPrefix,
        net.b.suite.addresses.chainCode,
      );
      return (
        c.wait + c.active + c.delayed === 0 && c.failed === 0 && c.completed >= ids.length && c
      );
    });
  });

  describe("with a private Redis", function () {
    let server: RedisServer;
    before(async () => (server = await startRedisServer()));
    after(async () => server.stop());

    it("a Redis restarted (empty) mid-run loses nothing and delivers nothing twice", async function () {
      const relayerKey = await fundedKey(net);
      const relayer = privateKeyToAccount(relayerKey).address;
      // On the bundle flow: B's node (the relayer) on the private Redis that dies; A's node keeps
      // what it handed over, and B's node, its queue and pull cursor gone, pulls it again.
      const pair = await bundlePair(net, net.a, net.b, net.prefix, relayerKey, {
        destination: {
          redis: { url: server.url, prefix: `${net.prefix}-${net.b.suite.addresses.chainCode}` },
        },
      });
      await runNode("redis-restart-origin", pair.origin.file, pair.origin.env);
      const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
      await setMining(net.b, false, 0);
      const node = await runNode("redis-restart", pair.destination.file, pair.destination.env);
      // Two batches in flight; Redis then dies and the second batch is dropped from B's mempool:
      // its messages are known only to the Redis that is gone and to the chain.
      const landed = await dispatchMany(net.a, net.b, sink, 15, 3);
      const first = await inFlight(net.b, relayer, landed);
      const lost = await dispatchMany(net.a, net.b, sink, 10, 4);
      const second = await inFlight(net.b, relayer, lost);
      await server.stop();
      for (const hash of second) {
        if (first.includes(hash)) continue;
        await net.b.connection.provider.request({
          method: "hardhat_dropTransaction",
          params: [hash],
        });
      }
      await net.b.connection.provider.request({ method: "evm_mine", params: [] });
      const during = await dispatchMany(net.a, net.b, sink, 5, 5);
      await server.restart();
      const after = await dispatchMany(net.a, net.b, sink, 5, 6);
      await setMining(net.b, true, 100);
      const ids = [...landed, ...lost, ...during, ...after];
      await waitFor(
        "35 deliveries",
        async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
        120_000,
        250,
      );
      const delivered = await deliveries(net.b, fromBlock);
      for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
      for (const id of landed) expect(first, id).to.include(delivered.get(id)![0]);
      expect(
        (await deliverTxs(net.b, fromBlock)).filter((t) => t.status !== 1),
        "reverted deliver transactions",
      ).to.deep.equal([]);
      expect(node.proc.exitCode, "the node survived the outage").to.equal(null);
    });
  });
});
