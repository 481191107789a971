/**
 * `npm run bench:relayer` (also the second half of `npm run bench`): the node under load.
 *
 * Two in-process Hardhat chains served over HTTP JSON-RPC, the real Redis (127.0.0.1:6379) under
 * prefixes unique to the run, and one `distpos node` process per community (all five roles), as
 * operators run them. Phase 1 offers MESSAGES messages from A to B at RATE messages/s and measures
 * delivered messages per second, latency, where the latency goes (from the nodes' own logs) and
 * the nodes' peak memory and CPU; phase 2 restarts the nodes on an index of 1M leaves of A and
 * measures their memory (see leaves.ts). Writes the "relayer" key of bench/results.json and its
 * section of bench/results.md.
 *
 * Environment: BENCH_MESSAGES (10000), BENCH_RATE (offered messages/s, 1200),
 * BENCH_SATURATION_RATE (2500, the second run's), BENCH_SATURATION_MESSAGES (10000), BENCH_FEE_MESSAGES (200 fee-paying messages after
 * the saturation run, fees.ts; 0 skips them), BENCH_LEAVES
 * (1000000; 0 skips phase 2), BENCH_SETTINGS (JSON overriding NodeSettings fields),
 * BENCH_CPU_PROF=1 (node processes write V8 CPU profiles to bench/relayer/profiles/),
 * BENCH_LOG_LEVEL=debug, BENCH_NO_WRITE=1 (print the results, write nothing).
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { killAll } from "../../deploy/nodeProcess.js";
import { clearPrefix, newRedis } from "../../test/relayer/helpers/net.js";
import { loadConfig } from "../../relayer/config/load.js";
import { catchUpIndex, prefillIndex, treeWithStandIns, writeOutboxStateAndMine } from "./leaves.js";
import {
  BlockObserver,
  deliveredOn,
  deliverTransactions,
  dispatchedIds,
  paceLoad,
  percentile,
  type DispatchTx,
} from "./load.js";
import {
  NODE_NAMES,
  prefixFor,
  startChains,
  startNodes,
  type BenchChains,
  type BenchNode,
  type NodeSettings,
} from "./network.js";
import {
  machineCpuSeconds,
  mb,
  nodeMemory,
  procSample,
  threadCpu,
  type NodeMemory,
} from "./proc.js";
import type { BenchResults } from "../gas/report.js";
import { writeResultsMarkdown } from "../markdown.js";
import type { RelayerResults, Stages } from "./report.js";
import { progressLog } from "../progress.js";
import { FEE_MESSAGES, feePhase, type FeeResults } from "./fees.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const log = progressLog();

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 1_200);
const LEAVES = Number(process.env.BENCH_LEAVES ?? 1_000_000);
const PER_TX = 100;
const WARMUP = 500;
const PHASE2_MESSAGES = 1_000;
/** The second run: past what this machine carries, to show the ceiling and how latency grows. */
const SATURATION_MESSAGES = Number(process.env.BENCH_SATURATION_MESSAGES ?? 10_000);
const SATURATION_RATE = Number(process.env.BENCH_SATURATION_RATE ?? 2_500);
const DRAIN_TIMEOUT_MS = 240_000;

/**
 * The settings of the run: local chains mine every transaction at once, so confirmations can be
 * low and polling fast; batches as large as a block takes comfortably (1,000 pure messages are
 * ≈ 9M gas of the 60M block gas limit). results.md says why each one.
 */
const SETTINGS: NodeSettings = {
  confirmations: 1,
  pollIntervalMs: 100,
  intervalMiningMs: 100,
  batchWaitMs: 100,
  maxBatchMessages: 1_000,
  maxBatchGas: 15_000_000,
  concurrency: 2_000,
  snapshotIntervalMs: 250,
  maxLogRange: 2_000,
  watcherPollIntervalMs: 500,
  ...(JSON.parse(process.env.BENCH_SETTINGS ?? "{}") as Partial<NodeSettings>),
};

