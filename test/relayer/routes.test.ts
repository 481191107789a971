/**
 * The routing table signed by stake (relayer/routes/) and the API's limits against hostile peers,
 * on real chains served over JSON-RPC, real Redis and real signatures: forged, unmirrored,
 * tampered and expired records refused with their reason; a higher sequence replaces a lower;
 * records propagate node to node over GET /v1/routes; `distpos routes` names each signer and its
 * stake; a flood from one address gets 429 while another address is served; health does not read
 * the chain per request.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import type { Redis } from "ioredis";
import type { Hex } from "viem";
import { parse as parseYaml } from "yaml";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import {
  recordToJson,
  RouteRecordError,
  signRouteRecord,
  type RouteRecord,
  type SignedRouteRecord,
} from "../../relayer/routes/record.js";
import { startNode, type RunningNode } from "../../relayer/runner.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import type { TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  loadedConfig,
  newRedis,
  nodeConfigObject,
  serveNetwork,
  testLogger,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "./helpers/net.js";
import { freePort, runCli } from "./helpers/proc.js";

const now = () => BigInt(Math.floor(Date.now() / 1000));

/** GET from a chosen local source address (another "peer" on the loopback network). */
function getFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function refusal(p: Promise<unknown>): Promise<RouteRecordError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RouteRecordError) return e;
    throw e;
  }
  throw new Error("the record was accepted");
}

