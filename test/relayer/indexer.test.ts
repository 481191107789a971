import { expect } from "chai";
import { pino } from "pino";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { encodeFunctionData } from "viem";

import { IOutboxAbi } from "../../relayer/chain/abis.js";
import { publicClientFor } from "../../relayer/chain/clients.js";
import type { Chain } from "../../relayer/config/load.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { ChainStore } from "../../relayer/indexer/store.js";
import { Metrics } from "../../relayer/metrics.js";
import { MerkleTree } from "../../relayer/protocol/index.js";
import { startLyingRpc } from "../helpers/lyingRpc.js";
import type { TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  loadedConfig,
  mine,
  newRedis,
  nodeConfigObject,
  serveNetwork,
  testPrefix,
  type ServedNetwork,
} from "./helpers/net.js";

const RECIPIENT = `0x${"00".repeat(12)}${"42".repeat(20)}`;

async function dispatch(from: TestChain, to: TestChain, n: number, tag = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    const body = `0x${(tag * 1000 + i).toString(16).padStart(8, "0")}`;
    await (await from.suite.outbox.dispatch(to.suite.code, RECIPIENT, body)).wait();
  }
}

async function outboxIds(chain: TestChain): Promise<Hex[]> {
  const logs = await chain.suite.outbox.queryFilter(
    chain.suite.outbox.filters.Dispatch(),
    chain.suite.addresses.deployedAtBlock,
  );
  return logs
    .sort((x, y) => Number(x.args.nonce) - Number(y.args.nonce))
    .map((l) => l.args.id as Hex);
}

async function metric(metrics: Metrics, name: string): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((s, v) => s + Number(v.value), 0);
}

