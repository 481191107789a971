import { parseEventLogs, type Hex } from "viem";

import { ICorrespondentBankAbi } from "./abis.js";
import { toAccount, type AccountLike, type DistposClient } from "./client.js";
import { getMessage } from "./getMessage.js";
import { getToken } from "./getToken.js";
import { transact } from "./transact.js";
import { formatTokens } from "./units.js";

export interface ClaimParameters {
  /** The id of a transfer whose payout was booked pending on its destination. */
  id: Hex;
  /** Pays the gas; the tokens go to the transfer's recipient whoever claims. */
  account: AccountLike;
  /** The destination chain, when known (else found from the message). */
  chain?: bigint | string;
}

/**
 * Pays a pending payout once the origin's reserve on the destination covers it
 * (`CorrespondentBank.claim`). Simulated first: `ReserveShort(needed, available)` in token units,
 * or `NotPending` for a payout already made or never booked.
 */
export async function claim(
  client: DistposClient,
  params: ClaimParameters,
): Promise<{
  transactionHash: Hex;
  chain: string;
  recipient: string;
  amount: bigint;
  amountText: string;
}> {
  const account = toAccount(params.account);
  const chain = client.chain(
    params.chain ?? (await getMessage(client, { id: params.id })).destination.chain,
  );
  const token = await getToken(client, { chain: chain.code });
  const receipt = await transact(client, chain, account, {
    address: chain.contracts.bank,
    abi: ICorrespondentBankAbi,
    functionName: "claim",
    args: [params.id],
    call: "CorrespondentBank.claim",
    units: { decimals: token.decimals, symbol: token.symbol },
  });
  const claimed = parseEventLogs({
    abi: ICorrespondentBankAbi,
    eventName: "Claimed",
    logs: receipt.logs,
  })[0];
  const amount = claimed?.args.amount ?? 0n;
  return {
    transactionHash: receipt.transactionHash,
    chain: token.chain,
    recipient: claimed?.args.recipient ?? "",
    amount,
    amountText: formatTokens(amount, token.decimals),
  };
}
