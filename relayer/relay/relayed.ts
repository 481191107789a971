import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { ChainStore } from "../indexer/store.js";

/**
 * Deliveries our relayer confirmed on a chain that the chain's index has not shown yet
 * (`P:relayed:<chain>`, id → block of the deliver transaction).
 *
 * The relayer completes a message's job once its deliver transaction is `confirmations` deep; the
 * indexer re-queues a delivery a reorg removes only if it had indexed it. Between the two — the
 * relayer confirms at tip − confirmations, the indexer reads that block on its next poll — a reorg
 * deeper than `confirmations` removed deliveries that neither re-queued: the job was done, the
 * index never had them (seen on anvil). So every confirmed delivery is noted here, and the
 * indexer settles the notes once it has indexed past their blocks: a note whose delivery is in the
 * index is dropped; one whose delivery is not left the chain, and its message is queued again. The
 * relayer checks the Inbox before it sends, so a delivery re-included elsewhere is not sent twice.
 */
const key = (prefix: string, chain: bigint) => `${prefix}:relayed:${chain.toString(16)}`;

/** Most notes kept per chain (a chain whose index no process runs would otherwise grow them). */
const MAX_NOTES = 200_000;

/**
 * Notes that our relayer delivered messages `ids` to `chain` in block `block`: one Redis
 * transaction per deliver transaction, whatever its number of messages.
 */
export async function noteRelayed(
  redis: Redis,
  prefix: string,
  chain: bigint,
  ids: readonly Hex[],
  block: number,
): Promise<void> {
  if (!ids.length) return;
  const k = key(prefix, chain);
  await redis
    .multi()
    .zadd(k, ...ids.flatMap((id) => [block, id.toLowerCase()]))
    .zremrangebyrank(k, 0, -MAX_NOTES - 1)
    .exec();
}

/**
 * Settles the notes of `chain` at or below `indexedTo` (the block the chain's index has committed
 * up to): drops those whose delivery the index holds and returns the ids of the others, whose
 * delivery left the chain.
 */
export async function settleRelayed(
  redis: Redis,
  prefix: string,
  chain: bigint,
  indexedTo: number,
): Promise<Hex[]> {
  const k = key(prefix, chain);
  const ids = (await redis.zrangebyscore(k, "-inf", indexedTo, "LIMIT", 0, 1_000)) as Hex[];
  if (!ids.length) return [];
  const deliveries = await Promise.all(ids.map((id) => ChainStore.delivery(redis, prefix, id)));
  const gone = ids.filter((_, i) => deliveries[i]?.chain !== chain);
  await redis.zrem(k, ...ids);
  return gone;
}
