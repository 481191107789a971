import type { Address } from "viem";

import { erc20Abi, ICorrespondentBankAbi } from "./abis.js";
import { codeOf, onChain, type DistposClient, type DistposChain } from "./client.js";

export interface TokenInfo {
  chain: string;
  address: Address;
  decimals: number;
  symbol: string;
}

const cache = new WeakMap<DistposChain, Promise<TokenInfo>>();

/** The settlement token of `chain`: the configured one, else the bank's. */
export function getToken(
  client: DistposClient,
  params: { chain: bigint | string },
): Promise<TokenInfo> {
  const chain = client.chain(params.chain);
  let info = cache.get(chain);
  if (!info) {
    const pc = client.publicClient(chain);
    info = onChain(chain, "settlement token", async () => {
      const address =
        chain.contracts.token ??
        (await pc.readContract({
          address: chain.contracts.bank,
          abi: ICorrespondentBankAbi,
          functionName: "token",
        }));
      const [decimals, symbol] = await Promise.all([
        pc.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
        pc.readContract({ address, abi: erc20Abi, functionName: "symbol" }).catch(() => "tokens"),
      ]);
      return { chain: codeOf(chain), address, decimals, symbol };
    });
    cache.set(chain, info);
    info.catch(() => cache.delete(chain));
  }
  return info;
}
