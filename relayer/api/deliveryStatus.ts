/**
 * POST /v1/messages/status: what became of many messages on this node's home chain, in one
 * request. The origin's node follows every message it handed over until it is delivered; asking
 * GET /v1/messages/<id> per message cost one HTTP request and one full journey (the bundle
 * loaded and re-hashed, a receipt read) per message, and capped the hand-over at ~170 msgs/s
 * (issue 14). This answers from the delivery index alone: one Redis pipeline per request.
 */
import type { Hex } from "viem";

import { signerShortfall } from "../handover/inbound.js";
import { ChainStore } from "../indexer/store.js";
import type { DestinationStatus } from "../nodeApi/types.js";
import { underpaid } from "../relay/underpaid.js";
import type { NodeContext } from "../node.js";
import { deliveryFields } from "./journey.js";

/** Most ids one request may ask about (its answer stays under `STATUS_ANSWER_MAX_BYTES`). */
export const STATUS_BATCH_MAX = 200;
/**
 * Largest answer to a full request: a failed message's revert data is kept up to 10,000 bytes
 * (20,000 hex digits) and its decoding up to 1,000 characters, so ~24 kB per message at most.
 */
export const STATUS_ANSWER_MAX_BYTES = STATUS_BATCH_MAX * 24_000;

const ID = /^0x[0-9a-fA-F]{64}$/;

/** One message's state as the destination's node knows it (declared with the client). */
export type { DestinationStatus };

/** Thrown for a malformed request: the message says what is wrong with it. */
export class StatusRequestError extends Error {
  override name = "StatusRequestError";
}

/** The ids of a request body `{ids: [...]}`, validated (lower case). */
export function statusRequestIds(body: unknown): string[] {
  const ids = (body as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || !ids.length || ids.length > STATUS_BATCH_MAX)
    throw new StatusRequestError(`ids must be a list of 1 to ${STATUS_BATCH_MAX} message ids`);
  return ids.map((id, i) => {
    if (typeof id !== "string" || !ID.test(id))
      throw new StatusRequestError(`ids[${i}] must be 0x followed by 64 hex digits`);
    return id.toLowerCase();
  });
}

/** The status of each of `ids` (lower case) on this node's home chain, by id. */
export async function destinationStatuses(
  ctx: NodeContext,
  ids: readonly string[],
): Promise<Record<string, DestinationStatus>> {
  const prefix = ctx.cfg.redis.prefix;
  const deliveries = await Promise.all(
    ids.map((id) => ChainStore.delivery(ctx.redis, prefix, id as Hex)),
  );
  // ioredis pipelines the commands of one turn of the event loop: one round trip for all ids.
  const bundled = await Promise.all(
    ids.map((id, i) => (deliveries[i] ? null : ctx.redis.exists(`${prefix}:bundled:${id}`))),
  );
  // Queued but short of signatures (relay/relay.ts): the origin hands it again with more.
  const short = await Promise.all(
    ids.map((id, i) => (deliveries[i] || !bundled[i] ? undefined : signerShortfall(ctx, id))),
  );
  // Queued but held for its fees by our relayer (relay/fees.ts): the origin shows it underpaid.
  const fees = await Promise.all(
    ids.map((id, i) =>
      deliveries[i] || !bundled[i] ? undefined : underpaid(ctx.redis, prefix, id as Hex),
    ),
  );
  const out: Record<string, DestinationStatus> = {};
  ids.forEach((id, i) => {
    const d = deliveries[i];
    if (!d) {
      const s = short[i];
      const f = fees[i];
      out[id] = s
        ? { status: "wait-signers", ...s }
        : f
          ? { status: "underpaid", fees: f }
          : { status: bundled[i] ? "queued" : "unknown" };
      return;
    }
    out[id] = deliveryFields(d);
  });
  return out;
}
