/**
 * Pieces the security property tests share (invariants.property.test.ts,
 * theorem.property.test.ts): picking from lists by a seed, token amounts, attester subsets, and
 * the counters each property prints after it ran (what it exercised, where the time went).
 */
import type { Wallet } from "ethers";

import { ONE, type World } from "./world.js";

/** The items whose bit (index mod 31) is set in `seed`; never empty when `items` is not. */
export function subset<T>(items: readonly T[], seed: number): T[] {
  if (items.length === 0) return [];
  const out = items.filter((_, i) => ((seed >>> (i % 31)) & 1) === 1);
  return out.length > 0 ? out : [items[seed % items.length]];
}

/** One item picked by `seed`, or undefined from an empty list. */
export function one<T>(items: readonly T[], seed: number): T | undefined {
  return items.length === 0 ? undefined : items[seed % items.length];
}

/** `tokens` whole tokens in 18 decimals. */
export function wad(tokens: bigint | number): bigint {
  return BigInt(tokens) * ONE;
}

/** The attesters of `chain` whose bit is set in `mask`. */
export function signersOf(world: World, chain: number, mask: number): Wallet[] {
  return world.chains[chain].attesters.filter((_, i) => ((mask >> i) & 1) === 1);
}

/** What a property exercised (how many deliveries, forgeries, …), printed after it ran. */
export class Counters {
  private readonly counts = new Map<string, number>();

  count(what: string, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  clear(): void {
    this.counts.clear();
  }

  /** Prints the counts and the world's time profile, then clears both. */
  report(title: string, world: World, runs: number, started: number): void {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const counts = [...this.counts.entries()].map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(
      `      ${title}: ${runs} runs in ${seconds}s | ${counts}\n      time: ${world.takeProfile()}`,
    );
    this.counts.clear();
  }
}
