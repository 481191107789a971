/**
 * Messages crossing as verified bundles (relayer.handover: bundles, issue 14): three `distpos node`
 * processes, each configured with its home chain's RPC only, hand each other bundles; refused bundles name
 * their reason and put nothing in the queue.
 */
import { expect } from "chai";
import type { Hex } from "viem";

import { getDeliveryStatuses, getNodeMessage } from "../../relayer/nodeApi/index.js";
import { NodeHttpError } from "../../relayer/sdk/errors.js";
import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { handMadeBundles, postBundle } from "./helpers/bundles.js";
import { freePort, type NodeProcess } from "./helpers/proc.js";
import {
  deliveredOnce,
  deliveries,
  deploySink,
  dispatchMany,
  fundedKey,
  missing,
  nodeConfigFile,
  queueCounts,
  runNode,
} from "./helpers/scenario.js";

describe("relayer e2e: bundles handed node to node between three chains, home chains only", function () {
  const net = useServedNetwork({
    name: "bundles",
    nodesPerSuite: true,
    confirmations: 1,
    intervalMiningMs: 100,
    chains: ["chainA", "chainB", "chainC"],
  });
  let a: TestChain;
  let b: TestChain;
  let c: TestChain;
  let sinkA: string;
  let sinkB: string;
  let sinkC: string;
  const prefixes: string[] = [];
  const urls: Record<string, string> = {};
  const configs: Record<string, { file: string; env: Record<string, string> }> = {};
  const nodes: Record<string, NodeProcess> = {};

  before(async function () {
    [a, b, c] = net.chains as [TestChain, TestChain, TestChain];
    sinkA = await deploySink(a);
    sinkB = await deploySink(b);
    sinkC = await deploySink(c);
    for (const chain of [a, b, c])
      urls[chain.suite.addresses.chainCode] = `http://127.0.0.1:${await freePort()}`;
    // Each chain's entry node is its test node; B's list starts with a node that is down (every
    // hand-over to B fails over past it).
    const dead = `http://127.0.0.1:${await freePort()}`;
    for (const chain of [a, b, c]) {
      const code = chain.suite.addresses.chainCode;
      net.chainEntries[code]!.nodes = chain === b ? [dead, urls[code]!] : [urls[code]!];
    }
    for (const chain of [a, b, c]) {
      const code = chain.suite.addresses.chainCode;
      const prefix = net.newPrefix(`bundles-${code}`);
      prefixes.push(prefix);
      const { file, env } = nodeConfigFile(
        net,
        code,
        prefix,
        {
          attester: chain.attesters[0]!.privateKey as Hex,
          relayer: await fundedKey(net),
        },
        {
          roles: ["indexer", "api", "attester", "relayer"],
          api: { host: "127.0.0.1", port: Number(new URL(urls[code]!).port) },
          // C's node never pushes: what it sends crosses only when the destination pulls.
          relayer: { handover: "bundles", pullIntervalMs: 500, push: chain !== c },
        },
      );
      configs[code] = { file, env };
      nodes[code] = await runNode(`bundles-${code}`, file, env);
    }
  });

  it("delivers both ways between three chains, failing over past a dead entry node and pulling what is not pushed", async function () {
    const toB = await dispatchMany(a, b, sinkB, 6, 1);
    const toA = await dispatchMany(b, a, sinkA, 4, 2);
    const toC = await dispatchMany(a, c, sinkC, 3, 4);
    // C's node pushes nothing: A's node pulls these.
    const fromC = await dispatchMany(c, a, sinkA, 3, 5);
    const flows = [
      [b, toB],
      [a, toA],
      [c, toC],
      [a, fromC],
    ] as const;
    await waitFor(
      "every message delivered",
      async () => {
        for (const [chain, ids] of flows)
          if (missing([...ids], await deliveries(chain)).length) return false;
        return true;
      },
      180_000,
      500,
    );
    for (const [chain, ids] of flows) {
      const delivered = await deliveries(chain);
      for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    }
    // Status end to end from the origin's node: handed to B's node, delivered in B's tx.
    const aCode = a.suite.addresses.chainCode;
    const bCode = b.suite.addresses.chainCode;
    const followed = await waitFor(
      "A's node to see its message delivered",
      async () => {
        const j = await getNodeMessage(urls[aCode]!, toB[0]!);
        return j?.handover?.state === "delivered" ? j : undefined;
      },
      60_000,
      500,
    );
    expect(followed.handover!.node).to.equal(urls[bCode]);
    expect(followed.destination.status).to.equal("delivered");
    expect(followed.destination.tx).to.equal((await deliveries(b)).get(toB[0]!)![0]);
    // What A's node follows with: B's node answers many messages' delivery in one request, from
    // its delivery index, and bounds what one request may ask.
    const asked = await getDeliveryStatuses(urls[bCode]!, [...toB, toC[0]!]);
    const delivered = await deliveries(b);
    for (const id of toB)
      expect(asked[id.toLowerCase()], id).to.deep.include({
        status: "delivered",
        tx: delivered.get(id)![0],
        confirmed: true,
      });
    expect(asked[toC[0]!.toLowerCase()]).to.deep.equal({ status: "unknown" });
    const tooMany = await getDeliveryStatuses(
      urls[bCode]!,
      Array.from({ length: 201 }, () => toB[0]!),
    ).catch((e: unknown) => e);
    expect(tooMany).to.be.instanceOf(NodeHttpError);
    expect((tooMany as NodeHttpError).status).to.equal(400);
    expect((tooMany as NodeHttpError).serverError).to.match(/1 to 200/);
    // The destination's node knows it from the bundle, with no index of chain A.
    const there = await getNodeMessage(urls[bCode]!, toB[0]!);
    expect(there?.status).to.equal("delivered");
    expect(await net.redis.exists(`${prefixes[1]}:chain:${aCode}:cursor`)).to.equal(0);
    expect(await net.redis.exists(`${prefixes[1]}:chain:${bCode}:cursor`)).to.equal(1);
    // C's node never pushed: A's pulls told it what A took, so it follows them to delivery too
    // and its open set empties (nothing would be offered again).
    const cCode = c.suite.addresses.chainCode;
    const pulled = await waitFor(
      "C's node to see its pulled message delivered",
      async () => {
        const j = await getNodeMessage(urls[cCode]!, fromC[0]!);
        return j?.handover?.state === "delivered" ? j : undefined;
      },
      60_000,
      500,
    );
    expect(pulled.destination.tx).to.equal((await deliveries(a)).get(fromC[0]!)![0]);
    expect(await net.redis.zcard(`${prefixes[2]}:out:open:${aCode}`)).to.equal(0);
  });

  it("refuses a forged signature, a wrong proof, a wrong destination and a replay, queueing nothing", async function () {
    const aCode = a.suite.addresses.chainCode;
    const bCode = b.suite.addresses.chainCode;
    const [id] = await dispatchMany(a, b, sinkB, 1, 3);
    await waitFor("delivery", async () => (await deliveries(b)).has(id!), 120_000, 500);
    const message = (await getNodeMessage(urls[aCode]!, id!))!.encoded;
    const { good, stranger: forged, badSignature, wrongProof } = await handMadeBundles(a, message);
    // Jobs ever queued on B (a job may still move from active to completed meanwhile).
    const jobs = async () =>
      Object.values(await queueCounts(net.redis, prefixes[1]!, bCode)).reduce((x, y) => x + y, 0);
    const before = await jobs();
    const post = postBundle;
    expect(await post(urls[bCode]!, forged)).to.deep.include({ status: 403 });
    expect((await post(urls[bCode]!, forged)).body.reason).to.equal("unknown-signer");
    expect((await post(urls[bCode]!, wrongProof)).body.reason).to.equal("wrong-proof");
    expect(await post(urls[bCode]!, badSignature)).to.deep.include({ status: 403 });
    expect((await post(urls[bCode]!, badSignature)).body.reason).to.equal("bad-signature");
    // A bundle for B posted to A's node.
    expect((await post(urls[aCode]!, good)).body.reason).to.equal("wrong-destination");
    // The honest bundle again, after its message was delivered.
    const replay = await post(urls[bCode]!, good);
    expect(replay.status).to.equal(409);
    expect(replay.body.reason).to.equal("already-delivered");
    expect(await jobs()).to.equal(before);
  });

  it("loses nothing while the destination's node is down for a minute, and resumes", async function () {
    this.timeout(360_000);
    const aCode = a.suite.addresses.chainCode;
    const bCode = b.suite.addresses.chainCode;
    await nodes[bCode]!.kill("SIGKILL");
    const downMs = Number(process.env.DISTPOS_TEST_DOWN_MS ?? 60_000);
    const ids = await dispatchMany(a, b, sinkB, 5, 6);
    // A's node keeps them waiting (B's entry nodes are down), nothing delivered meanwhile.
    await waitFor(
      "A's node to hold them for B",
      async () => (await getNodeMessage(urls[aCode]!, ids[4]!))?.handover?.state === "waiting",
      60_000,
      500,
    );
    await new Promise((r) => setTimeout(r, downMs));
    expect(missing(ids, await deliveries(b))).to.have.length(ids.length);
    expect((await getNodeMessage(urls[aCode]!, ids[0]!))?.handover?.state).to.equal("waiting");
    const { file, env } = configs[bCode]!;
    nodes[bCode] = await runNode(`bundles-${bCode}-again`, file, env);
    await deliveredOnce(b, ids, "every message delivered after B's node is back", 180_000);
  });
});