const runId = randomUUID().slice(0, 8);
const home = mkdtempSync(join(tmpdir(), "distpos-bench-"));
const cpuProfileDir = process.env.BENCH_CPU_PROF ? join(HERE, "profiles") : undefined;
const logLevel = process.env.BENCH_LOG_LEVEL === "debug" ? "debug" : "info";
/** Extra Node options for the node processes (e.g. heap limits), BENCH_NODE_OPTIONS. */
const nodeOptions = process.env.BENCH_NODE_OPTIONS;
const redis = newRedis();
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1] ?? Number.NaN);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Waits until every id is delivered on B and the block `confirmations` above it exists. */
async function waitDelivered(
  chains: BenchChains,
  observer: BlockObserver,
  ids: Set<string>,
  fromBlock: number,
  timeoutMs: number,
): Promise<Map<string, number[]>> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    const delivered = await deliveredOn(chains.b, fromBlock);
    let missing = 0;
    let lastBlock = 0;
    for (const id of ids) {
      const blocks = delivered.get(id);
      if (!blocks) missing++;
      else lastBlock = Math.max(lastBlock, blocks[0]!);
    }
    if (missing === 0 && observer.tip >= lastBlock + SETTINGS.confirmations) return delivered;
    if (Date.now() > deadline)
      throw new Error(`${missing} of ${ids.size} messages not delivered after ${timeoutMs} ms`);
    if (Date.now() - lastReport > 5_000) {
      log(`  ${ids.size - missing} of ${ids.size} delivered`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Each node's memory now: peak and current resident set, its own heap figures, and the earlier
 * reading `earlier[name]` under `key`.
 */
async function memoryNow<K extends string>(
  nodes: BenchNode[],
  key: K,
  earlier: Record<string, number>,
): Promise<
  Record<string, { hwmMb: number; rssMb: number } & Record<K, number> & Partial<NodeMemory>>
> {
  const out: Record<
    string,
    { hwmMb: number; rssMb: number } & Record<K, number> & Partial<NodeMemory>
  > = {};
  for (const n of nodes) {
    const s = procSample(n.process.pid);
    out[n.name] = {
      hwmMb: mb(s?.hwmMb ?? NaN),
      rssMb: mb(s?.rssMb ?? NaN),
      ...({ [key]: earlier[n.name]! } as Record<K, number>),
      ...(await nodeMemory(n.apiUrl)),
    };
  }
  return out;
}

const stopNodes = (nodes: BenchNode[]) => Promise.all(nodes.map((n) => n.process.kill("SIGTERM")));

const logTime = (line: Record<string, unknown>) => Date.parse(String(line.time));

/** p50 / p95 / max of a list of milliseconds. */
function spread(values: number[]): { p50: number; p95: number; max: number } {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  return {
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    max: Math.round(sorted.at(-1) ?? Number.NaN),
  };
}

/**
 * Where the latency goes, from the nodes' own log lines (same clock): per message, from its
 * dispatch block to B's node indexing it, to the first checkpoint covering it signed by A's
 * attester, to B's relayer sending its batch and logging it confirmed; and each batch's stages.
 */
function stagesFrom(
  nodes: BenchNode[],
  dispatched: { id: string; nonce: number; dispatchedAt: number }[],
  codeA: string,
  windowEnd: number,
): Stages {
  const a1 = nodes.find((n) => n.name === "a1")!.process.lines;
  const b1 = nodes.find((n) => n.name === "b1")!.process.lines;
  const deliveredByB = new Map<string, number>();
  for (const l of b1)
    if (l.msg === "message delivered") deliveredByB.set(String(l.msgId).toLowerCase(), logTime(l));
  // B indexes only its own chain: a message reaches it in the first bundle from A it accepts whose
  // checkpoint covers the message's nonce.
  const accepted = b1
    .filter((l) => l.msg === "bundle accepted" && l.origin === codeA && Number(l.accepted) > 0)
    .map((l) => ({ count: Number(l.count), at: logTime(l) }))
    .sort((x, y) => x.at - y.at);
  const firstAccepted = (nonce: number) => accepted.find((s) => s.count > nonce)?.at ?? Number.NaN;
  const signed = a1
    .filter((l) => l.msg === "checkpoint signed")
    .map((l) => ({ count: Number(l.count), at: logTime(l) }))
    .sort((x, y) => x.at - y.at);
  const firstSigned = (nonce: number) => signed.find((s) => s.count > nonce)?.at ?? Number.NaN;
  const batches = b1.filter((l) => l.msg === "batch confirmed" && l.ms) as {
    messages?: number;
    ms: Record<string, number>;
    time: string;
  }[];
  const inWindow = batches.filter(
    (b) => Date.parse(b.time) >= dispatched[0]!.dispatchedAt && Date.parse(b.time) <= windowEnd,
  );
  const stageNames = ["capacity", "build", "simulate", "fence", "mined", "confirmed"];
  const batchStages: Record<string, number> = {};
  for (const name of stageNames)
    batchStages[name] = Math.round(
      percentile(
        inWindow.map((b) => b.ms[name] ?? 0).sort((x, y) => x - y),
        50,
      ),
    );
  return {
    bundle_accepted_by_destination_node: spread(
      dispatched.map((m) => firstAccepted(m.nonce) - m.dispatchedAt),
    ),
    checkpoint_signed: spread(dispatched.map((m) => firstSigned(m.nonce) - m.dispatchedAt)),
    delivery_logged_by_relayer: spread(
      dispatched.map((m) => (deliveredByB.get(m.id.toLowerCase()) ?? NaN) - m.dispatchedAt),
    ),
    batch_stage_ms_median: batchStages,
    batches_logged: inWindow.length,
  };
}

async function phase1(chains: BenchChains) {
  const observer = new BlockObserver(chains.b);
  await observer.start();
  const nodes = await startNodes(chains, SETTINGS, home, runId, "load", {
    cpuProfileDir,
    logLevel,
    nodeOptions,
  });
  log(`nodes up: ${nodes.map((n) => `${n.name} pid ${n.process.pid}`).join(", ")}`);
  const rssAtStart: Record<string, number> = {};
  for (const n of nodes) rssAtStart[n.name] = mb(procSample(n.process.pid)?.rssMb ?? NaN);
  try {
    log(`warm-up: ${WARMUP} messages`);
    let seed = 1_000_000;
    const warmTxs = await paceLoad(chains, WARMUP, PER_TX, RATE, seed);
    seed += WARMUP;
    const warmIds = new Set(
      (await dispatchedIds(chains.a, warmTxs)).map((m) => m.id.toLowerCase()),
    );
    await waitDelivered(
      chains,
      observer,
      warmIds,
      chains.b.suite.addresses.deployedAtBlock,
      120_000,
    );

    const fromBlockB = observer.tip + 1;
    const pids: Record<string, number> = Object.fromEntries(
      nodes.map((n) => [`node ${n.name}`, n.process.pid]),
    );
    pids["bench process (both chains, JSON-RPC, load)"] = process.pid;
    if (Number.isFinite(redisPid)) pids["redis-server"] = redisPid;
    const cpuNow = () =>
      Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => [name, procSample(pid)?.cpuSeconds ?? NaN]),
      );
    const cpuBefore = cpuNow();
    const threadsBefore = threadCpu(process.pid);
    const machineBefore = machineCpuSeconds();
    const loadBefore = loadavg()[0]!;
    const requestsBefore = [chains.rpcA.requests, chains.rpcB.requests];

    log(`load: ${MESSAGES} messages at ${RATE}/s offered, ${PER_TX} per transaction`);
    const txs: DispatchTx[] = await paceLoad(chains, MESSAGES, PER_TX, RATE, seed);
    const dispatched = await dispatchedIds(chains.a, txs);
    const dispatchSpan = (txs.at(-1)!.minedAt - txs[0]!.minedAt) / 1000;
    log(`  dispatched in ${dispatchSpan.toFixed(2)} s`);
    const ids = new Set(dispatched.map((m) => m.id.toLowerCase()));
    const delivered = await waitDelivered(chains, observer, ids, fromBlockB, DRAIN_TIMEOUT_MS);
    const cpuAfter = cpuNow();
    const threadsAfter = threadCpu(process.pid);
    const machineAfter = machineCpuSeconds();
    const loadAfter = loadavg()[0]!;
    const requests = {
      A: chains.rpcA.requests - requestsBefore[0]!,
      B: chains.rpcB.requests - requestsBefore[1]!,
    };

    const latencies: number[] = [];
    let lastConfirmed = 0;
    let duplicates = 0;
    for (const m of dispatched) {
      const blocks = delivered.get(m.id.toLowerCase())!;
      if (blocks.length > 1) duplicates++;
      const seenAt = observer.firstSeen.get(blocks[0]! + SETTINGS.confirmations);
      if (seenAt === undefined) throw new Error(`block ${blocks[0]} never observed`);
      latencies.push(seenAt - m.dispatchedAt);
      lastConfirmed = Math.max(lastConfirmed, seenAt);
    }
    latencies.sort((x, y) => x - y);
    const spanS = (lastConfirmed - txs[0]!.minedAt) / 1000;
    const deliverTxs = await deliverTransactions(chains.b, fromBlockB, observer.tip);
    const batches = deliverTxs.filter((t) => t.messages > 0);
    const memory = await memoryNow(nodes, "rssAtStartMb", rssAtStart);
    const cpu: Record<string, number> = {};
    for (const name of Object.keys(pids)) cpu[name] = round(cpuAfter[name]! - cpuBefore[name]!);
    const benchThreads: Record<string, number> = {};
    for (const [name, after] of Object.entries(threadsAfter)) {
      const d = after - (threadsBefore[name] ?? 0);
      if (d >= 0.05) benchThreads[name] = round(d);
    }
    const machineBusy = machineAfter.busy - machineBefore.busy;
    const ours = Object.values(cpu).reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);

    // The same nodes offered more than the machine carries: the ceiling, and the queue it builds.
    log(`saturation: ${SATURATION_MESSAGES} messages at ${SATURATION_RATE}/s offered`);
    const satFrom = observer.tip + 1;
    const satTxs = await paceLoad(
      chains,
      SATURATION_MESSAGES,
      PER_TX,
      SATURATION_RATE,
      seed + MESSAGES,
    );
    const sat = await dispatchedIds(chains.a, satTxs);
    const satDelivered = await waitDelivered(
      chains,
      observer,
      new Set(sat.map((m) => m.id.toLowerCase())),
      satFrom,
      DRAIN_TIMEOUT_MS,
    );
    const satConfirmed = sat.map((m) =>
      observer.firstSeen.get(satDelivered.get(m.id.toLowerCase())![0]! + SETTINGS.confirmations)!,
    );
    const saturation = {
      messages: sat.length,
      offered_msgs_per_s: SATURATION_RATE,
      dispatch_span_s: round((satTxs.at(-1)!.minedAt - satTxs[0]!.minedAt) / 1000),
      msgs_per_s: Math.round(
        sat.length / ((Math.max(...satConfirmed) - satTxs[0]!.minedAt) / 1000),
      ),
      latency_ms: spread(sat.map((m, i) => satConfirmed[i]! - m.dispatchedAt)),
    };
    log(
      `  ${saturation.msgs_per_s} msgs/s; latency p50 ${saturation.latency_ms.p50} ms, p95 ${saturation.latency_ms.p95} ms, max ${saturation.latency_ms.max} ms`,
    );

    // The same nodes carrying fee-paying messages: fees earned against gas spent, per route.
    let fees: FeeResults | null = null;
    if (FEE_MESSAGES > 0)
      try {
        fees = await feePhase(
          chains,
          nodes,
          observer,
          (ids, from) => waitDelivered(chains, observer, ids, from, DRAIN_TIMEOUT_MS),
          log,
        );
      } catch (e) {
        log(`  fee phase failed: ${(e as Error).message}`);
      }

    // The nodes' last log lines are in once they have stopped (and their pipes drained).
    await stopNodes(nodes);
    await new Promise((r) => setTimeout(r, 500));
    const stages = stagesFrom(nodes, dispatched, chains.a.suite.addresses.chainCode, lastConfirmed);

    const result = {
      messages: dispatched.length,
      msgs_per_s: Math.round(dispatched.length / spanS),
      latency_ms: spread(latencies),
      rss_mb_peak: Math.max(...Object.values(memory).map((m) => m.hwmMb)),
      offered_msgs_per_s: RATE,
      dispatch_span_s: round(dispatchSpan),
      delivery_span_s: round(spanS),
      batches: {
        count: batches.length,
        reverted: batches.filter((b) => !b.ok).length,
        mean_messages: round(dispatched.length / Math.max(1, batches.length), 1),
        max_messages: Math.max(0, ...batches.map((b) => b.messages)),
        gas_per_message: Math.round(
          batches.reduce((s, b) => s + b.gasUsed, 0) / Math.max(1, dispatched.length),
        ),
      },
      duplicates,
      stages,
      nodes: memory,
      cpu_seconds: cpu,
      bench_threads_cpu_seconds: benchThreads,
      other_processes_cpu_seconds: round(machineBusy - ours),
      cpu_window_s: round(spanS),
      machine_cpu_busy: round(
        machineBusy / Math.max(1e-9, machineAfter.total - machineBefore.total),
        3,
      ),
      load_average: [round(loadBefore), round(loadAfter)] as [number, number],
      rpc_http_requests: requests,
      saturation,
      fees,
    };
    log(
      `  ${result.msgs_per_s} msgs/s over ${spanS.toFixed(2)} s; latency p50 ${result.latency_ms.p50} ms, p95 ${result.latency_ms.p95} ms, max ${result.latency_ms.max} ms; peak RSS ${result.rss_mb_peak} MB`,
    );
    log(
      `  ${batches.length} deliver transactions (${result.batches.reverted} reverted), ${duplicates} delivered twice; CPU s ${JSON.stringify(cpu)}, bench threads ${JSON.stringify(benchThreads)}, other processes ${result.other_processes_cpu_seconds}; load ${result.load_average.join(" → ")}`,
    );
    log(`  stages ${JSON.stringify(stages)}`);
    return {
      result,
      seed: seed + MESSAGES + SATURATION_MESSAGES,
      configFiles: nodes.map((n) => n.configFile),
    };
  } finally {
    observer.stop();
    await stopNodes(nodes);
  }
}

