import type { Hex } from "viem";

import { MerkleTree } from "../protocol/index.js";
import { ChainStore, type Cursor, type StoredSnapshot } from "./store.js";

/**
 * A read view of one chain's index with the Outbox tree kept in memory, synchronised from Redis on
 * demand: new leaves are appended, and a changed generation (reorg, rebuild, a Redis that lost its
 * data) rebuilds the tree. Any process can hold one, whichever process runs the indexer.
 */
export class ChainView {
  private cached: { tree: MerkleTree; gen: string } | undefined;
  private syncing: Promise<{ tree: MerkleTree; cursor: Cursor | undefined }> | undefined;

  constructor(readonly store: ChainStore) {}

  get code(): bigint {
    return this.store.code;
  }

  /** The tree as far as the index goes, with the cursor it reflects. */
  sync(): Promise<{ tree: MerkleTree; cursor: Cursor | undefined }> {
    // Concurrent callers share one synchronisation.
    this.syncing ??= this.doSync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async doSync(): Promise<{ tree: MerkleTree; cursor: Cursor | undefined }> {
    const cursor = await this.store.cursor();
    if (!cursor) {
      this.cached = undefined;
      return { tree: new MerkleTree(), cursor };
    }
    if (!this.cached || this.cached.gen !== cursor.gen) {
      this.cached = { tree: new MerkleTree(), gen: cursor.gen };
    }
    // A tree ahead of the cursor holds the batch this process's indexer is committing (leaves
    // of confirmed blocks); readers only use counts up to committed snapshots.
    const tree = this.cached.tree;
    if (tree.count < cursor.leaves) {
      for await (const ids of this.store.leafChunks(tree.count, cursor.leaves))
        for (const id of ids) tree.append(id);
    }
    return { tree, cursor };
  }

  /** Drops the cached tree: the next sync rebuilds it from the store. */
  invalidate(): void {
    this.cached = undefined;
  }

  /** Takes back leaves beyond `count` (a batch that was not committed). */
  truncate(count: number): void {
    if (this.cached && this.cached.tree.count > count) this.cached.tree.truncate(count);
  }

  /** Root of the first `count` leaves, from our own index; undefined when not indexed that far. */
  async rootAt(count: number): Promise<Hex | undefined> {
    const { tree } = await this.sync();
    return count <= tree.count ? tree.rootAt(count) : undefined;
  }

  snapshots(): Promise<StoredSnapshot[]> {
    return this.store.snapshots();
  }

  /** The first snapshot past `nonce` (the checkpoint that covers it), from the count index. */
  snapshotCovering(nonce: number): Promise<StoredSnapshot | undefined> {
    return this.store.snapshotCovering(nonce);
  }
}
