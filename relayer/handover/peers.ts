import type { Address } from "viem";

import { IRouteRegistryAbi } from "../chain/abis.js";
import type { NodeContext } from "../node.js";
import type { PeerRoute } from "./bundle.js";

/** How long a route record read from the home RouteRegistry is reused (ms). */
const ROUTE_TTL_MS = 60_000;

const routes = new WeakMap<NodeContext, Map<bigint, { at: number; route?: PeerRoute }>>();

/**
 * The record of peer `code` on the home chain's RouteRegistry: its EVM chain id and Outbox (the
 * domain of its checkpoints) and the route's default policy; undefined when the route is not
 * enrolled or not active. Read from the home chain only, cached a minute: what a peer says about
 * its own contracts is never believed.
 */
export async function peerRoute(ctx: NodeContext, code: bigint): Promise<PeerRoute | undefined> {
  let cache = routes.get(ctx);
  if (!cache) routes.set(ctx, (cache = new Map()));
  const hit = cache.get(code);
  if (hit && Date.now() - hit.at < ROUTE_TTL_MS) return hit.route;
  const home = ctx.cfg.homeChain;
  const registry = home.contracts.registry;
  let route: PeerRoute | undefined;
  if (registry) {
    const client = ctx.client(home.code);
    const status = await client.readContract({
      address: registry,
      abi: IRouteRegistryAbi,
      functionName: "status",
      args: [code],
    });
    if (status === 1) {
      const r = await client.readContract({
        address: registry,
        abi: IRouteRegistryAbi,
        functionName: "route",
        args: [code],
      });
      route = {
        evmChainId: r.evmChainId,
        outbox: r.outbox as Address,
        minSigners: r.minSigners,
        defaultCoverage: r.defaultCoverage,
      };
    }
  }
  cache.set(code, { at: Date.now(), route });
  return route;
}

/**
 * The entry nodes of peer `code` (its community's node APIs), from the routing table. The one read
 * of the routing table for the hand-over: it moves to the signed route records in one place.
 */
export function peerEntryNodes(ctx: NodeContext, code: bigint): readonly string[] {
  return ctx.cfg.chainList.find((c) => c.code === code)?.nodes ?? [];
}
