/**
 * The routing table signed by stake (docs/protocol.md, "Routing table"): the route records this
 * node holds, one per community, each verified before it is kept (signature, expiry, EVM chain id,
 * and a signer mirrored for that peer by the home Inbox, or bonded on the home StakingHub for our
 * own community); the highest sequence wins. Records are kept in Redis (shared by the node's
 * processes), served by `GET /v1/routes`, and pulled from the bootstrap nodes and the peers' entry
 * nodes on a timer. When the node has an attester key and `routes.announce`, it signs its own
 * community's record. The relay asks `peerEntryNodes(code)`.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { getNodeRoutes } from "../nodeApi/index.js";
import { askNodes, NodeBackoff } from "../peers/entryNodes.js";
import { formatChainCode } from "../protocol/index.js";
import {
  recordFromJson,
  recordToJson,
  RouteRecordError,
  signRouteRecord,
  type SignedRouteRecord,
} from "./record.js";
import { admitRecord, SignerTrust, type SignerStake } from "./trust.js";

/** Records read from one answer at most, and the answer's size: a peer's junk stays bounded. */
export const MAX_RECORDS_PER_ANSWER = 64;
export const MAX_ROUTES_ANSWER_BYTES = 256 * 1024;
const PULL_TIMEOUT_MS = 5_000;

/** A record this node holds, with the stake that made it acceptable. */
export interface HeldRoute {
  record: SignedRouteRecord;
  stake: SignerStake;
}

export type AcceptOutcome = "accepted" | "known";

const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

export class RouteTable {
  private readonly held = new Map<bigint, HeldRoute>();
  private readonly trust: SignerTrust;
  private readonly backoff = new NodeBackoff(1_000, 300_000);
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private attesterKey: Hex | undefined;

  constructor(private readonly ctx: NodeContext) {
    this.trust = new SignerTrust(ctx.cfg.homeChain, ctx.client(ctx.cfg.homeChain.code));
    this.log = ctx.log.child({ component: "routes" });
  }

  private get key(): string {
    return `${this.ctx.cfg.redis.prefix}:routes`;
  }

  /**
   * Verifies `record` and keeps it when its sequence is higher than the one held for its chain.
   * @throws RouteRecordError naming why it is refused
   */
  async accept(record: SignedRouteRecord): Promise<AcceptOutcome> {
    const code = formatChainCode(record.code);
    const { signer, ...stake } = await admitRecord(
      record,
      this.ctx.cfg.chainList,
      this.trust,
      nowSeconds(),
    );
    const current = this.held.get(record.code);
    if (current && current.record.sequence >= record.sequence) {
      if (current.record.signature.toLowerCase() === record.signature.toLowerCase()) return "known";
      throw new RouteRecordError(
        "stale",
        `sequence ${record.sequence} is not above the held ${current.record.sequence}`,
      );
    }
    this.held.set(record.code, { record, stake });
    await this.ctx.redis.hset(this.key, code, JSON.stringify(recordToJson(record)));
    this.log.info(
      { chain: code, sequence: record.sequence.toString(), signer, nodes: record.nodes },
      "route record accepted",
    );
    return "accepted";
  }

  /** Reads the records other processes of this node stored, verifying each again. */
  async load(): Promise<void> {
    const stored = await this.ctx.redis.hgetall(this.key);
    for (const [code, text] of Object.entries(stored)) {
      try {
        await this.accept(recordFromJson(JSON.parse(text)));
      } catch (e) {
        // A chain read that failed says nothing about the record: kept for the next round.
        if (!(e instanceof RouteRecordError) || e.reason === "stale") continue;
        // Expired or no longer staked: forgotten (a fresh record replaces it when pulled).
        this.held.delete(BigInt(`0x${code}`));
        await this.ctx.redis.hdel(this.key, code);
        this.log.info({ chain: code, reason: errorText(e) }, "held route record dropped");
      }
    }
  }

  /** The records held and not expired, for `GET /v1/routes`. */
  records(): HeldRoute[] {
    const now = nowSeconds();
    return [...this.held.values()].filter((h) => h.record.expiry > now);
  }

  /** The record held for `code`, when not expired. */
  entry(code: bigint): HeldRoute | undefined {
    const h = this.held.get(code);
    return h && h.record.expiry > nowSeconds() ? h : undefined;
  }

