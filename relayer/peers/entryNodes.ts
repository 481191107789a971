/**
 * Asking a community's entry nodes (peers we do not control) for JSON: every answer is read with a
 * time limit and a size limit enforced while it streams in, nodes are asked at once and the asking
 * stops as soon as the caller is covered, and a node that failed is left alone for a while
 * (exponential backoff per node). A tarpit or a node that answers hundreds of megabytes then costs
 * one bounded request now and then, not a stall of every checkpoint.
 */

/** An answer larger than the limit: the body was cancelled once the limit was crossed. */
export class AnswerTooLarge extends Error {
  constructor(url: string, limit: number) {
    super(`answer of ${url} exceeds ${limit} bytes`);
    this.name = "AnswerTooLarge";
  }
}

export class AnswerStatus extends Error {
  constructor(
    url: string,
    readonly status: number,
  ) {
    super(`${url} answered HTTP ${status}`);
    this.name = "AnswerStatus";
  }
}

export interface FetchLimits {
  /** Whole request, body included (ms). */
  timeoutMs: number;
  /** Bytes of body read at most. */
  maxBytes: number;
  signal?: AbortSignal;
  /** POSTs this as JSON instead of a GET. */
  body?: unknown;
}

/**
 * GETs `url` (POSTs `limits.body` to it when given) and parses its JSON body, reading at most `maxBytes` of it (a larger answer is
 * cancelled as soon as it is known to be larger: by its Content-Length, else while streaming).
 */
export async function fetchJsonLimited(url: string, limits: FetchLimits): Promise<unknown> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([timeout, limits.signal]) : timeout;
  const res = await fetch(url, {
    signal,
    ...(limits.body === undefined
      ? { headers: { accept: "application/json" } }
      : {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/json" },
          body: JSON.stringify(limits.body),
        }),
  });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new AnswerStatus(url, res.status);
  }
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new AnswerTooLarge(url, limits.maxBytes);
  }
  if (!res.body) return JSON.parse("null");
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limits.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new AnswerTooLarge(url, limits.maxBytes);
    }
    chunks.push(value);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
}

/** Per-node exponential backoff: a node that failed is not asked again until its time is up. */
export class NodeBackoff {
  private readonly state = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly baseMs = 1_000,
    private readonly maxMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  ready(node: string): boolean {
    const s = this.state.get(node);
    return !s || this.now() >= s.until;
  }

  failed(node: string): void {
    const failures = (this.state.get(node)?.failures ?? 0) + 1;
    const wait = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 20));
    this.state.set(node, { failures, until: this.now() + wait });
  }

  succeeded(node: string): void {
    this.state.delete(node);
  }

  /** Consecutive failures of `node` (0 when it answered last time). */
  failures(node: string): number {
    return this.state.get(node)?.failures ?? 0;
  }
}

export interface RaceOptions {
  backoff: NodeBackoff;
  /** Whether what was gathered so far is enough: the other requests are then cancelled. */
  enough?: () => boolean;
  /** After the first useful answer, how long the slower nodes may still add to it (ms). */
  graceMs: number;
  /** Called with a node that failed (for logs). */
  onFailure?: (node: string, error: unknown) => void;
}

/**
 * Asks every node not backing off at once with `ask(node, signal)`, which handles the node's
 * answer itself and returns whether it was useful. Returns when `enough()` holds, when `graceMs`
 * passed since the first useful answer, or when every node answered or failed; the requests still
 * running are then aborted. A node whose request throws (timeout, error, too large) backs off.
 */
export async function askNodes(
  nodes: readonly string[],
  ask: (node: string, signal: AbortSignal) => Promise<boolean>,
  options: RaceOptions,
): Promise<{ asked: number; useful: number }> {
  const ready = nodes.filter((n) => options.backoff.ready(n));
  if (!ready.length) return { asked: 0, useful: 0 };
  const stop = new AbortController();
  let useful = 0;
  let pending = ready.length;
  let grace: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (grace) clearTimeout(grace);
      stop.abort();
      resolve();
    };
    for (const node of ready) {
      void (async () => {
        let ok = false;
        try {
          ok = await ask(node, stop.signal);
          options.backoff.succeeded(node);
        } catch (e) {
          // Cancelled by us because we were covered: not the node's fault.
          if (!stop.signal.aborted) {
            options.backoff.failed(node);
            options.onFailure?.(node, e);
          }
        }
        pending--;
        if (stop.signal.aborted) return;
        if (ok) {
          useful++;
          grace ??= setTimeout(finish, options.graceMs);
        }
        if (pending === 0 || (ok && options.enough?.())) finish();
      })();
    }
  });
  return { asked: ready.length, useful };
}
