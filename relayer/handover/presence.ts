import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";

/** How often a running relayer renews its mark, and how long the mark outlives a dead one (ms). */
const RENEW_MS = 2_000;
const TTL_MS = 10_000;

function presenceKey(ctx: NodeContext): string {
  return `${ctx.cfg.redis.prefix}:relayer:alive:${ctx.cfg.home}`;
}

/**
 * Whether a relayer of the home chain runs on this node's Redis (in this process or another one
 * sharing the prefix): an entry node without one must not take a bundle, or its messages would
 * wait in a queue nobody reads (docs/protocol.md 4.2, `no-relayer`).
 */
export async function relayerPresent(ctx: NodeContext): Promise<boolean> {
  return (await ctx.redis.exists(presenceKey(ctx))) === 1;
}

/**
 * The mark a relayer process keeps in Redis while it runs (`P:relayer:alive:<home>`, renewed every
 * 2 s, gone 10 s after the process dies). Removed at a clean stop when it is this process's.
 */
export class RelayerPresence {
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** This process's mark (another relayer process on the same Redis writes its own). */
  private readonly token = `${process.pid}:${Math.random().toString(36).slice(2)}`;

  constructor(private readonly ctx: NodeContext) {
    this.log = ctx.log.child({ role: "relayer" });
  }

  /** Writes the mark (awaited, so bundles are taken as soon as the relayer starts) and renews it. */
  async start(): Promise<void> {
    const renew = () =>
      this.ctx.redis
        .set(presenceKey(this.ctx), this.token, "PX", TTL_MS)
        .catch((e: unknown) =>
          this.log.warn({ err: errorText(e) }, "could not renew the relayer's presence"),
        );
    await renew();
    this.timer = setInterval(() => void renew(), RENEW_MS);
  }

  /** Stops renewing; removes the mark if it is this process's (another relayer renews its own). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ctx.redis
      .eval(
        'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0',
        1,
        presenceKey(this.ctx),
        this.token,
      )
      .catch(() => undefined);
  }
}
