/**
 * Following what the origin's node handed over (docs/protocol.md 4.2): the destination's node that
 * accepted a bundle is asked about its messages (many per request) until it reports each delivered
 * or failed; one it reports undeliverable with the bundle's signatures goes back to be handed
 * again with more (a re-hand).
 */
import type { Hex } from "viem";

import { STATUS_ANSWER_MAX_BYTES, STATUS_BATCH_MAX } from "../api/deliveryStatus.js";
import type { ChainEntry } from "../config/load.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { getDeliveryStatuses, getNodeMessage } from "../nodeApi/index.js";
import type { DestinationStatus } from "../nodeApi/types.js";
import type { NodeBackoff } from "../peers/entryNodes.js";
import type { UnderpaidRecord } from "../relay/underpaid.js";
import { NodeHttpError } from "../sdk/errors.js";
import { handoverState, outKey, type HandoverState } from "./handoverState.js";
import { peerEntryNodes } from "./peers.js";

/** Most messages tracked to their delivery per round and destination. */
const TRACK_PER_ROUND = 2_000;
/** Of those, most asked about one by one of a node without POST /v1/messages/status. */
const TRACK_ONE_BY_ONE = 50;

/** Follows our handed-over messages (`P:out:tracking:<dest>`) on the destination's nodes. */
export class HandoverFollower {
  constructor(
    private readonly ctx: NodeContext,
    private readonly log: Logger,
    /** The hand-over's: a node that fails a post or a question is left alone by both. */
    private readonly backoff: NodeBackoff,
  ) {}

  /**
   * Asks the nodes that accepted our messages whether they are delivered: up to TRACK_PER_ROUND
   * of the longest-unchecked, grouped by node, STATUS_BATCH_MAX per request.
   */
  async follow(dest: ChainEntry): Promise<void> {
    const tracking = outKey(this.ctx, `tracking:${dest.codeHex}`);
    const ids = await this.ctx.redis.zrange(tracking, 0, TRACK_PER_ROUND - 1);
    if (!ids.length) return;
    const nodes = await Promise.all(
      ids.map((id) => this.ctx.redis.hget(outKey(this.ctx, `msg:${id}`), "node")),
    );
    const byNode = new Map<string, string[]>();
    ids.forEach((id, i) => {
      // A pulled message names no entry node: any of the destination's can tell its state.
      const node =
        nodes[i] ?? peerEntryNodes(this.ctx, dest.code).find((n) => this.backoff.ready(n));
      if (!node || !this.backoff.ready(node)) return;
      byNode.set(node, [...(byNode.get(node) ?? []), id]);
    });
    for (const [node, list] of byNode) {
      for (let from = 0; from < list.length; from += STATUS_BATCH_MAX) {
        const chunk = list.slice(from, from + STATUS_BATCH_MAX);
        let answers: Record<string, DestinationAnswer | undefined>;
        try {
          answers = await getDeliveryStatuses(node, chunk, {
            timeoutMs: 10_000,
            maxBytes: STATUS_ANSWER_MAX_BYTES,
            signal: this.ctx.shutdown.signal,
          });
        } catch (e) {
          if (e instanceof NodeHttpError && e.status === 404) {
            // A node of a version without the batched query: one request per message.
            await this.followOneByOne(dest, node, list.slice(from, from + TRACK_ONE_BY_ONE));
            break;
          }
          this.backoff.failed(node);
          this.log.debug(
            { destination: dest.codeHex, node, err: errorText(e) },
            "could not follow",
          );
          break;
        }
        await this.record(
          dest,
          node,
          chunk.map((id) => [id, answers[id]]),
        );
      }
    }
  }

  /** Follows `ids` on a node that answers GET /v1/messages/<id> only. */
  private async followOneByOne(
    dest: ChainEntry,
    node: string,
    ids: readonly string[],
  ): Promise<void> {
    for (const id of ids) {
      if (!this.backoff.ready(node)) return;
      // A node that answers 404 is up (it never queued this one: delivered before it was handed
      // over); only a node that fails is backed off. Either way the message goes behind the
      // others, or one unanswerable message at the head stops every other from being followed.
      const journey = await getNodeMessage(node, id, {
        timeoutMs: 5_000,
        maxBytes: 64_000,
        signal: this.ctx.shutdown.signal,
      }).catch((e: unknown) => {
        this.backoff.failed(node);
        this.log.debug({ msgId: id, node, err: errorText(e) }, "could not follow message");
        return undefined;
      });
      if (!journey) {
        await this.ctx.redis.zadd(outKey(this.ctx, `tracking:${dest.codeHex}`), Date.now(), id);
        continue;
      }
      await this.record(dest, node, [[id, journey.destination]]);
    }
  }

