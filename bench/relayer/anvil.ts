/**
 * `npm run bench:anvil` (part of `npm run bench`): the node delivering on a real client.
 *
 * Two anvil chains (test/anvil/anvil.ts: 1-second blocks, anvil's default block gas limit),
 * deployed and connected by the production path, one `distpos node` per community (all five
 * roles, each relaying into its home chain), the real Redis. (a) A backlog of BACKLOG messages
 * A → B is dispatched before the nodes start; measured: messages delivered per second while it
 * drains, gas used per block of B against its limit. (b) The same nodes offered RATE messages/s
 * for SECONDS seconds; measured: latency in B's blocks and in seconds. Writes the "anvil" key of
 * bench/results.json and its section of bench/results.md.
 *
 * Environment: BENCH_ANVIL_BACKLOG (5000), BENCH_ANVIL_RATE (500), BENCH_ANVIL_SECONDS (20),
 * BENCH_ANVIL_RELAYER (JSON of relayer settings merged into both configs), BENCH_NO_WRITE=1.
 */
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Hex } from "viem";

import { killAll } from "../../deploy/nodeProcess.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import { anvilNetwork, runCommunities, type Community } from "../../test/anvil/anvil.js";
import type { TestChain } from "../../test/helpers/suite.js";
import { clearPrefix, newRedis, testPrefix } from "../../test/relayer/helpers/net.js";
import { BenchLoad__factory, BenchRecipient__factory } from "../../typechain-types/index.js";
import type { BenchResults } from "../gas/report.js";
import { writeResultsMarkdown } from "../markdown.js";
import type { AnvilResults, BlockGas } from "./anvilReport.js";
import {
  BlockObserver,
  deliveredOn,
  deliverTransactions,
  dispatchedIds,
  paceLoad,
  percentile,
  waitMined,
  type LoadTarget,
} from "./load.js";
import { progressLog } from "../progress.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const log = progressLog();

const BACKLOG = Number(process.env.BENCH_ANVIL_BACKLOG ?? 5_000);
const RATE = Number(process.env.BENCH_ANVIL_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_ANVIL_SECONDS ?? 20);
const PER_TX = 100;
const DRAIN_TIMEOUT_MS = 150_000;

/**
 * The run's settings: confirmations 1 and the attester signing at anvil's `safe` block (one
 * block below the tip with `--slots-in-an-epoch 1`), so a message waits on finality as little as
 * anvil allows; the relayer's own settings are the node's defaults unless BENCH_ANVIL_RELAYER
 * says otherwise.
 */
const SETTINGS = {
  blockTimeS: 1,
  confirmations: 1,
  pollIntervalMs: 200,
  slotsInAnEpoch: 1,
  finalityTag: "safe" as const,
  snapshotIntervalMs: 500,
  relayer: {
    lockDurationMs: 30_000,
    ...(JSON.parse(process.env.BENCH_ANVIL_RELAYER ?? "{}") as NonNullable<
      NodeConfigInput["relayer"]
    >),
  },
};

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function spread(values: number[], digits = 0) {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  return {
    p50: round(percentile(sorted, 50), digits),
    p95: round(percentile(sorted, 95), digits),
    max: round(sorted.at(-1) ?? Number.NaN, digits),
  };
}

async function request<T>(chain: TestChain, method: string, params: unknown[] = []): Promise<T> {
  return (await chain.connection.provider.request({ method, params })) as T;
}

