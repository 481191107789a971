import type { Address, Hex } from "viem";

import { TestTokenAbi } from "./abis.js";
import { codeOf, onChain, toAccount, type AccountLike, type DistposClient } from "./client.js";
import { ContractRevertError, InvalidArgumentError, NotMintableError } from "./errors.js";
import { getToken } from "./getToken.js";
import { transact } from "./transact.js";
import { formatTokens } from "./units.js";

export interface MintParameters {
  /** The chain whose settlement token to mint. */
  chain: bigint | string;
  /** Who receives the tokens (default: the account). */
  to?: Address;
  /** Token units of `chain`'s settlement token (`parseTokens("100", decimals)`). */
  amount: bigint;
  /** Pays the gas. */
  account: AccountLike;
}

/**
 * Mints settlement tokens on a devnet: only a token that declares `DEVNET_MINTABLE` (the
 * devnet's TestToken) is minted; any other is refused with `NotMintableError` before any
 * transaction. Simulated first, like every transaction of the SDK.
 */
export async function mint(
  client: DistposClient,
  params: MintParameters,
): Promise<{ transactionHash: Hex; to: Address; amountText: string; symbol: string }> {
  const chain = client.chain(params.chain);
  if (params.amount <= 0n) throw new InvalidArgumentError("amount", "must be more than 0");
  const account = toAccount(params.account);
  const to = params.to ?? account.address;
  const token = await getToken(client, { chain: chain.code });
  const mintable = await onChain(chain, `${token.symbol}.DEVNET_MINTABLE`, () =>
    client.publicClient(chain).readContract({
      address: token.address,
      abi: TestTokenAbi,
      functionName: "DEVNET_MINTABLE",
    }),
  ).catch((e: unknown) => {
    // A token without the marker reverts (or returns nothing): not a devnet token. An RPC
    // failure is reported as such.
    if (e instanceof ContractRevertError || isNoData(e)) return false;
    throw e;
  });
  if (!mintable) throw new NotMintableError(codeOf(chain), chain.name, token.address, token.symbol);
  const receipt = await transact(client, chain, account, {
    address: token.address,
    abi: TestTokenAbi,
    functionName: "mint",
    args: [to, params.amount],
    call: `${token.symbol}.mint`,
  });
  return {
    transactionHash: receipt.transactionHash,
    to,
    amountText: formatTokens(params.amount, token.decimals),
    symbol: token.symbol,
  };
}

/** viem's error for a call that returned no data (the function does not exist there). */
function isNoData(e: unknown): boolean {
  return (
    e instanceof Error && /returned no data|ContractFunctionZeroData/.test(`${e.name} ${e.message}`)
  );
}
