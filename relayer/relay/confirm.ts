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

/**
 * Waits until `receipt` is `confirmations` deep (the tip polled every `pollMs`) and still on the
 * chain; throws when a reorg removed it meanwhile (its jobs are taken again).
 */
export async function waitConfirmed(
  client: Pick<PublicClient, "getBlockNumber" | "getTransactionReceipt">,
  receipt: TransactionReceipt,
  confirmations: number,
  pollMs: number,
): Promise<void> {
  const conf = BigInt(confirmations);
  if (conf === 0n) return;
  for (;;) {
    const tip = await client.getBlockNumber();
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