/**
 * The phase-1 nodes restarted on their own stores, in which A's index now holds 1M leaves: A is
 * held still, each store's index of A brought to A's tip by the indexer's own code, the Outbox
 * and the stores given the 1M-leaf state (leaves.ts), A mining again.
 */
async function phase2(
  chains: BenchChains,
  seed: number,
  configFiles: string[],
): Promise<RelayerResults["leaves_1m"]> {
  log(`phase 2: A's tree with ${LEAVES.toLocaleString("en-US")} leaves`);
  let t = Date.now();
  const mining = (ms: number) =>
    chains.a.connection.provider.request({ method: "evm_setIntervalMining", params: [ms] });
  await mining(0);
  // With relayer.handover: bundles a node indexes its home chain only: B's node holds no index of
  // A (catching one up read all of A's Dispatch logs, an eth_getLogs answer over 10 MB) and logs
  // no check of it on restart.
  const aCode = chains.a.suite.code;
  const indexesA = (file: string) => {
    const cfg = loadConfig(file);
    return cfg.relayer.handover !== "bundles" || cfg.homeChain.code === aCode;
  };
  const indexers = NODE_NAMES.filter((_, i) => indexesA(configFiles[i]!));
  for (const file of configFiles.filter(indexesA)) await catchUpIndex(redis, file, chains.a);
  const { tree, real } = await treeWithStandIns(chains.a, LEAVES);
  const at = await writeOutboxStateAndMine(chains.a, tree);
  log(`  tree built (${real} real leaves) and Outbox state written in ${Date.now() - t} ms`);
  t = Date.now();
  for (const name of indexers)
    await prefillIndex(redis, prefixFor(runId, "load", name), chains.a, tree, at);
  await mining(SETTINGS.intervalMiningMs);
  log(`  ${indexers.length} node indexes of A prefilled in Redis in ${Date.now() - t} ms`);
  const [userA] = await chains.a.connection.ethers.getSigners();
  await (await chains.a.suite.outbox.connect(userA).snapshot()).wait();

  const observer = new BlockObserver(chains.b);
  await observer.start();
  t = Date.now();
  const nodes = await startNodes(chains, SETTINGS, home, runId, "load", {
    cpuProfileDir,
    logLevel,
    nodeOptions,
    fileTag: "1m",
  });
  try {
    const rebuilt = await Promise.all(
      nodes
        .filter((n) => indexesA(n.configFile))
        .map((n) =>
          n.process.waitForLine(
            (l) =>
              l.msg === "stored index checked against the chain" &&
              l.chain === chains.a.suite.addresses.chainCode,
            120_000,
          ),
        ),
    );
    const rebuildMs = Date.now() - t;
    log(
      `  nodes restarted on the 1M index (leaves ${rebuilt.map((l) => l.leaves).join(", ")}) in ${rebuildMs} ms`,
    );
    const a1 = nodes.find((n) => n.name === "a1")!;
    await a1.process.waitForLine(
      (l) => l.msg === "checkpoint signed" && Number(l.count) >= LEAVES,
      120_000,
    );
    const afterRebuild: Record<string, number> = {};
    for (const n of nodes) afterRebuild[n.name] = mb(procSample(n.process.pid)?.rssMb ?? NaN);
    const from = observer.tip + 1;
    const txs = await paceLoad(chains, PHASE2_MESSAGES, PER_TX, RATE, seed);
    const ids = new Set((await dispatchedIds(chains.a, txs)).map((m) => m.id.toLowerCase()));
    await waitDelivered(chains, observer, ids, from, 120_000);
    const memory = await memoryNow(nodes, "rssAfterRebuildMb", afterRebuild);
    log(`  memory with 1M leaves: ${JSON.stringify(memory)}`);
    return {
      leaves: tree.count + PHASE2_MESSAGES,
      real_leaves: real + PHASE2_MESSAGES,
      rebuild_ms: rebuildMs,
      messages_after: PHASE2_MESSAGES,
      nodes: memory,
    };
  } finally {
    observer.stop();
    await stopNodes(nodes);
  }
}

