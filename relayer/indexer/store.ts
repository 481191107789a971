import { randomUUID } from "node:crypto";

import type { Redis } from "ioredis";
import type { Hex } from "viem";

/**
 * What the indexer of one chain keeps in Redis, and the reads every other role makes of it.
 *
 * Everything here can be rebuilt from the chain: a Redis that lost its data (restart without
 * persistence) just makes the indexer start over from the config's start block. Writes are
 * idempotent (hash fields keyed by nonce / block / id) and committed once per batch together with
 * the cursor, so a crash between two batches re-reads the second one and changes nothing twice.
 *
 * Keys (P = redis.prefix, C = chain code in hex):
 *   P:chain:C:cursor      hash  block, hash, leaves, gen   (last block fully indexed)
 *   P:chain:C:blocks      hash  block number -> block hash (recent batch ends, for reorgs)
 *   P:chain:C:leaves      hash  nonce -> message id
 *   P:chain:C:snapshots   hash  count -> JSON {root, block}
 *   P:chain:C:snapcounts  zset  count scored by count (which snapshot covers a nonce, in O(log n))
 *   P:chain:C:deliveries  zset  message id scored by block (deliveries seen on this chain's Inbox)
 *   P:msg:ID              hash  origin, nonce, destination, message, block, tx
 *   P:delivery:ID         hash  chain, block, tx, status (delivered|failed), kind, reason
 */

export interface Cursor {
  /** Last block whose events are all stored. */
  block: number;
  hash: Hex;
  /** Leaves stored (= the Outbox count at `block`). */
  leaves: number;
  /** Changes whenever history is rewritten (reorg, rebuild); readers drop their caches. */
  gen: string;
}

export interface StoredMessage {
  id: Hex;
  origin: bigint;
  nonce: number;
  destination: bigint;
  message: Hex;
  block: number;
  tx: Hex;
}

export interface StoredSnapshot {
  count: number;
  root: Hex;
  block: number;
}

export interface StoredDelivery {
  id: Hex;
  /** The destination chain the event was seen on. */
  chain: bigint;
  block: number;
  tx: Hex;
  /** `retried`: a failed handler later succeeded through Inbox.retry. */
  status: "delivered" | "failed" | "retried";
  /** For failures: IInbox.FailureKind. */
  kind?: number;
  reason?: Hex;
}

/** One batch of indexed events, committed atomically with the new cursor. */
export interface IndexBatch {
  from: Cursor;
  to: { block: number; hash: Hex };
  messages: StoredMessage[];
  snapshots: StoredSnapshot[];
  deliveries: StoredDelivery[];
}

const BLOCK_HISTORY = 256;