  /**
   * The entry nodes of chain `code` to hand messages to: those of its verified record, else the
   * ones the operator wrote in the config for it (never nodes a peer named without a record).
   */
  peerEntryNodes(code: bigint): string[] {
    const held = this.entry(code);
    if (held) return [...held.record.nodes];
    return [...(this.ctx.cfg.chainList.find((c) => c.code === code)?.nodes ?? [])];
  }

  /** Signs (again) the home community's record when the announced URLs changed or half its life passed. */
  async announce(): Promise<void> {
    const { cfg } = this.ctx;
    const urls = cfg.routes.announce;
    if (!this.attesterKey || urls.length === 0) return;
    const now = nowSeconds();
    const ttl = BigInt(cfg.routes.ttlSeconds);
    const own = this.held.get(cfg.homeChain.code)?.record;
    const account = privateKeyToAccount(this.attesterKey);
    if (
      own &&
      own.signer === account.address &&
      own.nodes.join(" ") === urls.join(" ") &&
      own.expiry - now > ttl / 2n
    )
      return;
    // A timestamp, kept above whatever this community signed before (the held record persists).
    const sequence = own && own.sequence >= now ? own.sequence + 1n : now;
    const record = await signRouteRecord(account, {
      code: cfg.homeChain.code,
      evmChainId: BigInt(cfg.homeChain.chainId),
      nodes: urls,
      sequence,
      expiry: now + ttl,
    });
    try {
      await this.accept(record);
    } catch (e) {
      this.log.warn({ err: errorText(e) }, "our own route record is refused");
    }
  }

  /** Nodes asked for records: the bootstrap nodes, then every entry node known. */
  sources(): string[] {
    const { cfg } = this.ctx;
    const own = new Set(cfg.routes.announce);
    const all = new Set<string>(cfg.routes.bootstrap);
    for (const c of cfg.chainList) for (const n of this.peerEntryNodes(c.code)) all.add(n);
    return [...all].filter((n) => !own.has(n));
  }

  /**
   * Asks `nodes` (default: `sources()`) for their records and accepts what verifies. Returns the
   * refusals seen (for logs and tests).
   */
  async pull(nodes = this.sources()): Promise<{ accepted: number; refused: RouteRecordError[] }> {
    let accepted = 0;
    const refused: RouteRecordError[] = [];
    await askNodes(
      nodes,
      async (node, signal) => {
        const body = await getNodeRoutes(node, {
          timeoutMs: PULL_TIMEOUT_MS,
          maxBytes: MAX_ROUTES_ANSWER_BYTES,
          signal,
        });
        // Typed as an honest node answers; a hostile one may send anything (verified below).
        const list: unknown[] = Array.isArray(body?.records) ? body.records : [];
        for (const raw of list.slice(0, MAX_RECORDS_PER_ANSWER)) {
          try {
            if ((await this.accept(recordFromJson(raw))) === "accepted") accepted++;
          } catch (e) {
            if (!(e instanceof RouteRecordError)) throw e;
            if (e.reason !== "stale") refused.push(e);
            this.log.debug({ node, reason: e.reason, err: e.message }, "route record refused");
          }
        }
        return true;
      },
      {
        backoff: this.backoff,
        graceMs: PULL_TIMEOUT_MS,
        onFailure: (node, e) =>
          this.log.debug({ node, err: errorText(e) }, "no route records from node"),
      },
    );
    return { accepted, refused };
  }

  /** One round: records of the other processes, our own record, then the peers'. */
  refresh(): Promise<void> {
    this.round ??= (async () => {
      try {
        await this.load();
        await this.announce();
        await this.pull();
      } catch (e) {
        this.log.warn({ err: errorText(e) }, "route records round failed");
      }
    })().finally(() => (this.round = undefined));
    return this.round;
  }

  /** Starts the rounds (the first at once); `attesterKey` signs our community's record. */
  start(attesterKey?: Hex): void {
    this.attesterKey = attesterKey;
    const tick = () => {
      void this.refresh().finally(() => {
        if (!this.ctx.shutdown.signal.aborted)
          this.timer = setTimeout(tick, this.ctx.cfg.routes.pullIntervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }
}