/** Waits until every id is delivered on B (from `fromBlock`); returns id → delivery blocks. */
async function waitDelivered(chain: TestChain, ids: Set<string>, fromBlock: number) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let lastReport = Date.now();
  for (;;) {
    const delivered = await deliveredOn(chain, fromBlock);
    const missing = [...ids].filter((id) => !delivered.has(id)).length;
    if (missing === 0) return delivered;
    if (Date.now() > deadline)
      throw new Error(`${missing} of ${ids.size} not delivered in ${DRAIN_TIMEOUT_MS} ms`);
    if (Date.now() - lastReport > 5_000) {
      log(`  ${ids.size - missing} of ${ids.size} delivered`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** B's blocks [from, to]: gas used against the limit, deliver transactions and their messages. */
async function blockGas(chain: TestChain, from: number, to: number): Promise<BlockGas[]> {
  const txs = await deliverTransactions(chain, from, to);
  const out: BlockGas[] = [];
  for (let b = from; b <= to; b++) {
    const block = await request<{ gasUsed: Hex; gasLimit: Hex }>(chain, "eth_getBlockByNumber", [
      `0x${b.toString(16)}`,
      false,
    ]);
    const here = txs.filter((t) => t.block === b);
    out.push({
      block: b,
      gasUsed: Number(BigInt(block.gasUsed)),
      gasLimit: Number(BigInt(block.gasLimit)),
      deliverTxs: here.length,
      messages: here.reduce((s, t) => s + t.messages, 0),
      reverted: here.filter((t) => !t.ok).length,
    });
  }
  return out;
}

/** The highest block of `observer` first seen at or before `at` (ms). */
function tipAt(observer: BlockObserver, at: number): number {
  let tip = -1;
  for (const [block, seen] of observer.firstSeen) if (seen <= at && block > tip) tip = block;
  return tip;
}

const duplicatesIn = (delivered: Map<string, number[]>, ids: Iterable<string>) =>
  [...ids].filter((id) => (delivered.get(id)?.length ?? 0) > 1).length;

const redis = newRedis();
const prefix = testPrefix("bench-anvil");
log(`settings ${JSON.stringify(SETTINGS)}`);
log("two anvil chains: suites deployed and connected");
const net = await anvilNetwork({
  confirmations: SETTINGS.confirmations,
  pollIntervalMs: SETTINGS.pollIntervalMs,
  blockTime: SETTINGS.blockTimeS,
  slotsInAnEpoch: SETTINGS.slotsInAnEpoch,
});
for (const entry of Object.values(net.chainEntries)) entry.finalityTag = SETTINGS.finalityTag;
const [a, b] = net.chains as [TestChain, TestChain];
let results: AnvilResults;
let communities: Community[] = [];
const observerA = new BlockObserver(a, 20);
const observerB = new BlockObserver(b, 20);
try {
  const [userA] = await a.connection.ethers.getSigners();
  const [userB] = await b.connection.ethers.getSigners();
  const load = await new BenchLoad__factory(userA).deploy(a.suite.addresses.outbox);
  const recipient = await new BenchRecipient__factory(userB).deploy();
  await Promise.all([load.waitForDeployment(), recipient.waitForDeployment()]);
  const target: LoadTarget = {
    a,
    b,
    load: await load.getAddress(),
    loadSender: await userA.getAddress(),
    recipientWord: addressToBytes32((await recipient.getAddress()) as Hex),
  };
  await observerA.start();
  await observerB.start();
  const loadBefore = loadavg()[0]!;

  // (a) The backlog, dispatched before any node runs.
  log(`backlog: ${BACKLOG} messages dispatched before the nodes start`);
  const backlogTxs = await paceLoad(target, BACKLOG, PER_TX, 1e9, 1);
  await waitMined(a, backlogTxs.at(-1)!.hash);
  const backlog = await dispatchedIds(a, backlogTxs);
  const backlogIds = new Set(backlog.map((m) => m.id.toLowerCase()));
  const fromB = observerB.tip + 1;
  const nodesStarted = Date.now();
  communities = await runCommunities(net, prefix, {
    attester: { snapshotIntervalMs: SETTINGS.snapshotIntervalMs },
    relayer: SETTINGS.relayer,
  });
  log(`nodes up: ${communities.map((c) => `pid ${c.node.pid}`).join(", ")}`);
  const drained = await waitDelivered(b, backlogIds, fromB);
  const drainBlocks = [...backlogIds].map((id) => drained.get(id)![0]!);
  const first = Math.min(...drainBlocks);
  const last = Math.max(...drainBlocks);
  // From the first block holding a delivery to the last, each block standing for its interval.
  const drainS =
    (observerB.firstSeen.get(last)! - observerB.firstSeen.get(first)!) / 1000 + SETTINGS.blockTimeS;
  const drainGas = await blockGas(b, first, last);
  const backlogResult = {
    messages: backlog.length,
    msgs_per_s: Math.round(backlog.length / drainS),
    drain_s: round(drainS),
    blocks: last - first + 1,
    nodes_start_to_last_delivery_s: round((observerB.firstSeen.get(last)! - nodesStarted) / 1000),
    duplicates: duplicatesIn(drained, backlogIds),
    per_block: drainGas,
  };
  log(
    `  ${backlogResult.msgs_per_s} msgs/s over ${backlogResult.blocks} blocks (${backlogResult.drain_s} s); gas/limit per block ${drainGas.map((g) => `${round(g.gasUsed / 1e6, 1)}M/${g.deliverTxs}tx/${g.messages}`).join(" ")}`,
  );

  // (b) A steady offered rate, the backlog gone.
  const offered = RATE * SECONDS;
  log(`load: ${offered} messages at ${RATE}/s offered`);
  const fromB2 = observerB.tip + 1;
  const txs = await paceLoad(target, offered, PER_TX, RATE, 1 + BACKLOG);
  await waitMined(a, txs.at(-1)!.hash);
  const dispatched = await dispatchedIds(a, txs);
  const ids = new Set(dispatched.map((m) => m.id.toLowerCase()));
  const delivered = await waitDelivered(b, ids, fromB2);
  await new Promise((r) => setTimeout(r, 200));
  const signed = communities[0]!.node.lines
    .filter((l) => l.msg === "checkpoint signed")
    .map((l) => ({ count: Number(l.count), at: Date.parse(String(l.time)) }))
    .sort((x, y) => x.at - y.at);
  const perMessage = dispatched.map((m) => {
    const dispatchedAt = observerA.firstSeen.get(m.block) ?? Number.NaN;
    const block = delivered.get(m.id.toLowerCase())![0]!;
    const deliveredAt = observerB.firstSeen.get(block) ?? Number.NaN;
    const signedAt = signed.find((s) => s.count > m.nonce)?.at ?? Number.NaN;
    return {
      seconds: (deliveredAt - dispatchedAt) / 1000,
      blocks: block - tipAt(observerB, dispatchedAt),
      blocksAfterSigned: block - tipAt(observerB, signedAt),
      signedS: (signedAt - dispatchedAt) / 1000,
      block,
    };
  });
  const loadBlocks = perMessage.map((p) => p.block);
  const loadGas = await blockGas(b, Math.min(...loadBlocks), Math.max(...loadBlocks));
  const dispatchSpan =
    (observerA.firstSeen.get(dispatched.at(-1)!.block)! -
      observerA.firstSeen.get(dispatched[0]!.block)!) /
    1000;
  const steady = {
    messages: dispatched.length,
    offered_msgs_per_s: RATE,
    dispatch_span_s: round(dispatchSpan),
    latency_blocks: spread(perMessage.map((p) => p.blocks)),
    latency_s: spread(
      perMessage.map((p) => p.seconds),
      2,
    ),
    checkpoint_signed_s: spread(
      perMessage.map((p) => p.signedS),
      2,
    ),
    latency_blocks_after_signed: spread(perMessage.map((p) => p.blocksAfterSigned)),
    duplicates: duplicatesIn(delivered, ids),
    per_block: loadGas,
  };
  log(
    `  latency blocks p50/p95 ${steady.latency_blocks.p50}/${steady.latency_blocks.p95}, s ${steady.latency_s.p50}/${steady.latency_s.p95}; after the checkpoint was signed ${steady.latency_blocks_after_signed.p50}/${steady.latency_blocks_after_signed.p95} blocks`,
  );
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  } catch {
    // not a git checkout
  }
  results = {
    backlog: backlogResult,
    steady,
    settings: SETTINGS,
    block_gas_limit: drainGas[0]?.gasLimit ?? 0,
    load_average: [round(loadBefore), round(loadavg()[0]!)],
    machine: `${execFileSync("nproc").toString().trim()} cores`,
    commit,
    date: new Date().toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
  };
} finally {
  // The nodes' log lines, for where the time went (analysis.md).
  const logs = mkdtempSync(join(tmpdir(), "distpos-bench-anvil-"));
  for (const [i, c] of communities.entries())
    writeFileSync(
      join(logs, `node-${i === 0 ? "a" : "b"}.jsonl`),
      c.node.lines.map((l) => JSON.stringify(l)).join("\n"),
    );
  log(`node logs in ${logs}`);
  observerA.stop();
  observerB.stop();
  await killAll();
  await net.close();
  for (const c of net.chains) await clearPrefix(redis, `${prefix}-${c.suite.addresses.chainCode}`);
  redis.disconnect();
}
log(`done in ${results.duration_s} s`);
if (process.env.BENCH_NO_WRITE) console.log(JSON.stringify(results, null, 2));
else {
  const jsonPath = join(HERE, "..", "results.json");
  const current = JSON.parse(await readFile(jsonPath, "utf8")) as BenchResults;
  current.anvil = results;
  await writeFile(jsonPath, `${JSON.stringify(current, null, 2)}\n`);
  await writeResultsMarkdown(current);
  log("wrote the anvil part of bench/results.json and bench/results.md");
}