describe("relayer/routes: routing table signed by stake, API limits", function () {
  this.timeout(180_000);
  let net: ServedNetwork;
  let redis: Redis;
  let a: TestChain;
  let b: TestChain;
  let A: bigint;
  let B: bigint;
  const prefixes: string[] = [];
  const nodes: RunningNode[] = [];

  async function start(
    home: string,
    name: string,
    overrides: Partial<NodeConfigInput>,
    keys: { attester?: Hex } = {},
  ): Promise<RunningNode> {
    const prefix = testPrefix(name);
    prefixes.push(prefix);
    const env: NodeJS.ProcessEnv = {};
    if (keys.attester) env.ROUTES_TEST_ATTESTER = keys.attester;
    const cfg = loadedConfig(
      nodeConfigObject(net, home, prefix, {
        roles: ["api"],
        ...(keys.attester ? { keys: { attester: "ROUTES_TEST_ATTESTER" } } : {}),
        ...overrides,
      }),
    );
    // The attester role itself is not run: only its key signs the community's record.
    const node = await startNode(cfg, { log: testLogger(name), env });
    // The first round (own record signed, bootstrap pulled) done before the test reads the table.
    await node.ctx.routes.refresh();
    nodes.push(node);
    return node;
  }

  before(async function () {
    net = await serveNetwork({ confirmations: 0 });
    [a, b] = net.chains as [TestChain, TestChain];
    A = BigInt(`0x${a.suite.addresses.chainCode}`);
    B = BigInt(`0x${b.suite.addresses.chainCode}`);
    redis = newRedis();
  });

  after(async function () {
    for (const n of nodes) await n.stop();
    for (const p of prefixes) await clearPrefix(redis, p);
    redis.disconnect();
    await net?.close();
  });

  const recordOf = (
    chain: TestChain,
    nodesList: string[],
    sequence: bigint,
    expiry = now() + 3600n,
  ): RouteRecord => ({
    code: BigInt(`0x${chain.suite.addresses.chainCode}`),
    evmChainId: BigInt(chain.suite.addresses.evmChainId),
    nodes: nodesList,
    sequence,
    expiry,
  });

  it("propagates records node to node, refuses forged and expired ones with their reason, and names signers in `distpos routes`", async function () {
    const [portA, portB, portB2] = await Promise.all([freePort(), freePort(), freePort()]);
    const urlA = `http://127.0.0.1:${portA}`;
    const urlB = `http://127.0.0.1:${portB}`;
    const aKey = a.attesters[0]!.privateKey as Hex;
    const bKey = b.attesters[0]!.privateKey as Hex;
    const nodeA = await start(
      a.suite.addresses.chainCode,
      "routes-a",
      { api: { host: "127.0.0.1", port: portA }, routes: { announce: [urlA] } },
      { attester: aKey },
    );
    const nodeB = await start(
      b.suite.addresses.chainCode,
      "routes-b",
      {
        api: { host: "127.0.0.1", port: portB },
        routes: { announce: [urlB], bootstrap: [urlA] },
      },
      { attester: bKey },
    );
    // A second node of community b, knowing only node B: it learns a's record through B.
    const nodeB2 = await start(b.suite.addresses.chainCode, "routes-b2", {
      api: { host: "127.0.0.1", port: portB2 },
      routes: { bootstrap: [urlB] },
    });

    // Each signed its own community's record (bonded on its home StakingHub).
    expect(nodeA.ctx.routes.entry(A)?.record.signer).to.equal(a.attesters[0]!.address);
    expect(nodeB.ctx.routes.entry(B)?.stake.source).to.equal("home-staking-hub");

    // Propagation over GET /v1/routes: B pulls from A (its bootstrap), B2 from B.
    expect((await nodeB.ctx.routes.pull()).refused).to.deep.equal([]);
    const atB = nodeB.ctx.routes.entry(A);
    expect(atB?.record.signer).to.equal(a.attesters[0]!.address);
    expect(atB?.stake.source).to.equal("home-inbox-mirror");
    expect(atB!.stake.stake > 0n).to.equal(true);
    expect(nodeB.ctx.routes.peerEntryNodes(A)).to.deep.equal([urlA]);
    await nodeB2.ctx.routes.pull();
    expect(nodeB2.ctx.routes.peerEntryNodes(A)).to.deep.equal([urlA]);
    expect(nodeB2.ctx.routes.peerEntryNodes(B)).to.deep.equal([urlB]);
    const served = (await (await fetch(`${urlB}/v1/routes`)).json()) as {
      records: { code: string; signer: string }[];
    };
    expect(served.records.map((r) => r.code).sort()).to.deep.equal(
      [a.suite.addresses.chainCode, b.suite.addresses.chainCode].sort(),
    );
    const text = JSON.stringify(served);
    for (const rpc of net.rpcs) expect(text).not.to.contain(rpc.url);
    expect(text).not.to.contain("contracts");

    const held = atB!.record;
    const routes = nodeB.ctx.routes;
    // A random key: not mirrored for a by b's Inbox.
    const stranger = generatePrivateKey();
    const forged = await signRouteRecord(stranger, recordOf(a, ["http://evil.example"], 99n));
    expect((await refusal(routes.accept(forged))).reason).to.equal("signer-not-mirrored");
    // b's own attester speaking for a: staked, but not for a.
    const unmirrored = await signRouteRecord(bKey, recordOf(a, ["http://evil.example"], 99n));
    expect((await refusal(routes.accept(unmirrored))).reason).to.equal("signer-not-mirrored");
    // A stranger speaking for our own community: not bonded on the home StakingHub.
    const ownForged = await signRouteRecord(stranger, recordOf(b, ["http://evil.example"], 99n));
    expect((await refusal(routes.accept(ownForged))).reason).to.equal("signer-not-staked");
    // A's real record with its URLs changed, or claiming another signer.
    const tampered: SignedRouteRecord = { ...held, nodes: ["http://evil.example"] };
    expect((await refusal(routes.accept(tampered))).reason).to.equal("signer-mismatch");
    const renamed: SignedRouteRecord = { ...forged, signer: a.attesters[0]!.address as Hex };
    expect((await refusal(routes.accept(renamed))).reason).to.equal("signer-mismatch");
    // Expired, though signed by a mirrored attester.
    const expired = await signRouteRecord(
      aKey,
      recordOf(a, ["http://old.example"], held.sequence + 5n, now() - 1n),
    );
    expect((await refusal(routes.accept(expired))).reason).to.equal("expired");
    expect(routes.peerEntryNodes(A)).to.deep.equal([urlA]);

    // Higher sequence (another mirrored attester of a) replaces; a lower one is then stale.
    const newer = await signRouteRecord(
      a.attesters[1]!.privateKey as Hex,
      recordOf(a, ["http://a2.example"], held.sequence + 1n),
    );
    expect(await routes.accept(newer)).to.equal("accepted");
    expect(routes.peerEntryNodes(A)).to.deep.equal(["http://a2.example"]);
    expect((await refusal(routes.accept(held))).reason).to.equal("stale");
    expect(await routes.accept(newer)).to.equal("known");

    // `distpos routes` against node B: each entry with its signer, stake and verdict.
    const cliConfig = writeConfigFile(
      nodeConfigObject(net, b.suite.addresses.chainCode, prefixes[1]!, {
        api: { host: "127.0.0.1", port: portB },
      }),
    );
    const shown = await runCli(["-c", cliConfig, "routes", "--node", urlB]);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.contain(privateKeyToAccount(a.attesters[1]!.privateKey as Hex).address);
    expect(shown.stdout).to.contain(b.attesters[0]!.address);
    expect(shown.stdout).to.contain("home-inbox-mirror");
    expect(shown.stdout).to.contain("verified");

    // --write: a peer's contracts from the home RouteRegistry, its nodes from the verified record,
    // and nothing else of it (no RPC URL, confirmations or start block).
    const out = join(mkdtempSync(join(tmpdir(), "distpos-routes-")), "node.yaml");
    const wrote = await runCli(["-c", cliConfig, "routes", "--node", urlB, "--write", out]);
    expect(wrote.code, wrote.stderr).to.equal(0);
    const written = parseYaml(readFileSync(out, "utf8")) as {
      chains: Record<string, Record<string, unknown>>;
      routes: { bootstrap: string[] };
    };
    const peer = written.chains[a.suite.addresses.chainCode]!;
    expect(peer.nodes).to.deep.equal(["http://a2.example"]);
    expect(peer.contracts).to.deep.equal({
      outbox: a.suite.addresses.outbox,
      inbox: a.suite.addresses.inbox,
      stakingHub: a.suite.addresses.stakingHub,
      bank: a.suite.addresses.bank,
    });
    expect(peer.chainId).to.equal(a.suite.addresses.evmChainId);
    for (const field of ["rpc", "confirmations", "startBlock"])
      expect(peer, field).not.to.have.property(field);
    expect(written.routes.bootstrap).to.deep.equal([urlB]);
  });

  it("pulls refuse a peer's forged record with its reason", async function () {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stranger = generatePrivateKey();
    const forged = await signRouteRecord(stranger, recordOf(a, ["http://evil.example"], 7n));
    // A peer serving a forged record for a: the puller refuses it, naming the reason.
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ home: "x", records: [recordToJson(forged)] }));
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const node = await start(b.suite.addresses.chainCode, "routes-pull", {});
      const { accepted, refused } = await node.ctx.routes.pull([url]);
      expect(accepted).to.equal(0);
      expect(refused.map((e) => e.reason)).to.deep.equal(["signer-not-mirrored"]);
      expect(node.ctx.routes.entry(A)).to.equal(undefined);
    } finally {
      server.close();
    }
  });

  it("answers a flood from one address 429 while another address is served; health reads the chain once per period", async function () {
    const node = await start(b.suite.addresses.chainCode, "routes-limit", {
      api: {
        host: "127.0.0.1",
        port: 0,
        rateLimitMax: 30,
        rateLimitWindowMs: 600_000,
        statusCacheMs: 600_000,
      },
    });
    const port = new URL(node.apiUrl!).port;
    const flood = await Promise.all(
      Array.from({ length: 80 }, () => getFrom(`http://127.0.0.1:${port}/v1/routes`, "127.0.0.2")),
    );
    expect(flood.filter((s) => s === 429).length).to.be.at.least(50);
    expect(flood.filter((s) => s === 200).length).to.be.at.most(30);
    // An honest peer at another address is still served.
    expect(await getFrom(`http://127.0.0.1:${port}/v1/routes`, "127.0.0.1")).to.equal(200);
    // The operator's probes are not limited, even from the flooding address.
    expect(await getFrom(`http://127.0.0.1:${port}/metrics`, "127.0.0.2")).to.equal(200);

    // Health: every chain's tip read once, then reused for statusCacheMs however many ask.
    let reads = 0;
    for (const client of node.ctx.clients.values()) {
      const original = client.getBlockNumber.bind(client);
      client.getBlockNumber = (...args: Parameters<typeof original>) => {
        reads++;
        return original(...args);
      };
    }
    for (let i = 0; i < 10; i++) await getFrom(`http://127.0.0.1:${port}/v1/health`, "127.0.0.1");
    expect(reads).to.equal(node.ctx.cfg.chainList.length);
  });
});