export class ChainStore {
  readonly key: (name: string) => string;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    readonly code: bigint,
  ) {
    const base = `${prefix}:chain:${code.toString(16)}`;
    this.key = (name) => `${base}:${name}`;
  }

  msgKey(id: Hex): string {
    return `${this.prefix}:msg:${id.toLowerCase()}`;
  }

  deliveryKey(id: Hex): string {
    return `${this.prefix}:delivery:${id.toLowerCase()}`;
  }

  async cursor(): Promise<Cursor | undefined> {
    const c = await this.redis.hgetall(this.key("cursor"));
    if (!c.block) return undefined;
    return { block: Number(c.block), hash: c.hash as Hex, leaves: Number(c.leaves), gen: c.gen! };
  }

  /** A fresh cursor just before `startBlock` (first start, or after a wipe). */
  async initCursor(startBlock: number): Promise<Cursor> {
    const cursor: Cursor = { block: startBlock - 1, hash: "0x", leaves: 0, gen: randomUUID() };
    await this.redis.hset(this.key("cursor"), {
      ...cursor,
      block: String(cursor.block),
      leaves: String(cursor.leaves),
    });
    return cursor;
  }

  /**
   * Stores a batch and moves the cursor, in one MULTI. `guard` (the leader lock) and the cursor are
   * WATCHed: if another process took over the chain or moved the cursor since the batch was read,
   * nothing is written and false is returned.
   */
  async commit(batch: IndexBatch, guard?: { key: string; value: string }): Promise<boolean> {
    const r = this.redis;
    if (guard) {
      await r.watch(guard.key, this.key("cursor"));
      const [holder, [block, gen]] = await Promise.all([
        r.get(guard.key),
        r.hmget(this.key("cursor"), "block", "gen"),
      ]);
      if (holder !== guard.value || Number(block) !== batch.from.block || gen !== batch.from.gen) {
        await r.unwatch();
        return false;
      }
    }
    const m = r.multi();
    for (const msg of batch.messages) {
      m.hset(this.key("leaves"), String(msg.nonce), msg.id);
      m.hset(this.msgKey(msg.id), {
        id: msg.id,
        origin: msg.origin.toString(),
        nonce: String(msg.nonce),
        destination: msg.destination.toString(),
        message: msg.message,
        block: String(msg.block),
        tx: msg.tx,
      });
    }
    for (const s of batch.snapshots) {
      m.hset(
        this.key("snapshots"),
        String(s.count),
        JSON.stringify({ root: s.root, block: s.block }),
      );
      m.zadd(this.key("snapcounts"), s.count, String(s.count));
    }
    for (const d of batch.deliveries) {
      if (d.status !== "retried") m.zadd(this.key("deliveries"), d.block, d.id.toLowerCase());
      const fields: Record<string, string> = {
        chain: d.chain.toString(),
        block: String(d.block),
        tx: d.tx,
        status: d.status,
      };
      if (d.kind !== undefined) fields.kind = String(d.kind);
      if (d.reason !== undefined) fields.reason = d.reason;
      if (d.status === "delivered") {
        // HandlerFailed may have been stored already (same transaction): keep its status.
        m.hsetnx(this.deliveryKey(d.id), "status", "delivered");
        m.hset(this.deliveryKey(d.id), { chain: fields.chain, block: fields.block, tx: fields.tx });
      } else if (d.status === "failed") {
        m.hset(this.deliveryKey(d.id), fields);
      } else {
        m.hset(this.deliveryKey(d.id), { status: "delivered", retriedTx: d.tx });
      }
    }
    const leaves = batch.from.leaves + batch.messages.length;
    m.hset(this.key("blocks"), String(batch.to.block), batch.to.hash);
    m.hset(this.key("cursor"), {
      block: String(batch.to.block),
      hash: batch.to.hash,
      leaves: String(leaves),
      gen: batch.from.gen,
    });
    const result = await m.exec();
    if (result === null) return false;
    for (const [err] of result) if (err) throw err;
    await this.trimBlocks();
    return true;
  }

  private async trimBlocks(): Promise<void> {
    const all = await this.redis.hkeys(this.key("blocks"));
    if (all.length <= BLOCK_HISTORY) return;
    const old = all
      .map(Number)
      .sort((a, b) => a - b)
      .slice(0, all.length - BLOCK_HISTORY);
    await this.redis.hdel(this.key("blocks"), ...old.map(String));
  }

  /** Recorded block hashes, newest first. */
  async blockHistory(): Promise<{ block: number; hash: Hex }[]> {
    const h = await this.redis.hgetall(this.key("blocks"));
    return Object.entries(h)
      .map(([b, hash]) => ({ block: Number(b), hash: hash as Hex }))
      .sort((a, b) => b.block - a.block);
  }

  /** Ids of the deliveries (Delivered / HandlerFailed) indexed in blocks after `block`. */
  async deliveriesAfter(block: number): Promise<Hex[]> {
    return (await this.redis.zrangebyscore(this.key("deliveries"), `(${block}`, "+inf")) as Hex[];
  }

  /**
   * Forgets everything after block `safe` (a reorg): leaves, messages, snapshots and deliveries
   * seen later, and the recorded hashes above it. The cursor moves back to `safe` with a new gen.
   */
  async rollback(safe: { block: number; hash: Hex }): Promise<Cursor> {
    const r = this.redis;
    const leafEntries = await r.hgetall(this.key("leaves"));
    const removeNonces: string[] = [];
    const removeIds: string[] = [];
    let keep = 0;
    const ids = Object.entries(leafEntries).sort((a, b) => Number(a[0]) - Number(b[0]));
    const blocks = ids.length
      ? await Promise.all(ids.map(([, id]) => r.hget(this.msgKey(id as Hex), "block")))
      : [];
    for (let i = 0; i < ids.length; i++) {
      const [nonce, id] = ids[i]!;
      if (Number(blocks[i] ?? Infinity) > safe.block) {
        removeNonces.push(nonce);
        removeIds.push(id);
      } else keep = Math.max(keep, Number(nonce) + 1);
    }
    const snaps = await r.hgetall(this.key("snapshots"));
    const removeSnaps = Object.entries(snaps)
      .filter(([, v]) => (JSON.parse(v) as { block: number }).block > safe.block)
      .map(([k]) => k);
    const removeDeliveries = await r.zrangebyscore(
      this.key("deliveries"),
      `(${safe.block}`,
      "+inf",
    );
    const removeBlocks = (await r.hkeys(this.key("blocks"))).filter((b) => Number(b) > safe.block);

    const m = r.multi();
    if (removeNonces.length) m.hdel(this.key("leaves"), ...removeNonces);
    for (const id of removeIds) m.del(this.msgKey(id as Hex));
    if (removeSnaps.length) m.hdel(this.key("snapshots"), ...removeSnaps);
    if (removeSnaps.length) m.zrem(this.key("snapcounts"), ...removeSnaps);
    for (const id of removeDeliveries) m.del(this.deliveryKey(id as Hex));
    if (removeDeliveries.length)
      m.zremrangebyscore(this.key("deliveries"), `(${safe.block}`, "+inf");
    if (removeBlocks.length) m.hdel(this.key("blocks"), ...removeBlocks);
    const next: Cursor = { block: safe.block, hash: safe.hash, leaves: keep, gen: randomUUID() };
    m.hset(this.key("cursor"), {
      block: String(next.block),
      hash: next.hash,
      leaves: String(next.leaves),
      gen: next.gen,
    });
    await m.exec();
    return next;
  }

  /** Deletes this chain's whole index (messages by id included) so it is rebuilt from scratch. */
  async wipe(): Promise<void> {
    const ids = await this.redis.hvals(this.key("leaves"));
    const deliveries = await this.redis.zrange(this.key("deliveries"), 0, -1);
    const m = this.redis.multi();
    for (const id of ids) m.del(this.msgKey(id as Hex));
    for (const id of deliveries) m.del(this.deliveryKey(id as Hex));
    for (const k of ["cursor", "blocks", "leaves", "snapshots", "snapcounts", "deliveries"])
      m.del(this.key(k));
    await m.exec();
  }

  /** Leaf ids for nonces [from, to). */
  async leaves(from: number, to: number): Promise<Hex[]> {
    const out: Hex[] = [];
    for await (const chunk of this.leafChunks(from, to)) out.push(...chunk);
    return out;
  }

  /**
   * Leaf ids for nonces [from, to), `chunk` at a time: a reader that consumes them as they come
   * (the tree) never holds a million ids, or a million field names, at once.
   */
  async *leafChunks(from: number, to: number, chunk = 10_000): AsyncGenerator<Hex[]> {
    for (let start = from; start < to; start += chunk) {
      const end = Math.min(to, start + chunk);
      const fields: string[] = [];
      for (let i = start; i < end; i++) fields.push(String(i));
      const values = await this.redis.hmget(this.key("leaves"), ...fields);
      for (let j = 0; j < values.length; j++) {
        if (!values[j])
          throw new Error(
            `chain ${this.code.toString(16)}: leaf ${start + j} missing from the index`,
          );
      }
      yield values as Hex[];
    }
  }

  async snapshots(): Promise<StoredSnapshot[]> {
    const h = await this.redis.hgetall(this.key("snapshots"));
    return Object.entries(h)
      .map(([count, v]) => ({
        count: Number(count),
        ...(JSON.parse(v) as { root: Hex; block: number }),
      }))
      .sort((a, b) => a.count - b.count);
  }

  /**
   * The first snapshot whose count is above `nonce` (the one that covers that message), found in
   * the count index instead of reading every snapshot. An index written before the count index
   * existed is completed once, from the snapshots hash.
   */
  async snapshotCovering(nonce: number): Promise<StoredSnapshot | undefined> {
    const [indexed, stored] = await Promise.all([
      this.redis.zcard(this.key("snapcounts")),
      this.redis.hlen(this.key("snapshots")),
    ]);
    if (indexed < stored) {
      const counts = await this.redis.hkeys(this.key("snapshots"));
      const m = this.redis.multi();
      for (const c of counts) m.zadd(this.key("snapcounts"), Number(c), c);
      await m.exec();
    }
    const [count] = await this.redis.zrangebyscore(
      this.key("snapcounts"),
      `(${nonce}`,
      "+inf",
      "LIMIT",
      0,
      1,
    );
    return count === undefined ? undefined : this.snapshot(Number(count));
  }

  async snapshot(count: number): Promise<StoredSnapshot | undefined> {
    const v = await this.redis.hget(this.key("snapshots"), String(count));
    return v ? { count, ...(JSON.parse(v) as { root: Hex; block: number }) } : undefined;
  }

  /** The stored message with id `id`, whatever chain indexed it. */
  static async message(redis: Redis, prefix: string, id: Hex): Promise<StoredMessage | undefined> {
    const h = await redis.hgetall(`${prefix}:msg:${id.toLowerCase()}`);
    if (!h.message) return undefined;
    return {
      id: h.id as Hex,
      origin: BigInt(h.origin!),
      nonce: Number(h.nonce),
      destination: BigInt(h.destination!),
      message: h.message as Hex,
      block: Number(h.block),
      tx: h.tx as Hex,
    };
  }

  /** The delivery of message `id` seen on its destination's Inbox, if indexed. */
  static async delivery(
    redis: Redis,
    prefix: string,
    id: Hex,
  ): Promise<StoredDelivery | undefined> {
    const h = await redis.hgetall(`${prefix}:delivery:${id.toLowerCase()}`);
    if (!h.block) return undefined;
    return {
      id,
      chain: BigInt(h.chain!),
      block: Number(h.block),
      tx: h.tx as Hex,
      status: h.status === "failed" ? "failed" : "delivered",
      kind: h.kind === undefined ? undefined : Number(h.kind),
      reason: h.reason as Hex | undefined,
    };
  }
}
