/**
 * The network-size benchmark (issue 14; part of `npm run bench`, alone as `npm run bench:network`):
 * does a node's cost grow with its own traffic only, or with the network's?
 *
 * For N = 2, 4 and 8 chains (in-process Hardhat chains served over HTTP JSON-RPC, the real Redis),
 * one `distpos node` process per chain runs indexer, API, attester and relayer with **its home
 * chain's RPC only** and bundles handed node to node (protocol.md 4.2). Every chain sends to every
 * other at PAIR_RATE messages/s for SECONDS. Per node: CPU seconds per message it sent or received
 * (gross, and net of its idle CPU: the mean of IDLE_SECONDS before and after the load, after a
 * warm-up), requests to its home RPC per message,
 * requests to any other chain's RPC (the node has none configured: 0 by construction, and counted),
 * and the Redis memory under its prefix. Then, on the N = 4 network, a **bystander** phase: only
 * chains 2 and 3 exchange traffic, and nodes 1 and 4's CPU and RPC rates are compared with their
 * idle rates — traffic between two other chains should cost a node nothing.
 *
 * Then the same network again with every node sending BENCH_OWN_RATE messages/s dealt over its peers
 * (constant own traffic: a node does the same at every N). Environment: BENCH_NETWORK_SIZES ("2,4,8"),
 * BENCH_PAIR_RATE (messages/s per ordered pair, 1), BENCH_OWN_RATE (6; 0 skips that phase),
 * BENCH_NETWORK_SECONDS (load seconds per size, 30), BENCH_NO_WRITE=1 (print, write nothing).
 * Writes the "network_size" key of bench/results.json, bench/network-size.svg, and results.md.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Wallet } from "ethers";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { freePort, killAll, startNodeProcess, type NodeProcess } from "../../deploy/nodeProcess.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import { CHAIN_NAMES, type TestChain } from "../../test/helpers/suite.js";
import {
  clearPrefix,
  homeOnlyChains,
  newRedis,
  serveNetwork,
  type ServedNetwork,
} from "../../test/relayer/helpers/net.js";
import { fundedKey } from "../../test/relayer/helpers/scenario.js";
import { BenchLoad__factory, BenchRecipient__factory } from "../../typechain-types/index.js";
import type { BenchResults } from "../gas/report.js";
import { writeResultsMarkdown } from "../markdown.js";
import { deliveredOn } from "./load.js";
import { procSample } from "./proc.js";
import {
  networkSizeChart,
  type NetworkSizeResults,
  type NodeCost,
  type SizeRun,
} from "./networkSizeReport.js";
import { progressLog } from "../progress.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const log = progressLog();

const SIZES = (process.env.BENCH_NETWORK_SIZES ?? "2,4,8").split(",").map(Number);
const PAIR_RATE = Number(process.env.BENCH_PAIR_RATE ?? 1);
const SECONDS = Number(process.env.BENCH_NETWORK_SECONDS ?? 30);
/** Messages/s each node sends in the constant-own-traffic phase (0 skips it). */
const OWN_RATE = Number(process.env.BENCH_OWN_RATE ?? 6);
const IDLE_SECONDS = 15;
/** Nodes catch up (index, route records, first snapshots) before anything is measured. */
const WARMUP_SECONDS = 20;
const DRAIN_TIMEOUT_MS = 240_000;
/**
 * Node settings of every run: polling slow enough that eight nodes, eight chains and the load fit
 * on a small machine (a node's idle work is polling; at N = 8 on two cores, 200 ms polling starved
 * the nodes and the figures measured the starvation).
 */
const SETTINGS = {
  confirmations: 1,
  pollIntervalMs: 500,
  intervalMiningMs: 500,
  snapshotIntervalMs: 1_000,
  batchWaitMs: 500,
  pullIntervalMs: 5_000,
};

const runId = randomUUID().slice(0, 8);
const home = mkdtempSync(join(tmpdir(), "distpos-bench-network-"));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Member {
  chain: TestChain;
  code: string;
  /** Index of the chain's RPC endpoint in the served network. */
  rpc: number;
  load: string;
  loadSender: string;
  recipientWord: Hex;
  node?: NodeProcess;
  prefix: string;
  apiUrl: string;
}

async function redisBytes(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let bytes = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) bytes += Number((await redis.memory("USAGE", key)) ?? 0);
  } while (cursor !== "0");
  return bytes;
}

