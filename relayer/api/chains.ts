import type { Chain } from "../config/load.js";
import { peerChain } from "../handover/peers.js";
import type { NodeContext } from "../node.js";

/**
 * Chain `code` with its contract addresses, for the explorer: the home chain's from the config, a
 * peer's from the home RouteRegistry's record (a bundles node's config has none of a peer's).
 * @throws when `code` is no chain of the routing table, or a peer has neither a route nor
 * `chains.<code>.contracts` (the message names the field)
 */
export async function chainWithContracts(ctx: NodeContext, code: bigint): Promise<Chain> {
  const home = ctx.cfg.homeChain;
  if (code === home.code) return home;
  ctx.cfg.chain(code); // throws naming the routing table when the chain is not in it
  return peerChain(ctx, code);
}
