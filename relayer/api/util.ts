/** Small helpers shared by the API's modules. */
import { formatUnits } from "viem";

import { errorText } from "../log.js";

/** Thrown by `withTimeout` when the work did not finish in time. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * `work`, or a TimeoutError after `ms`: an API answer never waits on a dependency longer than this
 * (the work itself goes on in the background and its result is dropped).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** `{ok: true, value}` or `{ok: false, error}` with the first line of the error. */
export async function attempt<T>(
  work: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await work };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

/** A token amount as decimal text without trailing zeros ("12.5", "0"). */
export function tokens(value: bigint, decimals: number): string {
  const text = formatUnits(value, decimals);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
