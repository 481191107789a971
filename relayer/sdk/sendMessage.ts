import type { Hex } from "viem";

import { addressToBytes32, formatChainCode } from "../protocol/chainAddress.js";
import { IOutboxAbi } from "./abis.js";
import { codeOf, onChain, toAccount, type AccountLike, type DistposClient } from "./client.js";
import { checkBody, dispatchOf, recipientOf, type SentMessage } from "./dispatch.js";
import { RouteError } from "./errors.js";
import { transact } from "./transact.js";

export interface SendMessageParameters {
  /** Origin chain code. */
  from: bigint | string;
  /** Recipient, chain-qualified (`<code>x<account>`). */
  to: string;
  /** Payload for the recipient's handler (0x-hex). */
  body?: Hex;
  /** The sender: a private key or a viem Account. */
  account: AccountLike;
}

/**
 * Dispatches a pure message (no value) through the origin's Outbox. Checks the route is active and
 * simulates the dispatch before sending.
 */
export async function sendMessage(
  client: DistposClient,
  params: SendMessageParameters,
): Promise<SentMessage> {
  const origin = client.chain(params.from);
  const recipient = recipientOf(params.to);
  const body = checkBody(params.body);
  const account = toAccount(params.account);
  const status = await onChain(origin, "Outbox.routeStatus", () =>
    client.publicClient(origin).readContract({
      address: origin.contracts.outbox,
      abi: IOutboxAbi,
      functionName: "routeStatus",
      args: [recipient.code],
    }),
  );
  if (status !== 1)
    throw new RouteError(
      codeOf(origin),
      formatChainCode(recipient.code),
      status === 0 ? "not enrolled at the origin" : "paused at the origin",
    );
  const receipt = await transact(client, origin, account, {
    address: origin.contracts.outbox,
    abi: IOutboxAbi,
    functionName: "dispatch",
    args: [recipient.code, addressToBytes32(recipient.account), body],
    call: "Outbox.dispatch",
  });
  return dispatchOf(origin, receipt, params.to, 0n);
}
