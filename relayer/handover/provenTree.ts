import type { Hex } from "viem";

import { Lru } from "../lru.js";
import { decodeMessage, messageId } from "../protocol/index.js";

import {
  hashPair,
  InvalidMultiproofError,
  isEmptySibling,
  TREE_DEPTH,
  ZERO_HASHES,
} from "../protocol/merkle.js";

/**
 * The part of an origin's tree that a bundle proves: its leaves, the proof's siblings and every
 * node computed from them, at the bundle's one count. A destination node holds no index of the
 * origin, yet a batch it sends may carry any subset of a bundle's messages (planning by policies,
 * splitting on a failed estimate): every sibling such a subset's multiproof needs is a node of the
 * bundle's proof paths, so it is found here. Built by the same walk as `multiRoot`, so a tree
 * exists only for a proof that holds.
 */
export class ProvenTree {
  private readonly nodes = new Map<string, Hex>();
  readonly root: Hex;

  /**
   * @throws InvalidMultiproofError when the proof does not hold (as `multiRoot`)
   */
  constructor(
    leaves: readonly Hex[],
    indices: readonly number[],
    proof: readonly Hex[],
    readonly count: number,
  ) {
    if (leaves.length === 0)
      throw new InvalidMultiproofError("no-leaves", "a multiproof needs at least one leaf");
    if (leaves.length !== indices.length)
      throw new InvalidMultiproofError(
        "length-mismatch",
        `${leaves.length} leaves but ${indices.length} indices`,
      );
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (!Number.isInteger(index) || index < 0 || index >= count)
        throw new InvalidMultiproofError(
          "index-out-of-range",
          `index ${index} is not below the count ${count}`,
        );
      if (i > 0 && index <= indices[i - 1]!)
        throw new InvalidMultiproofError(
          "indices-not-increasing",
          `index ${index} at position ${i} does not follow ${indices[i - 1]}`,
        );
      if (!/^0x[0-9a-fA-F]{64}$/.test(leaves[i]!))
        throw new InvalidMultiproofError("bad-node", `leaves[${i}] is not 32 bytes of hex`);
    }
    let nodes = leaves.map((l) => l.toLowerCase() as Hex);
    let positions = [...indices];
    positions.forEach((p, i) => this.nodes.set(key(0, p), nodes[i]!));
    let used = 0;
    for (let level = 0; level < TREE_DEPTH; level++) {
      const nextNodes: Hex[] = [];
      const nextPositions: number[] = [];
      for (let i = 0; i < nodes.length;) {
        const position = positions[i]!;
        if (position % 2 === 0 && i + 1 < nodes.length && positions[i + 1] === position + 1) {
          nextNodes.push(hashPair(nodes[i]!, nodes[i + 1]!));
          i += 2;
        } else {
          let sibling: Hex;
          if (isEmptySibling(level, position, count)) sibling = ZERO_HASHES[level]!;
          else {
            if (used >= proof.length)
              throw new InvalidMultiproofError(
                "proof-too-short",
                `proof ran out at level ${level}`,
              );
            sibling = proof[used]!;
            if (typeof sibling !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(sibling))
              throw new InvalidMultiproofError("bad-node", `proof[${used}] is not 32 bytes of hex`);
            sibling = sibling.toLowerCase() as Hex;
            used++;
            this.nodes.set(key(level, position % 2 === 1 ? position - 1 : position + 1), sibling);
          }
          nextNodes.push(
            position % 2 === 1 ? hashPair(sibling, nodes[i]!) : hashPair(nodes[i]!, sibling),
          );
          i += 1;
        }
        const parent = Math.floor(position / 2);
        nextPositions.push(parent);
        this.nodes.set(key(level + 1, parent), nextNodes[nextNodes.length - 1]!);
      }
      nodes = nextNodes;
      positions = nextPositions;
    }
    if (used !== proof.length)
      throw new InvalidMultiproofError(
        "proof-too-long",
        `${proof.length - used} of ${proof.length} proof elements left unused`,
      );
    this.root = nodes[0]!;
  }

  /** Leaf `index` when the bundle proves it, else the zero hash (no message id is zero). */
  leaf(index: number): Hex {
    return this.nodes.get(key(0, index)) ?? ZERO_HASHES[0]!;
  }

  /** The multiproof of proven leaves at `indices` (a subset of the bundle's) at `count`. */
  multiproof(indices: readonly number[], count: number = this.count): Hex[] {
    if (count !== this.count)
      throw new RangeError(`a bundle proves count ${this.count}, not ${count}`);
    const proof: Hex[] = [];
    let positions = [...indices];
    for (let level = 0; level < TREE_DEPTH; level++) {
      const next: number[] = [];
      for (let i = 0; i < positions.length;) {
        const position = positions[i]!;
        if (position % 2 === 0 && i + 1 < positions.length && positions[i + 1] === position + 1) {
          i += 2;
        } else {
          if (!isEmptySibling(level, position, count)) {
            const sibling = this.nodes.get(
              key(level, position % 2 === 1 ? position - 1 : position + 1),
            );
            if (sibling === undefined)
              throw new RangeError(`leaf set is not within the bundle's proven leaves`);
            proof.push(sibling);
          }
          i += 1;
        }
        next.push(Math.floor(position / 2));
      }
      positions = next;
    }
    return proof;
  }
}

/**
 * Proven trees of the bundles a relayer delivers from, by stored bundle key and signed root: a
 * 1,000-message bundle is cut into many batches (policies, splits, rounds), and rebuilding its
 * tree for each (1,000 message ids hashed, the proof walked) was a measured share of a
 * destination node's CPU (bench/results.md, issue 14). The root is in the key because a stored
 * bundle may be replaced under its key (handed again with more signatures); for one root, the
 * same leaves give the same tree.
 */
const bundleTrees = new Lru<string, ProvenTree>(64);

/** The proven tree of `bundle`, stored under `key` (built once while it stays in the cache). */
export function bundleTree(
  key: string,
  bundle: {
    checkpoint: { root: Hex; count: number };
    messages: readonly Hex[];
    proof: readonly Hex[];
  },
): ProvenTree {
  const cacheKey = `${key}:${bundle.checkpoint.root}`;
  const hit = bundleTrees.get(cacheKey);
  if (hit) return hit;
  const tree = new ProvenTree(
    bundle.messages.map((m) => messageId(m)),
    bundle.messages.map((m) => decodeMessage(m).nonce),
    bundle.proof,
    bundle.checkpoint.count,
  );
  bundleTrees.set(cacheKey, tree);
  return tree;
}

function key(level: number, position: number): string {
  return `${level}:${position}`;
}
