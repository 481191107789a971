import { bytesToHex, hexToBytes, keccak256, type Hex } from "viem";

/**
 * The Outbox tree (docs/protocol.md 2.4) and its sparse positional multiproof (2.5): depth 32, keccak256,
 * zero hashes `Z[0] = 0`, `Z[i+1] = keccak256(Z[i] ‖ Z[i])` — the deposit-contract construction as
 * Nomad and Hyperlane deploy it. The Solidity twin is `contracts/libraries/MerkleTree.sol`.
 *
 * The tree keeps every node of every complete subtree, in chunked byte buffers (64 bytes per
 * leaf in all), so that the root and proofs at any earlier count cost at most one hash per
 * level for the partial right edge.
 */

/** Levels between a leaf and the root. */
export const TREE_DEPTH = 32;
/** Capacity: counts and nonces are uint32. */
export const MAX_LEAVES = 2 ** 32 - 1;

const NODE_BYTES = 32;

function keccakPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(left, 0);
  input.set(right, 32);
  return keccak256(input, "bytes");
}

const ZERO_NODES: readonly Uint8Array[] = (() => {
  const zeros: Uint8Array[] = [new Uint8Array(NODE_BYTES)];
  for (let level = 0; level < TREE_DEPTH; level++)
    zeros.push(keccakPair(zeros[level], zeros[level]));
  return zeros;
})();

/** `ZERO_HASHES[i]` is the root of an empty subtree of height i (0..32). */
export const ZERO_HASHES: readonly Hex[] = Object.freeze(
  ZERO_NODES.map((node) => bytesToHex(node)),
);
/** Root of the empty tree: 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757. */
export const EMPTY_ROOT: Hex = ZERO_HASHES[TREE_DEPTH];

/** A misuse of the tree: bad index, count or leaf. */
export class MerkleTreeError extends Error {
  override readonly name = "MerkleTreeError";

  constructor(
    readonly reason:
      | "tree-full"
      | "bad-leaf"
      | "index-out-of-range"
      | "count-out-of-range"
      | "indices-not-increasing"
      | "no-leaves",
    detail: string,
  ) {
    super(detail);
  }
}

/** A multiproof or branch proof that does not reduce to a root (as `MerkleTree.multiRoot` reverts). */
export class InvalidMultiproofError extends Error {
  override readonly name = "InvalidMultiproofError";

  constructor(
    readonly reason:
      | "no-leaves"
      | "length-mismatch"
      | "indices-not-increasing"
      | "index-out-of-range"
      | "proof-too-short"
      | "proof-too-long"
      | "bad-node",
    detail: string,
  ) {
    super(detail);
  }
}

/** keccak256(left ‖ right) of two 32-byte nodes. */
export function hashPair(left: Hex, right: Hex): Hex {
  return bytesToHex(keccakPair(nodeBytes(left, "left"), nodeBytes(right, "right")));
}

/** Root implied by `leaf` at `index` and its 32 siblings, bottom-up. */
export function branchRoot(leaf: Hex, proof: readonly Hex[], index: number): Hex {
  if (proof.length !== TREE_DEPTH) {
    throw new InvalidMultiproofError(
      proof.length < TREE_DEPTH ? "proof-too-short" : "proof-too-long",
      `branch has ${proof.length} siblings, expected ${TREE_DEPTH}`,
    );
  }
  checkIndex(index, "index-out-of-range");
  let node = nodeBytes(leaf, "leaf");
  let position = index;
  for (let level = 0; level < TREE_DEPTH; level++) {
    const sibling = nodeBytes(proof[level], `proof[${level}]`);
    node = position % 2 === 1 ? keccakPair(sibling, node) : keccakPair(node, sibling);
    position = Math.floor(position / 2);
  }
  return bytesToHex(node);
}

/** Whether `proof` proves `leaf` at `index` under `root`. */
export function verifyProof(leaf: Hex, proof: readonly Hex[], index: number, root: Hex): boolean {
  try {
    return branchRoot(leaf, proof, index).toLowerCase() === root.toLowerCase();
  } catch (error) {
    if (error instanceof InvalidMultiproofError) return false;
    throw error;
  }
}

