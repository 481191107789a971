import type { Hex } from "viem";

import type { Chain, ChainEntry } from "../config/load.js";
import type { StoredMessage } from "../indexer/store.js";
import { ChainStore } from "../indexer/store.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { postBundle } from "../nodeApi/index.js";
import { NodeBackoff } from "../peers/entryNodes.js";
import { formatChainCode, type Checkpoint, type SignerSignature } from "../protocol/index.js";
import { withTopUpTargets } from "../relay/fees.js";
import { SignatureCollector } from "../relay/signatures.js";
import { StakedSigners } from "../relay/signers.js";
import { NodeHttpError } from "../sdk/errors.js";
import { BUNDLE_LIMITS, buildBundle, bundleToJson, type Bundle } from "./bundle.js";
import { originNeeds, verdict, VouchingStakes } from "./coverage.js";
import { HandoverFollower } from "./follow.js";
import { outKey } from "./handoverState.js";
import { peerEntryNodes, peerRoute } from "./peers.js";

/** Read by the API (a message's journey); kept in ./handoverState.ts. */
export { handoverState, type HandoverState } from "./handoverState.js";

/** Most bundles handed over per round and destination (then the round follows and goes on). */
const BUNDLES_PER_ROUND = 10;
/** Largest acceptance answer: four lists of message ids, a bundle's messages at most. */
const ACCEPTANCE_MAX_BYTES = 4 * BUNDLE_LIMITS.messages * 70 + 1_000;

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
  private readonly backoff = new NodeBackoff(500, 30_000);
  private readonly stakes: VouchingStakes;
  private readonly follower: HandoverFollower;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly ctx: NodeContext) {
    const home = ctx.cfg.homeChain;
    this.log = ctx.log.child({ role: "handover" });
    this.staked = new StakedSigners(ctx.client(home.code), home);
    this.stakes = new VouchingStakes(ctx, this.staked);
    this.follower = new HandoverFollower(ctx, this.log, this.backoff);
    this.collector = new SignatureCollector(ctx.checkpoints, this.staked, this.log, ctx.metrics, {
      maxPerCheckpoint: BUNDLE_LIMITS.signatures,
    });
  }

  private key(name: string): string {
    return outKey(this.ctx, name);
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
      await this.follower.follow(dest);
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
    return (await this.build(this.ctx.cfg.homeChain, destination, ids, true))?.bundle;
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
      // Accepted already (pushed, or an earlier pull); a refused one was not in the bundle.
      if (states[i] !== "waiting") return;
      multi.zrem(this.key(`pending:${dest}`), id);
      multi.hset(this.key(`msg:${id}`), { state: "accepted", acceptedAt: Date.now() });
      multi.hdel(this.key(`msg:${id}`), "refused");
      multi.zadd(this.key(`tracking:${dest}`), "NX", Date.now(), id);
    });
    await multi.exec();
  }

  /**
   * The bundle of the messages `ids` (nonce order) for `destination` that our newest signed
   * checkpoint covers and whose signatures carry what the destination's Inbox will demand (docs/
   * protocol.md 4.2): a message worth more than its signers vouch for waits here, in the pending
   * set, until a checkpoint with enough signatures exists (its `waitReason` says so), and one no
   * set of our staked attesters could carry is marked `refused`. The rest go now.
   */
  private async build(
    home: Chain,
    destination: bigint,
    ids: readonly string[],
    /**
     * Stop at the first message that must wait (a pull: the destination's cursor moves past
     * everything it took, so nothing may be skipped).
     */
    prefixOnly = false,
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
    // Of the newest confirmed snapshots covering the first message, the one most of our staked
    // attesters signed (the newest on a tie): attesters sign each snapshot at their own pace, so
    // the newest is often signed by one of them only while an older one carries them all.
    const snapshots = (await view.snapshots()).filter((s) => s.count <= tree.count).reverse();
    const staked = (await this.staked.signers()).size;
    let chosen: { checkpoint: Checkpoint; signatures: SignerSignature[] } | undefined;
    for (const snap of snapshots.slice(0, 8)) {
      if (snap.count <= stored[0]!.nonce) break;
      const checkpoint = {
        origin: home.code,
        root: snap.root,
        count: snap.count,
        last: tree.leaf(snap.count - 1),
      };
      const signatures = await this.collector.collect(home, checkpoint);
      if (signatures.length > (chosen?.signatures.length ?? 0)) chosen = { checkpoint, signatures };
      if ((chosen?.signatures.length ?? 0) >= Math.min(staked, BUNDLE_LIMITS.signatures)) break;
    }
    if (!chosen) return;
    const route = await peerRoute(this.ctx, destination);
    if (!route) {
      this.log.warn(
        { destination: formatChainCode(destination) },
        "no active route to this chain in our RouteRegistry: its messages wait",
      );
      return;
    }
    // A bundle's signatures are all the destination gets: a message its signers cannot carry
    // would sit in the destination's queue, undeliverable, so it waits here for more signatures.
    const signatures = chosen.signatures.slice(0, BUNDLE_LIMITS.signatures);
    const signers = signatures.map((s) => s.signer);
    const stakes = await this.stakes.of(destination);
    const rehand = await Promise.all(
      handed.map((m) => this.ctx.redis.hget(this.key(`msg:${m.id.toLowerCase()}`), "rehandAbove")),
    );
    const covered: StoredMessage[] = [];
    for (const [i, m] of handed.entries()) {
      if (m.nonce >= chosen.checkpoint.count) break;
      if (prefixOnly && covered.length < i) break;
      const needs = originNeeds(home, m, route);
      const above = rehand[i] ? Number(rehand[i]) : undefined;
      const v = verdict(needs, signers, stakes, destination, above);
      if (v.hand) covered.push(m);
      else await this.waits(m, destination, v.state, v.reason);
    }
    if (!covered.length) return;
    const bundle = buildBundle({
      tree,
      checkpoint: chosen.checkpoint,
      signatures,
      messages: covered.map((m) => m.message),
    });
    return { bundle, covered, count: chosen.checkpoint.count };
  }

  /**
   * Records why `m` is not handed over (state `waiting` or `refused`, with the reason), logged and
   * counted once per change of reason, not per round.
   */
  private async waits(
    m: StoredMessage,
    destination: bigint,
    state: "waiting" | "refused",
    reason: string,
  ): Promise<void> {
    const key = this.key(`msg:${m.id.toLowerCase()}`);
    const [was, wasState] = await this.ctx.redis.hmget(key, "waitReason", "state");
    if (was === reason && wasState === state) return;
    await this.ctx.redis.hset(key, { state, waitReason: reason });
    this.ctx.metrics.handoverWaits.inc({ destination: formatChainCode(destination), state });
    const log = { msgId: m.id, destination: formatChainCode(destination), reason };
    if (state === "refused")
      this.log.error(log, "message cannot be handed over: no signers can carry it");
    else this.log.info(log, "message waits for signatures that cover it");
  }

  /** Hands the oldest waiting messages over in one bundle; true when one was accepted. */
  private async handOver(home: Chain, dest: ChainEntry): Promise<boolean> {
    // relayer.push false: destinations pull (GET /v1/bundles) and nothing is followed here.
    if (!this.ctx.cfg.relayer.push) return false;
    const ids = await this.ctx.redis.zrange(
      this.key(`pending:${dest.codeHex}`),
      0,
      BUNDLE_LIMITS.messages - 1,
    );
    const built = await this.build(home, dest.code, ids);
    if (!built) return false;
    const { bundle, covered } = built;
    const chosen = { count: built.count };
    const json = bundleToJson(bundle);
    let refused: string | undefined;
    for (const node of peerEntryNodes(this.ctx, dest.code)) {
      if (!this.backoff.ready(node)) continue;
      try {
        await postBundle(node, json, {
          timeoutMs: 10_000,
          maxBytes: ACCEPTANCE_MAX_BYTES,
          signal: this.ctx.shutdown.signal,
        }).catch((e: unknown) => {
          // Every message of it delivered already: as good as accepted, followed to its delivery.
          if (e instanceof NodeHttpError && e.refusal === "already-delivered") return;
          throw e;
        });
        this.backoff.succeeded(node);
        const multi = this.ctx.redis.multi();
        for (const m of covered) {
          multi.zrem(this.key(`pending:${dest.codeHex}`), m.id.toLowerCase());
          multi.hset(this.key(`msg:${m.id.toLowerCase()}`), {
            state: "accepted",
            count: chosen.count,
            node,
            acceptedAt: Date.now(),
            signers: bundle.signatures.length,
          });
          multi.hdel(this.key(`msg:${m.id.toLowerCase()}`), "refused", "waitReason", "rehandAbove");
          multi.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), m.id.toLowerCase());
        }
        await multi.exec();
        this.log.info(
          { destination: dest.codeHex, node, messages: covered.length, count: chosen.count },
          "bundle handed over",
        );
        return true;
      } catch (e) {
        this.backoff.failed(node);
        if (e instanceof NodeHttpError) {
          // Refused: the reason is the chain's state (not yet mirrored, capacity) or our fault;
          // it is kept for status and retried after this node's backoff.
          refused = e.refusal ?? `http ${e.status}`;
          this.log.warn(
            { destination: dest.codeHex, node, status: e.status, reason: e.refusal },
            "bundle refused",
          );
        } else
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
}
