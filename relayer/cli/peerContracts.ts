import { readActiveRoute } from "../chain/routeRegistry.js";
import { publicClientFor } from "../chain/clients.js";
import type { Chain, ChainEntry, LoadedConfig } from "../config/load.js";
import { onChain } from "../sdk/client.js";

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
  const home = cfg.homeChain;
  // Failures name the home chain and its RPC URL (the SDK's RpcError), as every CLI read does.
  const r = await onChain(home, "RouteRegistry.route", () =>
    readActiveRoute(publicClientFor(home), registry, entry.code),
  );
  if (!r) return undefined;
  return {
    ...entry,
    contracts: {
      outbox: r.outbox,
      inbox: r.inbox,
      stakingHub: r.stakingHub,
      bank: r.bank,
    },
  };
}