/**
 * Whether the sibling of the known node at `position` of `level` is left out of a sparse multiproof
 * (docs/protocol.md 2.5): a right sibling whose subtree starts at or beyond `count` is the empty
 * subtree `Z[level]` in the tree of `count` leaves, so the verifier supplies it.
 */
export function isEmptySibling(level: number, position: number, count: number): boolean {
  return position % 2 === 0 && (position + 1) * 2 ** level >= count;
}

/**
 * Root implied by the sparse positional multiproof of docs/protocol.md 2.5, exactly as the
 * Solidity `MerkleTree.multiRoot`: leaves at strictly increasing indices, each below `count`; at
 * each of the 32 levels, an even known node whose right neighbour is known is hashed with it, any
 * other known node takes as its sibling `Z[level]` when the sibling's subtree starts at or beyond
 * `count`, else the next proof element; every element must be used, one node remains.
 * @throws InvalidMultiproofError where the contract reverts
 */
export function multiRoot(
  leaves: readonly Hex[],
  indices: readonly number[],
  proof: readonly Hex[],
  count: number,
): Hex {
  if (leaves.length === 0)
    throw new InvalidMultiproofError("no-leaves", "a multiproof needs at least one leaf");
  if (leaves.length !== indices.length) {
    throw new InvalidMultiproofError(
      "length-mismatch",
      `${leaves.length} leaves but ${indices.length} indices`,
    );
  }
  for (let i = 0; i < indices.length; i++) {
    checkIndex(indices[i], "index-out-of-range");
    if (i > 0 && indices[i] <= indices[i - 1]) {
      throw new InvalidMultiproofError(
        "indices-not-increasing",
        `index ${indices[i]} at position ${i} does not follow ${indices[i - 1]}`,
      );
    }
  }
  const last = indices[indices.length - 1];
  if (!(last < count)) {
    throw new InvalidMultiproofError(
      "index-out-of-range",
      `index ${last} is not below the count ${count}`,
    );
  }
  let nodes = leaves.map((leaf, i) => nodeBytes(leaf, `leaves[${i}]`));
  let positions = [...indices];
  let used = 0;
  for (let level = 0; level < TREE_DEPTH; level++) {
    const nextNodes: Uint8Array[] = [];
    const nextPositions: number[] = [];
    for (let i = 0; i < nodes.length;) {
      const position = positions[i];
      if (position % 2 === 0 && i + 1 < nodes.length && positions[i + 1] === position + 1) {
        nextNodes.push(keccakPair(nodes[i], nodes[i + 1]));
        i += 2;
      } else {
        let sibling: Uint8Array;
        if (isEmptySibling(level, position, count)) {
          sibling = ZERO_NODES[level];
        } else {
          if (used >= proof.length) {
            throw new InvalidMultiproofError("proof-too-short", `proof ran out at level ${level}`);
          }
          sibling = nodeBytes(proof[used], `proof[${used}]`);
          used++;
        }
        nextNodes.push(
          position % 2 === 1 ? keccakPair(sibling, nodes[i]) : keccakPair(nodes[i], sibling),
        );
        i += 1;
      }
      nextPositions.push(Math.floor(position / 2));
    }
    nodes = nextNodes;
    positions = nextPositions;
  }
  if (used !== proof.length) {
    throw new InvalidMultiproofError(
      "proof-too-long",
      `${proof.length - used} of ${proof.length} proof elements left unused`,
    );
  }
  // With indices below 2^32, 32 halvings leave exactly one node (position 0).
  return bytesToHex(nodes[0]);
}

/** Whether the sparse multiproof proves `leaves` at `indices` under `root` at `count`. */
export function verifyMultiproof(
  leaves: readonly Hex[],
  indices: readonly number[],
  proof: readonly Hex[],
  root: Hex,
  count: number,
): boolean {
  try {
    return multiRoot(leaves, indices, proof, count).toLowerCase() === root.toLowerCase();
  } catch (error) {
    if (error instanceof InvalidMultiproofError) return false;
    throw error;
  }
}

