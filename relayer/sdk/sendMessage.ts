import type { Hex } from "viem";

import { addressToBytes32, formatChainCode } from "../protocol/chainAddress.js";
import { IOutboxAbi } from "./abis.js";
import { codeOf, onChain, toAccount, type AccountLike, type DistposClient } from "./client.js";
import { checkBody, dispatchOf, recipientOf, type SentMessage } from "./dispatch.js";
import { InvalidArgumentError, RouteError } from "./errors.js";
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
  /**
   * Pay the delivery fee (`Outbox.dispatchWithFee`, out of the sender's prepaid fee balance): the
   * most it may be, 18 decimals. Without it the message is fee-less (`Outbox.dispatch`).
   */
  maxFee?: bigint;
  /** Handler gas the fee is quoted for (with `maxFee`; default 0). */
  handlerGas?: bigint;
}

/**
 * Dispatches a pure message (no value) through the origin's Outbox, fee-less or, with `maxFee`,
 * paying the quoted delivery fee from the prepaid balance (`FeeAboveMax` above it). Checks the
 * route is active and simulates the dispatch before sending.
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
  if (params.maxFee !== undefined && params.maxFee < 0n)
    throw new InvalidArgumentError("maxFee", "must be at least 0");
  const to = addressToBytes32(recipient.account);
  const receipt = await transact(
    client,
    origin,
    account,
    params.maxFee === undefined
      ? {
          address: origin.contracts.outbox,
          abi: IOutboxAbi,
          functionName: "dispatch",
          args: [recipient.code, to, body],
          call: "Outbox.dispatch",
        }
      : {
          address: origin.contracts.outbox,
          abi: IOutboxAbi,
          functionName: "dispatchWithFee",
          args: [recipient.code, to, body, params.handlerGas ?? 0n, params.maxFee],
          call: "Outbox.dispatchWithFee",
        },
  );
  return dispatchOf(origin, receipt, params.to, 0n);
}
