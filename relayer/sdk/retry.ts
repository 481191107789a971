import type { Hex } from "viem";

import { IInboxAbi } from "./abis.js";
import { toAccount, type AccountLike, type DistposClient } from "./client.js";
import { DistposError } from "./errors.js";
import { getMessage, type MessageInfo } from "./getMessage.js";
import { transact } from "./transact.js";

export interface RetryParameters {
  id: Hex;
  /** Pays the gas on the destination. Anyone may retry. */
  account: AccountLike;
}

/**
 * Runs a delivered message whose handler or payout failed again on its destination
 * (`Inbox.retry`): for a payout not made, the payout first, then the handler. Simulated first: a
 * handler that still reverts is reported decoded and nothing is sent.
 */
export async function retry(
  client: DistposClient,
  params: RetryParameters,
): Promise<{ transactionHash: Hex; before: MessageInfo; after: MessageInfo }> {
  const account = toAccount(params.account);
  const before = await getMessage(client, { id: params.id });
  if (before.destination.status !== "failed")
    throw new DistposError(
      `message ${params.id} is ${before.destination.status} on ${before.destination.chain}: only a failed message can be retried`,
    );
  const dest = client.chain(before.destination.chain);
  const receipt = await transact(client, dest, account, {
    address: dest.contracts.inbox,
    abi: IInboxAbi,
    functionName: "retry",
    args: [before.encoded],
    call: "Inbox.retry",
  });
  const after = await getMessage(client, { id: params.id });
  return { transactionHash: receipt.transactionHash, before, after };
}
