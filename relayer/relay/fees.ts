import { parseUnits, type Hex } from "viem";

import { peerRoute } from "../handover/peers.js";
import { ChainStore, type StoredMessage } from "../indexer/store.js";
import type { NodeContext } from "../node.js";
import { addressToBytes32, decodeMessage } from "../protocol/index.js";

/**
 * The relayer's fee policy (docs/protocol.md 3.9, relayer/README.md "Fees"): which of the messages
 * a checkpoint covers pay for their delivery. A message's fee is in its leaf and cannot change; a
 * top-up (`Outbox.topUp`) is a message of its own to the destination's Outbox whose body is the
 * topped-up id, so a message and its top-ups are judged as one group and delivered in one batch:
 * the deliverer of the batch is paid the group's fees together.
 */

/** `relayer.fees` of the config. */
export interface FeePolicyConfig {
  /** Margin over the delivery cost that the fees must reach, in percent (0: fee ≥ cost). */
  minMarginPct: number;
  /** Deliver messages that carry no fee at all (and no top-up) without judging them. */
  deliverUnpaid: boolean;
  /** Settlement tokens one native token of each destination (by code hex) is worth. */
  nativePrice: Record<string, string>;
  /** Gas a message costs before the relayer measured one from its deliveries. */
  gasPerMessage: number;
}

/** The message id a top-up names, when `message` is one for `destinationOutbox` (bytes32). */
export function topUpTarget(message: Hex, destinationOutbox: Hex): Hex | undefined {
  const m = decodeMessage(message);
  if (m.fee === 0n || m.amount !== 0n) return undefined;
  if (m.recipient.toLowerCase() !== destinationOutbox.toLowerCase()) return undefined;
  if (m.body.length !== 66) return undefined;
  return m.body.toLowerCase() as Hex;
}

/**
 * Delivery cost of one message in settlement units (18 decimals): `gas × gasPrice × nativePrice`
 * (the native token has 18 decimals). Zero without a native price for the destination: the policy
 * then only tells fee-less messages apart.
 */
export function messageCost(
  gas: bigint,
  gasPriceWei: bigint,
  nativePrice: string | undefined,
): bigint {
  if (nativePrice === undefined) return 0n;
  return (gas * gasPriceWei * parseUnits(nativePrice, 18)) / 10n ** 18n;
}

/** What the fees must reach for `messages` messages costing `cost` each, with the margin. */
export function feeNeeded(messages: number, cost: bigint, minMarginPct: number): bigint {
  const marginBps = BigInt(Math.round(minMarginPct * 100));
  return (BigInt(messages) * cost * (10_000n + marginBps) + 9_999n) / 10_000n;
}

export interface FeeGroup<T> {
  /** The message the group is about (the topped-up one, or a lone message). */
  id: Hex;
  items: T[];
  /** Fees the group's messages carry together. */
  fee: bigint;
  /** Of which top-ups. */
  topUps: bigint;
  needed: bigint;
}

export interface FeeJudgement<T> {
  /** Groups that pay (or are exempt): delivered, each group in one batch. */
  pay: FeeGroup<T>[];
  /** Groups whose fees are below the cost with the margin: they wait for a top-up. */
  underpaid: FeeGroup<T>[];
  /** Top-ups whose message is not among the items (the caller looks for it). */
  orphans: { item: T; target: Hex }[];
}

export interface FeeItemView {
  id: Hex;
  message: Hex;
  /** A protocol message (stake report, bank message): exempt when it carries no fee. */
  system: boolean;
}

/**
 * Groups `items` (messages and their top-ups) and judges each group: the group's fees must reach
 * `cost` per message with the margin; a fee-less group is delivered when `deliverUnpaid` (and a
 * fee-less protocol message always). Top-ups whose message is not among the items are returned as
 * orphans, unjudged.
 */
