import {
  BaseError,
  BlockNotFoundError,
  getAbiItem,
  LimitExceededRpcError,
  ResponseBodyTooLargeError,
  type Hex,
  type PublicClient,
} from "viem";

import { IInboxAbi, IOutboxAbi } from "../chain/abis.js";
import { EventDecoder, type DecodedLog } from "../chain/events.js";
import type { Chain } from "../config/load.js";
import { Lease } from "../lease.js";
import { errorText, silentLogger, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { decodeMessage } from "../protocol/index.js";
import {
  ChainStore,
  type Cursor,
  type IndexBatch,
  type StoredDelivery,
  type StoredMessage,
  type StoredSnapshot,
} from "./store.js";
import { ChainView } from "./view.js";

const EVENTS = new EventDecoder([
  getAbiItem({ abi: IOutboxAbi, name: "Dispatch" }),
  getAbiItem({ abi: IOutboxAbi, name: "Snapshot" }),
  getAbiItem({ abi: IInboxAbi, name: "Delivered" }),
  getAbiItem({ abi: IInboxAbi, name: "HandlerFailed" }),
  getAbiItem({ abi: IInboxAbi, name: "Retried" }),
]);

export interface IndexerOptions {
  chain: Chain;
  client: PublicClient;
  store: ChainStore;
  log?: Logger;
  metrics?: Metrics;
  /** Lease TTL: how long a dead indexer blocks another process from taking over the chain. */
  leaseTtlMs?: number;
  /** Called with a batch's new messages before the batch is committed (must be idempotent). */
  onMessages?: (messages: StoredMessage[]) => Promise<void>;
  /**
   * Called after a reorg below the cursor with the ids of the deliveries it removed from the index
   * (their blocks left the chain): the relayer queues those messages again, whatever the depth.
   */
  onDeliveriesReverted?: (ids: Hex[]) => Promise<void>;
  /** Called after a batch is committed. */
  onCommitted?: (batch: IndexBatch) => void;
  /**
   * Awaited after a batch is committed, with the block the index now reaches: the relayer settles
   * its notes of confirmed deliveries there (relay/relayed.ts). A failure is logged, never fatal.
   */
  afterCommit?: (indexedTo: number) => Promise<void>;
  /**
   * The process's view of this chain's index, shared with the other roles: the indexer appends
   * to its tree directly, so one process holds one tree per chain (at 1M leaves, 64 MB each), not
   * one for the indexer and one for everyone else. Default: a view of its own.
   */
  view?: ChainView;
}

/** Our index disagrees with the chain in a way a reorg does not explain: rebuild from scratch. */
class IndexCorrupt extends Error {
  override name = "IndexCorrupt";
}

/**
 * Indexes one chain: the Outbox's Dispatch and Snapshot events and the Inbox's Delivered,
 * HandlerFailed and Retried events, only from blocks at least `confirmations` below the tip.
 *
 * - One process indexes a chain at a time (a Redis lease); others read the shared index.
 * - Each batch of blocks is committed atomically with the cursor; the hash of the batch's last
 *   block is recorded. Before each round the cursor block's hash is compared with the chain's: a
 *   change means a reorg reached below the cursor (deeper than the confirmations), and the index is
 *   rolled back to the newest recorded block still on the chain, then re-read from there.
 * - Every Snapshot event is checked against the tree rebuilt from our own leaves, and on (re)start
 *   the stored tree is checked against the Outbox's root read at the indexed block (not the tip).
 *   A disagreement must repeat on the next round (read again from the RPC) before anything is
 *   rebuilt: one wrong answer of a broken or lying RPC costs a round, not the index. A repeated
 *   one rolls the index back to the newest stored snapshot whose root our leaves, the stored event
 *   and the Outbox still agree on, and re-reads from there; only when none agrees is the index
 *   wiped and rebuilt from the start block.
 */
export class ChainIndexer {
  readonly view: ChainView;
  private readonly lease: Lease;
  private readonly log: Logger;
  private verifiedGen: string | undefined;
  /** Disagreements with the chain seen in a row (one is read again before anything is rebuilt). */
  private mismatches = 0;
  /** Blocks per eth_getLogs: chain.maxLogRange, halved while the answers are too large. */
  private logRange = Number.MAX_SAFE_INTEGER;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: IndexerOptions) {
    this.view = o.view ?? new ChainView(o.store);
    this.lease = new Lease(o.store.redis, o.store.key("indexer-lease"), o.leaseTtlMs ?? 15_000);
    this.log = (o.log ?? silentLogger).child({ role: "indexer", chain: o.chain.codeHex });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.lease.release();
  }

  private async run(): Promise<void> {
    this.log.info(
      { confirmations: this.o.chain.confirmations, startBlock: this.o.chain.startBlock },
      "indexer started",
    );
    while (!this.stopped) {
      let progressed = false;
      try {
        progressed = await this.step();
      } catch (e) {
        // A failed round leaves the view as committed (step drops its uncommitted leaves).
        this.o.metrics?.rpcErrors.inc({ chain: this.o.chain.codeHex, op: "index" });
        this.log.warn({ err: errorText(e) }, "indexing round failed, retrying");
      }
      if (!progressed && !this.stopped) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.o.chain.pollIntervalMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  /** One round: returns true when blocks were indexed (so the next round follows at once). */
  async step(): Promise<boolean> {
    const { chain, client, store } = this.o;
    if (!(await this.lease.acquire())) {
      this.verifiedGen = undefined;
      return false;
    }
    let cursor = (await store.cursor()) ?? (await store.initCursor(chain.startBlock));
    if (this.verifiedGen !== cursor.gen) {
      const verified = await this.verifyStored(cursor);
      if (!verified) return true; // read again at once: a disagreement must repeat
      cursor = verified;
    }

    const tip = Number(await client.getBlockNumber());
    const safe = tip - chain.confirmations;

    if (cursor.hash !== "0x") {
      const current = await blockOrMissing(client, cursor.block);
      if (!current || current.hash !== cursor.hash) {
        await this.handleReorg(cursor);
        return true;
      }
    }
    if (safe <= cursor.block) return false;

    const from = cursor.block + 1;
    const range = Math.min(this.logRange, chain.maxLogRange);
    const to = Math.min(safe, cursor.block + range);
    const before = await client.getBlock({ blockNumber: BigInt(to) });
    let logs: DecodedLog[];
    try {
      logs = await EVENTS.getLogs(
        client,
        [chain.contracts.outbox, chain.contracts.inbox],
        BigInt(from),
        BigInt(to),
      );
    } catch (e) {
      // Busy blocks: maxLogRange blocks of Dispatch logs can answer more than the RPC client
      // takes (10 MB) or the provider returns. The range is halved until the answer fits (and
      // grows back after), rather than the same request failing forever.
      if (!tooManyLogs(e)) throw e;
      if (range <= 1)
        throw new Error(
          `chain ${chain.codeHex}: the logs of block ${from} alone exceed what its RPC (chains.${chain.codeHex}.rpc) answers: ${errorText(e)}`,
        );
      this.logRange = Math.max(1, Math.floor(range / 2));
      this.log.warn({ from, to, range: this.logRange }, "too many logs in range, halving it");
      return true;
    }
    if (this.logRange < chain.maxLogRange)
      this.logRange = Math.min(chain.maxLogRange, this.logRange * 2);
    const after = await client.getBlock({ blockNumber: BigInt(to) });
    if (
      after.hash !== before.hash ||
      logs.some((l) => Number(l.blockNumber) === to && l.blockHash !== before.hash)
    ) {
      this.log.warn({ block: to }, "chain changed while reading, reading again");
      return true;
    }

    const { tree } = await this.view.sync();
    if (tree.count !== cursor.leaves) {
      this.view.invalidate();
      throw new Error(`tree has ${tree.count} leaves, cursor ${cursor.leaves}`);
    }
    // Leaves appended below are seen by the other roles of this process before the commit: they
    // come from confirmed blocks, and every reader asks for counts of committed snapshots. A
    // batch that is not committed takes its leaves back out.
    let committed = false;
    try {
      return (committed = await this.indexBatch(cursor, from, to, logs, after.hash as Hex));
    } finally {
      if (!committed) this.view.truncate(cursor.leaves);
    }
  }

  /** Applies one range's logs to the tree and commits them; false when the batch was dropped. */
  private async indexBatch(
    cursor: Cursor,
    from: number,
    to: number,
    logs: DecodedLog[],
    toHash: Hex,
  ): Promise<boolean> {
    const { chain, store } = this.o;
    const { tree } = await this.view.sync();
    const messages: StoredMessage[] = [];
    const snapshots: StoredSnapshot[] = [];
    const deliveries: StoredDelivery[] = [];
    const outbox = chain.contracts.outbox.toLowerCase();
    const inbox = chain.contracts.inbox.toLowerCase();
    try {
      for (const l of logs) {
        const address = l.address.toLowerCase();
        const block = Number(l.blockNumber);
        const tx = l.transactionHash as Hex;
        if (address === outbox && l.eventName === "Dispatch") {
          const { id, nonce, message } = l.args as { id: Hex; nonce: number; message: Hex };
          if (nonce !== tree.count)
            throw new IndexCorrupt(`Dispatch nonce ${nonce} where ${tree.count} was expected`);
          const decoded = decodeMessage(message);
          tree.append(id);
          messages.push({
            id,
            origin: decoded.origin,
            nonce,
            destination: decoded.destination,
            message,
            block,
            tx,
          });
        } else if (address === outbox && l.eventName === "Snapshot") {
          const { count, root } = l.args as { count: number; root: Hex };
          const ours = count <= tree.count ? tree.rootAt(count) : undefined;
          if (ours !== root) {
            throw new IndexCorrupt(
              `Snapshot at count ${count} has root ${root}, our leaves give ${ours ?? "(not that many leaves)"}`,
            );
          }
          snapshots.push({ count, root, block });
        } else if (address === inbox && l.eventName === "Delivered") {
          deliveries.push({
            id: l.args.id as Hex,
            chain: chain.code,
            block,
            tx,
            status: "delivered",
          });
        } else if (address === inbox && l.eventName === "HandlerFailed") {
          deliveries.push({
            id: l.args.id as Hex,
            chain: chain.code,
            block,
            tx,
            status: "failed",
            kind: l.args.kind as number,
            reason: l.args.reason as Hex,
          });
        } else if (address === inbox && l.eventName === "Retried") {
          deliveries.push({
            id: l.args.id as Hex,
            chain: chain.code,
            block,
            tx,
            status: "retried",
          });
        }
      }
    } catch (e) {
      if (e instanceof IndexCorrupt) {
        this.view.invalidate();
        if (this.repeated(e.message)) await this.rebuild(e.message);
        return true; // nothing of the batch is kept: the view starts over
      }
      throw e;
    }

    if (messages.length && this.o.onMessages) await this.o.onMessages(messages);
    const batch: IndexBatch = {
      from: cursor,
      to: { block: to, hash: toHash },
      messages,
      snapshots,
      deliveries,
    };
    // Reading and queueing a large batch may outlast the lease: renew it before writing, or a
    // batch slower than the lease would be dropped and read again forever.
    const committed =
      (await this.lease.acquire()) &&
      (await store.commit(batch, { key: this.lease.key, value: this.lease.value }));
    if (!committed) {
      this.log.warn("another process took the indexer lease or moved the cursor: batch dropped");
      return false;
    }
    this.mismatches = 0;
    this.o.metrics?.indexedBlock.set({ chain: chain.codeHex }, to);
    this.o.metrics?.indexedLeaves.set({ chain: chain.codeHex }, tree.count);
    for (const m of messages) {
      this.log.info(
        { msgId: m.id, nonce: m.nonce, destination: m.destination.toString(16), block: m.block },
        "message indexed",
      );
    }
    for (const s of snapshots)
      this.log.info({ count: s.count, root: s.root, block: s.block }, "snapshot indexed");
    for (const d of deliveries)
      this.log.info(
        { msgId: d.id, status: d.status, block: d.block, tx: d.tx },
        "delivery indexed",
      );
    if (to - from > 0 || logs.length)
      this.log.debug({ from, to, logs: logs.length }, "blocks indexed");
    this.o.onCommitted?.(batch);
    await this.o
      .afterCommit?.(to)
      .catch((e: unknown) =>
        this.log.warn({ err: errorText(e) }, "after-commit step failed: tried again next round"),
      );
    return true;
  }

  /**
   * On (re)start, and after any rewrite: the leaves in Redis must give the roots the Outbox
   * recorded. Checked against the latest stored snapshot and the Outbox itself at the cursor block.
   */
  private async verifyStored(cursor: Cursor): Promise<Cursor | undefined> {
    const { chain, client, store } = this.o;
    const { tree } = await this.view.sync();
    let problem: string | undefined;
    if (tree.count !== cursor.leaves)
      problem = `cursor says ${cursor.leaves} leaves, ${tree.count} stored`;
    if (!problem && cursor.hash !== "0x") {
      const blockNumber = BigInt(cursor.block);
      const onChainCount = await client
        .readContract({
          address: chain.contracts.outbox,
          abi: IOutboxAbi,
          functionName: "count",
          blockNumber,
        })
        .catch(() => undefined);
      if (onChainCount !== undefined && onChainCount !== tree.count) {
        problem = `Outbox count at block ${cursor.block} is ${onChainCount}, we hold ${tree.count} leaves`;
      }
      const snaps = await store.snapshots();
      const last = snaps[snaps.length - 1];
      if (!problem && last) {
        const onChainRoot = await this.rootAt(last.count, blockNumber);
        const ours = last.count <= tree.count ? tree.rootAt(last.count) : undefined;
        if (ours !== onChainRoot || last.root !== onChainRoot) {
          problem = `root at count ${last.count}: chain ${onChainRoot}, stored ${last.root}, our tree ${ours ?? "-"}`;
        }
      }
    }
    if (problem) return this.repeated(problem) ? this.rebuild(problem) : undefined;
    this.mismatches = 0;
    this.verifiedGen = cursor.gen;
    this.log.info(
      { block: cursor.block, leaves: cursor.leaves },
      "stored index checked against the chain",
    );
    return cursor;
  }

  /** The Outbox's root at `count` as of block `blockNumber`. */
  private rootAt(count: number, blockNumber: bigint): Promise<Hex> {
    return this.o.client.readContract({
      address: this.o.chain.contracts.outbox,
      abi: IOutboxAbi,
      functionName: "rootAt",
      args: [count],
      blockNumber,
    });
  }

  /**
   * Counts a disagreement with the chain; true when it repeats the previous round's (the index is
   * to be rebuilt), false the first time (the round is read again from the RPC).
   */
  private repeated(problem: string): boolean {
    if (++this.mismatches < 2) {
      this.log.warn(
        { problem },
        "index disagrees with the chain: reading again before rebuilding anything",
      );
      return false;
    }
    this.mismatches = 0;
    this.o.metrics?.treeMismatches.inc({ chain: this.o.chain.codeHex });
    return true;
  }

  /**
   * The block to roll back to after a confirmed disagreement: just below the newest stored
   * snapshot (of the last 16) whose root our leaves give, the event recorded and the Outbox holds
   * at the indexed block; every leaf dispatched before it is right (the root binds them).
   */
  private async lastAgreeing(): Promise<{ block: number; hash: Hex } | undefined> {
    const { chain, client, store } = this.o;
    const cursor = await store.cursor();
    if (!cursor || cursor.hash === "0x") return undefined;
    this.view.invalidate();
    const { tree } = await this.view.sync();
    for (const snap of (await store.snapshots()).reverse().slice(0, 16)) {
      const block = snap.block - 1;
      if (snap.count > tree.count || block < chain.startBlock) continue;
      if (tree.rootAt(snap.count) !== snap.root) continue;
      if ((await this.rootAt(snap.count, BigInt(cursor.block))) !== snap.root) continue;
      const b = await client.getBlock({ blockNumber: BigInt(block) });
      return { block, hash: b.hash };
    }
    return undefined;
  }

  private async rebuild(reason: string): Promise<Cursor> {
    const from = await this.lastAgreeing().catch((e: unknown) => {
      this.log.warn({ err: errorText(e) }, "no agreeing snapshot found: the chain did not answer");
      return undefined;
    });
    if (from) {
      this.log.error(
        { reason, from: from.block },
        "index disagrees with the chain: rebuilding it from the last snapshot that agrees",
      );
      const cursor = await this.o.store.rollback(from);
      this.view.invalidate();
      this.verifiedGen = cursor.gen;
      return cursor;
    }
    this.log.error(
      { reason },
      "index disagrees with the chain: rebuilding it from the start block",
    );
    await this.o.store.wipe();
    this.view.invalidate();
    const cursor = await this.o.store.initCursor(this.o.chain.startBlock);
    this.verifiedGen = cursor.gen;
    return cursor;
  }

  /** The cursor block is no longer on the chain: roll back to the newest recorded block that is. */
  private async handleReorg(cursor: Cursor): Promise<void> {
    const { client, store, chain } = this.o;
    let safe: { block: number; hash: Hex } = { block: chain.startBlock - 1, hash: "0x" };
    for (const h of await store.blockHistory()) {
      if (h.block >= cursor.block) continue;
      const b = await blockOrMissing(client, h.block);
      if (b?.hash === h.hash) {
        safe = h;
        break;
      }
    }
    this.o.metrics?.reorgs.inc({ chain: chain.codeHex });
    this.log.warn(
      { cursor: cursor.block, safe: safe.block },
      "reorg below the cursor: rolling back and reading again",
    );
    const reverted = await store.deliveriesAfter(safe.block);
    await store.rollback(safe);
    this.view.invalidate();
    this.verifiedGen = undefined;
    if (reverted.length) {
      this.log.warn(
        { count: reverted.length, safe: safe.block, msgIds: reverted.slice(0, 20) },
        "deliveries left the chain with the reorg: queueing them again",
      );
      await this.o.onDeliveriesReverted?.(reverted);
    }
  }
}

/**
 * The block at `n`, or undefined when the chain has no such block (a reorg shortened it). An RPC
 * failure throws: the round fails and is retried, it is not taken for a reorg (which would roll
 * the index back, down to the start block when every lookup fails).
 */
async function blockOrMissing(client: PublicClient, n: number) {
  try {
    return await client.getBlock({ blockNumber: BigInt(n) });
  } catch (e) {
    if (e instanceof BlockNotFoundError) return undefined;
    throw e;
  }
}

/** An eth_getLogs refused for the size of its answer (by viem's HTTP client or by the provider). */
function tooManyLogs(e: unknown): boolean {
  if (!(e instanceof BaseError)) return false;
  return Boolean(
    e.walk((x) => x instanceof ResponseBodyTooLargeError || x instanceof LimitExceededRpcError),
  );
}
