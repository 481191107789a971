import { expect } from "chai";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { publicClientFor } from "../../relayer/chain/clients.js";
import type { Chain } from "../../relayer/config/load.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { ChainStore } from "../../relayer/indexer/store.js";
import { Metrics } from "../../relayer/metrics.js";
import { MerkleTree } from "../../relayer/protocol/index.js";
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

  function indexer(metrics = new Metrics()) {
    const store = new ChainStore(redis, prefix, chainA.code);
    return new ChainIndexer({
      chain: chainA,
      client: publicClientFor(chainA),
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
