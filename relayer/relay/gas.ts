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
