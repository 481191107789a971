import { keccak256, toHex, type Address, type Hex } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import type { Chain } from "../config/load.js";
import type { Acceptance } from "../nodeApi/types.js";
import type { NodeContext } from "../node.js";
import { formatChainCode } from "../protocol/index.js";
import { MirroredSigners } from "../relay/signers.js";
import {
  BundleRefusedError,
  bundleToJson,
  parseBundle,
  verifyBundle,
  type Bundle,
  type BundleChecks,
  type VerifiedBundle,
} from "./bundle.js";
import { deliveredAtHome } from "./homeDelivered.js";
import { peerRoute } from "./peers.js";
import { relayerPresent } from "./presence.js";

/** How long a stored bundle is kept for its jobs (as long as completed jobs are). */
const BUNDLE_TTL_S = 7 * 24 * 3600;

export type { Acceptance };

/** What `BundleInbox.accept` did with a bundle, and the checkpoint it verified. */
export interface AcceptedBundle {
  checkpoint: { origin: bigint; count: number };
  /** The answer to the bundle's sender (`POST /v1/bundles`). */
  acceptance: Acceptance;
}

/** The Redis key saying the home relayer cannot deliver message `id` with its bundle's signatures. */
function shortKey(prefix: string, id: Hex | string): string {
  return `${prefix}:wait-signers:${id.toLowerCase()}`;
}

/** What the home relayer found its bundle's signatures short of, for one message. */
export interface SignerShortfall {
  /** The signatures the bundle it holds carries. */
  signers: number;
  /** That bundle's checkpoint count. */
  count: number;
}

/**
 * Records that the home relayer cannot deliver bundled message `id` with the `signers`
 * signatures of its bundle (a wait-signers revert): the message's journey reports it
 * (`wait-signers`) to the origin's node, which hands it again with more.
 */
export async function markSignerShortfall(
  ctx: NodeContext,
  id: Hex,
  shortfall: SignerShortfall,
): Promise<void> {
  await ctx.redis.set(
    shortKey(ctx.cfg.redis.prefix, id),
    JSON.stringify(shortfall),
    "EX",
    BUNDLE_TTL_S,
  );
}

/** The shortfall recorded for message `id`, if its relayer waits for more signatures. */
export async function signerShortfall(
  ctx: NodeContext,
  id: Hex | string,
): Promise<SignerShortfall | undefined> {
  const json = await ctx.redis.get(shortKey(ctx.cfg.redis.prefix, id));
  return json ? (JSON.parse(json) as SignerShortfall) : undefined;
}

/** The Redis key of a stored bundle. */
function bundleKey(prefix: string, v: VerifiedBundle): string {
  const cp = v.bundle.checkpoint;
  const ids = keccak256(toHex(v.fresh.map((f) => f.id.slice(2)).join("")));
  return `${prefix}:bundle:${formatChainCode(cp.origin)}:${cp.count}:${ids.slice(2, 18)}`;
}

/** A stored (verified) bundle, as the relayer reads it back for delivery. */
export async function loadBundle(ctx: NodeContext, key: string): Promise<Bundle | undefined> {
  const json = await ctx.redis.get(key);
  return json ? parseBundle(JSON.parse(json)) : undefined;
}

/**
 * The destination side of the hand-over (docs/protocol.md 4.2): a bundle pushed by a peer (or
 * pulled from one) is verified against the home chain only — the home Inbox's mirror for its
 * signers, the home RouteRegistry's record for its domain and policy, the home Inbox for what is
 * delivered and what the signers can still cover — and only then stored and its messages queued
 * for the home relayer, which delivers from the stored bundle with no index of the origin.
 */
export class BundleInbox {
  private readonly mirror: MirroredSigners;
  readonly checks: BundleChecks;

  constructor(private readonly ctx: NodeContext) {
    const home = ctx.cfg.homeChain;
    const client = ctx.client(home.code);
    this.mirror = new MirroredSigners(client, home);
    const inbox = home.contracts.inbox;
    this.checks = {
      home: home.code,
      homeInbox: inbox,
      route: (origin) => peerRoute(ctx, origin),
      // The mirror is read by the origin's code alone (from the home Inbox's logs).
      mirror: (origin) => this.mirror.stakes({ code: origin } as Chain),
      delivered: (messages) =>
        deliveredAtHome(ctx, messages, (all) =>
          Promise.all(
            all.map((m) =>
              client.readContract({
                address: inbox,
                abi: IInboxAbi,
                functionName: "isMessageDelivered",
                args: [m.message],
              }),
            ),
          ),
        ),
      freeCapacity: (origin, signers: readonly Address[]) =>
        Promise.all(
          signers.map((s) =>
            client.readContract({
              address: inbox,
              abi: IInboxAbi,
              functionName: "freeCapacity",
              args: [origin, s],
            }),
          ),
        ),
    };
  }

