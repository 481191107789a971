/**
 * The node's HTTP API (relayer/README.md, "HTTP API"), as a client: one request function with a
 * timeout, and the reads the CLI and applications use. Every failure is a NodeApiError naming the
 * URL.
 */
import { NodeApiError } from "./errors.js";

export interface NodeRequestOptions {
  /** Default 10 s. */
  timeoutMs?: number;
}

/** GET `path` of the node at `baseUrl`; resolves with the parsed JSON and the HTTP status. */
export async function nodeGet<T>(
  baseUrl: string,
  path: string,
  options: NodeRequestOptions & { allow404?: boolean } = {},
): Promise<{ status: number; body: T | undefined }> {
  const url = `${baseUrl.replace(/\/+$/, "")}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new NodeApiError(url, cause?.code ?? cause?.message ?? (e as Error).message, undefined, {
      cause: e,
    });
  }
  if (res.status === 404 && options.allow404) return { status: 404, body: undefined };
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    let reason = `HTTP ${res.status}`;
    try {
      const err = (JSON.parse(text) as { error?: string }).error;
      if (err) reason += `: ${err}`;
    } catch {
      // not JSON
    }
    throw new NodeApiError(url, reason, res.status);
  }
  try {
    return { status: res.status, body: (await res.json()) as T };
  } catch (e) {
    throw new NodeApiError(url, "the answer is not JSON", res.status, { cause: e });
  }
}

/**
 * The route records a node holds (`GET /v1/routes`): per community, its entry nodes signed by one
 * of its staked attesters. A reader verifies them against its own home chain before using them
 * (relayer/routes/); a node never serves RPC URLs or contract addresses.
 */
export interface NodeRoutes {
  home: string;
  records: {
    code: string;
    evmChainId: string;
    nodes: string[];
    sequence: string;
    expiry: string;
    signer: string;
    signature: string;
  }[];
}

/** The routing table a node serves (`GET /v1/routes`). */
export async function getNodeRoutes(
  baseUrl: string,
  options?: NodeRequestOptions,
): Promise<NodeRoutes> {
  return (await nodeGet<NodeRoutes>(baseUrl, "/v1/routes", options)).body!;
}

/** A message as a node's API describes it (`GET /v1/messages/:id`); undefined when it does not know it. */
export async function getNodeMessage(
  baseUrl: string,
  id: string,
  options?: NodeRequestOptions,
): Promise<Record<string, unknown> | undefined> {
  return (
    await nodeGet<Record<string, unknown>>(baseUrl, `/v1/messages/${id}`, {
      ...options,
      allow404: true,
    })
  ).body;
}

/** A node's health (`GET /v1/health`). */
export async function getNodeHealth(
  baseUrl: string,
  options?: NodeRequestOptions,
): Promise<Record<string, unknown>> {
  return (await nodeGet<Record<string, unknown>>(baseUrl, "/v1/health", options)).body!;
}
