/**
 * How long the proof and checkpoint endpoints spend finding their snapshot / latest checkpoint at
 * 100,000 snapshots: before (every snapshot read per request) and after (the count index).
 * Run: npx tsx bench/relayer/apiLookups.ts  (needs Redis at DISTPOS_TEST_REDIS or 127.0.0.1:6379)
 */
import { randomUUID } from "node:crypto";

import { Redis } from "ioredis";
import type { Hex } from "viem";

import { CheckpointStore } from "../../relayer/checkpoints.js";
import { ChainStore } from "../../relayer/indexer/store.js";

const N = Number(process.env.SNAPSHOTS ?? 100_000);
const ROUNDS = 20;
const redis = new Redis(process.env.DISTPOS_TEST_REDIS ?? "redis://127.0.0.1:6379");
const prefix = `bench-lookups-${randomUUID().slice(0, 8)}`;
const root = `0x${"ab".repeat(32)}` as Hex;

async function time(what: string, f: () => Promise<unknown>): Promise<number> {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await f();
  const ms = (performance.now() - t0) / ROUNDS;
  console.log(`${what.padEnd(52)} ${ms.toFixed(2)} ms/request`);
  return ms;
}

try {
  const store = new ChainStore(redis, prefix, 0xa0n);
  const cps = new CheckpointStore(redis, prefix);
  for (let start = 1; start <= N; start += 10_000) {
    const m = redis.multi();
    for (let c = start; c < start + 10_000 && c <= N; c++) {
      m.hset(`${prefix}:chain:a0:snapshots`, String(c), JSON.stringify({ root, block: c }));
      m.hset(`${prefix}:cp:a0`, String(c), root);
    }
    await m.exec();
  }
  const nonce = Math.floor(N / 2);
  console.log(`${N} snapshots and signed checkpoints`);
  await time("proof, before: snapshots().find(count > nonce)", async () =>
    (await store.snapshots()).find((s) => s.count > nonce),
  );
  await time("proof, after: snapshotCovering(nonce)", () => store.snapshotCovering(nonce));
  await time("checkpoint latest, before: every count, sorted", async () => {
    const counts = await cps.counts(0xa0n);
    return cps.get(0xa0n, counts[counts.length - 1]!);
  });
  await time("checkpoint latest, after: latest()", () => cps.latest(0xa0n));
} finally {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
}
