/** Sending many benchmark transactions quickly, and what a sample keeps of a receipt. */
import { ethers, type Signer, type TransactionReceipt, type TransactionResponse } from "ethers";

import type { Sample } from "./stats.js";

/** Gas limit of the transactions sent without estimation (the limit does not change gasUsed). */
export const TX_GAS_LIMIT = 1_000_000n;

/**
 * Sends `count` transactions from `signer` back to back (explicit nonces, fixed gas limit: no
 * estimation round trip; with automining each is mined at once) and returns their receipts.
 */
export async function sendMany(
  signer: Signer,
  count: number,
  send: (i: number, overrides: { nonce: number; gasLimit: bigint }) => Promise<TransactionResponse>,
): Promise<TransactionReceipt[]> {
  let nonce = await signer.getNonce("pending");
  const sent: TransactionResponse[] = [];
  for (let i = 0; i < count; i++) {
    sent.push(await send(i, { nonce: nonce++, gasLimit: TX_GAS_LIMIT }));
  }
  const receipts: TransactionReceipt[] = [];
  for (const tx of sent) {
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
    receipts.push(receipt);
  }
  return receipts;
}

/** A deterministic, random-looking body of `size` bytes (calldata like a real payload). */
export function body(size: number, seed: number): string {
  let out = "0x";
  for (let i = 0; out.length < 2 + size * 2; i++) {
    out += ethers.solidityPackedKeccak256(["uint256", "uint256"], [seed, i]).slice(2);
  }
  return out.slice(0, 2 + size * 2);
}

export function toSample(receipt: TransactionReceipt): Sample {
  return { gas: Number(receipt.gasUsed), hash: receipt.hash };
}
