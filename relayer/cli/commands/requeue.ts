import type { Command } from "commander";
import type { Hex } from "viem";

import { silentLogger } from "../../log.js";
import { RelayQueues } from "../../relay/queue.js";
import { requeueMessage, type RequeueOutcome } from "../../relay/requeue.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

/** What each outcome means to the operator, and what to do next. */
const MEANING: Record<RequeueOutcome, string> = {
  queued: "queued for delivery again; the relayer checks the destination before sending",
  active: "a relayer is delivering it right now: nothing to do",
  "not-relayed": "this node does not relay that route (config relayer.origins / destinations)",
  unknown: "not in this node's index (not dispatched, not indexed yet, or another origin)",
  delivered: "its delivery is confirmed on the destination; --force queues it all the same",
};

export function defineRequeue(program: Command, exec: Exec): void {
  program
    .command("requeue")
    .description(
      "queue one message for delivery again, whatever became of its job (after a deep reorg, a dead letter)",
    )
    .argument("<id>", "message id (0x + 64 hex)")
    .option("--force", "queue it even when its delivery is confirmed in the index")
    .action(exec(runRequeue));
}

export async function runRequeue(
  ctx: Context,
  id: string,
  o: { force?: boolean },
): Promise<number> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new CliError("id must be 0x followed by 64 hex digits", EXIT.usage);
  const cfg = ctx.config();
  const redis = await ctx.redis();
  const queues = new RelayQueues(cfg, redis, silentLogger);
  try {
    const { outcome, destination } = await requeueMessage({ cfg, redis, queues }, id as Hex, {
      force: o.force,
    });
    ctx.print(`${id}${destination ? ` -> ${destination}` : ""}: ${MEANING[outcome]}`, {
      id,
      outcome,
      ...(destination ? { destination } : {}),
    });
    if (outcome === "unknown") return EXIT.notFound;
    if (outcome === "not-relayed") return EXIT.usage;
    return EXIT.ok;
  } catch (e) {
    throw new CliError(
      `redis.url ${cfg.redis.url} (${cfg.file}): ${(e as Error).message.split("\n")[0]}`,
      EXIT.chain,
    );
  } finally {
    await queues.close().catch(() => undefined);
    redis.disconnect();
  }
}
