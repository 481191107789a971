import type { Address } from "viem";

import { IRouteRegistryAbi } from "../chain/abis.js";
import { publicClientFor } from "../chain/clients.js";
import type { Chain, ChainEntry, LoadedConfig } from "../config/load.js";

/**
 * `entry` with its contract addresses for the CLI's SDK client: the config's when it gives them,
 * else those the home RouteRegistry enrolled for the route (a bundles config lists none of a
 * peer's, docs/protocol.md 4.2; the node reads them the same way, handover/peers.ts). Undefined
 * when the route is not active on the home chain: the CLI then knows no such chain.
 */
export async function withPeerContracts(
  cfg: LoadedConfig,
  entry: ChainEntry,
): Promise<Chain | undefined> {
  if (entry.contracts) return entry as Chain;
  const registry = cfg.homeChain.contracts.registry;
  if (!registry) return undefined;
  const client = publicClientFor(cfg.homeChain);
  const read = { address: registry, abi: IRouteRegistryAbi } as const;
  if ((await client.readContract({ ...read, functionName: "status", args: [entry.code] })) !== 1)
    return undefined;
  const r = await client.readContract({ ...read, functionName: "route", args: [entry.code] });
  return {
    ...entry,
    contracts: {
      outbox: r.outbox as Address,
      inbox: r.inbox as Address,
      stakingHub: r.stakingHub as Address,
      bank: r.bank as Address,
    },
  };
}
