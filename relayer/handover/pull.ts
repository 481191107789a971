import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { pullBundle } from "../nodeApi/index.js";
import { NodeBackoff } from "../peers/entryNodes.js";
import { decodeMessage, formatChainCode } from "../protocol/index.js";
import { BundleRefusedError, parseBundle } from "./bundle.js";
import { BundleInbox } from "./inbound.js";
import { peerEntryNodes } from "./peers.js";

/**
 * The destination's pull (docs/protocol.md 4.2, the protocol's step 3): every
 * `relayer.pullIntervalMs`, one entry node of each peer (the first not backing off) is asked what
 * waits for our chain past the last nonce we took from it (`P:pull:<origin>`); the answer is a
 * bundle, accepted exactly as a pushed one. A lost push therefore only delays. The cursor moves
 * past a bundle once it is accepted or found delivered; a refusal the chain may cure (a mirror or
 * capacity not there yet) leaves it, so the same messages are asked for again.
 */
export class BundlePuller {
  private readonly inbox: BundleInbox;
  private readonly backoff = new NodeBackoff(1_000, 60_000);
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly ctx: NodeContext) {
    this.inbox = new BundleInbox(ctx);
    this.log = ctx.log.child({ role: "pull" });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((e: unknown) => this.log.warn({ err: errorText(e) }, "pull round failed"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.ctx.cfg.relayer.pullIntervalMs);
        });
    };
    this.timer = setTimeout(tick, this.ctx.cfg.relayer.pullIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pull from each peer. */
  async round(): Promise<void> {
    const { cfg } = this.ctx;
    for (const peer of cfg.chainList) {
      if (peer.code === cfg.homeChain.code) continue;
      const node = peerEntryNodes(this.ctx, peer.code).find((n) => this.backoff.ready(n));
      if (!node) continue;
      const cursorKey = `${cfg.redis.prefix}:pull:${peer.codeHex}`;
      const after = (await this.ctx.redis.get(cursorKey)) ?? "-1";
      let json: unknown;
      try {
        json = await pullBundle(
          node,
          { destination: cfg.home, after },
          {
            timeoutMs: 10_000,
            maxBytes: cfg.api.bundleBodyLimit,
            signal: this.ctx.shutdown.signal,
          },
        );
        this.backoff.succeeded(node);
      } catch (e) {
        this.backoff.failed(node);
        this.log.debug({ origin: peer.codeHex, node, err: errorText(e) }, "pull failed");
        continue;
      }
      if (json === undefined) continue; // nothing waiting
      let last = -1;
      try {
        const bundle = parseBundle(json);
        last = decodeMessage(bundle.messages[bundle.messages.length - 1]!).nonce;
        const { acceptance } = await this.inbox.accept(json);
        if (acceptance.accepted.length)
          this.log.info(
            { origin: peer.codeHex, node, accepted: acceptance.accepted.length },
            "bundle pulled",
          );
      } catch (e) {
        if (!(e instanceof BundleRefusedError)) throw e;
        this.log[e.reason === "already-delivered" ? "debug" : "warn"](
          { origin: formatChainCode(peer.code), node, reason: e.reason, detail: e.message },
          "pulled bundle refused",
        );
        if (e.reason !== "already-delivered") {
          if (e.reason !== "coverage-unavailable" && e.reason !== "unknown-signer")
            this.backoff.failed(node);
          continue;
        }
      }
      if (last >= 0) await this.ctx.redis.set(cursorKey, String(last));
    }
  }
}