/**
 * Fixed-size nodes in chunks of up to 1 MiB: growth never copies more than one chunk, and the
 * last chunk doubles from small, so the sparse upper levels take almost nothing.
 */
class NodeStore {
  private static readonly CHUNK_NODES = 1 << 15;
  private static readonly MIN_NODES = 64;
  private readonly chunks: Uint8Array[] = [];

  write(index: number, node: Uint8Array): void {
    const chunk = Math.floor(index / NodeStore.CHUNK_NODES);
    const offset = (index % NodeStore.CHUNK_NODES) * NODE_BYTES;
    // Writes are appends (or overwrites after a truncate): earlier chunks are full size.
    while (this.chunks.length <= chunk) {
      if (this.chunks.length > 0) this.grow(this.chunks.length - 1, NodeStore.CHUNK_NODES);
      this.chunks.push(new Uint8Array(NodeStore.MIN_NODES * NODE_BYTES));
    }
    if (this.chunks[chunk].length < offset + NODE_BYTES)
      this.grow(chunk, (offset + NODE_BYTES) / NODE_BYTES);
    this.chunks[chunk].set(node, offset);
  }

  /** A view of stored node `index` (valid until the node is overwritten). */
  read(index: number): Uint8Array {
    const offset = (index % NodeStore.CHUNK_NODES) * NODE_BYTES;
    return this.chunks[Math.floor(index / NodeStore.CHUNK_NODES)].subarray(
      offset,
      offset + NODE_BYTES,
    );
  }

  /** Frees chunks wholly beyond `nodes` stored nodes. */
  shrink(nodes: number): void {
    this.chunks.length = Math.min(this.chunks.length, Math.ceil(nodes / NodeStore.CHUNK_NODES));
  }

  /** Reallocates chunk `chunk` to hold at least `nodes` nodes (doubling, capped at a full chunk). */
  private grow(chunk: number, nodes: number): void {
    const current = this.chunks[chunk];
    let capacity = current.length / NODE_BYTES;
    if (capacity >= nodes) return;
    while (capacity < nodes) capacity = Math.min(capacity * 2, NodeStore.CHUNK_NODES);
    const larger = new Uint8Array(capacity * NODE_BYTES);
    larger.set(current);
    this.chunks[chunk] = larger;
  }
}

/** The Outbox tree of one chain, with roots and proofs at any count up to the current one. */
export class MerkleTree {
  // levels[h] holds node j of height h for every complete subtree: (j + 1) · 2^h <= count.
  private readonly levels: NodeStore[] = Array.from({ length: TREE_DEPTH }, () => new NodeStore());
  private size = 0;

  /** A tree holding `leaves` in order. */
  static from(leaves: Iterable<Hex | Uint8Array>): MerkleTree {
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    return tree;
  }

  /** Number of leaves. */
  get count(): number {
    return this.size;
  }

  /** Appends a leaf (a message id); returns its index (the message nonce). */
  append(leaf: Hex | Uint8Array): number {
    if (this.size >= MAX_LEAVES)
      throw new MerkleTreeError("tree-full", `the tree holds ${MAX_LEAVES} leaves`);
    let node = typeof leaf === "string" ? nodeBytes(leaf, "leaf", MerkleTreeError) : leaf;
    if (!(node instanceof Uint8Array) || node.length !== NODE_BYTES) {
      throw new MerkleTreeError("bad-leaf", "a leaf must be 32 bytes");
    }
    const index = this.size;
    this.levels[0].write(index, node);
    // The new leaf completes one subtree per trailing one-bit of its index.
    let position = index;
    for (let level = 0; position % 2 === 1; level++) {
      node = keccakPair(this.levels[level].read(position - 1), node);
      position = (position - 1) / 2;
      this.levels[level + 1].write(position, node);
    }
    this.size = index + 1;
    return index;
  }

  /** Drops the leaves from `count` on (a chain reorganisation); later appends overwrite them. */
  truncate(count: number): void {
    this.checkCount(count);
    this.size = count;
    for (let level = 0; level < TREE_DEPTH; level++)
      this.levels[level].shrink(Math.floor(count / 2 ** level));
  }

