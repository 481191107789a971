import type { Metrics } from "../metrics.js";

/** One route's delivery economics, as this node's relayer counted them since it started. */
export interface RouteFees {
  origin: string;
  destination: string;
  /** Fees the messages it delivered carried (settlement tokens). */
  feesEarned: number;
  /** What its deliver transactions cost, in wei of the destination's native token. */
  gasSpentWei: number;
  /** The same in settlement tokens (relayer.fees.nativePrice of the destination; 0 without). */
  gasSpentTokens: number;
  /** feesEarned − gasSpentTokens. */
  profit: number;
}

/**
 * `GET /v1/fees`: profit per route from the relayer's fee counters (metrics.ts). Counters live in
 * the process, so these are this node's since its start; Prometheus sums several processes.
 */
export async function routeFees(metrics: Metrics): Promise<RouteFees[]> {
  const rows = new Map<string, RouteFees>();
  const row = (labels: Record<string, string | number>) => {
    const key = `${labels.origin}-${labels.destination}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        origin: String(labels.origin),
        destination: String(labels.destination),
        feesEarned: 0,
        gasSpentWei: 0,
        gasSpentTokens: 0,
        profit: 0,
      };
      rows.set(key, r);
    }
    return r;
  };
  for (const v of (await metrics.feesEarned.get()).values) row(v.labels).feesEarned = v.value;
  for (const v of (await metrics.gasSpentWei.get()).values) row(v.labels).gasSpentWei = v.value;
  for (const v of (await metrics.gasSpentTokens.get()).values)
    row(v.labels).gasSpentTokens = v.value;
  for (const r of rows.values()) r.profit = r.feesEarned - r.gasSpentTokens;
  return [...rows.values()];
}
