/**
 * What the relayer does when a batch's simulation (or gas estimate) fails (pure: no chain).
 */

/** Reverts that more (or other) signers can cure: the batch is retried with every signature. */
export const SIGNER_SHORTFALL: ReadonlySet<string> = new Set([
  "InsufficientCoverage",
  "TooFewSigners",
  "StakeReportNeedsQuorum",
]);

/**
 * Reverts that only time cures for the one message that met them alone: its recipient's policy
 * coverage exhausted for now (protocol.md 3.5), like a capacity wait.
 */
export const WAIT_REVERTS: ReadonlySet<string> = new Set(["PolicyCoverageExhausted"]);

/** What to do with a batch whose simulation failed. */
export type RevertAction =
  /** Delivered since our index looked: ask the Inbox about every message, send the rest. */
  | "recheck-delivered"
  /** Retry the same batch with every signature we have. */
  | "every-signer"
  /** Split the batch in two to isolate the message behind the failure. */
  | "split"
  /** The lone message (every message, for a quorum) waits for signers (capacity, more signatures). */
  | "wait-signers"
  /** The lone message waits for the policy-coverage window to roll. */
  | "wait-window"
  /** The lone message fails this attempt (spends one of its attempts). */
  | "fail";

/**
 * The action for a batch of `messages` whose simulation reverted `name` (`EstimateFailed` when the
 * estimate failed outright), sent with `everySigner` or not, when `moreSigners` usable signers were
 * left out. Only a message that fails alone spends attempts.
 */
export function revertAction(params: {
  name: string;
  messages: number;
  everySigner: boolean;
  moreSigners: boolean;
}): RevertAction {
  const { name, messages, everySigner, moreSigners } = params;
  if (name === "AlreadyDelivered") return "recheck-delivered";
  if (SIGNER_SHORTFALL.has(name) && !everySigner && moreSigners) return "every-signer";
  // A quorum is the signers', whatever the messages: no part of the batch would pass either.
  if (name === "StakeReportNeedsQuorum") return "wait-signers";
  if (messages > 1) return "split";
  if (SIGNER_SHORTFALL.has(name)) return "wait-signers";
  if (WAIT_REVERTS.has(name)) return "wait-window";
  return "fail";
}

/** First and longest pause of a message that waits for signers or a window (ms). */
export const WAIT_BACKOFF = { firstMs: 500, maxMs: 15_000 } as const;

/**
 * How long a message waits before its `tries`-th retry (0-based) after a wait-signers or
 * wait-window revert: doubling from 500 ms to at most 15 s, so that a message only signatures or
 * time can cure is simulated a few times a minute, not on every poll.
 */
export function waitBackoffMs(tries: number): number {
  const ms = WAIT_BACKOFF.firstMs * 2 ** Math.min(tries, 30);
  return Math.min(WAIT_BACKOFF.maxMs, ms);
}

/** What to do with a batch whose deliver transaction, simulated fine, reverted once mined. */
export type MinedRevertAction =
  /** Run the batch again through simulation: its revert is re-planned like any other. */
  | "resimulate"
  /** The same items reverted on chain again: split them to isolate the message behind it. */
  | "split"
  /** The lone message reverted on chain again: it spends this attempt. */
  | "fail";

/**
 * The action for a batch of `messages` whose deliver reverted on chain after `minedReverts` earlier
 * mined reverts of the same items. A mined revert is most often the chain moving between
 * simulation and mining (another relayer delivered some of the messages first, the signer set or
 * their free capacity changed): the batch is simulated again, and the simulation's revert re-plans
 * it (`revertAction`), no attempt spent. Only a revert the simulation keeps missing is the
 * messages' own: a batch that reverts on chain twice is split, a lone message fails.
 */
export function minedRevertAction(params: {
  messages: number;
  minedReverts: number;
}): MinedRevertAction {
  if (params.minedReverts === 0) return "resimulate";
  return params.messages > 1 ? "split" : "fail";
}
