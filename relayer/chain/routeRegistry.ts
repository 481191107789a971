import type { Address, PublicClient } from "viem";

import { IRouteRegistryAbi } from "./abis.js";

/**
 * A route as a RouteRegistry enrolled it: the peer's EVM chain id and contracts (its Outbox is the
 * domain of its checkpoints) and the route's default policy. The one reading of the registry's
 * `route` used by the node (handover/peers.ts, the relayer's policy) and the CLI.
 */
export interface RouteRecord {
  evmChainId: bigint;
  outbox: Address;
  inbox: Address;
  stakingHub: Address;
  bank: Address;
  minSigners: number;
  defaultCoverage: bigint;
}

/** The route to chain `code` as `registry` holds it, whatever its status. */
export async function readRoute(
  client: PublicClient,
  registry: Address,
  code: bigint,
): Promise<RouteRecord> {
  const r = await client.readContract({
    address: registry,
    abi: IRouteRegistryAbi,
    functionName: "route",
    args: [code],
  });
  return {
    evmChainId: r.evmChainId,
    outbox: r.outbox as Address,
    inbox: r.inbox as Address,
    stakingHub: r.stakingHub as Address,
    bank: r.bank as Address,
    minSigners: r.minSigners,
    defaultCoverage: r.defaultCoverage,
  };
}

/** The route to chain `code` if it is active on `registry` (status 1), else undefined. */
export async function readActiveRoute(
  client: PublicClient,
  registry: Address,
  code: bigint,
): Promise<RouteRecord | undefined> {
  const status = await client.readContract({
    address: registry,
    abi: IRouteRegistryAbi,
    functionName: "status",
    args: [code],
  });
  return status === 1 ? readRoute(client, registry, code) : undefined;
}
