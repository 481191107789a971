/**
 * Confirms a batch's `Delivered` logs against the Inbox's state before the relayer settles the
 * messages as delivered: a lying RPC can fabricate a receipt with Delivered logs for a transaction
 * it never forwarded (issue 15 item 8). Each message read as delivered from the receipt is checked
 * with `isMessageDelivered` at the receipt's block — from the same client (a cheap consistency
 * check: a proxy that fabricates receipts but forwards eth_call is caught) and, where
 * `chains.<code>.witnessRpc` is configured, from the witness too (an RPC of another provider).
 */
import type { Address, Hex, PublicClient, TransactionReceipt } from "viem";

import { IInboxAbi } from "../chain/abis.js";

export type DeliveryDisagreement = { url: string; message: Hex };

/** Reads in flight at once per batch. */
const CONCURRENT = 64;

/**
 * The messages that some reader does not hold delivered at `blockNumber`, each with the URL of the
 * reader that disagreed. A reader that errors counts as disagreeing (nothing is settled unconfirmed).
 */
export async function unconfirmedDeliveries(
  readers: { url: string; client: PublicClient }[],
  inbox: Address,
  messages: Hex[],
  blockNumber: bigint,
): Promise<DeliveryDisagreement[]> {
  const disagreement = async (message: Hex): Promise<DeliveryDisagreement | undefined> => {
    for (const { url, client } of readers) {
      const held = await client
        .readContract({
          address: inbox,
          abi: IInboxAbi,
          functionName: "isMessageDelivered",
          args: [message],
          blockNumber,
        })
        .catch(() => false);
      if (!held) return { url, message };
    }
    return undefined;
  };
  // A batch holds up to thousands of messages: read CONCURRENT at a time, not one after another.
  const out: DeliveryDisagreement[] = [];
  for (let i = 0; i < messages.length; i += CONCURRENT) {
    const found = await Promise.all(messages.slice(i, i + CONCURRENT).map(disagreement));
    for (const d of found) if (d) out.push(d);
  }
  return out;
}

/** How long the tip may stand still before a batch's confirmation is given up for now. */
export const CONFIRM_STALL_MS = 120_000;

/**
 * The chain made no block for `stallMs` while a batch waited for its confirmations: a halted chain
 * or a stuck RPC. Its messages wait and are looked at again (delivered or not), never dropped.
 */
export class ConfirmationStalled extends Error {
  override readonly name = "ConfirmationStalled";
}

/**
 * Waits until `receipt` is `confirmations` deep (the tip polled every `pollMs`) and still on the
 * chain; throws when a reorg removed it meanwhile (its jobs are taken again), and
 * `ConfirmationStalled` (naming `chain`) when the tip stood still for `stallMs`: the wait never
 * outlives a halted chain.
 */
export async function waitConfirmed(
  client: Pick<PublicClient, "getBlockNumber" | "getTransactionReceipt">,
  receipt: TransactionReceipt,
  confirmations: number,
  pollMs: number,
  chain: string,
  stallMs = CONFIRM_STALL_MS,
): Promise<void> {
  const conf = BigInt(confirmations);
  if (conf === 0n) return;
  let seen = -1n;
  let movedAt = Date.now();
  for (;;) {
    const tip = await client.getBlockNumber();
    if (tip !== seen) {
      seen = tip;
      movedAt = Date.now();
    } else if (Date.now() - movedAt >= stallMs) {
      throw new ConfirmationStalled(
        `${chain}: no block after ${tip} for ${Math.round(stallMs / 1000)} s while deliver ` +
          `${receipt.transactionHash} (block ${receipt.blockNumber}) waits to be ${confirmations} ` +
          `deep; its messages wait and are looked at again (check the chain and its RPC)`,
      );
    }
    if (tip >= receipt.blockNumber + conf) {
      const again = await client
        .getTransactionReceipt({ hash: receipt.transactionHash })
        .catch(() => undefined);
      if (again?.blockHash !== receipt.blockHash)
        throw new Error(`deliver ${receipt.transactionHash} left the chain (reorg)`);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
