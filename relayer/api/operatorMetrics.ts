/**
 * Metrics an operator alerts on, in the manner of Hermes' (the IBC relayer's) backlog and wallet
 * metrics: per route the backlog (messages waiting, age of the oldest), the credit, the reserve
 * and the attesters' vouching headroom; per key of this node its gas balance; and whether each
 * dependency answers. Read from Redis and the chains when /metrics is scraped (at most every
 * REFRESH_MS, so a busy scraper costs nothing more), each read bounded in time.
 */
import { Gauge } from "prom-client";
import { formatEther, type Address } from "viem";

import type { NodeContext } from "../node.js";
import { checkHealth } from "./health.js";
import { homeRoutes, type RouteState } from "./routeState.js";
import { attempt, withTimeout } from "./util.js";

/** A key of this node: its role, address, and the chains it pays gas on. */
export interface Wallet {
  role: string;
  address: Address;
  chains: string[];
}

const REFRESH_MS = 5_000;

interface Reading {
  at: number;
  routes: RouteState[];
  balances: { chain: string; role: string; address: Address; ether: number }[];
  up: Record<string, number>;
}

export function registerOperatorMetrics(ctx: NodeContext, wallets: Wallet[]): void {
  const registers = [ctx.metrics.registry];
  let last: Reading | undefined;
  let reading: Promise<Reading> | undefined;
  const read = (): Promise<Reading> => {
    if (last && Date.now() - last.at < REFRESH_MS) return Promise.resolve(last);
    reading ??= (async () => {
      const health = await checkHealth(ctx);
      const routes = health.checks.redis.ok
        ? await attempt(withTimeout(homeRoutes(ctx), 8_000, "route state"))
        : undefined;
      const balances: Reading["balances"] = [];
      for (const w of wallets) {
        for (const code of w.chains) {
          const b = await attempt(
            withTimeout(
              ctx.client(BigInt(`0x${code}`)).getBalance({ address: w.address }),
              2_500,
              "eth_getBalance",
            ),
          );
          if (b.ok)
            balances.push({
              chain: code,
              role: w.role,
              address: w.address,
              ether: Number(formatEther(b.value)),
            });
        }
      }
      last = {
        at: Date.now(),
        routes: routes?.ok ? routes.value : [],
        balances,
        up: {
          redis: health.checks.redis.ok ? 1 : 0,
          home_rpc: health.checks.homeRpc.ok ? 1 : 0,
          indexer: health.checks.indexer.ok ? 1 : 0,
        },
      };
      return last;
    })().finally(() => (reading = undefined));
    return reading;
  };

  const perRoute = (
    name: string,
    help: string,
    value: (r: RouteState) => number | null | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["origin", "destination"],
      registers,
      async collect() {
        this.reset();
        for (const r of (await read()).routes) {
          const v = value(r);
          if (v !== null && v !== undefined && Number.isFinite(v))
            this.set({ origin: r.origin, destination: r.destination }, v);
        }
      },
    });

  perRoute(
    "distpos_route_backlog_messages",
    "Messages of the route waiting, delayed or in flight in this node's relay queue",
    (r) => r.backlog?.size,
  );
  perRoute(
    "distpos_route_backlog_oldest_seconds",
    "Seconds since the oldest message of the route waiting in this node's queue was queued",
    (r) => r.backlog?.oldestAgeSeconds,
  );
  perRoute(
    "distpos_route_credit_tokens",
    "What the origin may still send to the destination (its bank's credit view, tokens)",
    (r) => (r.credit === null ? null : Number(r.credit)),
  );
  perRoute(
    "distpos_route_reserve_tokens",
    "The origin community's reserve held by the destination's bank (tokens)",
    (r) => (r.reserve === null ? null : Number(r.reserve)),
  );
  perRoute(
    "distpos_route_headroom_tokens",
    "Value the origin's attesters can still vouch for on the destination (sum of free capacity)",
    (r) => (r.headroom === null ? null : Number(r.headroom)),
  );
  new Gauge({
    name: "distpos_attester_headroom_tokens",
    help: "One attester's free capacity on the destination (mirrored stake minus exposure)",
    labelNames: ["origin", "destination", "attester"],
    registers,
    async collect() {
      this.reset();
      for (const r of (await read()).routes)
        for (const a of r.attesters)
          if (a.headroom !== "?")
            this.set(
              { origin: r.origin, destination: r.destination, attester: a.address },
              Number(a.headroom),
            );
    },
  });
  new Gauge({
    name: "distpos_wallet_balance",
    help: "Gas balance of this node's keys (native coin, whole units)",
    labelNames: ["chain", "role", "address"],
    registers,
    async collect() {
      this.reset();
      for (const b of (await read()).balances)
        this.set({ chain: b.chain, role: b.role, address: b.address }, b.ether);
    },
  });
  new Gauge({
    name: "distpos_dependency_up",
    help: "1 when the dependency answers (redis, home_rpc, indexer within api.maxIndexerLag)",
    labelNames: ["dependency"],
    registers,
    async collect() {
      for (const [dependency, v] of Object.entries((await read()).up)) this.set({ dependency }, v);
    },
  });
}
