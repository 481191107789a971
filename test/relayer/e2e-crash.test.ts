/**
 * Crashes: a relayer process killed with a batch in flight, a Redis that restarts empty. Chain B
 * mines only when the test says so, so "mid-batch" is a state the test waits for (a deliver
 * transaction in B's mempool), not a moment it guesses.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import type { TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  newRedis,
  serveNetwork,
  testPrefix,
  waitFor,
  type ServedNetwork,
} from "./helpers/net.js";
import { killAll, startRedisServer, type RedisServer } from "./helpers/proc.js";
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
      (parsed.args[2] as string[]).map((m) => ethers.keccak256(m).toLowerCase()),
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
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let a: TestChain;
  let b: TestChain;
  let sink: string;

  before(async function () {
    net = await serveNetwork({ confirmations: 1, intervalMiningMs: 100 });
    [a, b] = net.chains as [TestChain, TestChain];
    // B's events count at once: the test holds B's blocks back itself.
    net.chainEntries[b.suite.addresses.chainCode]!.confirmations = 0;
    sink = await deploySink(b);
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(async () => {
    prefix = testPrefix("crash");
    await setMining(b, true, 100);
  });
  afterEach(async function () {
    await killAll();
    await setMining(b, true, 100);
    await clearPrefix(redis, prefix);
  });

  it("a relayer killed mid-batch and restarted loses and duplicates nothing", async function () {
    const relayerKey = await fundedKey(net);
    const relayer = privateKeyToAccount(relayerKey).address;
    // On the bundle flow, home RPC only: A's node hands its messages to B's node, which relays
    // into B and is the one killed.
    const pair = await bundlePair(net, a, b, prefix, relayerKey);
    const { file, env } = pair.destination;
    await runNode("crash-origin", pair.origin.file, pair.origin.env);
    const fromBlock = await b.connection.ethers.provider.getBlockNumber();

    // 1. Killed after sending a batch that then lands: the restarted relayer must not send it again.
    await setMining(b, false, 0);
    let node = await runNode("crash-1", file, env);
    const landed = await dispatchMany(a, b, sink, 20, 1);
    await inFlight(b, relayer, landed);
    await node.kill();
    // Read again after the kill: a fee bump just before it replaces a transaction's hash.
    const first = [...(await pendingDelivers(b, relayer)).keys()];
    await b.connection.provider.request({ method: "evm_mine", params: [] });

    // 2. Killed after sending a batch that is then dropped: the restarted relayer must send it again.
    node = await runNode("crash-2", file, env);
    const dropped = await dispatchMany(a, b, sink, 20, 2);
    await inFlight(b, relayer, dropped);
    await node.kill();
    for (const hash of (await pendingDelivers(b, relayer)).keys()) {
      await b.connection.provider.request({ method: "hardhat_dropTransaction", params: [hash] });
    }

    // 3. Restarted with B mining again: everything arrives, once.
    await setMining(b, true, 100);
    node = await runNode("crash-3", file, env);
    const ids = [...landed, ...dropped];
    await waitFor(
      "40 deliveries",
      async () => missing(ids, await deliveries(b, fromBlock)).length === 0,
      120_000,
      250,
    );
    const delivered = await deliveries(b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    for (const id of landed) expect(first, id).to.include(delivered.get(id)![0]);
    const txs = await deliverTxs(b, fromBlock);
    expect(
      txs.filter((t) => t.status !== 1),
      "reverted deliver transactions",
    ).to.deep.equal([]);
    // Every job is done: the restarted relayer recognised the landed batch as delivered.
    await waitFor("queue drained", async () => {
      const c = await queueCounts(redis, pair.destinationPrefix, b.suite.addresses.chainCode);
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
      const pair = await bundlePair(net, a, b, prefix, relayerKey, {
        destination: {
          redis: { url: server.url, prefix: `${prefix}-${b.suite.addresses.chainCode}` },
        },
      });
      await runNode("redis-restart-origin", pair.origin.file, pair.origin.env);
      const fromBlock = await b.connection.ethers.provider.getBlockNumber();
      await setMining(b, false, 0);
      const node = await runNode("redis-restart", pair.destination.file, pair.destination.env);
      // Two batches in flight; Redis then dies and the second batch is dropped from B's mempool:
      // its messages are known only to the Redis that is gone and to the chain.
      const landed = await dispatchMany(a, b, sink, 15, 3);
      const first = await inFlight(b, relayer, landed);
      const lost = await dispatchMany(a, b, sink, 10, 4);
      const second = await inFlight(b, relayer, lost);
      await server.stop();
      for (const hash of second) {
        if (first.includes(hash)) continue;
        await b.connection.provider.request({ method: "hardhat_dropTransaction", params: [hash] });
      }
      await b.connection.provider.request({ method: "evm_mine", params: [] });
      const during = await dispatchMany(a, b, sink, 5, 5);
      await server.restart();
      const after = await dispatchMany(a, b, sink, 5, 6);
      await setMining(b, true, 100);
      const ids = [...landed, ...lost, ...during, ...after];
      await waitFor(
        "35 deliveries",
        async () => missing(ids, await deliveries(b, fromBlock)).length === 0,
        120_000,
        250,
      );
      const delivered = await deliveries(b, fromBlock);
      for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
      for (const id of landed) expect(first, id).to.include(delivered.get(id)![0]);
      expect(
        (await deliverTxs(b, fromBlock)).filter((t) => t.status !== 1),
        "reverted deliver transactions",
      ).to.deep.equal([]);
      expect(node.proc.exitCode, "the node survived the outage").to.equal(null);
    });
  });
});
