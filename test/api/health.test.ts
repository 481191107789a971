/**
 * Operator health of the node API (relayer/api/): /v1/health names each dependency that is down
 * and answers 503 for it, quickly; API calls fail fast while Redis is down; a busy api.port stops
 * the node naming the field and the port; CORS for read-only endpoints only; a made-up message
 * pushed by a peer is "unverified", never "pending"; /v1/routes never publishes RPC URLs; the
 * backlog, balance and headroom metrics. Real chains over JSON-RPC, real Redis (a private
 * redis-server, killed by its PID, for the outage).
 */
import { createServer, type Server } from "node:net";

import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { startNode, type RunningNode } from "../../relayer/runner.js";
import { encodeMessage, messageId } from "../../relayer/protocol/index.js";
import type { TestChain } from "../helpers/suite.js";
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
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { freePort, runCli, startRedisServer, type RedisServer } from "../relayer/helpers/proc.js";
import { deploySink, dispatchMany, fundedKey } from "../relayer/helpers/scenario.js";

interface HealthBody {
  status: string;
  problems: string[];
  warnings: string[];
  checks: Record<string, { ok: boolean; error?: string }>;
  chains: Record<string, { leaves: number; lag: number | null }>;
}

const api = (n: RunningNode) => n.apiUrl!;

async function get(url: string, init?: RequestInit) {
  const started = Date.now();
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body, text, headers: res.headers, ms: Date.now() - started };
}

