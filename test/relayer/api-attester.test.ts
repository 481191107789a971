/**
 * The node API and the attester in one process over a served network: answers and 4xx reasons,
 * the idempotent hand-over of messages, proofs that verify, and an attester that signs only roots
 * its own leaves reproduce and the Outbox recorded.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { Attester } from "../../relayer/attester/attester.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { Metrics } from "../../relayer/metrics.js";
import { startNode, type RunningNode } from "../../relayer/runner.js";
import { NodeContext } from "../../relayer/node.js";
import {
  checkpointDomain,
  encodeMessage,
  messageId,
  recoverCheckpointSigner,
  signCheckpoint,
  verifyProof,
  type Checkpoint,
} from "../../relayer/protocol/index.js";
import { latestCheckpoint, type TestChain } from "../helpers/suite.js";
import { Watcher } from "../../relayer/watcher/watcher.js";
import {
  clearPrefix,
  loadedConfig,
  mine,
  newRedis,
  nodeConfigObject,
  serveNetwork,
  testLogger,
  testPrefix,
  waitFor,
  type ServedNetwork,
} from "./helpers/net.js";
import { deploySink, dispatchMany, fundedKey } from "./helpers/scenario.js";

async function metric(metrics: Metrics, name: string): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((s, v) => s + Number(v.value), 0);
}

describe("relayer/api and relayer/attester", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let a: TestChain;
  let b: TestChain;
  let sink: string;

  before(async function () {
    net = await serveNetwork({ confirmations: 0 });
    [a, b] = net.chains as [TestChain, TestChain];
    sink = await deploySink(b);
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(() => (prefix = testPrefix("api")));
  afterEach(async () => clearPrefix(redis, prefix));

  describe("api", function () {
    let node: RunningNode;
    let api: string;
    let ids: string[];

    beforeEach(async function () {
      // B's node: indexes both chains, serves the API, relays nothing (no relayer role).
      const cfg = loadedConfig(
        nodeConfigObject(net, b.suite.addresses.chainCode, prefix, { roles: ["indexer", "api"] }),
      );
      node = await startNode(cfg, { log: testLogger("api") });
      api = node.apiUrl!;
      ids = await dispatchMany(a, b, sink, 3, 1);
      await (await a.suite.outbox.snapshot()).wait();
      await waitFor("A indexed", async () => {
        const h = (await (await fetch(`${api}/v1/health`)).json()) as {
          chains: Record<string, { leaves: number }>;
        };
        return (
          h.chains[a.suite.addresses.chainCode]!.leaves === Number(await a.suite.outbox.count())
        );
      });
    });
    afterEach(async () => node.stop());

    const get = async (path: string) => {
      const res = await fetch(`${api}${path}`);
      return {
        status: res.status,
        body: (await res.json().catch(() => undefined)) as Record<string, unknown>,
      };
    };
    const post = async (body: unknown) => {
      const res = await fetch(`${api}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it("answers health, routes, messages and proofs; explains every 4xx", async function () {
      const health = await get("/v1/health");
      expect(health.status).to.equal(200);
      expect(health.body.status).to.equal("ok");

      // No node of this network announces entry nodes: no signed record to serve.
      const routes = await get("/v1/routes");
      expect(routes.status).to.equal(200);
      expect(routes.body.records).to.deep.equal([]);

      const msg = await get(`/v1/messages/${ids[0]}`);
      expect(msg.status).to.equal(200);
      expect((msg.body.destination as { status: string }).status).to.equal("pending");
      expect((msg.body.message as { to: string }).to.toLowerCase()).to.equal(
        `${b.suite.addresses.chainCode}x${sink.slice(2)}`.toLowerCase(),
      );

      const nonce = (msg.body.origin as { nonce: number }).nonce;
      const proof = await get(`/v1/proofs/${ids[0]}`);
      expect(proof.status).to.equal(200);
      const p = proof.body as { root: Hex; count: number; proof: Hex[] };
      expect(p.root).to.equal(await a.suite.outbox.rootAt(p.count));
      expect(verifyProof(ids[0] as Hex, p.proof, nonce, p.root)).to.equal(true);

      expect((await get("/v1/messages/0x1234")).status).to.equal(400);
      expect((await get(`/v1/messages/0x${"ab".repeat(32)}`)).status).to.equal(404);
      const beyond = await get(`/v1/proofs/${ids[0]}?count=${nonce}`);
      expect(beyond.status).to.equal(400);
      expect(beyond.body.error).to.match(/does not include nonce/);
      expect((await get(`/v1/proofs/${ids[0]}?count=99999`)).status).to.equal(400);
      expect((await get("/v1/checkpoints/latest?origin=XYZ")).status).to.equal(400);
      expect((await get("/v1/checkpoints/latest?origin=beef")).body.error).to.match(
        /routing table/,
      );
      expect((await get("/v1/checkpoints/latest")).status).to.equal(404); // no attester here

      const metrics = await fetch(`${api}/metrics`);
      expect(await metrics.text()).to.contain("distpos_indexer_leaves");
    });

    it("takes a message handed over by a peer once, validated", async function () {
      const encoded = (
        await a.suite.outbox.queryFilter(a.suite.outbox.filters.Dispatch(ids[1]))
      ).map((l) => l.args.message)[0] as Hex;
      const first = await post({ message: encoded });
      expect(first.status).to.equal(202);
      expect(first.body).to.deep.equal({ id: ids[1], status: "accepted" });
      const again = await post({ message: encoded });
      expect(again.status).to.equal(200);
      expect(again.body.status).to.equal("known");
      const jobs = await redis.keys(
        `${prefix}:bull:relay-${b.suite.addresses.chainCode}:${ids[1]}`,
      );
      expect(jobs).to.have.length(1);

      expect((await post({})).status).to.equal(400);
      expect((await post({ message: "0x1234" })).body.error).to.match(/not a DistPOS message/);
      // Addressed elsewhere, or from a chain we do not know, or not the origin's leaf.
      const fields = {
        nonce: 0,
        origin: a.suite.code,
        sender: ethers.zeroPadValue(sink, 32) as Hex,
        destination: a.suite.code,
        recipient: ethers.zeroPadValue(sink, 32) as Hex,
        amount: 0n,
        body: "0x" as Hex,
      };
      expect((await post({ message: encodeMessage(fields) })).body.error).to.match(
        /not this node's chain/,
      );
      expect(
        (
          await post({
            message: encodeMessage({ ...fields, destination: b.suite.code, origin: 0xbeefn }),
          })
        ).body.error,
      ).to.match(/routing table/);
      const forged = encodeMessage({ ...fields, destination: b.suite.code, body: "0x66" });
      const rejected = await post({ message: forged });
      expect(rejected.status).to.equal(422);
      expect(rejected.body.error).to.match(/not the message the origin Outbox holds/);
      expect(await redis.exists(`${prefix}:pushed:${messageId(forged)}`)).to.equal(0);
    });
  });

  describe("attester", function () {
    it("signs confirmed snapshots whose root it reproduces, and refuses a root its leaves do not give", async function () {
      const cfg = loadedConfig(
        nodeConfigObject(net, a.suite.addresses.chainCode, prefix, {
          roles: ["indexer", "attester"],
          keys: { attester: "X" },
          attester: { snapshot: false },
        }),
      );
      const metrics = new Metrics();
      const ctx = new NodeContext(cfg, testLogger("attester"), metrics);
      try {
        const indexer = new ChainIndexer({
          chain: cfg.homeChain,
          client: ctx.client(cfg.homeChain.code),
          store: ctx.store(cfg.homeChain.code),
        });
        await dispatchMany(a, b, sink, 2, 2);
        await (await a.suite.outbox.snapshot()).wait();
        await mine(a, 1);
        for (let i = 0; i < 20 && (await indexer.step()); i++);
        const attester = new Attester(ctx, a.attesters[0]!.privateKey as Hex);
        const signed = await attester.signConfirmedSnapshots();
        const [, count] = await a.suite.outbox.latestSnapshot();
        expect(signed).to.include(Number(count));
        const cp = (await ctx.checkpoints.get(a.suite.code, Number(count)))!;
        const domain = checkpointDomain({
          evmChainId: a.suite.evmChainId,
          outbox: a.suite.addresses.outbox as Hex,
        });
        expect(
          recoverCheckpointSigner(
            domain,
            { origin: a.suite.code, root: cp.root, count: cp.count, last: cp.last },
            cp.signatures[0]!.signature,
          ),
        ).to.equal(a.attesters[0]!.address);
        expect(await attester.signConfirmedSnapshots()).to.deep.equal([]); // once per count

        // A later snapshot, but our stored leaves are wrong (a faulty index): nothing is signed.
        await dispatchMany(a, b, sink, 1, 3);
        await (await a.suite.outbox.snapshot()).wait();
        for (let i = 0; i < 20 && (await indexer.step()); i++);
        const [, later] = await a.suite.outbox.latestSnapshot();
        await redis.hset(
          `${prefix}:chain:${a.suite.addresses.chainCode}:leaves`,
          String(Number(later) - 1),
          `0x${"77".repeat(32)}`,
        );
        ctx.view(a.suite.code).invalidate();
        expect(await attester.signConfirmedSnapshots()).to.deep.equal([]);
        expect(await metric(metrics, "distpos_attester_sign_refused_total")).to.equal(1);
        expect(await ctx.checkpoints.get(a.suite.code, Number(later))).to.equal(undefined);
      } finally {
        await ctx.close();
      }
    });
  });
  describe("watcher", function () {
    it("proves a true root signed with a false last leaf by the leaf in its own index (proveLastLeafFraud), and leaves the true checkpoint alone", async function () {
      const cfg = loadedConfig(
        nodeConfigObject(net, a.suite.addresses.chainCode, prefix, {
          roles: ["indexer", "watcher"],
          keys: { watcher: "X" },
        }),
      );
      const ctx = new NodeContext(cfg, testLogger("watcher"), new Metrics());
      try {
        const indexer = new ChainIndexer({
          chain: cfg.homeChain,
          client: ctx.client(cfg.homeChain.code),
          store: ctx.store(cfg.homeChain.code),
        });
        await dispatchMany(a, b, sink, 2, 4);
        await (await a.suite.outbox.snapshot()).wait();
        await mine(a, 1);
        for (let i = 0; i < 20 && (await indexer.step()); i++);
        const truth = await latestCheckpoint(a);
        const domain = checkpointDomain({
          evmChainId: a.suite.evmChainId,
          outbox: a.suite.addresses.outbox as Hex,
        });
        const [honest, liar] = a.attesters as [ethers.Wallet, ethers.Wallet];
        const watcher = new Watcher(ctx, await fundedKey(net));
        const sign = (w: ethers.Wallet, c: Checkpoint) =>
          signCheckpoint(w.privateKey as Hex, domain, c);
        expect(await watcher.check(truth, await sign(honest, truth), "api")).to.equal("honest");
        // The root is true, so the hub alone cannot tell: the watcher's index of A can.
        const lie: Checkpoint = { ...truth, last: ethers.id("not the last leaf") as Hex };
        expect(await a.suite.stakingHub.isFraudulent(lie)).to.equal(false);
        expect(await watcher.check(lie, await sign(liar, lie), "api")).to.equal("proven");
        expect(await a.suite.stakingHub.slashed(liar.address)).to.equal(true);
        expect(await a.suite.stakingHub.slashed(honest.address)).to.equal(false);
      } finally {
        await ctx.close();
      }
    });
  });
});
