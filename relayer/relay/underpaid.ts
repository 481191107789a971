import type { Redis } from "ioredis";
import type { Hex } from "viem";

/**
 * The record a relayer keeps of a message it does not deliver because its fees (with its top-ups)
 * are below its delivery cost: read by the API (`/v1/messages/:id` status `underpaid`), `distpos
 * status` and the explorer. It expires on its own (a relayer re-judges waiting messages every poll
 * and writes it again), and is removed once the message is paid.
 */
export interface UnderpaidRecord {
  /** Fees the message and the top-ups seen with it carry (18 decimals). */
  fee: string;
  /** Of which top-ups. */
  topUps: string;
  /** What the relayer wants: its cost with its margin. */
  needed: string;
  /** When it was last judged (ISO time). */
  at: string;
}

/** How long a record outlives the relayer's last judgement. */
const TTL_SECONDS = 300;

const key = (prefix: string, id: Hex) => `${prefix}:fees:underpaid:${id.toLowerCase()}`;

export async function markUnderpaid(
  redis: Redis,
  prefix: string,
  id: Hex,
  record: Omit<UnderpaidRecord, "at">,
): Promise<void> {
  const value: UnderpaidRecord = { ...record, at: new Date().toISOString() };
  await redis.set(key(prefix, id), JSON.stringify(value), "EX", TTL_SECONDS);
}

export async function clearUnderpaid(redis: Redis, prefix: string, ids: Hex[]): Promise<void> {
  if (ids.length) await redis.del(...ids.map((id) => key(prefix, id)));
}

export async function underpaid(
  redis: Redis,
  prefix: string,
  id: Hex,
): Promise<UnderpaidRecord | undefined> {
  const raw = await redis.get(key(prefix, id));
  return raw ? (JSON.parse(raw) as UnderpaidRecord) : undefined;
}
