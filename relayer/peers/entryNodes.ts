/**
 * Asking a community's entry nodes (peers we do not control) for JSON: every answer is read with a
 * time limit and a size limit enforced while it streams in, nodes are asked at once and the asking
 * stops as soon as the caller is covered, and a node that failed is left alone for a while
 * (exponential backoff per node). A tarpit or a node that answers hundreds of megabytes then costs
 * one bounded request now and then, not a stall of every checkpoint. The requests themselves are
 * the node API client's (relayer/nodeApi/): each caller's per-node callback calls it.
 */

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
