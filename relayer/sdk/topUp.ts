import { parseEventLogs, type Hex } from "viem";

import { IOutboxAbi } from "./abis.js";
import { toAccount, type AccountLike, type DistposClient } from "./client.js";
import { ContractRevertError, InvalidArgumentError } from "./errors.js";
import { getMessage } from "./getMessage.js";
import { transact } from "./transact.js";
import { formatTokens, MESSAGE_DECIMALS } from "./units.js";

export interface TopUpParameters {
  /** The message to top up (found on the chain of the table that dispatched it). */
  id: Hex;
  /** Fee to add, 18 decimals, taken from the account's prepaid fee balance on the origin. */
  amount: bigint;
  /** Who pays: a private key or a viem Account (its prepaid balance: CorrespondentBank.prepayFees). */
  account: AccountLike;
}

export interface ToppedUp {
  id: Hex;
  /** The top-up message (to the destination's Outbox, body = id) that carries the fee. */
  topUpId: Hex;
  amount: bigint;
  amountText: string;
  origin: string;
  destination: string;
  transactionHash: Hex;
}

/**
 * Adds `amount` to the delivery fee of message `id` (`Outbox.topUp` on its origin, docs/protocol.md
 * 3.9): relayers that held it as underpaid deliver it with the top-up, in one batch. Refused by the
 * Outbox (ContractRevertError) when the prepaid balance is short (`FeeBalanceShort`).
 */
export async function topUp(client: DistposClient, params: TopUpParameters): Promise<ToppedUp> {
  if (params.amount <= 0n) throw new InvalidArgumentError("amount", "must be more than 0");
  const account = toAccount(params.account);
  const info = await getMessage(client, { id: params.id });
  const origin = client.chain(info.origin.chain);
  const receipt = await transact(client, origin, account, {
    address: origin.contracts.outbox,
    abi: IOutboxAbi,
    functionName: "topUp",
    args: [info.encoded, params.amount],
    call: "Outbox.topUp",
  });
  const event = parseEventLogs({
    abi: IOutboxAbi,
    eventName: "FeeToppedUp",
    logs: receipt.logs,
  })[0];
  if (!event)
    throw new ContractRevertError(
      info.origin.chain,
      "Outbox.topUp",
      "NoFeeToppedUp",
      [],
      "no FeeToppedUp event in the receipt",
      undefined,
      receipt.transactionHash,
    );
  return {
    id: info.id,
    topUpId: event.args.topUpId,
    amount: params.amount,
    amountText: formatTokens(params.amount, MESSAGE_DECIMALS),
    origin: info.origin.chain,
    destination: info.destination.chain,
    transactionHash: receipt.transactionHash,
  };
}
