/**
 * GET /v1/health: each dependency of the node checked on its own, within a few seconds whatever is
 * down: Redis, the home chain's RPC, how far each chain's index is behind its chain, and whether a
 * key of this process is stuck (a transaction pending past the chain's txTimeoutMs or behind a
 * nonce gap: `distpos_sender_stuck`). Any of them failing makes the answer 503 with the problem
 * named (a stuck key by chain and address); a peer chain's RPC failing is a
 * warning (the node still serves its home chain).
 */
import type { ChainHealth, Health } from "../nodeApi/types.js";
import type { NodeContext } from "../node.js";
import { TtlCache } from "./cache.js";
import { attempt, withTimeout } from "./util.js";

/** How long one check may take. */
export const CHECK_TIMEOUT_MS = 2_500;

/** The answer's shape, declared once with the client that reads it. */
export type { ChainHealth, Health };

/**
 * Whether the node's main Redis connection is up, waiting at most `waitMs` for it (a connection
 * being made at start-up takes milliseconds). While Redis is down, commands would queue until it
 * is back: the API answers 503 instead.
 */
export async function redisReady(ctx: NodeContext, waitMs = 500): Promise<boolean> {
  if (ctx.redis.status === "ready") return true;
  if (ctx.redis.status === "end") return false;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ctx.redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    ctx.redis.once("ready", done);
  });
  // Read again: the status changed while we waited (TypeScript narrowed it before).
  return (ctx.redis.status as string) === "ready";
}

const healthCache = new WeakMap<NodeContext, TtlCache<"health", Health>>();

/**
 * The health answer, computed at most once per `api.statusCacheMs` whatever the request rate: the
 * chain reads it makes (each chain's tip) are not repeated per request.
 */
export function cachedHealth(ctx: NodeContext): Promise<Health> {
  let cache = healthCache.get(ctx);
  if (!cache) healthCache.set(ctx, (cache = new TtlCache(ctx.cfg.api.statusCacheMs, 1)));
  return cache.get("health", () => checkHealth(ctx));
}

export async function checkHealth(ctx: NodeContext): Promise<Health> {
  const { cfg } = ctx;
  const problems: string[] = [];
  const warnings: string[] = [];

  const redis = (await redisReady(ctx))
    ? await attempt(withTimeout(ctx.redis.ping(), CHECK_TIMEOUT_MS, "PING"))
    : { ok: false as const, error: `not connected (${ctx.redis.status})` };
  if (!redis.ok) problems.push(`redis: ${redis.error}`);

  // Every chain's tip, at once; the home chain's is the home RPC check.
  const tips = new Map(
    await Promise.all(
      cfg.chainList.map(
        async (c) =>
          [
            c.code,
            await attempt(
              withTimeout(
                ctx.client(c.code).getBlockNumber({ cacheTime: 0 }),
                CHECK_TIMEOUT_MS,
                "eth_blockNumber",
              ),
            ),
          ] as const,
      ),
    ),
  );
  const homeTip = tips.get(cfg.homeChain.code)!;
  if (!homeTip.ok) problems.push(`home RPC (chain ${cfg.home}): ${homeTip.error}`);

  const chains: Record<string, ChainHealth> = {};
  const lagging: string[] = [];
  for (const chain of cfg.chainList) {
    const cursor = redis.ok
      ? await attempt(withTimeout(ctx.store(chain.code).cursor(), CHECK_TIMEOUT_MS, "cursor"))
      : undefined;
    const indexed = cursor?.ok ? cursor.value : undefined;
    const tip = tips.get(chain.code)!;
    const indexedBlock = indexed?.block ?? chain.startBlock - 1;
    // With bundles (relayer.handover) only the home chain is indexed: a peer has no lag.
    const indexedHere = cfg.relayer.handover !== "bundles" || chain.code === cfg.homeChain.code;
    const lag =
      tip.ok && redis.ok && indexedHere
        ? Math.max(0, Number(tip.value) - chain.confirmations - indexedBlock)
        : null;
    if (lag !== null && lag > cfg.api.maxIndexerLag)
      lagging.push(`chain ${chain.codeHex} is ${lag} blocks behind`);
    if (!tip.ok && chain.code !== cfg.homeChain.code)
      warnings.push(`RPC of chain ${chain.codeHex} (${chain.name}): ${tip.error}`);
    chains[chain.codeHex] = {
      name: chain.name,
      indexedBlock: indexed?.block ?? null,
      leaves: indexed?.leaves ?? 0,
      tip: tip.ok ? Number(tip.value) : null,
      lag,
      rpc: tip.ok ? "ok" : tip.error,
    };
  }
  const indexerError = !redis.ok
    ? "unknown: redis is down"
    : lagging.length
      ? `${lagging.join("; ")} (api.maxIndexerLag ${cfg.api.maxIndexerLag})`
      : undefined;
  if (lagging.length) problems.push(`indexer: ${indexerError}`);

  const stuck = (await ctx.metrics.senderStuck.get()).values
    .filter((v) => v.value > 0)
    .map((v) => ({ chain: String(v.labels.chain), sender: String(v.labels.sender) }));
  for (const { chain, sender } of stuck)
    problems.push(
      `sender: key ${sender} is stuck on chain ${chain} (a transaction pending past chains.${chain}.txTimeoutMs, or behind a nonce gap)`,
    );

  return {
    status: problems.length ? "unhealthy" : "ok",
    home: cfg.home,
    roles: cfg.roles,
    checks: {
      redis: redis.ok ? { ok: true } : { ok: false, error: redis.error },
      homeRpc: homeTip.ok
        ? { ok: true, chain: cfg.home, block: Number(homeTip.value) }
        : { ok: false, chain: cfg.home, error: homeTip.error },
      indexer: {
        ok: redis.ok && lagging.length === 0,
        maxLag: cfg.api.maxIndexerLag,
        ...(indexerError ? { error: indexerError } : {}),
      },
      senders: { ok: stuck.length === 0, stuck },
    },
    problems,
    warnings,
    chains,
  };
}
