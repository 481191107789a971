import type { Hex } from "viem";

import { addressToBytes32, formatChainCode } from "../protocol/chainAddress.js";
import { ICorrespondentBankAbi, IOutboxAbi } from "./abis.js";
import { codeOf, onChain, toAccount, type AccountLike, type DistposClient } from "./client.js";
import { checkBody, dispatchOf, recipientOf, type SentMessage } from "./dispatch.js";
import { InsufficientCreditError, InvalidArgumentError, RouteError } from "./errors.js";
import { getToken } from "./getToken.js";
import { transactWithTokens } from "./transact.js";
import { formatTokens, MESSAGE_DECIMALS, toTokenUnits } from "./units.js";

export interface SendValueParameters {
  /** Origin chain code. */
  from: bigint | string;
  /** Recipient, chain-qualified (`<code>x<account>`). */
  to: string;
  /** Value with 18 decimals, as messages carry it (`parseTokens("1.5", 18)`). */
  amount: bigint;
  /** Payload for the recipient's handler (0x-hex). */
  body?: Hex;
  /** The sender: a private key or a viem Account. */
  account: AccountLike;
}

export interface SentValue extends SentMessage {
  /** The approve transaction sent first, when the bank's allowance was short. */
  approval?: Hex;
}

/**
 * Sends value through the origin's CorrespondentBank. Before any transaction: the route must be
 * active, the credit and the sender's balance must cover the amount (InsufficientCreditError,
 * InsufficientBalanceError, in token units), and `send` is simulated. The bank is approved only
 * when its allowance is short, for exactly the amount; if `send` then fails, the allowance is set
 * back to what it was.
 */
export async function sendValue(
  client: DistposClient,
  params: SendValueParameters,
): Promise<SentValue> {
  const origin = client.chain(params.from);
  const recipient = recipientOf(params.to);
  const body = checkBody(params.body);
  const account = toAccount(params.account);
  if (params.amount <= 0n) throw new InvalidArgumentError("amount", "must be more than 0");
  const token = await getToken(client, { chain: origin.code });
  const local = toTokenUnits(params.amount, token.decimals);
  const units = { decimals: token.decimals, symbol: token.symbol };
  const pc = client.publicClient(origin);
  const bank = origin.contracts.bank;
  const originCode = codeOf(origin);
  const destination = formatChainCode(recipient.code);

  const [status, credit] = await onChain(origin, "route and credit", () =>
    Promise.all([
      pc.readContract({
        address: origin.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "routeStatus",
        args: [recipient.code],
      }),
      pc.readContract({
        address: bank,
        abi: ICorrespondentBankAbi,
        functionName: "creditView",
        args: [recipient.code],
      }),
    ]),
  );
  if (status !== 1)
    throw new RouteError(
      originCode,
      destination,
      status === 0 ? "not enrolled at the origin" : "paused at the origin",
    );
  if (credit < params.amount)
    throw new InsufficientCreditError(
      originCode,
      destination,
      credit,
      params.amount,
      formatTokens(credit, MESSAGE_DECIMALS),
      formatTokens(params.amount, MESSAGE_DECIMALS),
      token.symbol,
    );
  // Every check of the bank runs before it pulls the tokens (transactWithTokens).
  const { receipt, approval } = await transactWithTokens(
    client,
    origin,
    account,
    {
      address: bank,
      abi: ICorrespondentBankAbi,
      functionName: "send",
      args: [recipient.code, addressToBytes32(recipient.account), params.amount, body],
      call: "CorrespondentBank.send",
      units,
    },
    { token, spender: bank, amount: local },
  );
  return {
    ...dispatchOf(origin, receipt, params.to, params.amount),
    ...(approval ? { approval } : {}),
  };
}
