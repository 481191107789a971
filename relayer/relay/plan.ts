/**
 * Batch planning by the recipients' policies (pure; no chain). The Inbox applies to a whole batch
 * the strictest minimum of signers among its recipients, charges each message
 * `max(amount, required coverage)` against the signers' free stake, and charges what recipients
 * demand beyond the route's default against a per-window policy allowance
 * (`PolicyCoverageExhausted`). Anyone can set its own policy (`setRecipientPolicy(65535, 0)`), so
 * a message is planned by its recipient's policy before it joins a batch: a message no signer set
 * can carry waits alone, a message whose policy coverage does not fit the window's allowance waits
 * for the next window, and neither makes other messages' batches revert. System messages (stake
 * reports, which need a majority of the mirrored stake and go out with every signature, and the
 * peer bank's messages) travel in batches of their own.
 */

/** A recipient's own policy; zeroes mean the route's default. */
export interface RecipientPolicy {
  minSigners: number;
  requiredCoverage: bigint;
}

export interface RoutePolicy {
  minSigners: number;
  defaultCoverage: bigint;
}

export type MessageKind = "stakeReport" | "bank" | "call";

export interface PlanMessage {
  kind: MessageKind;
  /** The recipient's policy (zeroes for a non-EVM recipient: the route's default). */
  policy: RecipientPolicy;
  amount: bigint;
}

/** What the Inbox will demand for one message. */
export interface Needs {
  minSigners: number;
  valueAtRisk: bigint;
  /** Coverage beyond what the route's default would demand (charged to the window's allowance). */
  policyCoverage: bigint;
}

export function needsOf(m: PlanMessage, route: RoutePolicy): Needs {
  const minSigners = m.policy.minSigners !== 0 ? m.policy.minSigners : route.minSigners;
  const required =
    m.policy.requiredCoverage !== 0n ? m.policy.requiredCoverage : route.defaultCoverage;
  const value = m.amount > required ? m.amount : required;
  const base = m.amount > route.defaultCoverage ? m.amount : route.defaultCoverage;
  // A stake report carries no value at risk (a majority signs it instead, protocol.md 3.4).
  return {
    minSigners,
    valueAtRisk: m.kind === "stakeReport" ? 0n : value,
    policyCoverage: value > base ? value - base : 0n,
  };
}

export interface PlannedBatch<T> {
  kind: MessageKind;
  items: T[];
  /** The strictest minimum of signers among the batch's recipients. */
  minSigners: number;
  /** Send with every signature (a stake report needs a majority of the mirrored stake). */
  everySigner: boolean;
}

export interface Plan<T> {
  batches: PlannedBatch<T>[];
  /** Messages that cannot go now, with the reason: they wait without spending attempts. */
  waiting: { item: T; reason: string }[];
}

export interface PlanInput<T> {
  /** In nonce order. */
  items: readonly T[];
  message: (item: T) => PlanMessage;
  route: RoutePolicy;
  /** Signers whose signatures we hold for the checkpoint (all mirrored on the destination). */
  signers: number;
  /** Policy coverage the Inbox still accepts this window (undefined: not known, assume enough). */
  policyCoverageAvailable?: bigint;
  maxMessages: number;
}

/**
 * Splits `items` (one origin, one checkpoint, nonce order) into batches: stake reports alone, the
 * peer bank's messages alone, other calls grouped by the minimum of signers their recipients
 * demand; each batch at most `maxMessages`, nonce order kept inside it.
 */
export function planBatches<T>(input: PlanInput<T>): Plan<T> {
  const waiting: Plan<T>["waiting"] = [];
  const groups = new Map<string, PlannedBatch<T>>();
  const order: string[] = [];
  let policyLeft = input.policyCoverageAvailable;
  for (const item of input.items) {
    const m = input.message(item);
    const needs = needsOf(m, input.route);
    if (needs.minSigners > input.signers) {
      waiting.push({
        item,
        reason: `recipient policy needs ${needs.minSigners} signers, ${input.signers} signed`,
      });
      continue;
    }
    if (needs.policyCoverage > 0n && policyLeft !== undefined) {
      if (needs.policyCoverage > policyLeft) {
        waiting.push({
          item,
          reason: `recipient policy coverage ${needs.policyCoverage} above this window's allowance ${policyLeft}`,
        });
        continue;
      }
      policyLeft -= needs.policyCoverage;
    }
    const key = m.kind === "call" ? `call:${needs.minSigners}` : m.kind;
    let g = groups.get(key);
    if (!g) {
      g = { kind: m.kind, items: [], minSigners: 0, everySigner: m.kind === "stakeReport" };
      groups.set(key, g);
      order.push(key);
    }
    g.items.push(item);
    if (needs.minSigners > g.minSigners) g.minSigners = needs.minSigners;
  }
  // System messages first: a stake report can change who may sign the rest.
  const rank = (k: string) => (k === "stakeReport" ? 0 : k === "bank" ? 1 : 2);
  order.sort((a, b) => rank(a) - rank(b));
  const batches: PlannedBatch<T>[] = [];
  const max = Math.max(1, input.maxMessages);
  for (const key of order) {
    const g = groups.get(key)!;
    for (let i = 0; i < g.items.length; i += max)
      batches.push({ ...g, items: g.items.slice(i, i + max) });
  }
  return { batches, waiting };
}
