/**
 * The gas of a `deliver` batch (pure: no chain). The relayer proves a modeled limit with one
 * `eth_call` rather than searching for it with `eth_estimateGas` (many executions per batch).
 */

/** The part of a deliver's gas that does not grow with its messages (intrinsic, route, a signer). */
export const BATCH_FIXED_GAS = 100_000;

/** Fewest messages in a delivery whose gas says something of the gas per message. */
export const MIN_MESSAGES_FOR_MODEL = 8;

/**
 * The gas a batch of `messages` is expected to use, from the gas per message of our last delivery
 * from the same origin, and the limit to send it with: a quarter more, plus one handler's whole gas
 * limit (the Inbox calls a handler only with all of it available, 64/63 of it left) and a margin.
 */
export function modeledGas(
  perMessage: number,
  messages: number,
  handlerGas: bigint,
): { expected: bigint; limit: bigint } {
  const expected = BigInt(BATCH_FIXED_GAS + Math.ceil(perMessage * messages));
  return { expected, limit: (expected * 5n) / 4n + (handlerGas * 65n) / 64n + 50_000n };
}

/** Messages in a batch while no delivery from the origin has shown its gas per message yet. */
export const FIRST_BATCH_MESSAGES = 100;

/** The most messages in one batch, whatever the gas allows (bounds calldata and proof work). */
export const MAX_BATCH_MESSAGES = 5_000;

/**
 * How many messages a batch may carry so that its gas limit (modeledGas) stays within `budget`
 * (the smaller of `relayer.maxBatchGas` and the destination's block gas limit): sized by the gas
 * per message our last delivery from the origin showed, FIRST_BATCH_MESSAGES before any did, and
 * at most `cap` (`relayer.maxBatchMessages` where set) and MAX_BATCH_MESSAGES.
 */
export function batchMessages(
  perMessage: number | undefined,
  budget: bigint,
  handlerGas: bigint,
  cap?: number,
): number {
  const most = Math.min(cap ?? MAX_BATCH_MESSAGES, MAX_BATCH_MESSAGES);
  if (perMessage === undefined || perMessage <= 0) return Math.min(FIRST_BATCH_MESSAGES, most);
  // modeledGas's limit is expected * 5/4 + handlerGas * 65/64 + 50,000: solved for expected.
  const expected = ((budget - (handlerGas * 65n) / 64n - 50_000n) * 4n) / 5n;
  const n = Math.floor((Number(expected) - BATCH_FIXED_GAS) / perMessage);
  return Math.max(1, Math.min(n, most));
}

/** The limit from `eth_estimateGas`'s figure: a fifth more. */
export function estimatedLimit(estimated: bigint): bigint {
  return (estimated * 6n) / 5n;
}

/**
 * The most a batch of `messages` can need: every handler with its whole gas limit. Used when the
 * estimate fails outright (a handler that burns all its gas makes the node's search give up).
 */
export function ceilingGas(messages: number, handlerGas: bigint): bigint {
  return BigInt(BATCH_FIXED_GAS) * 2n + BigInt(messages) * ((handlerGas * 65n) / 64n + 60_000n);
}

/**
 * The gas per message a mined delivery shows (beyond the fixed part), or undefined for a batch too
 * small to say (its fixed part dominates).
 */
export function gasPerMessage(gasUsed: bigint, messages: number): number | undefined {
  if (messages < MIN_MESSAGES_FOR_MODEL) return undefined;
  return Math.max(0, Number(gasUsed) - BATCH_FIXED_GAS) / messages;
}

/**
 * Whether a call at the modeled limit that failed with `revert` (undefined: no revert decoded)
 * may have failed for the limit, so the gas is to be estimated instead: no revert, a handler
 * starved of gas, or a bare or unknown revert. A revert of the suite's own is the batch's problem.
 */
export function limitMayBeShort(revert: { name: string } | undefined): boolean {
  return (
    !revert ||
    revert.name === "InsufficientGasForHandler" ||
    revert.name === "reverted" ||
    revert.name.startsWith("unknown(")
  );
}
