/**
 * Dispatch and delivery gas against the size of the origin tree (10, 10k, 1M leaves).
 *
 * Dispatching a million messages one by one would take an hour here, so the origin Outbox is put
 * into the exact state a real history leaves behind: the TypeScript tree (the codec's MerkleTree)
 * is filled with stand-in leaves up to the target count (sha256 of the leaf index: random-looking
 * 32-byte ids), and the Outbox's frontier — `branch[i]` for every level, including the stale
 * entries of levels whose bit of the count is clear, which decide whether the next write to that
 * slot is a fresh (20k) or an update (2.9k) SSTORE — and its count are written with
 * `hardhat_setStorageAt`. The Outbox's own `root()` must then equal the TypeScript root at that
 * count (checked), real messages are dispatched on top, snapshotted by the Outbox itself, and
 * delivered on B with real multiproofs from the same tree.
 */
import { createHash } from "node:crypto";

import { ethers } from "ethers";

import type { Hex } from "viem";

import { hashPair, MerkleTree } from "../../relayer/protocol/index.js";
import { dispatchedMessages, type DispatchedMessage } from "../../test/helpers/suite.js";
import {
  createBenchNetwork,
  deliverBatch,
  dispatchedIn,
  dispatchPure,
  type BenchNetwork,
} from "./distpos.js";
import { summarize, type Sample } from "./stats.js";

/** Storage layout of the Outbox (checked at run time): `_tree.branch[0..31]`, then `_tree.count`. */
const BRANCH_SLOT = 0;
const COUNT_SLOT = 32;
const DEPTH = 32;

export interface TreeSizeResult {
  leaves: number;
  dispatch32: number;
  dispatchSamples: number;
  deliver1: { signers: number; gas: number }[];
  batch64PerMessage3sig: number;
  /** How the Outbox got to `leaves` leaves. */
  method: string;
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
    for (let below = 0; below < level; below++) node = hashPair(node, proof[below]);
    branch[level] = node;
  }
  return branch;
}

/** Appends stand-in leaves up to `count`; returns how many. */
function fillTree(tree: MerkleTree, count: number): number {
  const index = Buffer.alloc(4);
  const before = tree.count;
  while (tree.count < count) {
    index.writeUInt32BE(tree.count);
    tree.append(new Uint8Array(createHash("sha256").update(index).digest()));
  }
  return count - before;
}

/** Writes the frontier and count of `tree` at its current count into A's Outbox. */
async function writeOutboxState(net: BenchNetwork, tree: MerkleTree): Promise<void> {
  const { connection, suite } = net.a;
  const outbox = suite.addresses.outbox;
  const provider = connection.provider;
  // Check the layout against the live state before writing anything.
  const liveCount = BigInt(
    (await provider.request({
      method: "eth_getStorageAt",
      params: [outbox, ethers.toBeHex(COUNT_SLOT), "latest"],
    })) as string,
  );
  if (liveCount !== (await suite.outbox.count()))
    throw new Error("Outbox layout: count slot moved");

  const branch = frontierAt(tree, tree.count);
  for (let level = 0; level < DEPTH; level++) {
    await connection.networkHelpers.setStorageAt(outbox, BRANCH_SLOT + level, branch[level]);
  }
  await connection.networkHelpers.setStorageAt(outbox, COUNT_SLOT, ethers.toBeHex(tree.count, 32));
  const root = await suite.outbox.root();
  if (Number(await suite.outbox.count()) !== tree.count || root !== tree.root()) {
    throw new Error(`Outbox state at ${tree.count} leaves does not match the TypeScript tree`);
  }
}

/**
 * Runs the tree-size series on a fresh pair of chains. At each size: 73 dispatches (median), three
 * single deliveries with 1, 3 and 5 signers each (median per signer count), one batch of 64 with
 * 3 signers.
 */
export async function treeSizeSeries(
  sizes: readonly number[],
  log: (line: string) => void,
): Promise<TreeSizeResult[]> {
  const net = await createBenchNetwork();
  const tree = new MerkleTree();
  const dispatched: DispatchedMessage[] = [];
  for (const m of await dispatchedMessages(net.a)) {
    tree.append(m.id as Hex); // the stake reports of the allocations
    dispatched.push(m);
  }
  const results: TreeSizeResult[] = [];
  let seed = 9_000_000;
  let standIns = 0;
  for (const size of sizes) {
    let method: string;
    if (size - tree.count <= 64) {
      const { receipts } = await dispatchPure(net, size - tree.count, 32, seed);
      seed += 1_000;
      for (const m of dispatchedIn(net, receipts)) {
        tree.append(m.id as Hex);
        dispatched.push(m);
      }
      method = "real dispatches";
    } else {
      const started = Date.now();
      standIns += fillTree(tree, size);
      await writeOutboxState(net, tree);
      method = `${dispatched.length.toLocaleString("en-US")} real and ${standIns.toLocaleString("en-US")} stand-in leaves; frontier and count written with hardhat_setStorageAt, checked against Outbox.root()`;
      log(`  tree of ${size} leaves built and written in ${Date.now() - started} ms`);
    }
    if (tree.count !== size) throw new Error(`tree holds ${tree.count}, expected ${size}`);

    const { samples, receipts } = await dispatchPure(net, 9 + 64, 32, seed);
    seed += 1_000;
    const fresh = dispatchedIn(net, receipts);
    for (const m of fresh) {
      tree.append(m.id as Hex);
      dispatched.push(m);
    }
    const source = { dispatched: fresh, tree };
    const deliver1: { signers: number; gas: number }[] = [];
    let next = 0;
    for (const signers of [1, 3, 5]) {
      const singles: Sample[] = [];
      for (let k = 0; k < 3; k++) {
        singles.push(await deliverBatch(net, [fresh[next++].nonce], signers, source));
      }
      deliver1.push({ signers, gas: summarize(singles).median });
    }
    const batch = fresh.slice(next, next + 64).map((m) => m.nonce);
    const batchSample = await deliverBatch(net, batch, 3, source);
    const result: TreeSizeResult = {
      leaves: size,
      dispatch32: summarize(samples).median,
      dispatchSamples: samples.length,
      deliver1,
      batch64PerMessage3sig: Math.round(batchSample.gas / 64),
      method,
    };
    log(
      `  ${size} leaves: dispatch ${result.dispatch32}, deliver1 ${deliver1.map((d) => `${d.signers}s=${d.gas}`).join(" ")}, batch64/3s ${result.batch64PerMessage3sig}/msg`,
    );
    results.push(result);
  }
  return results;
}
