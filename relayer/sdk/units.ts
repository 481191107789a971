/**
 * The decimals rule, in one place. Message amounts (`send`, credit, coverage) always have 18
 * decimals; token amounts held or moved on a chain (balances, reserves, stake) are in the token's
 * own decimals. People write amounts in tokens ("1.5"), never in either integer form.
 */
import { formatUnits, parseUnits } from "viem";

import { InvalidArgumentError } from "./errors.js";

/** Decimals of every amount carried in a message. */
export const MESSAGE_DECIMALS = 18;

/**
 * `text` (a decimal number of tokens, e.g. "1.5") as an integer with `decimals` decimals. Throws
 * InvalidArgumentError naming `field` for anything else, or for more decimals than `decimals`.
 */
export function parseTokens(text: string, decimals: number, field = "amount"): bigint {
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new InvalidArgumentError(
      field,
      `must be a decimal number of tokens (e.g. 1.5), got ${JSON.stringify(text)}`,
    );
  if ((text.split(".")[1]?.length ?? 0) > decimals)
    throw new InvalidArgumentError(field, `${text} has more than ${decimals} decimals`);
  return parseUnits(text, decimals);
}

/** An integer amount with `decimals` decimals, written in tokens ("1.5"). */
export function formatTokens(value: bigint, decimals: number): string {
  return formatUnits(value, decimals);
}

/** A message amount (18 decimals) in the token's units; throws when it is not a whole number of them. */
export function toTokenUnits(amount: bigint, decimals: number, field = "amount"): bigint {
  if (decimals > MESSAGE_DECIMALS)
    throw new InvalidArgumentError(field, `a token with ${decimals} decimals cannot settle`);
  const scale = 10n ** BigInt(MESSAGE_DECIMALS - decimals);
  if (amount % scale !== 0n)
    throw new InvalidArgumentError(
      field,
      `${formatTokens(amount, MESSAGE_DECIMALS)} is not a whole number of units of a token with ${decimals} decimals`,
    );
  return amount / scale;
}

/** A token amount (the token's units) as a message amount (18 decimals). */
export function toMessageUnits(value: bigint, decimals: number): bigint {
  return value * 10n ** BigInt(MESSAGE_DECIMALS - decimals);
}