/** The value of a Prometheus sample `name{labels}` in a /metrics text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("relayer/api: operator health", function () {
  this.timeout(180_000);
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let a: TestChain;
  let b: TestChain;
  let sink: string;
  let node: RunningNode | undefined;

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
  beforeEach(() => (prefix = testPrefix("health")));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    for (const rpc of net.rpcs) rpc.up();
    await clearPrefix(redis, prefix);
  });

  const start = async (
    overrides: Parameters<typeof nodeConfigObject>[3] = {},
    redisUrl?: string,
  ) => {
    const obj = nodeConfigObject(net, b.suite.addresses.chainCode, prefix, overrides);
    if (redisUrl) obj.redis = { url: redisUrl, prefix };
    node = await startNode(loadedConfig(obj), { log: testLogger("health") });
    return node.apiUrl!;
  };
  const indexed = (api: string) =>
    waitFor("every chain indexed", async () => {
      const h = await get(`${api}/v1/health`);
      return h.status === 200 && (h.body as unknown as HealthBody).status === "ok";
    });

  it("reports each dependency and answers 503, within seconds, while the home RPC is down", async function () {
    // Health reused for 0 ms: each request below sees the RPC switched just before it.
    const api = await start({ api: { host: "127.0.0.1", port: 0, statusCacheMs: 0 } });
    await indexed(api);
    const ok = (await get(`${api}/v1/health`)).body as unknown as HealthBody;
    expect(ok.checks.redis.ok).to.equal(true);
    expect(ok.checks.homeRpc.ok).to.equal(true);
    expect(ok.checks.indexer.ok).to.equal(true);
    expect(ok.problems).to.deep.equal([]);

    net.rpcs[1]!.down(); // B, this node's home
    const down = await get(`${api}/v1/health`);
    expect(down.status).to.equal(503);
    expect(down.ms).to.be.below(4_000);
    const body = down.body as unknown as HealthBody;
    expect(body.status).to.equal("unhealthy");
    expect(body.checks.homeRpc.ok).to.equal(false);
    expect(body.problems.join("\n")).to.match(
      new RegExp(`home RPC \\(chain ${b.suite.addresses.chainCode}\\)`),
    );
    // The URL (which may carry a provider key) is never in the answer.
    expect(down.text).not.to.contain(net.rpcs[1]!.url);

    net.rpcs[1]!.up();
    net.rpcs[0]!.down(); // a peer's RPC: a warning, not an outage of this node
    const peerDown = await get(`${api}/v1/health`);
    expect(peerDown.status).to.equal(200);
    expect((peerDown.body as unknown as HealthBody).warnings.join("\n")).to.contain(
      `RPC of chain ${a.suite.addresses.chainCode}`,
    );
  });

  it("answers 503 naming the chain whose index lags more than api.maxIndexerLag blocks", async function () {
    // An API without an indexer anywhere: the index never moves while the chains do.
    const api = await start({
      roles: ["api"],
      api: { host: "127.0.0.1", port: 0, maxIndexerLag: 5 },
    });
    await mine(a, 10);
    const h = await get(`${api}/v1/health`);
    expect(h.status).to.equal(503);
    const body = h.body as unknown as HealthBody;
    expect(body.checks.indexer.ok).to.equal(false);
    expect(body.problems.join("\n")).to.match(
      new RegExp(
        `indexer: .*chain ${a.suite.addresses.chainCode} is \\d+ blocks behind.*api.maxIndexerLag 5`,
      ),
    );
    expect(body.chains[a.suite.addresses.chainCode]!.lag).to.be.above(5);
  });

  it("fails API calls fast, and health with 503, while Redis is down", async function () {
    let server: RedisServer | undefined;
    try {
      server = await startRedisServer();
      const api = await start({}, server.url);
      await indexed(api);
      const [id] = await dispatchMany(a, b, sink, 1, 7);
      await waitFor(
        "message indexed",
        async () => (await get(`${api}/v1/messages/${id}`)).status === 200,
      );

      await server.stop();
      for (const path of [`/v1/messages/${id}`, `/v1/proofs/${id}`, "/v1/checkpoints/latest"]) {
        const r = await get(`${api}${path}`);
        expect(r.status, path).to.equal(503);
        expect(r.ms, path).to.be.below(1_000);
        expect(String(r.body.error)).to.match(/redis/);
      }
      const h = await get(`${api}/v1/health`);
      expect(h.status).to.equal(503);
      expect(h.ms).to.be.below(3_000);
      expect((h.body as unknown as HealthBody).problems.join("\n")).to.match(/^redis: /m);
    } finally {
      await node?.stop();
      node = undefined;
      await server?.stop();
    }
  });

  it("stops at start naming api.port and the port when another process holds it", async function () {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const file = writeConfigFile(
        nodeConfigObject(net, b.suite.addresses.chainCode, prefix, {
          roles: ["indexer", "api"],
          api: { host: "127.0.0.1", port },
        }),
      );
      const started = Date.now();
      const r = await runCli(["-c", file, "node"], {}, 30_000);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(file);
      expect(r.stderr).to.match(
        new RegExp(`api\\.port: port ${port} on 127\\.0\\.0\\.1 is already in use`),
      );
      expect(Date.now() - started).to.be.below(15_000);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it("allows any page to read the read-only endpoints (CORS), not to post", async function () {
    const api = await start();
    const read = await get(`${api}/v1/routes`, { headers: { origin: "http://elsewhere.example" } });
    expect(read.headers.get("access-control-allow-origin")).to.equal("*");
    const preflight = await get(`${api}/v1/health`, {
      method: "OPTIONS",
      headers: { origin: "http://elsewhere.example", "access-control-request-method": "GET" },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get("access-control-allow-origin")).to.equal("*");
    const postPreflight = await get(`${api}/v1/messages`, {
      method: "OPTIONS",
      headers: { origin: "http://elsewhere.example", "access-control-request-method": "POST" },
    });
    expect(postPreflight.headers.get("access-control-allow-origin")).to.equal(null);
    const post = await get(`${api}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://elsewhere.example" },
      body: JSON.stringify({ message: "0x12" }),
    });
    expect(post.status).to.equal(400);
    expect(post.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("shows a made-up message pushed by a peer as unverified, never pending", async function () {
    const api = await start();
    await indexed(api);
    const madeUp = encodeMessage({
      nonce: 1_000_000, // beyond A's count: the hand-over cannot compare it with a leaf
      origin: a.suite.code,
      sender: ethers.zeroPadValue(sink, 32) as Hex,
      destination: b.suite.code,
      recipient: ethers.zeroPadValue(sink, 32) as Hex,
      amount: 10n ** 24n,
      body: "0x",
    });
    const pushed = await get(`${api}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: madeUp }),
    });
    expect(pushed.status).to.equal(202);
    const shown = await get(`${api}/v1/messages/${messageId(madeUp)}`);
    expect(shown.status).to.equal(200);
    expect(shown.body.status).to.equal("unverified");
    expect(shown.body.verified).to.equal(false);
    expect((shown.body.destination as { status: string }).status).to.equal("unverified");
    expect(shown.text).not.to.contain('"pending"');
    expect((shown.body.next as string[]).join(" ")).to.match(
      /no Outbox this node reads dispatched it/,
    );

    // A real message is verified and pending until delivered.
    const [id] = await dispatchMany(a, b, sink, 1, 8);
    const real = await waitFor("real message indexed", async () => {
      const r = await get(`${api}/v1/messages/${id}`);
      return r.status === 200 ? r : undefined;
    });
    expect(real.body.verified).to.equal(true);
    expect(real.body.status).to.equal("pending");
  });

  it("answers 503 naming the chain and the key while a transaction of the node's is stuck", async function () {
    const attesterKey = await fundedKey(net);
    const attester = privateKeyToAccount(attesterKey).address;
    process.env.DISTPOS_TEST_HEALTH_STUCK = attesterKey;
    const home = b.suite.addresses.chainCode;
    await dispatchMany(b, a, sink, 1, 77);
    // B stops mining: the attester's snapshot() stays pending past chains.<home>.txTimeoutMs.
    await b.connection.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      const api = await start({
        roles: ["indexer", "api", "attester"],
        keys: { attester: "DISTPOS_TEST_HEALTH_STUCK" },
        attester: { snapshotIntervalMs: 0 },
        chains: {
          ...net.chainEntries,
          [home]: { ...net.chainEntries[home]!, txTimeoutMs: 1_000 },
        },
      });
      const stuck = await waitFor("health naming the stuck key", async () => {
        const h = await get(`${api}/v1/health`);
        const body = h.body as unknown as HealthBody;
        return h.status === 503 && body.problems.some((p) => p.includes(attester)) && body;
      });
      expect(stuck.checks.senders.ok).to.equal(false);
      expect(stuck.problems.join("\n")).to.match(
        new RegExp(`sender: key ${attester} is stuck on chain ${home} `),
      );
    } finally {
      await b.connection.provider.request({ method: "evm_setAutomine", params: [true] });
    }
    await mine(b, 1);
    await waitFor("health ok once the transaction is mined", async () => {
      const h = await get(`${api(node!)}/v1/health`);
      return h.status === 200;
    });
  });

  it("publishes signed route records but never the RPC URLs or contracts in /v1/routes", async function () {
    const api = await start();
    const routes = await get(`${api}/v1/routes`);
    expect(routes.status).to.equal(200);
    expect(routes.body.records).to.be.an("array");
    for (const rpc of net.rpcs) expect(routes.text).not.to.contain(rpc.url);
    expect(routes.text).not.to.contain("contracts");
  });

  it("exports backlog size and age per route, wallet balances, credit, reserve and headroom", async function () {
    const watcherKey = await fundedKey(net);
    process.env.DISTPOS_TEST_HEALTH_WATCHER = watcherKey;
    const api = await start({
      roles: ["indexer", "api", "watcher"],
      keys: { watcher: "DISTPOS_TEST_HEALTH_WATCHER" },
    });
    await indexed(api);
    const A = a.suite.addresses.chainCode;
    const B = b.suite.addresses.chainCode;
    // Nobody relays: what the network's set-up sent and A's next 3 messages stay queued.
    const before = await waitFor("a first backlog reading", async () =>
      sample((await get(`${api}/metrics`)).text, "distpos_route_backlog_messages", {
        origin: A,
        destination: B,
      }),
    ).catch(() => 0);
    await new Promise((r) => setTimeout(r, 5_100)); // the metrics' refresh interval
    await dispatchMany(a, b, sink, 3, 9);
    const text = await waitFor(
      "backlog grown by 3, at least a second old",
      async () => {
        const m = (await get(`${api}/metrics`)).text;
        return sample(m, "distpos_route_backlog_messages", { origin: A, destination: B }) ===
          before + 3 &&
          (sample(m, "distpos_route_backlog_oldest_seconds", { origin: A, destination: B }) ?? 0) >=
            1
          ? m
          : undefined;
      },
      30_000,
      500,
    );
    expect(sample(text, "distpos_route_backlog_messages", { origin: B, destination: A })).to.be.a(
      "number",
    );
    const watcher = privateKeyToAccount(watcherKey as Hex).address;
    expect(
      sample(text, "distpos_wallet_balance", { chain: B, role: "watcher", address: watcher }),
    ).to.equal(Number(ethers.formatEther(await b.connection.ethers.provider.getBalance(watcher))));
    expect(sample(text, "distpos_route_credit_tokens", { origin: A, destination: B })).to.equal(
      Number(ethers.formatUnits(await a.suite.bank.creditView(b.suite.code))),
    );
    expect(sample(text, "distpos_route_reserve_tokens", { origin: A, destination: B })).to.equal(
      Number(ethers.formatUnits(await b.suite.bank.reserve(a.suite.code))),
    );
    let sum = 0n;
    for (const attester of a.attesters) {
      const free = await b.suite.inbox.freeCapacity(a.suite.code, attester.address);
      sum += free;
      expect(
        sample(text, "distpos_attester_headroom_tokens", {
          origin: A,
          destination: B,
          attester: attester.address,
        }),
      ).to.equal(Number(ethers.formatUnits(free)));
    }
    expect(sum).to.be.above(0n);
    expect(sample(text, "distpos_route_headroom_tokens", { origin: A, destination: B })).to.equal(
      Number(ethers.formatUnits(sum)),
    );
    expect(sample(text, "distpos_dependency_up", { dependency: "redis" })).to.equal(1);

    // The same figures for the explorer.
    const state = await get(`${api}/v1/routes/state`);
    const route = (
      state.body.routes as {
        origin: string;
        destination: string;
        backlog: { size: number };
        headroom: string;
      }[]
    ).find((r) => r.origin === A && r.destination === B)!;
    expect(route.backlog.size).to.equal(before + 3);
    expect(route.headroom).to.equal(ethers.formatUnits(sum).replace(/\.0$/, ""));
  });
});
