import type { Address } from "viem";

import { erc20Abi } from "./abis.js";
import { codeOf, onChain, type DistposClient } from "./client.js";
import { getToken } from "./getToken.js";
import { formatTokens } from "./units.js";

export interface Balance {
  chain: string;
  account: Address;
  /** Native currency (gas), wei. */
  native: bigint;
  nativeText: string;
  token: Address;
  symbol: string;
  decimals: number;
  /** Settlement tokens, in the token's units. */
  balance: bigint;
  balanceText: string;
}

/** What `account` holds on `chain`: gas money and settlement tokens. */
export async function getBalance(
  client: DistposClient,
  params: { chain: bigint | string; account: Address },
): Promise<Balance> {
  const chain = client.chain(params.chain);
  const token = await getToken(client, params);
  const pc = client.publicClient(chain);
  const [native, balance] = await onChain(chain, "balance", () =>
    Promise.all([
      pc.getBalance({ address: params.account }),
      pc.readContract({
        address: token.address,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [params.account],
      }),
    ]),
  );
  return {
    chain: codeOf(chain),
    account: params.account,
    native,
    nativeText: formatTokens(native, 18),
    token: token.address,
    symbol: token.symbol,
    decimals: token.decimals,
    balance,
    balanceText: formatTokens(balance, token.decimals),
  };
}