export function judgeFees<T>(
  items: readonly T[],
  view: (item: T) => FeeItemView,
  options: { destinationOutbox: Hex; cost: bigint; config: FeePolicyConfig },
): FeeJudgement<T> {
  const { destinationOutbox, cost, config } = options;
  const groups = new Map<
    string,
    { id: Hex; items: T[]; fee: bigint; topUps: bigint; system: boolean }
  >();
  const ids = new Set(items.map((i) => view(i).id.toLowerCase()));
  const orphans: FeeJudgement<T>["orphans"] = [];
  const pending: { item: T; target: Hex; fee: bigint }[] = [];
  for (const item of items) {
    const v = view(item);
    const fee = decodeMessage(v.message).fee;
    const target = topUpTarget(v.message, destinationOutbox);
    if (target !== undefined && target !== v.id.toLowerCase()) {
      if (ids.has(target)) pending.push({ item, target, fee });
      else orphans.push({ item, target });
      continue;
    }
    const key = v.id.toLowerCase();
    groups.set(key, { id: v.id, items: [item], fee, topUps: 0n, system: v.system });
  }
  for (const p of pending) {
    const g = groups.get(p.target);
    if (!g) {
      // A top-up of a top-up: judged as its own message.
      orphans.push({ item: p.item, target: p.target });
      continue;
    }
    g.items.push(p.item);
    g.fee += p.fee;
    g.topUps += p.fee;
  }
  const pay: FeeGroup<T>[] = [];
  const underpaid: FeeGroup<T>[] = [];
  for (const g of groups.values()) {
    const needed = feeNeeded(g.items.length, cost, config.minMarginPct);
    const group = { id: g.id, items: g.items, fee: g.fee, topUps: g.topUps, needed };
    const exempt = g.fee === 0n && (g.system || config.deliverUnpaid);
    if (exempt || (g.fee > 0n && g.fee >= needed)) pay.push(group);
    else underpaid.push(group);
  }
  return { pay, underpaid, orphans };
}

/** How long the origin remembers a message's top-ups (`withTopUpTargets`): long past any delivery. */
const TOP_UPS_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The bundle hand-over's half of the pairing (docs/protocol.md 4.2, "Fees"): `messages` (of our home
 * tree, handed to their destinations) with, added, each top-up's message and every earlier top-up
 * of that message, when they are earlier messages of our tree to the same destination not known
 * delivered. So a bundle carrying a top-up proves the whole group, and the destination's relayer
 * delivers the message with all its top-ups in one batch (paid together): a second top-up does not
 * leave the first behind in an older bundle, underpaid on its own. Every top-up handed is
 * remembered under its message (`<prefix>:out:topups:<id>`) for the later ones. At most `limit`
 * messages; nonce order.
 */
export async function withTopUpTargets(
  ctx: NodeContext,
  messages: readonly StoredMessage[],
  limit: number,
): Promise<StoredMessage[]> {
  const prefix = ctx.cfg.redis.prefix;
  const out = [...messages];
  const have = new Set(messages.map((m) => m.id.toLowerCase()));
  for (const m of messages) {
    // The destination's Outbox as our home RouteRegistry records it (a config's is never used).
    const outbox = (await peerRoute(ctx, m.destination))?.outbox;
    if (!outbox) continue;
    const target = topUpTarget(m.message, addressToBytes32(outbox));
    if (target === undefined) continue;
    const topUpsKey = `${prefix}:out:topups:${target}`;
    const results = await ctx.redis
      .multi()
      .sadd(topUpsKey, m.id.toLowerCase())
      .expire(topUpsKey, TOP_UPS_TTL_SECONDS)
      .smembers(topUpsKey)
      .exec();
    const [error, earlier] = results?.[2] ?? [new Error(`${topUpsKey}: transaction aborted`)];
    if (error) throw error;
    for (const id of [target, ...(earlier as string[])]) {
      if (out.length >= limit) break;
      if (have.has(id)) continue;
      const stored = await ChainStore.message(ctx.redis, prefix, id as Hex);
      // Only a message of our own tree to the same destination, dispatched before the top-up.
      if (!stored || stored.origin !== m.origin || stored.destination !== m.destination) continue;
      if (stored.nonce >= m.nonce) continue;
      const state = await ctx.redis.hget(`${prefix}:out:msg:${id}`, "state");
      if (state === "delivered" || state === "failed") continue;
      have.add(id);
      out.push(stored);
    }
  }
  return out.sort((a, b) => a.nonce - b.nonce);
}