  /**
   * Keeps what the destination's node answered for each message: a confirmed delivery or failure
   * ends its hand-over; anything else is followed again after the others.
   */
  private async record(
    dest: ChainEntry,
    node: string,
    answers: readonly (readonly [string, DestinationAnswer | undefined])[],
  ): Promise<void> {
    const multi = this.ctx.redis.multi();
    const done: Record<string, number> = {};
    for (const [id, d] of answers) {
      if (d?.status === "wait-signers") {
        const state = await handoverState(this.ctx, id as Hex);
        if (state) {
          await this.rehand(dest, id, state, Number(d.signers ?? 0));
          continue;
        }
      }
      if ((d?.status === "delivered" || d?.status === "failed") && d.confirmed !== false && d.tx) {
        multi.hset(outKey(this.ctx, `msg:${id}`), {
          state: d.status,
          tx: d.tx,
          block: d.block ?? 0,
          ...(d.failureKind ? { failureKind: d.failureKind } : {}),
          ...(typeof d.reason === "string" && /^0x[0-9a-fA-F]{0,20000}$/.test(d.reason)
            ? { reason: d.reason }
            : {}),
          ...(typeof d.reasonText === "string" ? { reasonText: d.reasonText.slice(0, 1_000) } : {}),
        });
        multi.zrem(outKey(this.ctx, `tracking:${dest.codeHex}`), id);
        multi.zrem(outKey(this.ctx, `open:${dest.codeHex}`), id);
        done[d.status] = (done[d.status] ?? 0) + 1;
      } else {
        // Held for its fees there: shown here too until a top-up gets it delivered.
        const fees = d?.status === "underpaid" ? underpaidRecord(d.fees) : undefined;
        if (fees)
          await this.ctx.redis.hset(
            outKey(this.ctx, `msg:${id}`),
            "underpaid",
            JSON.stringify(fees),
          );
        else await this.ctx.redis.hdel(outKey(this.ctx, `msg:${id}`), "underpaid");
        // Followed again after the others.
        multi.zadd(outKey(this.ctx, `tracking:${dest.codeHex}`), Date.now(), id);
      }
    }
    await multi.exec();
    if (Object.keys(done).length)
      this.log.info({ destination: dest.codeHex, node, ...done }, "hand-over done");
  }

  /**
   * The destination's relayer holds message `id` but cannot deliver it with the `held` signatures
   * of the bundle it has (a recipient's policy, a reserve report's credit above their vouching):
   * the message goes back to the pending set, to be handed again only under a checkpoint signed
   * by more than `held`; the destination's node replaces the queued message's bundle with it
   * (inbound.ts; the Inbox delivers a message once whatever bundle carried it). A report older
   * than our last hand-over (fewer signatures than we sent since) is ignored.
   */
  private async rehand(
    dest: ChainEntry,
    id: string,
    state: HandoverState,
    held: number,
  ): Promise<void> {
    const tracking = outKey(this.ctx, `tracking:${dest.codeHex}`);
    if (held < (state.signers ?? 0)) {
      await this.ctx.redis.zadd(tracking, Date.now(), id);
      return;
    }
    const nonce = await this.ctx.redis.zscore(outKey(this.ctx, `open:${dest.codeHex}`), id);
    if (nonce === null) {
      await this.ctx.redis.zrem(tracking, id);
      return;
    }
    const multi = this.ctx.redis.multi();
    multi.zrem(tracking, id);
    multi.zadd(outKey(this.ctx, `pending:${dest.codeHex}`), nonce, id);
    multi.hset(outKey(this.ctx, `msg:${id}`), { state: "waiting", rehandAbove: held });
    await multi.exec();
    this.log.info(
      { msgId: id, destination: dest.codeHex, signers: held },
      "destination cannot deliver it with the signatures it holds: handed again with more",
    );
  }
}

/** What a destination's node reports of one message: a status answer or a journey's part. */
type DestinationAnswer = Omit<Partial<DestinationStatus>, "status"> & { status?: string };

/** A peer's underpaid record, kept only when it has the expected shape (amounts as integers). */
function underpaidRecord(v: unknown): UnderpaidRecord | undefined {
  const r = v as Partial<UnderpaidRecord> | undefined;
  const int = (x: unknown) => typeof x === "string" && /^[0-9]{1,78}$/.test(x);
  if (!r || !int(r.fee) || !int(r.topUps) || !int(r.needed)) return undefined;
  return { fee: r.fee!, topUps: r.topUps!, needed: r.needed!, at: String(r.at ?? "").slice(0, 40) };
}
