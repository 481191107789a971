import type { Hex } from "viem";

import type { Chain } from "../config/load.js";
import type { StoredMessage } from "../indexer/store.js";
import { ChainStore } from "../indexer/store.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { STATUS_ANSWER_MAX_BYTES, STATUS_BATCH_MAX } from "../api/deliveryStatus.js";
import { AnswerStatus, fetchJsonLimited, NodeBackoff } from "../peers/entryNodes.js";
import { formatChainCode, type SignerSignature } from "../protocol/index.js";
import { SignatureCollector } from "../relay/signatures.js";
import { StakedSigners } from "../relay/signers.js";
import { BUNDLE_LIMITS, buildBundle, bundleToJson, type Bundle } from "./bundle.js";
import type { Acceptance } from "./inbound.js";
import { peerEntryNodes } from "./peers.js";

/** What the origin's node knows of one message it hands over (`P:out:msg:<id>`). */
export interface HandoverState {
  state: "waiting" | "accepted" | "delivered" | "failed";
  destination: string;
  /** The checkpoint count its bundle was proven at. */
  count?: number;
  /** The entry node that accepted it. */
  node?: string;
  acceptedAt?: number;
  tx?: Hex;
  block?: number;
  failureKind?: string;
  /** A failed handler's revert data and its decoding, as the destination's node reported them. */
  reason?: Hex;
  reasonText?: string;
  /** The last refusal by the destination's nodes (reason code), while it waits. */
  refused?: string;
}

/** Reads the hand-over state of message `id` (undefined when this node did not hand it over). */
export async function handoverState(ctx: NodeContext, id: Hex): Promise<HandoverState | undefined> {
  const h = await ctx.redis.hgetall(`${ctx.cfg.redis.prefix}:out:msg:${id.toLowerCase()}`);
  if (!h.state) return undefined;
  return {
    state: h.state as HandoverState["state"],
    destination: h.destination!,
    ...(h.count ? { count: Number(h.count) } : {}),
    ...(h.node ? { node: h.node } : {}),
    ...(h.acceptedAt ? { acceptedAt: Number(h.acceptedAt) } : {}),
    ...(h.tx ? { tx: h.tx as Hex } : {}),
    ...(h.block ? { block: Number(h.block) } : {}),
    ...(h.failureKind ? { failureKind: h.failureKind } : {}),
    ...(h.reason ? { reason: h.reason as Hex } : {}),
    ...(h.reasonText ? { reasonText: h.reasonText } : {}),
    ...(h.refused ? { refused: h.refused } : {}),
  };
}

/** Most messages tracked to their delivery per round and destination. */
const TRACK_PER_ROUND = 2_000;
/** Of those, most asked about one by one of a node without POST /v1/messages/status. */
const TRACK_ONE_BY_ONE = 50;
/** Most bundles handed over per round and destination (then the round follows and goes on). */
const BUNDLES_PER_ROUND = 10;
/** Longest a checkpoint waits for the signatures of staked signers that have not signed it yet. */
const SIGNATURE_WAIT_MS = 2_000;

/**
 * The origin side of the hand-over (docs/protocol.md 4.2). Messages our home chain dispatches are
 * kept per destination (`P:out:pending:<dest>`, by nonce) until a bundle carrying them is accepted
 * by one of the destination's entry nodes: under the newest checkpoint of our home Outbox that
 * our community's attesters signed (our own attester's signature and our entry nodes'), proven
 * from our home index. Nodes are tried in turn with per-node backoff; a message is handed over
 * idempotently (the receiver queues by message id). Accepted messages are then followed on the
 * node that took them until it reports them delivered (transaction, block) or failed.
 */
