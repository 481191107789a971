/**
 * The endpoints whose answers are typed by the node's own modules (relayer/api/): for the node's
 * roles (the watcher) and tools, not re-exported by the SDK, whose declarations must not reach the
 * node's runtime types (tsconfig.sdk.json).
 */
import type { AcceptedAnswer } from "../api/acceptedCheckpoints.js";
import type { lookupAddress, lookupTransaction } from "../api/journey.js";
import type { RouteState } from "../api/routeState.js";
import { nodeGet, nodeRequest, type NodeRequestOptions } from "./request.js";

/** The checkpoints the node's Inbox accepted from `origin`, from block `from` on. */
export async function getAcceptedCheckpoints(
  node: string,
  where: { origin: string; from: number },
  options?: NodeRequestOptions,
): Promise<AcceptedAnswer> {
  const path = `/v1/checkpoints/accepted?origin=${where.origin}&from=${where.from}`;
  return (await nodeRequest<AcceptedAnswer>(node, path, options)).body;
}

/** The state of the node's home chain's routes (`GET /v1/routes/state`). */
export async function getRouteStates(
  node: string,
  options?: NodeRequestOptions,
): Promise<{ home: string; routes: RouteState[] }> {
  return (
    await nodeRequest<{ home: string; routes: RouteState[] }>(node, "/v1/routes/state", options)
  ).body;
}

/** What a transaction dispatched and delivered (`GET /v1/tx/:hash`); undefined when none has it. */
export async function getNodeTransaction(
  node: string,
  hash: string,
  options?: NodeRequestOptions,
): Promise<Awaited<ReturnType<typeof lookupTransaction>> | undefined> {
  return (
    await nodeGet<NonNullable<Awaited<ReturnType<typeof lookupTransaction>>>>(
      node,
      `/v1/tx/${hash}`,
      { ...options, allow404: true },
    )
  ).body;
}

/** An address's recent messages (`GET /v1/address/:address`). */
export async function getNodeAddress(
  node: string,
  address: string,
  options?: NodeRequestOptions,
): Promise<Awaited<ReturnType<typeof lookupAddress>>> {
  return (
    await nodeRequest<Awaited<ReturnType<typeof lookupAddress>>>(
      node,
      `/v1/address/${address}`,
      options,
    )
  ).body;
}