/** Starts one node per chain with its home RPC only, and waits until all run. */
async function startNodes(net: ServedNetwork, members: Member[]): Promise<void> {
  for (const m of members) net.chainEntries[m.code]!.nodes = [m.apiUrl];
  for (const m of members) {
    const config: NodeConfigInput = {
      home: m.code,
      roles: ["indexer", "api", "attester", "relayer"],
      chains: homeOnlyChains(net, m.code),
      redis: { prefix: m.prefix },
      api: { host: "127.0.0.1", port: Number(new URL(m.apiUrl).port) },
      keys: { attester: "DISTPOS_ATTESTER_KEY", relayer: "DISTPOS_RELAYER_KEY" },
      attester: { snapshotIntervalMs: SETTINGS.snapshotIntervalMs },
      relayer: {
        handover: "bundles",
        destinations: [m.code],
        batchWaitMs: SETTINGS.batchWaitMs,
        pullIntervalMs: SETTINGS.pullIntervalMs,
      },
      log: { level: "info" },
    };
    const name = `net${members.length}-${m.code}`;
    const file = join(home, `${name}.json`);
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    m.node = startNodeProcess(
      name,
      file,
      {
        DISTPOS_ATTESTER_KEY: (m.chain.attesters[0] as Wallet).privateKey,
        DISTPOS_RELAYER_KEY: await fundedKey(net),
      },
      join(home, `${name}.log`),
    );
  }
  await Promise.all(
    members.map((m) => m.node!.waitForLine((l) => l.msg === "node started", 120_000)),
  );
}

interface Sample {
  at: number;
  cpu: number[];
  rpc: number[];
}

function sample(net: ServedNetwork, members: Member[]): Sample {
  return {
    at: Date.now(),
    cpu: members.map((m) => procSample(m.node!.pid)?.cpuSeconds ?? Number.NaN),
    rpc: members.map((m) => net.rpcs[m.rpc]!.requests),
  };
}

/** Messages from member `from` to member `to` in one second of load. */
type Sends = [from: number, to: number, count: number][];

/**
 * Offers, each second for `seconds`, the sends `schedule(second)` names: one
 * `BenchLoad.dispatchMany` transaction per (sender, receiver) with its count. Returns how many each
 * member sent and received.
 */
