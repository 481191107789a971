import type { Hex } from "viem";

import { ChainStore } from "../indexer/store.js";
import type { NodeContext } from "../node.js";
import type { RelayJobData } from "./queue.js";

export type RequeueOutcome =
  /** A job for it is waiting again. */
  | "queued"
  /** A worker holds its job right now: it is being delivered. */
  | "active"
  /** This node does not relay its route (config `relayer.origins` / `destinations`). */
  | "not-relayed"
  /**
   * No chain of the node's index dispatched it (not indexed yet, or not in the table), and no
   * job of the home chain's queue holds it.
   */
  | "unknown"
  /** Its delivery is confirmed in the destination's index: nothing to do (unless `force`). */
  | "delivered";

/**
 * Queues message `id` for delivery again, whatever became of its job (completed, failed,
 * dead-lettered, removed): what the indexer does for every delivery a reorg removed, and what an
 * operator does for one message (`distpos requeue <id>`). The message comes from the node's own
 * index of its origin; the relayer checks the destination before sending, so a message delivered
 * meanwhile is not delivered twice.
 */
export async function requeueMessage(
  ctx: Pick<NodeContext, "redis" | "cfg" | "queues">,
  id: Hex,
  options: { force?: boolean } = {},
): Promise<{ outcome: RequeueOutcome; destination?: string }> {
  const { redis } = ctx;
  const prefix = ctx.cfg.redis.prefix;
  const m = await ChainStore.message(redis, prefix, id);
  // A node that follows only its home chain has no index of the origin: a message that came in a
  // bundle is found by the job that delivered it (kept a week, relay/queue.ts), bundle and all.
  const data: Omit<RelayJobData, "source"> | undefined = m
    ? {
        id: m.id,
        origin: m.origin.toString(16),
        destination: m.destination.toString(16),
        nonce: m.nonce,
        message: m.message,
      }
    : await ctx.queues.jobData(ctx.cfg.homeChain.codeHex, id);
  if (!data) return { outcome: "unknown" };
  const destination = data.destination;
  if (!options.force) {
    const delivery = await ChainStore.delivery(redis, prefix, id);
    if (delivery?.chain === BigInt(`0x${destination}`))
      return { outcome: "delivered", destination };
  }
  const outcome = await ctx.queues.requeue(data, "requeue");
  return { outcome, destination };
}
