import type { Hex } from "viem";

import type { Chain } from "../config/load.js";
import type { StoredMessage } from "../indexer/store.js";
import { ChainStore } from "../indexer/store.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { AnswerStatus, fetchJsonLimited, NodeBackoff } from "../peers/entryNodes.js";
import { formatChainCode, type SignerSignature } from "../protocol/index.js";
import { withTopUpTargets } from "../relay/fees.js";
import type { UnderpaidRecord } from "../relay/underpaid.js";
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
  /** The destination's relayer holds it for its fees, as its node last reported (relay/underpaid.ts). */
  underpaid?: UnderpaidRecord;
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
    ...(h.underpaid ? { underpaid: JSON.parse(h.underpaid) as UnderpaidRecord } : {}),
  };
}

/** Most messages tracked to their delivery per round and destination. */
const TRACK_PER_ROUND = 50;
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
    for (const m of messages) {
      if (m.origin !== home || m.destination === home) continue;
      const dest = formatChainCode(m.destination);
      await this.ctx.redis.zadd(this.key(`pending:${dest}`), "NX", m.nonce, m.id.toLowerCase());
      await this.ctx.redis.zadd(this.key(`open:${dest}`), "NX", m.nonce, m.id.toLowerCase());
      await this.ctx.redis.hsetnx(this.key(`msg:${m.id.toLowerCase()}`), "state", "waiting");
      await this.ctx.redis.hsetnx(this.key(`msg:${m.id.toLowerCase()}`), "destination", dest);
    }
  }

  start(): void {
    const every = Math.max(100, Math.min(this.ctx.cfg.homeChain.pollIntervalMs, 1_000));
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((e: unknown) => this.log.warn({ err: errorText(e) }, "hand-over round failed"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, every);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: hand over what waits, follow what was accepted, for every destination. */
  async round(): Promise<void> {
    const home = this.ctx.cfg.homeChain;
    for (const dest of this.ctx.cfg.chainList) {
      if (dest.code === home.code) continue;
      await this.handOver(home, dest);
      await this.follow(dest);
    }
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
    // A top-up travels with the message it tops up (relay/fees.ts): both are delivered together.
    const handed = await withTopUpTargets(this.ctx, stored, BUNDLE_LIMITS.messages);
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
    const covered = handed.filter((m) => m.nonce < chosen.count);
    const bundle = buildBundle({
      tree,
      checkpoint: { origin: home.code, root: chosen.root, count: chosen.count },
      signatures: chosen.signatures.slice(0, BUNDLE_LIMITS.signatures),
      messages: covered.map((m) => m.message),
    });
    return { bundle, covered, count: chosen.count };
  }

  private async handOver(home: Chain, dest: Chain): Promise<void> {
    // relayer.push false: destinations pull (GET /v1/bundles) and nothing is followed here.
    if (!this.ctx.cfg.relayer.push) return;
    const ids = await this.ctx.redis.zrange(
      this.key(`pending:${dest.codeHex}`),
      0,
      BUNDLE_LIMITS.messages - 1,
    );
    const built = await this.build(home, ids);
    if (!built) return;
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
          return;
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
  }

  /** Asks the node that accepted each message whether it is delivered (a few per round). */
  private async follow(dest: Chain): Promise<void> {
    const ids = await this.ctx.redis.zrange(
      this.key(`tracking:${dest.codeHex}`),
      0,
      TRACK_PER_ROUND - 1,
    );
    for (const id of ids) {
      const state = await handoverState(this.ctx, id as Hex);
      // A pulled message names no entry node: any of the destination's can tell its state.
      const node =
        state?.node ?? peerEntryNodes(this.ctx, dest.code).find((n) => this.backoff.ready(n));
      if (!node || !this.backoff.ready(node)) continue;
      let journey: {
        destination?: {
          status?: string;
          tx?: Hex;
          block?: number;
          failureKind?: string;
          reason?: Hex;
          reasonText?: string;
          confirmed?: boolean;
          fees?: UnderpaidRecord;
        };
      };
      try {
        journey = (await fetchJsonLimited(`${node}/v1/messages/${id}`, {
          timeoutMs: 5_000,
          maxBytes: 64_000,
          signal: this.ctx.shutdown.signal,
        })) as typeof journey;
      } catch (e) {
        // A node that answers 404 is up (it never queued this one: delivered before it was handed
        // over); only a node that fails is backed off. Either way the message goes behind the
        // others, or one unanswerable message at the head stops every other from being followed.
        if (!(e instanceof AnswerStatus && e.status === 404)) this.backoff.failed(node);
        await this.ctx.redis.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), id);
        this.log.debug({ msgId: id, node, err: errorText(e) }, "could not follow message");
        continue;
      }
      const d = journey.destination;
      if ((d?.status === "delivered" || d?.status === "failed") && d.confirmed !== false && d.tx) {
        await this.ctx.redis.hset(this.key(`msg:${id}`), {
          state: d.status,
          tx: d.tx,
          block: d.block ?? 0,
          ...(d.failureKind ? { failureKind: d.failureKind } : {}),
          ...(typeof d.reason === "string" && /^0x[0-9a-fA-F]{0,20000}$/.test(d.reason)
            ? { reason: d.reason }
            : {}),
          ...(typeof d.reasonText === "string" ? { reasonText: d.reasonText.slice(0, 1_000) } : {}),
        });
        await this.ctx.redis.zrem(this.key(`tracking:${dest.codeHex}`), id);
        await this.ctx.redis.zrem(this.key(`open:${dest.codeHex}`), id);
        this.log.info({ msgId: id, node, tx: d.tx, status: d.status }, "hand-over done");
      } else {
        // Held for its fees there: shown here too until a top-up gets it delivered.
        const fees = d?.status === "underpaid" ? underpaidRecord(d.fees) : undefined;
        if (fees)
          await this.ctx.redis.hset(this.key(`msg:${id}`), "underpaid", JSON.stringify(fees));
        else await this.ctx.redis.hdel(this.key(`msg:${id}`), "underpaid");
        // Followed again after the others.
        await this.ctx.redis.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), id);
      }
    }
  }
}

/** A peer's underpaid record, kept only when it has the expected shape (amounts as integers). */
function underpaidRecord(v: unknown): UnderpaidRecord | undefined {
  const r = v as Partial<UnderpaidRecord> | undefined;
  const int = (x: unknown) => typeof x === "string" && /^[0-9]{1,78}$/.test(x);
  if (!r || !int(r.fee) || !int(r.topUps) || !int(r.needed)) return undefined;
  return { fee: r.fee!, topUps: r.topUps!, needed: r.needed!, at: String(r.at ?? "").slice(0, 40) };
}
