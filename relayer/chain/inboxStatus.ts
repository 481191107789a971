/**
 * A message's state on its destination chain, read from the Inbox: the one reading shared by the
 * API (`/v1/messages/:id`) and the CLI (`distpos status`, `distpos send --wait`).
 */
import type { Address, Hex, PublicClient } from "viem";

import { messageId } from "../protocol/index.js";
import { IInboxAbi } from "./abis.js";

/** Names of `IInbox.FailureKind`, by value (test/relayer/inboxStatus.test.ts checks the enum). */
export const FAILURE_KINDS = [
  "None",
  "HandlerReverted",
  "PayoutPending",
  "PayoutReverted",
] as const;

export type FailureKindName = (typeof FAILURE_KINDS)[number];

/** The name of a FailureKind value; a value this node does not know is named as such. */
export function failureKindName(kind: number): FailureKindName | `Unknown(${number})` {
  return FAILURE_KINDS[kind] ?? `Unknown(${kind})`;
}

export type InboxStatus =
  | { status: "pending" }
  | { status: "delivered" }
  | { status: "failed"; failureKind: FailureKindName | `Unknown(${number})` };

/**
 * Whether `message` (encoded) was delivered by the Inbox at `inbox`, and if its handler or payout
 * failed, how. Asks `isMessageDelivered`, not `isDelivered(origin, nonce)`: a system message's
 * replay key is its id, so its nonce bit alone says nothing about it.
 */
export async function readInboxStatus(
  client: PublicClient,
  inbox: Address,
  message: Hex,
): Promise<InboxStatus> {
  const delivered = await client.readContract({
    address: inbox,
    abi: IInboxAbi,
    functionName: "isMessageDelivered",
    args: [message],
  });
  if (!delivered) return { status: "pending" };
  const kind = await client.readContract({
    address: inbox,
    abi: IInboxAbi,
    functionName: "failure",
    args: [messageId(message)],
  });
  return kind === 0
    ? { status: "delivered" }
    : { status: "failed", failureKind: failureKindName(kind) };
}
