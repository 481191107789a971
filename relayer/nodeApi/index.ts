/**
 * The client of the node's HTTP API, used by every caller: the hand-over and the pull, signature
 * collection, the routing table, the watcher, the SDK and the CLI. Racing several nodes and
 * backing off from failed ones is relayer/peers/entryNodes.ts's, around these calls.
 */
export * from "./endpoints.js";
export * from "./nodeTyped.js";
export { nodeGet, nodeRequest, nodeUrl, type NodeRequestOptions } from "./request.js";
export type * from "./types.js";
