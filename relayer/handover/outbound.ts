import { getAddress, hexToBigInt, slice, type Address, type Hex } from "viem";

import { IStakingHubAbi } from "../chain/abis.js";
import type { Chain, ChainEntry } from "../config/load.js";
import type { StoredMessage } from "../indexer/store.js";
import { ChainStore } from "../indexer/store.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { STATUS_ANSWER_MAX_BYTES, STATUS_BATCH_MAX } from "../api/deliveryStatus.js";
import { AnswerStatus, fetchJsonLimited, NodeBackoff } from "../peers/entryNodes.js";
import {
  addressToBytes32,
  decodeMessage,
  formatChainCode,
  type SignerSignature,
} from "../protocol/index.js";
import { needsOf, type MessageKind } from "../relay/plan.js";
import { withTopUpTargets } from "../relay/fees.js";
import type { UnderpaidRecord } from "../relay/underpaid.js";
import { SignatureCollector } from "../relay/signatures.js";
import { StakedSigners } from "../relay/signers.js";
import { BUNDLE_LIMITS, buildBundle, bundleToJson, type Bundle } from "./bundle.js";
import type { Acceptance } from "./inbound.js";
import { peerEntryNodes, peerRoute, type PeerRecord } from "./peers.js";

/** What the origin's node knows of one message it hands over (`P:out:msg:<id>`). */
export interface HandoverState {
  /**
   * `refused`: no set of our staked attesters could ever cover it (its value at risk is above
   * their whole vouching stake for the destination, or it needs more signers than are staked); it
   * is kept and handed over as soon as that changes (`waitReason` says what it needs).
   */
  state: "waiting" | "accepted" | "delivered" | "failed" | "refused";
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
  /** Why it is not handed over yet: the signatures it needs that no signed checkpoint has yet. */
  waitReason?: string;
  /** Signatures the bundle it was last handed in carried. */
  signers?: number;
  /**
   * The destination's relayer reported it cannot deliver it with this many signatures: it is
   * handed again only under a checkpoint with more.
   */
  rehandAbove?: number;
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
    ...(h.waitReason ? { waitReason: h.waitReason } : {}),
    ...(h.signers ? { signers: Number(h.signers) } : {}),
    ...(h.rehandAbove ? { rehandAbove: Number(h.rehandAbove) } : {}),
    ...(h.underpaid ? { underpaid: JSON.parse(h.underpaid) as UnderpaidRecord } : {}),
  };
}

/** Most messages tracked to their delivery per round and destination. */
const TRACK_PER_ROUND = 2_000;
/** Of those, most asked about one by one of a node without POST /v1/messages/status. */
const TRACK_ONE_BY_ONE = 50;
/** Most bundles handed over per round and destination (then the round follows and goes on). */
const BUNDLES_PER_ROUND = 10;
/** How long our attesters' vouching stakes for a destination are believed before reread (ms). */
const STAKES_TTL_MS = 2_000;