  /**
   * Verifies the bundle in `json`, stores it and queues its undelivered messages (idempotent by
   * message id: a message already queued keeps its job).
   * @throws BundleRefusedError with the reason it was refused; nothing is stored or queued then
   *   (`no-relayer` first, before any work: no relayer of the home chain reads this Redis)
   */
  async accept(json: unknown): Promise<AcceptedBundle> {
    if (!(await relayerPresent(this.ctx)))
      throw new BundleRefusedError(
        "no-relayer",
        "no relayer of this chain runs on this node: hand the bundle to another entry node",
      );
    const verified = await verifyBundle(parseBundle(json), this.checks);
    const { ctx } = this;
    const prefix = ctx.cfg.redis.prefix;
    const key = bundleKey(prefix, verified);
    await ctx.redis.set(
      key,
      JSON.stringify(bundleToJson({ ...verified.bundle, signatures: verified.signatures })),
      "EX",
      BUNDLE_TTL_S,
    );
    const fresh: typeof verified.fresh = [];
    const known: Hex[] = [];
    const marks = await Promise.all(
      verified.fresh.map((f) =>
        ctx.redis.set(`${prefix}:bundled:${f.id.toLowerCase()}`, key, "EX", BUNDLE_TTL_S, "NX"),
      ),
    );
    verified.fresh.forEach((f, i) => (marks[i] === "OK" ? fresh.push(f) : known.push(f.id)));
    // Every fresh message is queued (a job id is its message id, so a queued one stays as it is):
    // a crash between the marks and the queue loses nothing. The marks only tell new from known.
    const jobOf = (f: (typeof verified.fresh)[number]) => ({
      id: f.id,
      origin: formatChainCode(f.decoded.origin),
      destination: formatChainCode(f.decoded.destination),
      nonce: f.decoded.nonce,
      message: f.message,
      bundle: key,
    });
    await ctx.queues.enqueue(verified.fresh.map(jobOf), "bundle");
    // A queued message handed again with more signatures (its relayer reported it could not
    // deliver it from its bundle) delivers from this bundle instead: its job is replaced, unless a
    // worker holds it right now (the origin hands it again after the next report). The Inbox
    // delivers a message once, whichever bundle carries it.
    const replaced: Hex[] = [];
    const knownSet = new Set(known);
    const again = verified.fresh.filter((f) => knownSet.has(f.id));
    const markKeys = again.map((f) => `${prefix}:bundled:${f.id.toLowerCase()}`);
    const marked = markKeys.length ? await ctx.redis.mget(markKeys) : [];
    // The earlier bundles those messages came in, each loaded once (a bundle of 1,000 overlapping
    // another would otherwise parse it 1,000 times).
    const earlier = new Map<string, Awaited<ReturnType<typeof loadBundle>>>();
    for (const [i, f] of again.entries()) {
      const markKey = markKeys[i]!;
      const was = marked[i];
      if (!was || was === key) continue;
      if (!earlier.has(was)) earlier.set(was, await loadBundle(ctx, was));
      const old = earlier.get(was);
      if (old && old.signatures.length >= verified.signatures.length) continue;
      const done = await ctx.queues.requeue(jobOf(f), "bundle");
      if (done !== "queued") continue;
      await ctx.redis.set(markKey, key, "EX", BUNDLE_TTL_S);
      await ctx.redis.del(shortKey(prefix, f.id));
      replaced.push(f.id);
    }
    ctx.metrics.pushesReceived.inc({ outcome: "accepted" }, fresh.length);
    const replacedSet = new Set(replaced);
    const { origin, count } = verified.bundle.checkpoint;
    return {
      checkpoint: { origin, count },
      acceptance: {
        accepted: fresh.map((f) => f.id),
        known: known.filter((id) => !replacedSet.has(id)),
        delivered: verified.delivered,
        replaced,
      },
    };
  }
}
