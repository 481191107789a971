/**
 * What an operator or a user wants to know about a route origin → destination, read from the
 * chains and the node's queues: the origin community's reserve held on the destination, its
 * credit there, its attesters' stake and how much more they can vouch for on the destination
 * (free capacity, the "headroom"), and the messages waiting in this node's queue for it.
 * Served by GET /v1/routes/state (the explorer) and turned into metrics (operatorMetrics.ts).
 */
import type { Address, PublicClient } from "viem";

import { erc20Abi, ICorrespondentBankAbi, IInboxAbi, IStakingHubAbi } from "../chain/abis.js";
import type { Chain } from "../config/load.js";
import { errorText } from "../log.js";
import type { NodeContext } from "../node.js";
import { relays } from "../relay/queue.js";
import { chainWithContracts } from "./chains.js";
import { tokens, withTimeout } from "./util.js";

const READ_TIMEOUT_MS = 5_000;

export interface AttesterState {
  address: Address;
  /** Stake bonded on the origin, in origin tokens. */
  bonded: string;
  /** Part of it allocated to the destination. */
  allocated: string;
  /** The stake the destination's Inbox mirrors (what it trusts). */
  mirrored: string;
  /** Mirrored stake minus what it vouched for within the exposure window. */
  headroom: string;
  slashed: boolean;
}

export interface Backlog {
  /** Messages of this route waiting, delayed or in flight in this node's queue. */
  size: number;
  /** Seconds since the oldest of them was queued (0 when none). */
  oldestAgeSeconds: number;
}

export interface RouteState {
  origin: string;
  destination: string;
  /** The origin community's reserve held by the destination's bank (destination tokens). */
  reserve: string | null;
  /** What the origin may still send to the destination, as the origin's bank knows it (18 decimals). */
  credit: string | null;
  attesters: AttesterState[];
  /** Sum of the attesters' headroom: the value at risk the route can still carry now. */
  headroom: string | null;
  /** Null when this node does not relay the route. */
  backlog: Backlog | null;
  /** Reads that failed (a chain's RPC down), each naming the chain. */
  errors: string[];
}

/** Decimals of a chain's settlement token (from the config's token, else the StakingHub's). */
async function decimalsOf(client: PublicClient, chain: Chain): Promise<number> {
  const token =
    chain.contracts.token ??
    (await client.readContract({
      address: chain.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "token",
    }));
  return client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" });
}

const decimalsCache = new WeakMap<Chain, Promise<number>>();
function decimals(ctx: NodeContext, chain: Chain): Promise<number> {
  let d = decimalsCache.get(chain);
  if (!d) {
    d = decimalsOf(ctx.client(chain.code), chain);
    d.catch(() => decimalsCache.delete(chain));
    decimalsCache.set(chain, d);
  }
  return d;
}

/** Backlog of every route this node relays, from its relay queues (one read per destination). */
export async function backlogs(ctx: NodeContext): Promise<Map<string, Backlog>> {
  const { cfg } = ctx;
  const out = new Map<string, Backlog>();
  const now = Date.now();
  const destinations = cfg.relayer.destinations ?? cfg.chainList.map((c) => c.codeHex);
  for (const destination of destinations) {
    for (const origin of cfg.chainList) {
      if (relays(cfg, origin.code, BigInt(`0x${destination}`)))
        out.set(`${origin.codeHex}:${destination}`, { size: 0, oldestAgeSeconds: 0 });
    }
    const jobs = await ctx.queues
      .queue(destination)
      .getJobs(["wait", "active", "delayed", "prioritized"], 0, 49_999);
    for (const job of jobs) {
      if (!job?.data) continue;
      const entry = out.get(`${job.data.origin}:${destination}`);
      if (!entry) continue;
      entry.size++;
      entry.oldestAgeSeconds = Math.max(
        entry.oldestAgeSeconds,
        Math.max(0, Math.round((now - job.timestamp) / 1000)),
      );
    }
  }
  return out;
}