log(`run ${runId}; node logs in ${home}; settings ${JSON.stringify(SETTINGS)}`);
log("chains A and B: suites deployed and connected, served over JSON-RPC");
const chains = await startChains(SETTINGS);
let results: RelayerResults;
try {
  const { result: p1, seed, configFiles } = await phase1(chains);
  const p2 = LEAVES > 0 ? await phase2(chains, seed, configFiles) : null;
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  } catch {
    // not a git checkout
  }
  results = {
    ...p1,
    rss_mb_1m_leaves: p2 ? Math.max(...Object.values(p2.nodes).map((m) => m.hwmMb)) : null,
    latency_definition:
      "wall clock at observation, on the benchmark process's clock: from the moment the block holding the dispatch was mined (eth_sendTransaction returned; automining) to the moment B's block `confirmations` above the block holding its Delivered event was first seen (B's block number polled in-process every 5 ms)",
    leaves_1m: p2,
    settings: SETTINGS,
    topology:
      "2 in-process Hardhat chains (EDR; every transaction mined at once, plus an empty block every intervalMiningMs) served over HTTP JSON-RPC by deploy/rpcServer.ts; one distpos node process per chain with all five roles (indexer, api, attester, relayer into its home, watcher), each community under its own Redis prefix; 1 attester per chain, route minSigners 1",
    machine: `${execFileSync("nproc").toString().trim()} cores`,
    commit,
    date: new Date().toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
  };
} finally {
  await killAll();
  await chains.close();
  for (const name of NODE_NAMES) await clearPrefix(redis, prefixFor(runId, "load", name));
  redis.disconnect();
}
log(`done in ${results.duration_s} s`);
if (process.env.BENCH_NO_WRITE) console.log(JSON.stringify(results, null, 2));
else {
  // Re-read just before writing: the gas benchmark may have rewritten the file meanwhile.
  const jsonPath = join(HERE, "..", "results.json");
  const current = JSON.parse(await readFile(jsonPath, "utf8")) as BenchResults;
  current.relayer = results;
  await writeFile(jsonPath, `${JSON.stringify(current, null, 2)}\n`);
  await writeResultsMarkdown(current);
  log("wrote the relayer part of bench/results.json and bench/results.md");
}