export class BundleHandover {
  private readonly log: Logger;
  private readonly collector: SignatureCollector;
  private readonly staked: StakedSigners;
  /** Staked signers seen signing one of our checkpoints (lower case). */
  private readonly seenSigners = new Set<string>();
  private readonly backoff = new NodeBackoff(500, 30_000);
  /** When each checkpoint (count:root) was first found with some staked signer's signature missing. */
  private readonly incompleteSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly ctx: NodeContext) {
    const home = ctx.cfg.homeChain;
    this.log = ctx.log.child({ role: "handover" });
    this.staked = new StakedSigners(ctx.client(home.code), home);
    this.collector = new SignatureCollector(ctx.checkpoints, this.staked, this.log, ctx.metrics, {
      maxPerCheckpoint: BUNDLE_LIMITS.signatures,
    });
  }

  private key(name: string): string {
    return `${this.ctx.cfg.redis.prefix}:out:${name}`;
  }

  /** Keeps our home chain's new outgoing messages until they are handed over. */
  async add(messages: readonly StoredMessage[]): Promise<void> {
    const home = this.ctx.cfg.homeChain.code;
    // One transaction for the whole batch: four round trips per message made the indexer's commit
    // wait ~40k round trips per 10k messages (issue 14).
    const multi = this.ctx.redis.multi();
    let any = false;
    for (const m of messages) {
      if (m.origin !== home || m.destination === home) continue;
      const dest = formatChainCode(m.destination);
      const id = m.id.toLowerCase();
      multi.zadd(this.key(`pending:${dest}`), "NX", m.nonce, id);
      multi.zadd(this.key(`open:${dest}`), "NX", m.nonce, id);
      multi.hsetnx(this.key(`msg:${id}`), "state", "waiting");
      multi.hsetnx(this.key(`msg:${id}`), "destination", dest);
      any = true;
    }
    if (any) await multi.exec();
    else multi.discard();
  }

  start(): void {
    const every = Math.max(100, Math.min(this.ctx.cfg.homeChain.pollIntervalMs, 1_000));
    const tick = () => {
      if (this.stopped) return;
      let backlog = false;
      this.running = this.round()
        .then((more) => void (backlog = more))
        .catch((e: unknown) => this.log.warn({ err: errorText(e) }, "hand-over round failed"))
        .finally(() => {
          // A round that handed bundles over and left messages waiting goes on at once.
          if (!this.stopped) this.timer = setTimeout(tick, backlog ? 0 : every);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One round: hand over what waits (up to BUNDLES_PER_ROUND bundles), follow what was accepted,
   * for every destination. True when BUNDLES_PER_ROUND bundles were accepted in a row: more may
   * wait, and the next round should not wait for the poll interval.
   */
  async round(): Promise<boolean> {
    const home = this.ctx.cfg.homeChain;
    let backlog = false;
    for (const dest of this.ctx.cfg.chainList) {
      if (dest.code === home.code) continue;
      for (let n = 0; n < BUNDLES_PER_ROUND; n++) {
        if (!(await this.handOver(home, dest))) break;
        if (n === BUNDLES_PER_ROUND - 1) backlog = true;
      }
      // Following never makes the next round come sooner: a destination delivering slowly (or
      // down) would be asked about the same messages in a tight loop.
      await this.follow(dest);
    }
    return backlog;
  }

  /**
   * The bundle a destination pulls (GET /v1/bundles): our messages to `destination` not yet seen
   * delivered, from nonce `after + 1`, under our newest signed checkpoint covering the first;
   * undefined when none is waiting or no signed checkpoint covers it yet.
   */
  async bundleFor(destination: bigint, after: number): Promise<Bundle | undefined> {
    await this.pulledUpTo(destination, after);
    const ids = await this.ctx.redis.zrangebyscore(
      this.key(`open:${formatChainCode(destination)}`),
      `(${after}`,
      "+inf",
      "LIMIT",
      0,
      BUNDLE_LIMITS.messages,
    );
    return (await this.build(this.ctx.cfg.homeChain, ids))?.bundle;
  }

  /**
   * A destination's node pulling past `after` says it took (or found delivered) every message up
   * to `after`: those still waiting here are marked accepted (by a pull: no entry node named) and
   * followed to their delivery like pushed ones, which takes them out of the open set. Until then
   * they stay open: a destination that lost its queue and cursor (an emptied Redis) pulls them
   * again from the start. Without this a node that never pushes (relayer.push false) kept them
   * open forever and reported them waiting.
   */
  private async pulledUpTo(destination: bigint, after: number): Promise<void> {
    if (after < 0) return;
    const dest = formatChainCode(destination);
    const ids = await this.ctx.redis.zrangebyscore(
      this.key(`open:${dest}`),
      "-inf",
      after,
      "LIMIT",
      0,
      BUNDLE_LIMITS.messages,
    );
    if (!ids.length) return;
    const states = await Promise.all(
      ids.map((id) => this.ctx.redis.hget(this.key(`msg:${id}`), "state")),
    );
    const multi = this.ctx.redis.multi();
    ids.forEach((id, i) => {
      if (states[i] !== "waiting") return; // accepted already (pushed, or an earlier pull)
      multi.zrem(this.key(`pending:${dest}`), id);
      multi.hset(this.key(`msg:${id}`), { state: "accepted", acceptedAt: Date.now() });
      multi.hdel(this.key(`msg:${id}`), "refused");
      multi.zadd(this.key(`tracking:${dest}`), "NX", Date.now(), id);
    });
    await multi.exec();
  }

  /** The bundle of the messages `ids` (nonce order) our signed checkpoints cover. */
  private async build(
    home: Chain,
    ids: readonly string[],
  ): Promise<{ bundle: Bundle; covered: StoredMessage[]; count: number } | undefined> {
    if (!ids.length) return undefined;
    const view = this.ctx.view(home.code);
    const { tree } = await view.sync();
    const stored = (
      await Promise.all(
        ids.map((id) => ChainStore.message(this.ctx.redis, this.ctx.cfg.redis.prefix, id as Hex)),
      )
    ).filter((m): m is StoredMessage => m !== undefined && m.nonce < tree.count);
    if (!stored.length) return;
    // The newest confirmed snapshot someone of our community signed that covers the first message.
    const snapshots = (await view.snapshots()).filter((s) => s.count <= tree.count).reverse();
    let chosen: { count: number; root: Hex; signatures: SignerSignature[] } | undefined;
    for (const snap of snapshots.slice(0, 8)) {
      if (snap.count <= stored[0]!.nonce) break;
      const signatures = await this.collector.collect(home, {
        origin: home.code,
        root: snap.root,
        count: snap.count,
      });
      if (signatures.length) {
        chosen = { count: snap.count, root: snap.root, signatures };
        break;
      }
    }
    if (!chosen) return;
    // A bundle's signatures are all the destination gets: handed with one attester's signature
    // while the others are still signing, a message worth more than that attester vouches for (a
    // reserve report, a large transfer) could never be delivered from it. So a checkpoint some
    // staked signer seen signing before has not signed yet waits up to SIGNATURE_WAIT_MS for it.
    // Only signers seen signing before are waited for: a staked attester that runs no node never
    // signs, and waiting for it would delay every bundle.
    for (const sig of chosen.signatures) this.seenSigners.add(sig.signer.toLowerCase());
    const has = new Set(chosen.signatures.map((x) => x.signer.toLowerCase()));
    const staked = [...(await this.staked.signers())].map((a) => a.toLowerCase());
    const missing = staked.some((a) => this.seenSigners.has(a) && !has.has(a));
    const id = `${chosen.count}:${chosen.root}`;
    if (missing && chosen.signatures.length < BUNDLE_LIMITS.signatures) {
      const since = this.incompleteSince.get(id) ?? Date.now();
      if (!this.incompleteSince.has(id)) {
        this.incompleteSince.set(id, since);
        if (this.incompleteSince.size > 1_000)
          this.incompleteSince.delete(this.incompleteSince.keys().next().value!);
      }
      if (Date.now() - since < SIGNATURE_WAIT_MS) return;
    }
    const covered = stored.filter((m) => m.nonce < chosen.count);
    const bundle = buildBundle({
      tree,
      checkpoint: { origin: home.code, root: chosen.root, count: chosen.count },
      signatures: chosen.signatures.slice(0, BUNDLE_LIMITS.signatures),
      messages: covered.map((m) => m.message),
    });
    return { bundle, covered, count: chosen.count };
  }

  /** Hands the oldest waiting messages over in one bundle; true when one was accepted. */
  private async handOver(home: Chain, dest: Chain): Promise<boolean> {
    // relayer.push false: destinations pull (GET /v1/bundles) and nothing is followed here.
    if (!this.ctx.cfg.relayer.push) return false;
    const ids = await this.ctx.redis.zrange(
      this.key(`pending:${dest.codeHex}`),
      0,
      BUNDLE_LIMITS.messages - 1,
    );
    const built = await this.build(home, ids);
    if (!built) return false;
    const { bundle, covered } = built;
    const chosen = { count: built.count };
    const body = JSON.stringify(bundleToJson(bundle));
    let refused: string | undefined;
    for (const node of peerEntryNodes(this.ctx, dest.code)) {
      if (!this.backoff.ready(node)) continue;
      try {
        const res = await fetch(`${node}/v1/bundles`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(10_000), this.ctx.shutdown.signal]),
        });
        const answer = (await res.json().catch(() => ({}))) as Partial<Acceptance> & {
          reason?: string;
        };
        if (res.ok || answer.reason === "already-delivered") {
          this.backoff.succeeded(node);
          const multi = this.ctx.redis.multi();
          for (const m of covered) {
            multi.zrem(this.key(`pending:${dest.codeHex}`), m.id.toLowerCase());
            multi.hset(this.key(`msg:${m.id.toLowerCase()}`), {
              state: "accepted",
              count: chosen.count,
              node,
              acceptedAt: Date.now(),
            });
            multi.hdel(this.key(`msg:${m.id.toLowerCase()}`), "refused");
            multi.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), m.id.toLowerCase());
          }
          await multi.exec();
          this.log.info(
            { destination: dest.codeHex, node, messages: covered.length, count: chosen.count },
            "bundle handed over",
          );
          return true;
        }
        // Refused: the reason is the chain's state (not yet mirrored, capacity) or our fault; it
        // is kept for status and retried after this node's backoff.
        refused = answer.reason ?? `http ${res.status}`;
        this.backoff.failed(node);
        this.log.warn(
          { destination: dest.codeHex, node, status: res.status, reason: answer.reason },
          "bundle refused",
        );
      } catch (e) {
        this.backoff.failed(node);
        this.log.debug({ destination: dest.codeHex, node, err: errorText(e) }, "entry node down");
      }
    }
    if (refused) {
      const multi = this.ctx.redis.multi();
      for (const m of covered)
        multi.hset(this.key(`msg:${m.id.toLowerCase()}`), "refused", refused);
      await multi.exec();
    }
    return false;
  }

  /**
   * Asks the nodes that accepted our messages whether they are delivered: up to TRACK_PER_ROUND
   * of the longest-unchecked, grouped by node, STATUS_BATCH_MAX per request.
   */
  private async follow(dest: Chain): Promise<void> {
    const tracking = this.key(`tracking:${dest.codeHex}`);
    const ids = await this.ctx.redis.zrange(tracking, 0, TRACK_PER_ROUND - 1);
    if (!ids.length) return;
    const nodes = await Promise.all(
      ids.map((id) => this.ctx.redis.hget(this.key(`msg:${id}`), "node")),
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
          answers =
            (
              (await fetchJsonLimited(`${node}/v1/messages/status`, {
                body: { ids: chunk },
                timeoutMs: 10_000,
                maxBytes: STATUS_ANSWER_MAX_BYTES,
                signal: this.ctx.shutdown.signal,
              })) as { messages?: Record<string, DestinationAnswer> }
            ).messages ?? {};
        } catch (e) {
          if (e instanceof AnswerStatus && e.status === 404) {
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
  private async followOneByOne(dest: Chain, node: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (!this.backoff.ready(node)) return;
      let journey: { destination?: DestinationAnswer };
      try {
        journey = (await fetchJsonLimited(`${node}/v1/messages/${id}`, {
          timeoutMs: 5_000,
          maxBytes: 64_000,
          signal: this.ctx.shutdown.signal,
        })) as typeof journey;
      } catch (e) {
        this.backoff.failed(node);
        this.log.debug({ msgId: id, node, err: errorText(e) }, "could not follow message");
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
    dest: Chain,
    node: string,
    answers: readonly (readonly [string, DestinationAnswer | undefined])[],
  ): Promise<void> {
    const multi = this.ctx.redis.multi();
    const done: Record<string, number> = {};
    for (const [id, d] of answers) {
      if ((d?.status === "delivered" || d?.status === "failed") && d.confirmed !== false && d.tx) {
        multi.hset(this.key(`msg:${id}`), {
          state: d.status,
          tx: d.tx,
          block: d.block ?? 0,
          ...(d.failureKind ? { failureKind: d.failureKind } : {}),
          ...(typeof d.reason === "string" && /^0x[0-9a-fA-F]{0,20000}$/.test(d.reason)
            ? { reason: d.reason }
            : {}),
          ...(typeof d.reasonText === "string" ? { reasonText: d.reasonText.slice(0, 1_000) } : {}),
        });
        multi.zrem(this.key(`tracking:${dest.codeHex}`), id);
        multi.zrem(this.key(`open:${dest.codeHex}`), id);
        done[d.status] = (done[d.status] ?? 0) + 1;
      } else {
        // Followed again after the others.
        multi.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), id);
      }
    }
    await multi.exec();
    if (Object.keys(done).length)
      this.log.info({ destination: dest.codeHex, node, ...done }, "hand-over done");
  }
}

/** What a destination's node reports of one message (its `destination` part of a journey). */
interface DestinationAnswer {
  status?: string;
  tx?: Hex;
  block?: number;
  failureKind?: string;
  reason?: Hex;
  reasonText?: string;
  confirmed?: boolean;
}
