/**
 * A million leaves without a million transactions. Dispatching 1M messages (≈ 9 Ggas through
 * BenchLoad, ≈ 44 Ggas one by one) and reading 1M Dispatch logs back over JSON-RPC would take
 * most of the run's ten minutes, so the state a node holds after indexing 1M leaves is put in
 * place instead, and the node processes are restarted on it:
 *
 * - A is held still and each stopped node's index of A is brought to A's tip by the node's own
 *   indexer code (`catchUpIndex`), so only empty blocks follow its cursor;
 * - A's Outbox gets the frontier and count of the tree of A's real leaves followed by stand-in
 *   leaves up to 1M, written with `hardhat_setStorageAt` and checked against `Outbox.root()`
 *   (bench/outboxState.ts, as the gas benchmark's tree-size series does);
 * - each node's index gets the stand-in leaves after its real ones and its cursor moved to the
 *   block after the write, in the key layout of relayer/indexer/store.ts (`prefillIndex`).
 *
 * The nodes then start as after any restart: each rebuilds its MerkleTree from the 1M stored
 * leaves, checks it against the Outbox's on-chain count at the cursor block, and indexes on from
 * there — a real Snapshot at count 1M (root checked against its tree, signed by the attester) and
 * real messages dispatched on top, delivered to B with multiproofs from that tree. What is not
 * there: `P:msg:<id>` hashes for the stand-ins (message bodies, read by the API only, never loaded
 * by the indexer) — Redis memory, not the node's.
 */
import { randomUUID } from "node:crypto";

import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { publicClientFor } from "../../relayer/chain/clients.js";
import { loadConfig } from "../../relayer/config/load.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { ChainStore } from "../../relayer/indexer/store.js";
import { MerkleTree } from "../../relayer/protocol/index.js";
import { dispatchedMessages, type TestChain } from "../../test/helpers/suite.js";
import { fillTree, writeOutboxState } from "../outboxState.js";

/** A's real leaves followed by stand-ins up to `count`. */
export async function treeWithStandIns(
  a: TestChain,
  count: number,
): Promise<{ tree: MerkleTree; real: number }> {
  const tree = new MerkleTree();
  for (const m of await dispatchedMessages(a)) tree.append(m.id as Hex);
  const real = tree.count;
  fillTree(tree, count);
  return { tree, real };
}

/**
 * Writes the Outbox state of `tree` into A's Outbox, mines a block and returns it: the first
 * block whose state holds `tree.count` leaves.
 */
export async function writeOutboxStateAndMine(
  a: TestChain,
  tree: MerkleTree,
): Promise<{ block: number; hash: Hex }> {
  await writeOutboxState(a, tree);
  await a.connection.provider.request({ method: "hardhat_mine", params: ["0x1"] });
  const block = await a.connection.ethers.provider.getBlock("latest");
  if (!block?.hash) throw new Error("no latest block");
  return { block: block.number, hash: block.hash as Hex };
}

/**
 * Brings a stopped node's index of A (its config file, its Redis) up to A's tip with the node's
 * own indexer code, so that nothing but empty blocks lies between its cursor and the next block.
 * A must not mine meanwhile (interval mining off); one empty block is mined per confirmation so
 * the last real block becomes confirmed.
 */
export async function catchUpIndex(redis: Redis, configFile: string, a: TestChain): Promise<void> {
  const cfg = loadConfig(configFile);
  // Ranges small enough that one eth_getLogs answer stays below viem's 10 MB limit: the runs
  // before put over 20,000 messages in fewer blocks than the nodes' maxLogRange.
  const chain = { ...cfg.chainWithContracts(a.suite.code), maxLogRange: 100 };
  const indexer = new ChainIndexer({
    chain,
    client: publicClientFor(chain),
    store: new ChainStore(redis, cfg.redis.prefix, chain.code),
    leaseTtlMs: 15_000,
  });
  await a.connection.provider.request({
    method: "hardhat_mine",
    params: [`0x${(chain.confirmations + 1).toString(16)}`],
  });
  while (await indexer.step()) {
    // until nothing is left to index
  }
  await indexer.stop();
}

/**
 * Puts `tree`'s leaves into a node's index of A (Redis prefix `prefix`) with the cursor at
 * `at`, as the indexer's own commit would leave it after indexing up to that block. The leaves
 * the index already holds must be `tree`'s first ones (checked).
 */
export async function prefillIndex(
  redis: Redis,
  prefix: string,
  a: TestChain,
  tree: MerkleTree,
  at: { block: number; hash: Hex },
): Promise<void> {
  const store = new ChainStore(redis, prefix, a.suite.code);
  const held = Number((await store.cursor())?.leaves ?? 0);
  const stored = await store.leaves(0, held);
  stored.forEach((id, i) => {
    if (id.toLowerCase() !== tree.leaf(i).toLowerCase())
      throw new Error(`${prefix}: stored leaf ${i} is not the Outbox's`);
  });
  const CHUNK = 5_000;
  for (let from = held; from < tree.count; from += CHUNK) {
    const fields: string[] = [];
    for (let i = from; i < Math.min(tree.count, from + CHUNK); i++)
      fields.push(String(i), tree.leaf(i));
    await redis.hset(store.key("leaves"), ...fields);
  }
  await redis.hset(store.key("blocks"), String(at.block), at.hash);
  await redis.hset(store.key("cursor"), {
    block: String(at.block),
    hash: at.hash,
    leaves: String(tree.count),
    gen: randomUUID(),
  });
}