  /** The leaf at `index`. */
  leaf(index: number): Hex {
    this.checkIndex(index, this.size);
    return bytesToHex(this.levels[0].read(index));
  }

  /** Current root. */
  root(): Hex {
    return this.rootAt(this.size);
  }

  /** Root when the tree held its first `count` leaves. */
  rootAt(count: number): Hex {
    this.checkCount(count);
    return bytesToHex(this.node(TREE_DEPTH, 0, count));
  }

  /** The 32 siblings (bottom-up) of leaf `index` in the tree of the first `count` leaves. */
  proof(index: number, count: number = this.size): Hex[] {
    this.checkCount(count);
    this.checkIndex(index, count);
    const proof: Hex[] = [];
    let position = index;
    for (let level = 0; level < TREE_DEPTH; level++) {
      const sibling = position % 2 === 1 ? position - 1 : position + 1;
      proof.push(bytesToHex(this.node(level, sibling, count)));
      position = Math.floor(position / 2);
    }
    return proof;
  }

  /**
   * The sparse positional multiproof (docs/protocol.md 2.5) of the leaves at `indices` (strictly
   * increasing) in the tree of the first `count` leaves: the siblings in the order `multiRoot`
   * consumes them, without those whose subtree starts at or beyond `count` (empty subtrees the
   * verifier supplies). `proof` gives the full 32-sibling branch of one leaf instead.
   */
  multiproof(indices: readonly number[], count: number = this.size): Hex[] {
    this.checkCount(count);
    if (indices.length === 0)
      throw new MerkleTreeError("no-leaves", "a multiproof needs at least one index");
    for (let i = 0; i < indices.length; i++) {
      this.checkIndex(indices[i], count);
      if (i > 0 && indices[i] <= indices[i - 1]) {
        throw new MerkleTreeError(
          "indices-not-increasing",
          `index ${indices[i]} at position ${i} does not follow ${indices[i - 1]}`,
        );
      }
    }
    const proof: Hex[] = [];
    let positions = [...indices];
    for (let level = 0; level < TREE_DEPTH; level++) {
      const next: number[] = [];
      for (let i = 0; i < positions.length;) {
        const position = positions[i];
        if (position % 2 === 0 && i + 1 < positions.length && positions[i + 1] === position + 1) {
          i += 2;
        } else {
          if (!isEmptySibling(level, position, count)) {
            const sibling = position % 2 === 1 ? position - 1 : position + 1;
            proof.push(bytesToHex(this.node(level, sibling, count)));
          }
          i += 1;
        }
        next.push(Math.floor(position / 2));
      }
      positions = next;
    }
    return proof;
  }

  /** Node `index` of height `level` in the tree of the first `count` leaves. */
  private node(level: number, index: number, count: number): Uint8Array {
    const width = 2 ** level;
    const first = index * width;
    if (first >= count) return ZERO_NODES[level];
    if (first + width <= count) return this.levels[level].read(index);
    // A partial subtree: only the right edge, one per level.
    return keccakPair(
      this.node(level - 1, 2 * index, count),
      this.node(level - 1, 2 * index + 1, count),
    );
  }

  private checkCount(count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > this.size) {
      throw new MerkleTreeError("count-out-of-range", `count ${count} is not in [0, ${this.size}]`);
    }
  }

  private checkIndex(index: number, count: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new MerkleTreeError("index-out-of-range", `index ${index} is not in [0, ${count})`);
    }
  }
}

function checkIndex(index: number, reason: "index-out-of-range"): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_LEAVES) {
    throw new InvalidMultiproofError(reason, `index ${index} is not a uint32`);
  }
}

function nodeBytes(
  node: Hex,
  what: string,
  ErrorClass: typeof InvalidMultiproofError | typeof MerkleTreeError = InvalidMultiproofError,
): Uint8Array {
  if (typeof node !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(node)) {
    const detail = `${what} is not 32 bytes of hex: ${JSON.stringify(node)}`;
    throw ErrorClass === MerkleTreeError
      ? new MerkleTreeError("bad-leaf", detail)
      : new InvalidMultiproofError("bad-node", detail);
  }
  return hexToBytes(node);
}