async function offer(
  members: Member[],
  schedule: (second: number) => Sends,
  seconds: number,
  seed: number,
): Promise<{ sent: number; byMember: { sent: number; received: number }[] }> {
  const byMember = members.map(() => ({ sent: 0, received: 0 }));
  let next = seed;
  for (let s = 0; s < seconds; s++) {
    const due = Date.now() + 1_000;
    const sends = schedule(s).filter(([, , count]) => count > 0);
    await Promise.all(
      sends.map(async ([from, to, count]) => {
        const m = members[from]!;
        const start = next;
        next += count;
        byMember[from]!.sent += count;
        byMember[to]!.received += count;
        const data = BenchLoad__factory.createInterface().encodeFunctionData("dispatchMany", [
          members[to]!.chain.suite.code,
          members[to]!.recipientWord,
          count,
          start,
        ]);
        await m.chain.connection.provider.request({
          method: "eth_sendTransaction",
          params: [{ from: m.loadSender, to: m.load, data, gas: "0x1e8480" }],
        });
      }),
    );
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { sent: byMember.reduce((a, b) => a + b.sent, 0), byMember };
}

/** PAIR_RATE messages/s on every ordered pair of `pairs`. */
const perPair =
  (pairs: [number, number][]): ((second: number) => Sends) =>
  () =>
    pairs.map(([from, to]) => [from, to, PAIR_RATE]);

/**
 * OWN_RATE messages/s from every member, dealt round robin over its peers: each node's own traffic
 * is the same whatever N, so its cost per own message should not move with N at all.
 */
const constantOwn =
  (n: number): ((second: number) => Sends) =>
  (second) => {
    const sends: Sends = [];
    for (let from = 0; from < n; from++) {
      const peers = [...Array(n).keys()].filter((j) => j !== from);
      const counts = new Map<number, number>();
      for (let k = 0; k < OWN_RATE; k++) {
        const to = peers[(second * OWN_RATE + k + from) % peers.length]!;
        counts.set(to, (counts.get(to) ?? 0) + 1);
      }
      for (const [to, count] of counts) sends.push([from, to, count]);
    }
    return sends;
  };

/** Waits until every chain holds `expected[i]` deliveries since `fromBlocks[i]`. */
async function drain(members: Member[], fromBlocks: number[], expected: number[]): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const got = await Promise.all(
      members.map(async (m, i) => (await deliveredOn(m.chain, fromBlocks[i]!)).size),
    );
    if (got.every((n, i) => n >= expected[i]!)) {
      const twice = await Promise.all(
        members.map(async (m, i) =>
          [...(await deliveredOn(m.chain, fromBlocks[i]!)).values()].some((b) => b.length > 1),
        ),
      );
      if (twice.some(Boolean)) throw new Error("a message was delivered twice");
      return;
    }
    if (Date.now() > deadline)
      throw new Error(`not delivered after ${DRAIN_TIMEOUT_MS} ms: ${got} of ${expected}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const blockNumbers = (members: Member[]) =>
  Promise.all(members.map((m) => m.chain.connection.ethers.provider.getBlockNumber()));

/** Idle CPU seconds per second and RPC requests per second of each node over IDLE_SECONDS. */
async function idleRates(net: ServedNetwork, members: Member[], seconds = IDLE_SECONDS) {
  const before = sample(net, members);
  await new Promise((r) => setTimeout(r, seconds * 1_000));
  const after = sample(net, members);
  const s = (after.at - before.at) / 1000;
  return {
    cpu: members.map((_, i) => (after.cpu[i]! - before.cpu[i]!) / s),
    rpc: members.map((_, i) => (after.rpc[i]! - before.rpc[i]!) / s),
  };
}

/**
 * Offers `schedule`, waits until every message is delivered (none twice), and returns what it
 * took: `costs(idle)` gives each node's cost per own message (sent + received), gross and net of
 * its idle rates scaled to the window.
 */
async function loadPhase(
  net: ServedNetwork,
  members: Member[],
  redis: Redis,
  schedule: (second: number) => Sends,
  seed: number,
) {
  const fromBlocks = await blockNumbers(members);
  const before = sample(net, members);
  const { sent, byMember } = await offer(members, schedule, SECONDS, seed);
  await drain(
    members,
    fromBlocks,
    byMember.map((x) => x.received),
  );
  const after = sample(net, members);
  const window = (after.at - before.at) / 1000;
  const costs = async (idle: { cpu: number; rpc: number }[]): Promise<NodeCost[]> => {
    const nodes: NodeCost[] = [];
    for (const [i, m] of members.entries()) {
      const own = byMember[i]!.sent + byMember[i]!.received;
      const cpu = after.cpu[i]! - before.cpu[i]!;
      const rpc = after.rpc[i]! - before.rpc[i]!;
      nodes.push({
        chain: m.code,
        messages: own,
        cpu_ms_per_message: round((cpu * 1000) / own),
        cpu_ms_per_message_net: round(((cpu - idle[i]!.cpu * window) * 1000) / own),
        idle_cpu_ms_per_s: round(idle[i]!.cpu * 1000, 1),
        home_rpc_per_message: round((rpc - idle[i]!.rpc * window) / own),
        home_rpc_per_s_idle: round(idle[i]!.rpc, 1),
        other_rpc_requests: 0,
        redis_kb: round((await redisBytes(redis, m.prefix)) / 1024, 0),
      });
    }
    return nodes;
  };
  return { sent, window, costs };
}

async function runSize(n: number, redis: Redis): Promise<SizeRun> {
  log(`N = ${n}: deploying ${n} chains and connecting ${(n * (n - 1)) / 2} pairs`);
  const net = await serveNetwork({
    chains: CHAIN_NAMES.slice(0, n),
    attestersPerChain: 1,
    // The node's attester allocates 300 tokens to each of up to 7 peers (serveNetwork's default).
    stake: 3_000n * 10n ** 18n,
    confirmations: SETTINGS.confirmations,
    pollIntervalMs: SETTINGS.pollIntervalMs,
    intervalMiningMs: SETTINGS.intervalMiningMs,
  });
  const members: Member[] = [];
  for (const [i, chain] of net.chains.entries()) {
    const [user] = await chain.connection.ethers.getSigners();
    const load = await new BenchLoad__factory(user).deploy(chain.suite.addresses.outbox);
    await load.waitForDeployment();
    const recipient = await new BenchRecipient__factory(user).deploy();
    await recipient.waitForDeployment();
    members.push({
      chain,
      code: chain.suite.addresses.chainCode,
      rpc: i,
      load: await load.getAddress(),
      loadSender: await user!.getAddress(),
      recipientWord: addressToBytes32((await recipient.getAddress()) as Hex),
      prefix: `bench-${runId}-net${n}-${i}`,
      apiUrl: `http://127.0.0.1:${await freePort()}`,
    });
  }
  try {
    await startNodes(net, members);
    log(`N = ${n}: ${n} nodes running; warm-up ${WARMUP_SECONDS} s, idle ${IDLE_SECONDS} s`);
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1_000));
    const idleBefore = await idleRates(net, members);

    const all: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) all.push([i, j]);
    log(`N = ${n}: ${all.length} routes at ${PAIR_RATE} msg/s each for ${SECONDS} s`);
    const perPairRun = await loadPhase(net, members, redis, perPair(all), n * 10_000_000);
    const idleAfter = await idleRates(net, members);
    const idle = members.map((_, i) => ({
      cpu: (idleBefore.cpu[i]! + idleAfter.cpu[i]!) / 2,
      rpc: (idleBefore.rpc[i]! + idleAfter.rpc[i]!) / 2,
    }));
    const nodes = await perPairRun.costs(idle);
    log(
      `N = ${n}: ${perPairRun.sent} messages in ${perPairRun.window.toFixed(1)} s; CPU ms/msg (net) ${nodes
        .map((x) => x.cpu_ms_per_message_net)
        .join(", ")}`,
    );

    let constantOwnRun: SizeRun["constant_own"];
    if (OWN_RATE > 0) {
      log(`N = ${n}: constant own traffic, ${OWN_RATE} msg/s from each node for ${SECONDS} s`);
      const phase = await loadPhase(
        net,
        members,
        redis,
        constantOwn(n),
        n * 10_000_000 + 5_000_000,
      );
      const idleLast = await idleRates(net, members);
      const idle2 = members.map((_, i) => ({
        cpu: (idleAfter.cpu[i]! + idleLast.cpu[i]!) / 2,
        rpc: (idleAfter.rpc[i]! + idleLast.rpc[i]!) / 2,
      }));
      constantOwnRun = {
        own_rate: OWN_RATE,
        messages: phase.sent,
        window_s: round(phase.window, 1),
        nodes: await phase.costs(idle2),
      };
      log(
        `N = ${n}: constant own: ${phase.sent} messages in ${phase.window.toFixed(1)} s; CPU ms/msg (net) ${constantOwnRun.nodes
          .map((x) => x.cpu_ms_per_message_net)
          .join(", ")}`,
      );
    }

    let bystander: SizeRun["bystander"];
    if (n === 4) {
      // Only chains 2 and 3 talk; nodes 1 and 4 watch.
      // Measured over as long as the talk lasts, right before it.
      const quiet = await idleRates(net, members, SECONDS);
      const from2 = await blockNumbers(members);
      const b0 = sample(net, members);
      const { sent: talk } = await offer(
        members,
        perPair([
          [1, 2],
          [2, 1],
        ]),
        SECONDS,
        99_000_000,
      );
      await drain(
        members,
        from2,
        members.map((_, i) => (i === 1 || i === 2 ? talk / 2 : 0)),
      );
      const b1 = sample(net, members);
      const s = (b1.at - b0.at) / 1000;
      bystander = {
        messages: talk,
        nodes: [0, 3].map((i) => ({
          chain: members[i]!.code,
          cpu_ms_per_s_idle: round(quiet.cpu[i]! * 1000, 1),
          cpu_ms_per_s_during: round(((b1.cpu[i]! - b0.cpu[i]!) * 1000) / s, 1),
          rpc_per_s_idle: round(quiet.rpc[i]!, 1),
          rpc_per_s_during: round((b1.rpc[i]! - b0.rpc[i]!) / s, 1),
        })),
      };
      log(`N = 4 bystanders: ${JSON.stringify(bystander.nodes)}`);
    }
    return {
      n,
      routes: all.length,
      messages: perPairRun.sent,
      window_s: round(perPairRun.window, 1),
      nodes,
      bystander,
      ...(constantOwnRun ? { constant_own: constantOwnRun } : {}),
    };
  } finally {
    await killAll();
    for (const m of members) await clearPrefix(redis, m.prefix);
    await net.close();
    for (const c of net.chains) await c.connection.close();
  }
}

const redis = newRedis();
const load1 = loadavg()[0]!;
const runs: SizeRun[] = [];
try {
  for (const n of SIZES) runs.push(await runSize(n, redis));
} finally {
  redis.disconnect();
}
const results: NetworkSizeResults = {
  pair_rate: PAIR_RATE,
  own_rate: OWN_RATE,
  seconds: SECONDS,
  settings: SETTINGS,
  load_average: [round(load1, 2), round(loadavg()[0]!, 2)],
  runs,
};
console.log(JSON.stringify(results, null, 2));
if (!process.env.BENCH_NO_WRITE) {
  const path = join(HERE, "..", "results.json");
  const all = JSON.parse(await readFile(path, "utf8")) as BenchResults;
  all.network_size = results;
  await writeFile(path, `${JSON.stringify(all, null, 2)}\n`);
  await writeFile(join(HERE, "..", "network-size.svg"), networkSizeChart(results));
  await writeResultsMarkdown(all);
  log("wrote bench/results.json, bench/network-size.svg and bench/results.md");
}
process.exit(0);
