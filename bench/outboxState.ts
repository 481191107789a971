/**
 * A deep Outbox tree without its history, shared by the gas benchmark (bench/gas/treeSize.ts) and
 * the node benchmark (bench/relayer/leaves.ts). Dispatching a million messages one by one would
 * take an hour here, so the Outbox is put into the exact state a real history leaves behind: the
 * TypeScript tree (the codec's MerkleTree) is filled with stand-in leaves up to the target count
 * (sha256 of the leaf index: random-looking 32-byte ids), and the Outbox's frontier — `branch[i]`
 * for every level, including the stale entries of levels whose bit of the count is clear, which
 * decide whether the next write to that slot is a fresh (20k) or an update (2.9k) SSTORE — and its
 * count are written with `hardhat_setStorageAt`. The Outbox's own `root()` must then equal the
 * TypeScript root at that count (checked).
 */
import { createHash } from "node:crypto";

import { ethers } from "ethers";
import type { Hex } from "viem";

import { hashPair, type MerkleTree } from "../relayer/protocol/index.js";
import type { TestChain } from "../test/helpers/suite.js";

/** Storage layout of the Outbox (checked at run time): `_tree.branch[0..31]`, then `_tree.count`. */
const BRANCH_SLOT = 0;
const COUNT_SLOT = 32;
const DEPTH = 32;

/** Appends stand-in leaves up to `count`; returns how many. */
export function fillTree(tree: MerkleTree, count: number): number {
  const index = Buffer.alloc(4);
  const before = tree.count;
  while (tree.count < count) {
    index.writeUInt32BE(tree.count);
    tree.append(new Uint8Array(createHash("sha256").update(index).digest()));
  }
  return count - before;
}

/** The frontier an Outbox holds after `count` leaves of `tree` (see the file notes). */
function frontierAt(tree: MerkleTree, count: number): Hex[] {
  const branch: Hex[] = Array.from({ length: DEPTH }, () => ethers.ZeroHash as Hex);
  for (let level = 0; level < DEPTH; level++) {
    const complete = Math.floor(count / 2 ** level); // complete subtrees of this height
    if (complete === 0) break;
    // The last write at this level stored the last complete subtree with an even index.
    const index = (complete - 1) % 2 === 0 ? complete - 1 : complete - 2;
    const first = index * 2 ** level;
    const proof = tree.proof(first, count);
    let node = tree.leaf(first);
    for (let below = 0; below < level; below++) node = hashPair(node, proof[below]!);
    branch[level] = node;
  }
  return branch;
}

/**
 * Writes the frontier and count of `tree` at its current count into `chain`'s Outbox and checks
 * the Outbox's own `count()` and `root()` against the tree.
 */
export async function writeOutboxState(chain: TestChain, tree: MerkleTree): Promise<void> {
  const { connection, suite } = chain;
  const outbox = suite.addresses.outbox;
  // Check the layout against the live state before writing anything.
  const liveCount = BigInt(
    (await connection.provider.request({
      method: "eth_getStorageAt",
      params: [outbox, ethers.toBeHex(COUNT_SLOT), "latest"],
    })) as string,
  );
  if (liveCount !== (await suite.outbox.count()))
    throw new Error("Outbox layout: count slot moved");

  const branch = frontierAt(tree, tree.count);
  for (let level = 0; level < DEPTH; level++)
    await connection.networkHelpers.setStorageAt(outbox, BRANCH_SLOT + level, branch[level]!);
  await connection.networkHelpers.setStorageAt(outbox, COUNT_SLOT, ethers.toBeHex(tree.count, 32));
  const root = await suite.outbox.root();
  if (Number(await suite.outbox.count()) !== tree.count || root !== tree.root())
    throw new Error(`Outbox state at ${tree.count} leaves does not match the TypeScript tree`);
}