describe("relayer/indexer", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let chainA: Chain;

  before(async function () {
    net = await serveNetwork({ confirmations: 2 });
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(function () {
    prefix = testPrefix("indexer");
    const [a] = net.chains;
    chainA = loadedConfig(nodeConfigObject(net, a!.suite.addresses.chainCode, prefix)).homeChain;
  });
  afterEach(async () => clearPrefix(redis, prefix));

  function indexer(metrics = new Metrics(), chain = chainA) {
    const store = new ChainStore(redis, prefix, chainA.code);
    return new ChainIndexer({
      chain: chainA,
      client: publicClientFor(chain),
      store,
      metrics,
      leaseTtlMs: 60_000,
    });
  }

  async function catchUp(ix: ChainIndexer): Promise<void> {
    for (let i = 0; i < 50 && (await ix.step()); i++);
  }

  it("indexes Dispatch and Snapshot events only below tip - confirmations and rebuilds the Outbox tree", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    const ix = indexer();
    await catchUp(ix);
    const start = (await ix.view.sync()).tree.count;
    await dispatch(a, b, 4);
    await (await a.suite.outbox.snapshot()).wait();
    await catchUp(ix);
    // The last two transactions are not confirmed yet.
    expect((await ix.view.sync()).tree.count).to.equal(start + 3);
    await mine(a, 2);
    await catchUp(ix);
    const { tree, cursor } = await ix.view.sync();
    expect(tree.count).to.equal(start + 4);
    expect(cursor!.leaves).to.equal(start + 4);
    expect(tree.root()).to.equal(await a.suite.outbox.root());
    const snaps = await ix.view.snapshots();
    expect(snaps[snaps.length - 1]).to.include({
      count: start + 4,
      root: await a.suite.outbox.rootAt(start + 4),
    });
    expect(tree.root()).to.equal(MerkleTree.from(await outboxIds(a)).root());
  });

  it("survives a reorg deeper than its confirmations: detects the block-hash change and re-reads", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    const metrics = new Metrics();
    const ix = indexer(metrics);
    await dispatch(a, b, 2, 1);
    await mine(a, 2);
    await catchUp(ix);
    const snapshotId = await a.connection.provider.request({ method: "evm_snapshot", params: [] });
    await dispatch(a, b, 3, 2); // the fork that will disappear
    await mine(a, 4);
    await catchUp(ix);
    const onOldFork = await ix.view.sync();
    expect(onOldFork.tree.count).to.equal((await outboxIds(a)).length);
    await a.connection.provider.request({ method: "evm_revert", params: [snapshotId] });
    await dispatch(a, b, 3, 3); // same nonces, other messages
    await mine(a, 8);
    await catchUp(ix);
    const { tree } = await ix.view.sync();
    const ids = await outboxIds(a);
    expect(tree.count).to.equal(ids.length);
    for (let i = 0; i < ids.length; i++) expect(tree.leaf(i)).to.equal(ids[i]);
    expect(tree.root()).to.equal(await a.suite.outbox.root());
    expect(await metric(metrics, "distpos_indexer_reorgs_total")).to.equal(1);
    expect(await metric(metrics, "distpos_indexer_root_mismatches_total")).to.equal(0);
  });

  it("checks its stored leaves against the on-chain root on restart and rebuilds a corrupt index", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    await dispatch(a, b, 3, 4);
    await (await a.suite.outbox.snapshot()).wait();
    await mine(a, 2);
    const first = indexer();
    await catchUp(first);
    const count = (await first.view.sync()).tree.count;
    await first.stop();
    // Corrupt one stored leaf, as a bad write or a foreign process could.
    await redis.hset(`${prefix}:chain:${chainA.codeHex}:leaves`, "1", `0x${"ee".repeat(32)}`);
    const metrics = new Metrics();
    const restarted = indexer(metrics);
    await catchUp(restarted);
    const { tree } = await restarted.view.sync();
    expect(tree.count).to.equal(count);
    expect(tree.root()).to.equal(await a.suite.outbox.root());
    expect(await metric(metrics, "distpos_indexer_root_mismatches_total")).to.equal(1);
  });

  it("does not rebuild on one mismatch an RPC answers once; a repeated one rebuilds from the last agreeing snapshot", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    await dispatch(a, b, 2, 5);
    await (await a.suite.outbox.snapshot()).wait();
    const [, agreeing] = await a.suite.outbox.latestSnapshot();
    await dispatch(a, b, 2, 6);
    await (await a.suite.outbox.snapshot()).wait();
    const [, lied] = await a.suite.outbox.latestSnapshot();
    await mine(a, 2);
    const first = indexer();
    await catchUp(first);
    await first.stop();
    const cursor = async () => (await new ChainStore(redis, prefix, chainA.code).cursor())!;
    const before = await cursor();

    // The RPC answers one rootAt with a wrong root (a broken or lying endpoint, once).
    const liar = await startLyingRpc(net.rpcs[0]!.url);
    const selector = encodeFunctionData({
      abi: IOutboxAbi,
      functionName: "rootAt",
      args: [0],
    }).slice(0, 10);
    // It lies about the newest snapshot's root only: once, then every time.
    const about = encodeFunctionData({
      abi: IOutboxAbi,
      functionName: "rootAt",
      args: [Number(lied)],
    });
    let lies = 0;
    let always = false;
    liar.lie((call, result) => {
      const data = (call.params?.[0] as { data?: string; input?: string } | undefined) ?? {};
      if (call.method !== "eth_call" || (data.data ?? data.input) !== about) return result;
      if (!always && lies > 0) return result;
      lies++;
      return `0x${"66".repeat(32)}`;
    });
    const store = new ChainStore(redis, prefix, chainA.code);
    const agreeingBlock = (await store.snapshots()).find(
      (x) => x.count === Number(agreeing),
    )!.block;
    try {
      const metrics = new Metrics();
      const restarted = indexer(metrics, { ...chainA, rpc: [liar.url] });
      await catchUp(restarted);
      await restarted.stop();
      expect(lies).to.equal(1); // it was asked, and lied
      expect((await cursor()).gen, "index not wiped").to.equal(before.gen);
      expect(await metric(metrics, "distpos_indexer_root_mismatches_total")).to.equal(0);

      // The same lie, repeated: the index is rolled back to just below the last snapshot the chain
      // still agrees on, not to the start block, and read again.
      always = true;
      const lines: string[] = [];
      const log = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
      const again = new ChainIndexer({
        chain: chainA,
        client: publicClientFor({ ...chainA, rpc: [liar.url] }),
        store,
        metrics,
        log,
        leaseTtlMs: 60_000,
      });
      await catchUp(again);
      await again.stop();
      expect(await metric(metrics, "distpos_indexer_root_mismatches_total")).to.equal(1);
      const rebuilt = lines
        .map((l) => JSON.parse(l) as { msg: string; from?: number })
        .find((l) => l.msg.startsWith("index disagrees with the chain: rebuilding"));
      expect(rebuilt?.msg).to.match(/from the last snapshot that agrees/);
      expect(rebuilt?.from).to.equal(agreeingBlock - 1);
      const { tree } = await again.view.sync();
      expect(tree.root()).to.equal(await a.suite.outbox.root());
    } finally {
      await liar.close();
    }
  });

  it("lets one process index a chain at a time (lease)", async function () {
    const one = indexer();
    const two = indexer();
    expect(await one.step()).to.equal(true);
    await mine(net.chains[0]!, 3);
    expect(await two.step()).to.equal(false);
    await one.stop();
    expect(await two.step()).to.equal(true);
  });
});
