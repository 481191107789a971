import type { Hex } from "viem";

import { parseChainCode } from "../protocol/chainAddress.js";
import { ICorrespondentBankAbi } from "./abis.js";
import { onChain, toAccount, type AccountLike, type DistposClient } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import { getToken } from "./getToken.js";
import { transactWithTokens } from "./transact.js";
import { formatTokens } from "./units.js";

export interface FundParameters {
  /** The chain whose bank holds the reserve. */
  chain: bigint | string;
  /** The community the reserve belongs to (its chain code). */
  peer: bigint | string;
  /** Token units of `chain`'s settlement token (`parseTokens("50", decimals)`). */
  amount: bigint;
  account: AccountLike;
}

/**
 * Posts tokens into `peer`'s reserve (correspondent account) on `chain`: what lets `peer`'s users
 * send value to `chain`. Balance checked and `fund` simulated before any transaction; no stray
 * approval.
 */
export async function fund(
  client: DistposClient,
  params: FundParameters,
): Promise<{
  transactionHash: Hex;
  approval?: Hex;
  reserve: bigint;
  reserveText: string;
  symbol: string;
}> {
  const chain = client.chain(params.chain);
  // Only the peer's code is used (the key of its reserve on `chain`'s bank, which refuses a code it
  // has not enrolled: UnknownPeer), so a peer need not be one of the client's chains (a node's
  // config on the bundle flow lists no peer contracts).
  let peer: bigint;
  try {
    peer = typeof params.peer === "bigint" ? params.peer : parseChainCode(params.peer);
  } catch (e) {
    throw new InvalidArgumentError("peer", (e as Error).message);
  }
  if (params.amount <= 0n) throw new InvalidArgumentError("amount", "must be more than 0");
  const account = toAccount(params.account);
  const token = await getToken(client, { chain: chain.code });
  const { receipt, approval } = await transactWithTokens(
    client,
    chain,
    account,
    {
      address: chain.contracts.bank,
      abi: ICorrespondentBankAbi,
      functionName: "fund",
      args: [peer, params.amount],
      call: "CorrespondentBank.fund",
      units: token,
    },
    { token, spender: chain.contracts.bank, amount: params.amount },
  );
  const reserve = await onChain(chain, "CorrespondentBank.reserve", () =>
    client.publicClient(chain).readContract({
      address: chain.contracts.bank,
      abi: ICorrespondentBankAbi,
      functionName: "reserve",
      args: [peer],
    }),
  );
  return {
    transactionHash: receipt.transactionHash,
    ...(approval ? { approval } : {}),
    reserve,
    reserveText: formatTokens(reserve, token.decimals),
    symbol: token.symbol,
  };
}
