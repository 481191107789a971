import type { Address } from "viem";

import { readActiveRoute, type RouteRecord } from "../chain/routeRegistry.js";
import type { Chain, ChainEntry } from "../config/load.js";
import { Lru } from "../lru.js";
import type { NodeContext } from "../node.js";
import type { PeerRoute } from "./bundle.js";

/** How long a route record read from the home RouteRegistry is reused (ms). */
const ROUTE_TTL_MS = 60_000;

/** A peer's route record: the domain and policy a bundle is checked with, and its contracts. */
export type PeerRecord = RouteRecord & PeerRoute;

/**
 * Route records read per node, at most 1,024 chain codes: a flood of bundles naming random origins
 * costs one registry read each, never unbounded memory.
 */
const routes = new WeakMap<NodeContext, Lru<bigint, { at: number; route?: PeerRecord }>>();

/**
 * The record of peer `code` on the home chain's RouteRegistry: its EVM chain id and Outbox (the
 * domain of its checkpoints) and the route's default policy; undefined when the route is not
 * enrolled or not active. Read from the home chain only, cached a minute: what a peer says about
 * its own contracts is never believed.
 */
export async function peerRoute(ctx: NodeContext, code: bigint): Promise<PeerRecord | undefined> {
  let cache = routes.get(ctx);
  if (!cache) routes.set(ctx, (cache = new Lru(1_024)));
  const hit = cache.get(code);
  if (hit && Date.now() - hit.at < ROUTE_TTL_MS) return hit.route;
  const home = ctx.cfg.homeChain;
  const registry = home.contracts.registry;
  const route = registry ? await readActiveRoute(ctx.client(home.code), registry, code) : undefined;
  cache.set(code, { at: Date.now(), route });
  return route;
}

/**
 * The entry nodes of peer `code` (its community's node APIs): those of its route record signed by
 * stake (docs/protocol.md 4.1), else the ones the operator pinned in the config.
 */
export function peerEntryNodes(ctx: NodeContext, code: bigint): readonly string[] {
  return ctx.routes.peerEntryNodes(code);
}

/**
 * Peer `code` as a `Chain` for the relayer: its routing-table entry with the contract addresses of
 * the home RouteRegistry's record (a config's addresses for a peer are never what is relayed by).
 */
export async function peerChain(ctx: NodeContext, code: bigint): Promise<Chain> {
  const configured = ctx.cfg.chainList.find((c) => c.code === code);
  const record = await peerRoute(ctx, code);
  const base =
    configured ??
    ({
      code,
      codeHex: code.toString(16),
      name: code.toString(16),
      rpc: [],
      nodes: [],
    } as unknown as ChainEntry);
  if (!record) {
    if (base.contracts) return base as Chain;
    throw new Error(
      `chain ${base.codeHex} has no active route on the home RouteRegistry (chain ${ctx.cfg.home}) and chains.${base.codeHex}.contracts is not set: enroll the route (distpos:connect) or give its contract addresses in the config`,
    );
  }
  return {
    ...base,
    contracts: {
      ...base.contracts,
      outbox: record.outbox,
      inbox: record.inbox,
      stakingHub: record.stakingHub,
      bank: record.bank,
    },
  };
}