/** What the destination's Inbox will demand for one of our messages, as our own chain shows it. */
interface OriginNeeds {
  kind: MessageKind;
  minSigners: number;
  /** Value at risk (fee included); for a stake report 0: it needs a majority instead. */
  valueAtRisk: bigint;
  /**
   * The value at risk is an upper bound (a reserve report's, whose real figure is the credit it
   * grants on the destination): never refused for it, handed with every signature at worst.
   */
  bound: boolean;
}

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
  /** Our attesters' vouching stake per destination (checksummed; stake > 0 only), with when. */
  private readonly stakes = new Map<bigint, { at: number; stakes: Map<Address, bigint> }>();
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
   * Our attesters' vouching stake for `destination` as our own StakingHub shows it (what the
   * destination's mirror of them is made from, protocol.md 3.5-3.6), read every STAKES_TTL_MS.
   */
  private async vouching(destination: bigint): Promise<Map<Address, bigint>> {
    const hit = this.stakes.get(destination);
    if (hit && Date.now() - hit.at < STAKES_TTL_MS) return hit.stakes;
    const home = this.ctx.cfg.homeChain;
    const client = this.ctx.client(home.code);
    const attesters = [...(await this.staked.signers())];
    const values = await Promise.all(
      attesters.map((a) =>
        client.readContract({
          address: home.contracts.stakingHub,
          abi: IStakingHubAbi,
          functionName: "vouchingStake",
          args: [a, destination],
        }),
      ),
    );
    const stakes = new Map(
      attesters.flatMap((a, i) => (values[i]! > 0n ? [[getAddress(a), values[i]!] as const] : [])),
    );
    this.stakes.set(destination, { at: Date.now(), stakes });
    return stakes;
  }

  /**
   * What the destination's Inbox will demand for `m` at least (protocol.md 3.4), from the message
   * alone (planned like the destination's relayer does, relay/plan.ts): its amount, a peer bank
   * report's figure, its fee, a stake report's majority. The route's policy and a recipient's
   * own live on the destination and are not known here: a message they stop is reported back
   * and handed again with more signatures (`follow`, `rehand`).
   */
  private needs(m: StoredMessage, route: PeerRecord): OriginNeeds {
    const home = this.ctx.cfg.homeChain;
    const decoded = decodeMessage(m.message);
    const sender = decoded.sender.toLowerCase();
    const recipient = decoded.recipient.toLowerCase();
    const stakeReport =
      sender === addressToBytes32(home.contracts.stakingHub).toLowerCase() &&
      recipient === addressToBytes32(route.inbox).toLowerCase();
    const bank = sender === addressToBytes32(home.contracts.bank).toLowerCase();
    const kind: MessageKind = stakeReport ? "stakeReport" : bank ? "bank" : "call";
    let amount = decoded.amount;
    let bound = false;
    const body = decoded.body;
    // Peer bank reports: a reserve report grants at most its reserve as credit; a netting
    // message moves at most its amount.
    const report = body.slice(0, 4);
    if (
      bank &&
      recipient === addressToBytes32(route.bank).toLowerCase() &&
      ["0x02", "0x03", "0x04"].includes(report) &&
      body.length >= 68
    ) {
      const figure = hexToBigInt(slice(body, 1, 33));
      if (report === "0x02") bound = true;
      if (figure > amount) amount = figure;
    }
    // The route's policy for our messages is the destination registry's record of us (its
    // minimum of signers and default coverage), not ours of it: only what the message itself
    // says is judged here.
    const needs = needsOf(
      { kind, amount, policy: { minSigners: 0, requiredCoverage: 0n } },
      { minSigners: 1, defaultCoverage: 0n },
    );
    return {
      kind,
      minSigners: needs.minSigners,
      valueAtRisk: kind === "stakeReport" ? 0n : needs.valueAtRisk + decoded.fee,
      bound,
    };
  }

  /**
   * Whether `signers` (with their vouching stakes `stakes`) can carry a message of `needs`: enough
   * of them, a majority of the whole vouching stake for a stake report (protocol.md 3.5), else
   * stake covering its value at risk.
   */
  private static covers(
    needs: OriginNeeds,
    signers: readonly Address[],
    stakes: ReadonlyMap<Address, bigint>,
  ): boolean {
    const held = signers.filter((s) => (stakes.get(getAddress(s)) ?? 0n) > 0n);
    if (held.length < Math.max(1, needs.minSigners)) return false;
    const sum = held.reduce((t, s) => t + stakes.get(getAddress(s))!, 0n);
    if (needs.kind === "stakeReport") {
      const total = [...stakes.values()].reduce((t, v) => t + v, 0n);
      return sum * 2n > total;
    }
    return sum >= needs.valueAtRisk;
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
    let chosen: { count: number; root: Hex; signatures: SignerSignature[] } | undefined;
    for (const snap of snapshots.slice(0, 8)) {
      if (snap.count <= stored[0]!.nonce) break;
      const signatures = await this.collector.collect(home, {
        origin: home.code,
        root: snap.root,
        count: snap.count,
      });
      if (signatures.length > (chosen?.signatures.length ?? 0))
        chosen = { count: snap.count, root: snap.root, signatures };
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
    const stakes = await this.vouching(destination);
    const everyone = [...stakes.keys()];
    const rehand = await Promise.all(
      handed.map((m) => this.ctx.redis.hget(this.key(`msg:${m.id.toLowerCase()}`), "rehandAbove")),
    );
    const covered: StoredMessage[] = [];
    for (const [i, m] of handed.entries()) {
      if (m.nonce >= chosen.count) break;
      if (prefixOnly && covered.length < i) break;
      const needs = this.needs(m, route);
      const above = rehand[i] ? Number(rehand[i]) : undefined;
      const enough =
        BundleHandover.covers(needs, signers, stakes) &&
        (above === undefined || signers.length > above);
      if (enough) {
        covered.push(m);
        continue;
      }
      const possible = BundleHandover.covers(needs, everyone, stakes);
      if (possible || needs.bound || above !== undefined) {
        // Handed anyway when every staked signer signed and it is a bound or a re-hand: there is
        // nothing better to wait for, and the destination judges the real figure.
        if (signers.length >= everyone.length && (needs.bound || above !== undefined)) {
          covered.push(m);
          continue;
        }
        await this.waits(
          m,
          destination,
          "waiting",
          above !== undefined
            ? `the destination cannot deliver it with ${above} signatures: waits for a checkpoint signed by more`
            : needs.kind === "stakeReport"
              ? `a stake report needs signers holding a majority of the vouching stake for chain ${formatChainCode(destination)}: waits for more signatures`
              : `value at risk ${needs.valueAtRisk} (min ${needs.minSigners} signers) above the ${signers.length} signers' vouching stake for chain ${formatChainCode(destination)}: waits for more signatures`,
        );
      } else {
        await this.waits(
          m,
          destination,
          "refused",
          `no set of our staked attesters can carry it to chain ${formatChainCode(destination)}: value at risk ${needs.valueAtRisk}, min ${needs.minSigners} signers, against ${everyone.length} attesters vouching ${[...stakes.values()].reduce((t, v) => t + v, 0n)} in all (stake or allocate more)`,
        );
      }
    }
    if (!covered.length) return;
    const bundle = buildBundle({
      tree,
      checkpoint: { origin: home.code, root: chosen.root, count: chosen.count },
      signatures,
      messages: covered.map((m) => m.message),
    });
    return { bundle, covered, count: chosen.count };
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
              signers: bundle.signatures.length,
            });
            multi.hdel(
              this.key(`msg:${m.id.toLowerCase()}`),
              "refused",
              "waitReason",
              "rehandAbove",
            );
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
  private async follow(dest: ChainEntry): Promise<void> {
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
  private async followOneByOne(
    dest: ChainEntry,
    node: string,
    ids: readonly string[],
  ): Promise<void> {
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
        // A node that answers 404 is up (it never queued this one: delivered before it was handed
        // over); only a node that fails is backed off. Either way the message goes behind the
        // others, or one unanswerable message at the head stops every other from being followed.
        if (!(e instanceof AnswerStatus && e.status === 404)) this.backoff.failed(node);
        await this.ctx.redis.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), id);
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
        // Held for its fees there: shown here too until a top-up gets it delivered.
        const fees = d?.status === "underpaid" ? underpaidRecord(d.fees) : undefined;
        if (fees)
          await this.ctx.redis.hset(this.key(`msg:${id}`), "underpaid", JSON.stringify(fees));
        else await this.ctx.redis.hdel(this.key(`msg:${id}`), "underpaid");
        // Followed again after the others.
        multi.zadd(this.key(`tracking:${dest.codeHex}`), Date.now(), id);
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
    const tracking = this.key(`tracking:${dest.codeHex}`);
    if (held < (state.signers ?? 0)) {
      await this.ctx.redis.zadd(tracking, Date.now(), id);
      return;
    }
    const nonce = await this.ctx.redis.zscore(this.key(`open:${dest.codeHex}`), id);
    if (nonce === null) {
      await this.ctx.redis.zrem(tracking, id);
      return;
    }
    const multi = this.ctx.redis.multi();
    multi.zrem(tracking, id);
    multi.zadd(this.key(`pending:${dest.codeHex}`), nonce, id);
    multi.hset(this.key(`msg:${id}`), { state: "waiting", rehandAbove: held });
    await multi.exec();
    this.log.info(
      { msgId: id, destination: dest.codeHex, signers: held },
      "destination cannot deliver it with the signatures it holds: handed again with more",
    );
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
  /** wait-signers: the signatures the destination's relayer holds for it. */
  signers?: number;
  /** underpaid: the destination's relayer holds it for its fees. */
  fees?: UnderpaidRecord;
}

/** A peer's underpaid record, kept only when it has the expected shape (amounts as integers). */
function underpaidRecord(v: unknown): UnderpaidRecord | undefined {
  const r = v as Partial<UnderpaidRecord> | undefined;
  const int = (x: unknown) => typeof x === "string" && /^[0-9]{1,78}$/.test(x);
  if (!r || !int(r.fee) || !int(r.topUps) || !int(r.needed)) return undefined;
  return { fee: r.fee!, topUps: r.topUps!, needed: r.needed!, at: String(r.at ?? "").slice(0, 40) };
}