/** The state of route `origin` → `destination` (both in the routing table). */
export async function routeState(
  ctx: NodeContext,
  origin: Chain,
  destination: Chain,
  backlog: Backlog | null,
): Promise<RouteState> {
  const errors: string[] = [];
  const at = async <T>(chain: Chain, what: string, read: () => Promise<T>): Promise<T | null> => {
    try {
      return await withTimeout(read(), READ_TIMEOUT_MS, what);
    } catch (e) {
      const text = `chain ${chain.codeHex} (${chain.name}): ${what}: ${(e as Error).message.split("\n")[0]}`;
      if (!errors.includes(text)) errors.push(text);
      return null;
    }
  };
  const o = ctx.client(origin.code);
  const d = ctx.client(destination.code);
  const [originDecimals, destinationDecimals, reserve, credit, list] = await Promise.all([
    at(origin, "token decimals", () => decimals(ctx, origin)),
    at(destination, "token decimals", () => decimals(ctx, destination)),
    at(destination, "reserve", () =>
      d.readContract({
        address: destination.contracts.bank,
        abi: ICorrespondentBankAbi,
        functionName: "reserve",
        args: [origin.code],
      }),
    ),
    at(origin, "credit", () =>
      o.readContract({
        address: origin.contracts.bank,
        abi: ICorrespondentBankAbi,
        functionName: "creditView",
        args: [destination.code],
      }),
    ),
    at(origin, "attesters", () =>
      o.readContract({
        address: origin.contracts.stakingHub,
        abi: IStakingHubAbi,
        functionName: "attesters",
      }),
    ),
  ]);
  const attesters: AttesterState[] = [];
  let headroom: bigint | null = list ? 0n : null;
  for (const address of list ?? []) {
    const [bonded, allocated, slashed, mirrored, free] = await Promise.all([
      at(origin, "bonded", () =>
        o.readContract({
          address: origin.contracts.stakingHub,
          abi: IStakingHubAbi,
          functionName: "bonded",
          args: [address],
        }),
      ),
      at(origin, "allocation", () =>
        o.readContract({
          address: origin.contracts.stakingHub,
          abi: IStakingHubAbi,
          functionName: "allocation",
          args: [address, destination.code],
        }),
      ),
      at(origin, "slashed", () =>
        o.readContract({
          address: origin.contracts.stakingHub,
          abi: IStakingHubAbi,
          functionName: "slashed",
          args: [address],
        }),
      ),
      at(destination, "mirrored stake", () =>
        d.readContract({
          address: destination.contracts.inbox,
          abi: IInboxAbi,
          functionName: "mirroredStake",
          args: [origin.code, address],
        }),
      ),
      at(destination, "free capacity", () =>
        d.readContract({
          address: destination.contracts.inbox,
          abi: IInboxAbi,
          functionName: "freeCapacity",
          args: [origin.code, address],
        }),
      ),
    ]);
    // Stakes are in the origin's token; the mirror and the exposure in 18 decimals (message amounts).
    const od = originDecimals ?? 18;
    attesters.push({
      address,
      bonded: bonded === null ? "?" : tokens(bonded, od),
      allocated: allocated === null ? "?" : tokens(allocated, od),
      mirrored: mirrored === null ? "?" : tokens(mirrored, 18),
      headroom: free === null ? "?" : tokens(free, 18),
      slashed: slashed ?? false,
    });
    if (free === null) headroom = null;
    else if (headroom !== null) headroom += free;
  }
  return {
    origin: origin.codeHex,
    destination: destination.codeHex,
    reserve:
      reserve === null || destinationDecimals === null
        ? null
        : tokens(reserve, destinationDecimals),
    credit: credit === null ? null : tokens(credit, 18),
    attesters,
    headroom: headroom === null ? null : tokens(headroom, 18),
    backlog,
    errors,
  };
}

/** Every route between the home chain and each peer, both ways. */
export async function homeRoutes(ctx: NodeContext): Promise<RouteState[]> {
  const { cfg } = ctx;
  const queued = await backlogs(ctx);
  const home = cfg.homeChain;
  const pairs: [Chain, Chain][] = [];
  const unplaced: RouteState[] = [];
  for (const entry of cfg.chainList) {
    if (entry.code === home.code) continue;
    try {
      // A peer's contracts: the home RouteRegistry's record (a bundles config lists none).
      const peer = await chainWithContracts(ctx, entry.code);
      pairs.push([home, peer], [peer, home]);
    } catch (e) {
      for (const [o, d] of [
        [home.codeHex, entry.codeHex],
        [entry.codeHex, home.codeHex],
      ] as const)
        unplaced.push({
          origin: o,
          destination: d,
          reserve: null,
          credit: null,
          attesters: [],
          headroom: null,
          backlog: queued.get(`${o}:${d}`) ?? null,
          errors: [errorText(e)],
        });
    }
  }
  const placed = await Promise.all(
    pairs.map(([o, d]) => routeState(ctx, o, d, queued.get(`${o.codeHex}:${d.codeHex}`) ?? null)),
  );
  return [...placed, ...unplaced];
}
