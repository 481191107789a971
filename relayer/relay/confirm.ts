/**
 * Confirms a batch's `Delivered` logs against the Inbox's state before the relayer settles the
 * messages as delivered: a lying RPC can fabricate a receipt with Delivered logs for a transaction
 * it never forwarded (issue 15 item 8). Each message read as delivered from the receipt is checked
 * with `isMessageDelivered` at the receipt's block — from the same client (a cheap consistency
 * check: a proxy that fabricates receipts but forwards eth_call is caught) and, where
 * `chains.<code>.witnessRpc` is configured, from the witness too (an RPC of another provider).
 */
import type { Address, Hex, PublicClient } from "viem";

import { IInboxAbi } from "../chain/abis.js";

export type DeliveryDisagreement = { url: string; message: Hex };

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
  const out: DeliveryDisagreement[] = [];
  for (const message of messages) {
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
      if (!held) {
        out.push({ url, message });
        break;
      }
    }
  }
  return out;
}
