/**
 * Where an attester may sign up to on its home chain: the chain's `finalized` (or `safe`) block
 * where the client offers the tag, otherwise `reorgBound` blocks below the tip (a bound config
 * validation keeps at or above MIN_REORG_BOUND). A snapshot at or below that block cannot be
 * replaced by a reorg the operator's config admits, so a signature on it cannot turn false
 * (docs/protocol.md 3.8, assumption A3).
 */
import type { Hex, PublicClient } from "viem";

import type { Chain } from "../config/load.js";

export interface SignableBlock {
  number: number;
  hash: Hex;
  /** What chose it: the client's tag, or the config's reorg bound below the tip. */
  by: "finalized" | "safe" | "reorgBound";
}

/** The highest block the attester may sign snapshots at or below; undefined before genesis+bound. */
export async function signableBlock(
  client: PublicClient,
  chain: Pick<Chain, "finalityTag" | "reorgBound">,
): Promise<SignableBlock | undefined> {
  try {
    const block = await client.getBlock({ blockTag: chain.finalityTag });
    if (block.number !== null && block.hash !== null)
      return { number: Number(block.number), hash: block.hash, by: chain.finalityTag };
  } catch {
    // The client has no such tag (or refused it): fall back to the reorg bound below.
  }
  const tip = await client.getBlockNumber({ cacheTime: 0 });
  const number = tip - BigInt(chain.reorgBound);
  if (number < 0n) return undefined;
  const block = await client.getBlock({ blockNumber: number });
  return { number: Number(number), hash: block.hash, by: "reorgBound" };
}
