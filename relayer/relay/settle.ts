/**
 * Settling one mined batch (pure; no chain): which messages its receipt shows delivered (and which
 * of those with a failed handler), and what becomes of each message of the batch once the Inbox's
 * state has been checked against the receipt (confirm.ts).
 */
import { getAbiItem, type Address, type Hex, type TransactionReceipt } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import { EventDecoder } from "../chain/events.js";

/** What became of one message in a batch attempt. */
export type Outcome =
  | { kind: "delivered"; tx: Hex; block: number; status: "delivered" | "failed" }
  | { kind: "done"; reason: string }
  /** `backoff`: only signers or time cure it: retried with a growing pause (reverts.ts). */
  | { kind: "wait"; reason: string; backoff?: boolean }
  | { kind: "error"; error: Error };

/** The Inbox events a deliver receipt is read for. */
const DELIVERY_EVENTS = new EventDecoder([
  getAbiItem({ abi: IInboxAbi, name: "Delivered" }),
  getAbiItem({ abi: IInboxAbi, name: "HandlerFailed" }),
]);

/** Message ids (lower case) a receipt's logs show delivered, and those whose handler failed. */
export interface ReceiptDeliveries {
  delivered: Set<string>;
  failed: Set<string>;
}

/** Reads `receipt`'s Delivered and HandlerFailed logs, only those `inbox` emitted. */
export function receiptDeliveries(
  receipt: Pick<TransactionReceipt, "logs">,
  inbox: Address,
): ReceiptDeliveries {
  const events = DELIVERY_EVENTS.decodeAll(
    receipt.logs.filter((l) => l.address.toLowerCase() === inbox.toLowerCase()),
  );
  const ids = (name: string) =>
    new Set(
      events
        .filter((e) => e.eventName === name)
        .map((e) => (e.args as { id: Hex }).id.toLowerCase()),
    );
  return { delivered: ids("Delivered"), failed: ids("HandlerFailed") };
}

/**
 * The outcome of message `id` of a mined batch (transaction `tx` in block `block` on chain
 * `chainHex`): delivered (its handler failed or not) when the receipt shows it and the Inbox's
 * state confirmed it; a wait without spending an attempt when the state did not (`unconfirmed`:
 * the RPC's fault, not the message's); an error when the receipt does not show it at all.
 */
export function batchOutcome(
  id: Hex,
  seen: ReceiptDeliveries & { unconfirmed: ReadonlySet<string> },
  tx: { hash: Hex; block: bigint },
  chainHex: string,
): Outcome {
  const key = id.toLowerCase();
  if (seen.unconfirmed.has(key))
    return {
      kind: "wait",
      reason:
        `chain ${chainHex}: Delivered for ${id} in ${tx.hash} is not confirmed by the Inbox ` +
        `state at block ${tx.block}; re-queued`,
      backoff: true,
    };
  if (seen.delivered.has(key))
    return {
      kind: "delivered",
      tx: tx.hash,
      block: Number(tx.block),
      status: seen.failed.has(key) ? "failed" : "delivered",
    };
  return { kind: "error", error: new Error(`no Delivered event for ${id} in ${tx.hash}`) };
}
