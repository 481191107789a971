/**
 * The one request function of the node API client: GET or POST JSON with a time limit, and a size
 * limit enforced while the answer streams in (a node we do not control may answer hundreds of
 * megabytes, or trickle). Every failure is a NodeApiError subclass naming the URL.
 */
import {
  NodeAnswerNotJsonError,
  NodeAnswerTooLargeError,
  NodeHttpError,
  NodeUnreachableError,
} from "../sdk/errors.js";

export interface NodeRequestOptions {
  /** The whole request, answer included (ms). Default 10 s. */
  timeoutMs?: number;
  /** Bytes of answer read at most. Default 16 MiB. */
  maxBytes?: number;
  /** Aborts the request (a shutdown, a race already won). */
  signal?: AbortSignal;
}

/** Bytes of an error answer read for its `error` text. */
const ERROR_ANSWER_MAX_BYTES = 64_000;

/** The URL of `path` on the node at `baseUrl` (trailing slashes of the base ignored). */
export function nodeUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}

/** Why a fetch failed, in the words of the network layer (ECONNREFUSED, the timeout). */
function failureText(e: unknown, timeoutMs: number): string {
  if ((e as Error).name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/**
 * Reads `res`'s body, at most `maxBytes` of it: cancelled as soon as it is known to be larger (by
 * its Content-Length, else while streaming). Undefined when it is larger.
 */
async function readLimited(res: Response, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The `error` and `reason` fields of an error answer, when it is JSON that has them. */
function errorFields(body: Buffer | undefined): { error?: string; reason?: string } {
  try {
    const parsed = JSON.parse(body?.toString("utf8") ?? "") as {
      error?: unknown;
      reason?: unknown;
    };
    return {
      ...(typeof parsed.error === "string" ? { error: parsed.error.slice(0, 1_000) } : {}),
      ...(typeof parsed.reason === "string" ? { reason: parsed.reason.slice(0, 100) } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Requests `path` of the node at `baseUrl`: a GET, or a POST of `body` as JSON when it is given.
 * Resolves with the HTTP status and the parsed JSON answer (null for an empty one); throws
 * NodeUnreachableError, NodeHttpError (status ≥ 400, with the node's `error` text),
 * NodeAnswerTooLargeError or NodeAnswerNotJsonError.
 */
export async function nodeRequest<T>(
  baseUrl: string,
  path: string,
  options: NodeRequestOptions & { body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const url = nodeUrl(baseUrl, path);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const headers = { accept: "application/json" };
  let res: Response;
  let raw: Buffer | undefined;
  try {
    res = await fetch(url, {
      signal,
      ...(options.body === undefined
        ? { headers }
        : {
            method: "POST",
            headers: { ...headers, "content-type": "application/json" },
            body: JSON.stringify(options.body),
          }),
    });
    raw = await readLimited(res, res.ok ? maxBytes : ERROR_ANSWER_MAX_BYTES);
  } catch (e) {
    throw new NodeUnreachableError(url, failureText(e, timeoutMs), undefined, { cause: e });
  }
  if (!res.ok) {
    const fields = errorFields(raw);
    throw new NodeHttpError(url, res.status, fields.error, fields.reason);
  }
  if (raw === undefined) throw new NodeAnswerTooLargeError(url, maxBytes);
  if (!raw.length) return { status: res.status, body: null as T };
  try {
    return { status: res.status, body: JSON.parse(raw.toString("utf8")) as T };
  } catch (e) {
    throw new NodeAnswerNotJsonError(url, res.status, { cause: e });
  }
}

/**
 * GET `path` of the node at `baseUrl` (the SDK's name since its first version): `nodeRequest`
 * without a body, where `allow404` makes a 404 an answer (`body` undefined) instead of an error.
 */
export async function nodeGet<T>(
  baseUrl: string,
  path: string,
  options: NodeRequestOptions & { allow404?: boolean } = {},
): Promise<{ status: number; body: T | undefined }> {
  const { allow404, ...request } = options;
  try {
    return await nodeRequest<T>(baseUrl, path, request);
  } catch (e) {
    if (allow404 && e instanceof NodeHttpError && e.status === 404)
      return { status: 404, body: undefined };
    throw e;
  }
}
