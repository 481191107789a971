import { setFlagsFromString } from "node:v8";

import type { Command } from "commander";

import { readKeys } from "../../config/load.js";
import { createLogger } from "../../log.js";
import { startNode } from "../../runner.js";
import { EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

/**
 * How far V8 lets the heap grow past what survived the last full collection before collecting
 * again, in percent. V8 picks up to 300 % on a machine with a few GB of memory, and keeps the
 * pages it frees: a node whose live heap stays at 40-50 MB ran with a heap of 4x that, all of it
 * garbage awaiting a collection (bench:relayer: heap 210 MB, RSS 300 MB; the origin node of the
 * deep fault run: heap 430 MB, RSS 530 MB). At 100 % the bench's nodes stay near 200 MB RSS for
 * about the same CPU time; 50 % saved 10-15 MB more for 5-10 % more CPU and a slower saturated
 * relayer (bench/relayer/analysis.md). An explicit `node --heap-growing-percent=N` wins.
 */
const NODE_HEAP_GROWING_PERCENT = 100;

function boundHeapGrowth(): void {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  setFlagsFromString(`--heap-growing-percent=${NODE_HEAP_GROWING_PERCENT}`);
}

export function defineNode(program: Command, exec: Exec): void {
  program
    .command("node")
    .description("run the roles the config names (indexer, api, attester, relayer, watcher)")
    .action(exec(runNode));
}

export async function runNode(ctx: Context): Promise<number> {
  const cfg = ctx.config();
  // Every key the roles need, checked before anything starts: all missing ones named at once.
  readKeys(
    cfg,
    (["attester", "relayer", "watcher"] as const).filter((role) => cfg.roles.includes(role)),
  );
  boundHeapGrowth();
  const running = await startNode(cfg, { log: createLogger(cfg.log.level, { node: cfg.home }) });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await running.stop();
  return EXIT.ok;
}
