/**
 * One typed function per endpoint of the node's HTTP API (relayer/README.md, "HTTP API"; served by
 * relayer/api/server.ts), each a `nodeRequest` with its path. Answer types are the server's own
 * where it exports them. Answers of nodes we do not control are typed as an honest node sends
 * them: a caller that acts on them (signatures, bundles, records) still verifies what it takes.
 */
import type { Hex } from "viem";

import type { RouteFees } from "../api/fees.js";
import type { BundleJson } from "../handover/bundle.js";
import { nodeGet, nodeRequest, type NodeRequestOptions } from "./request.js";
import type {
  Acceptance,
  DestinationStatus,
  Health,
  MessageJourney,
  NodeCheckpoint,
  NodeProof,
  NodeRoutes,
  PushAnswer,
} from "./types.js";

const get = async <T>(node: string, path: string, options?: NodeRequestOptions) =>
  (await nodeRequest<T>(node, path, options)).body;

/** A GET whose 404 means "not known here": undefined. */
const getOr404 = async <T>(node: string, path: string, options?: NodeRequestOptions) =>
  (await nodeGet<T>(node, path, { ...options, allow404: true })).body;

const post = async <T>(node: string, path: string, body: unknown, options?: NodeRequestOptions) =>
  (await nodeRequest<T>(node, path, { ...options, body })).body;

/** A node's health (`GET /v1/health`); an unhealthy node answers 503, a NodeHttpError. */
export function getNodeHealth(node: string, options?: NodeRequestOptions): Promise<Health> {
  return get<Health>(node, "/v1/health", options);
}

/**
 * The checkpoint of `origin`'s Outbox at `count` (its newest when no count is given) with the
 * signatures the node knows; undefined when it knows none (404).
 */
export function getCheckpoint(
  node: string,
  where: { origin: string; count?: number },
  options?: NodeRequestOptions,
): Promise<NodeCheckpoint | undefined> {
  const at = where.count === undefined ? "latest" : String(where.count);
  return getOr404<NodeCheckpoint>(node, `/v1/checkpoints/${at}?origin=${where.origin}`, options);
}

/** A message's journey (`GET /v1/messages/:id`); undefined when the node does not know it. */
export function getNodeMessage(
  node: string,
  id: string,
  options?: NodeRequestOptions,
): Promise<MessageJourney | undefined> {
  return getOr404<MessageJourney>(node, `/v1/messages/${id}`, options);
}

/**
 * Many messages' delivery on the node's home chain (`POST /v1/messages/status`, at most
 * STATUS_BATCH_MAX ids), by lower-case id. A node of a version without it answers 404.
 */
export async function getDeliveryStatuses(
  node: string,
  ids: readonly string[],
  options?: NodeRequestOptions,
): Promise<Record<string, DestinationStatus | undefined>> {
  const answer = await post<{ messages?: Record<string, DestinationStatus> }>(
    node,
    "/v1/messages/status",
    { ids },
    options,
  );
  return answer?.messages ?? {};
}

/** Hands one encoded message to the node of its destination (`POST /v1/messages`). */
export function postMessage(
  node: string,
  message: Hex,
  options?: NodeRequestOptions,
): Promise<PushAnswer> {
  return post<PushAnswer>(node, "/v1/messages", { message }, options);
}

/**
 * Hands a bundle over to an entry node of its destination (`POST /v1/bundles`). A refusal is a
 * NodeHttpError whose `refusal` is the reason code (docs/protocol.md 4.2).
 */
export function postBundle(
  node: string,
  bundle: BundleJson,
  options?: NodeRequestOptions,
): Promise<Acceptance> {
  return post<Acceptance>(node, "/v1/bundles", bundle, options);
}

/**
 * What waits on the node for `destination` past nonce `after`, as a bundle (`GET /v1/bundles`);
 * undefined when nothing waits under a signed checkpoint (404).
 */
export function pullBundle(
  node: string,
  where: { destination: string; after: number | string },
  options?: NodeRequestOptions,
): Promise<BundleJson | undefined> {
  return getOr404<BundleJson>(
    node,
    `/v1/bundles?destination=${where.destination}&after=${where.after}`,
    options,
  );
}

/** The routing table a node serves (`GET /v1/routes`). */
export function getNodeRoutes(node: string, options?: NodeRequestOptions): Promise<NodeRoutes> {
  return get<NodeRoutes>(node, "/v1/routes", options);
}

/** The fees the node's relayer earned per route since it started (`GET /v1/fees`). */
export function getFees(
  node: string,
  options?: NodeRequestOptions,
): Promise<{ routes: RouteFees[] }> {
  return get(node, "/v1/fees", options);
}

/** A message's Merkle proof (`GET /v1/proofs/:id`, under `count` or its first snapshot). */
export function getProof(
  node: string,
  id: string,
  count?: number,
  options?: NodeRequestOptions,
): Promise<NodeProof> {
  return get(node, `/v1/proofs/${id}${count === undefined ? "" : `?count=${count}`}`, options);
}
