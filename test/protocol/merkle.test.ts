import { expect } from "chai";
import type { Hex } from "viem";

import {
  branchRoot,
  EMPTY_ROOT,
  hashPair,
  InvalidMultiproofError,
  MerkleTree,
  MerkleTreeError,
  multiRoot,
  verifyMultiproof,
  verifyProof,
  ZERO_HASHES,
} from "../../relayer/protocol/index.js";
import { merkleVectors as vectors } from "../vectors/load.js";

/** Flips the lowest bit of the last byte. */
const tamper = (node: Hex): Hex =>
  `0x${node.slice(2, -2)}${(Number.parseInt(node.slice(-2), 16) ^ 1).toString(16).padStart(2, "0")}`;

describe("protocol: Merkle tree", () => {
  it("has the deposit-contract zero hashes and empty root", () => {
    expect(EMPTY_ROOT).to.equal(
      "0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757",
    );
    expect(EMPTY_ROOT).to.equal(vectors.emptyRoot);
    expect(ZERO_HASHES).to.deep.equal(vectors.zeroHashes);
    expect(new MerkleTree().root()).to.equal(EMPTY_ROOT);
  });

  it("gives the vector root at every count, now and later", () => {
    const tree = new MerkleTree();
    expect(tree.root()).to.equal(vectors.rootsAtCount[0]);
    vectors.leaves.forEach((leaf, i) => {
      expect(tree.append(leaf)).to.equal(i);
      expect(tree.root(), `count ${i + 1}`).to.equal(vectors.rootsAtCount[i + 1]);
    });
    // Earlier counts of the full tree: the partial right edge is recomputed.
    vectors.rootsAtCount.forEach((root, count) =>
      expect(tree.rootAt(count), `count ${count}`).to.equal(root),
    );
  });

  it("builds the vector proofs at the current or an earlier count", () => {
    const tree = MerkleTree.from(vectors.leaves);
    for (const v of vectors.proofs) {
      expect(tree.proof(v.index, v.count), `${v.index}@${v.count}`).to.deep.equal(v.proof);
      expect(branchRoot(v.leaf, v.proof, v.index)).to.equal(v.root);
      expect(verifyProof(v.leaf, v.proof, v.index, v.root)).to.equal(true);
      expect(verifyProof(v.leaf, v.proof, v.index ^ 1, v.root)).to.equal(false);
      expect(verifyProof(v.leaf, v.proof.slice(0, 31), v.index, v.root)).to.equal(false);
      for (const level of [0, 13, 31]) {
        const changed = [...v.proof];
        changed[level] = tamper(changed[level]);
        expect(verifyProof(v.leaf, changed, v.index, v.root), `sibling ${level}`).to.equal(false);
      }
    }
  });

  it("builds the vector multiproofs and verifies them", () => {
    const tree = MerkleTree.from(vectors.leaves);
    for (const v of vectors.multiproofs) {
      const label = `${JSON.stringify(v.indices)}@${v.count}`;
      expect(tree.multiproof(v.indices, v.count), label).to.deep.equal(v.proof);
      expect(multiRoot(v.leaves, v.indices, v.proof, v.count), label).to.equal(v.root);
      expect(verifyMultiproof(v.leaves, v.indices, v.proof, v.root, v.count)).to.equal(true);
    }
  });

  it("a single leaf's multiproof is its branch without the empty subtrees; a contiguous batch is short", () => {
    const tree = MerkleTree.from(vectors.leaves);
    // Leaf 5 at 33: the siblings of levels 6..31 (leaves from 64 on) are empty subtrees.
    const branch = tree.proof(5, 33);
    expect(tree.multiproof([5], 33)).to.deep.equal(branch.slice(0, 6));
    expect(branch.slice(6)).to.deep.equal(ZERO_HASHES.slice(6, 32));
    // Leaf 32 at 33: every right sibling is empty; only the left one of level 5 (leaves 0..31).
    expect(tree.multiproof([32], 33)).to.deep.equal([tree.proof(32, 33)[5]]);
    // The newest leaf of a tree of 2^k leaves needs exactly k siblings.
    expect(tree.multiproof([31], 32)).to.deep.equal(tree.proof(31, 32).slice(0, 5));
    const all = Array.from({ length: 32 }, (_, i) => i);
    expect(tree.multiproof(all, 40)).to.have.length(1);
    expect(tree.multiproof(all, 32)).to.have.length(0);
    expect(
      multiRoot(
        all.map((i) => tree.leaf(i)),
        all,
        [],
        32,
      ),
    ).to.equal(tree.rootAt(32));
  });

  it("takes every leaf position at every count: the sparse proof gives the root, the full branch is too long", () => {
    const tree = MerkleTree.from(vectors.leaves);
    for (let count = 1; count <= vectors.leaves.length; count++) {
      for (let index = 0; index < count; index++) {
        const proof = tree.multiproof([index], count);
        const leaf = tree.leaf(index);
        expect(multiRoot([leaf], [index], proof, count), `${index}@${count}`).to.equal(
          tree.rootAt(count),
        );
        // The omitted siblings are the branch's right siblings starting at or beyond the count,
        // and each of them is the zero hash of its level.
        const branch = tree.proof(index, count);
        const empty = (level: number) => {
          const position = Math.floor(index / 2 ** level);
          return position % 2 === 0 && (position + 1) * 2 ** level >= count;
        };
        expect(proof).to.deep.equal(branch.filter((_, level) => !empty(level)));
        branch.forEach((node, level) => {
          if (empty(level)) expect(node).to.equal(ZERO_HASHES[level]);
        });
        if (proof.length < 32) {
          expect(verifyMultiproof([leaf], [index], branch, tree.rootAt(count), count)).to.equal(
            false,
          );
        }
      }
    }
  });

  it("fails a tampered multiproof, leaf or index", () => {
    const v = vectors.multiproofs.find((m) => m.indices.length === 3)!;
    for (let i = 0; i < v.proof.length; i++) {
      const proof = [...v.proof];
      proof[i] = tamper(proof[i]);
      expect(verifyMultiproof(v.leaves, v.indices, proof, v.root, v.count), `proof[${i}]`).to.equal(
        false,
      );
    }
    for (let i = 0; i < v.leaves.length; i++) {
      const leaves = [...v.leaves];
      leaves[i] = tamper(leaves[i]);
      expect(verifyMultiproof(leaves, v.indices, v.proof, v.root, v.count), `leaf ${i}`).to.equal(
        false,
      );
    }
    const shifted = v.indices.map((i, k) => (k === 0 ? i + 1 : i));
    expect(verifyMultiproof(v.leaves, shifted, v.proof, v.root, v.count)).to.equal(false);
    // A proof with an element missing or left over fails.
    expect(verifyMultiproof(v.leaves, v.indices, v.proof.slice(1), v.root, v.count)).to.equal(
      false,
    );
    expect(
      verifyMultiproof(v.leaves, v.indices, [...v.proof, ZERO_HASHES[0]], v.root, v.count),
    ).to.equal(false);
    // The same proof under another count is another proof.
    expect(verifyMultiproof(v.leaves, v.indices, v.proof, v.root, v.count + 32)).to.equal(false);
  });

  for (const v of vectors.invalidMultiproofs) {
    it(`rejects an invalid multiproof: ${v.name}`, () => {
      expect(() => multiRoot(v.leaves, v.indices, v.proof, v.count))
        .to.throw(InvalidMultiproofError)
        .with.property("reason", v.reason);
    });
  }

  it("refuses counts and indices outside the tree", () => {
    const tree = MerkleTree.from(vectors.leaves.slice(0, 5));
    const reason = (action: () => unknown) => {
      try {
        action();
      } catch (error) {
        if (error instanceof MerkleTreeError) return error.reason;
        throw error;
      }
      return "no error";
    };
    expect(reason(() => tree.rootAt(6))).to.equal("count-out-of-range");
    expect(reason(() => tree.rootAt(-1))).to.equal("count-out-of-range");
    expect(reason(() => tree.proof(5))).to.equal("index-out-of-range");
    expect(reason(() => tree.proof(3, 3))).to.equal("index-out-of-range");
    expect(reason(() => tree.multiproof([2, 1]))).to.equal("indices-not-increasing");
    expect(reason(() => tree.multiproof([1, 1]))).to.equal("indices-not-increasing");
    expect(reason(() => tree.multiproof([]))).to.equal("no-leaves");
    expect(reason(() => tree.append("0x12"))).to.equal("bad-leaf");
    expect(reason(() => tree.leaf(5))).to.equal("index-out-of-range");
  });

  it("truncates for a reorganisation and regrows to the same roots", () => {
    const tree = MerkleTree.from(vectors.leaves);
    tree.truncate(9);
    expect(tree.count).to.equal(9);
    expect(tree.root()).to.equal(vectors.rootsAtCount[9]);
    const other = `0x${"11".repeat(32)}` as Hex;
    tree.append(other);
    expect(tree.root()).to.not.equal(vectors.rootsAtCount[10]);
    tree.truncate(9);
    for (const leaf of vectors.leaves.slice(9)) tree.append(leaf);
    vectors.rootsAtCount.forEach((root, count) => expect(tree.rootAt(count)).to.equal(root));
  });

  it("hashPair is keccak256 of the concatenation", () => {
    expect(hashPair(ZERO_HASHES[0], ZERO_HASHES[0])).to.equal(ZERO_HASHES[1]);
  });
});
