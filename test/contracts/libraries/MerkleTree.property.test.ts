import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { keccak256, numberToHex, type Hex } from "viem";

import { MerkleTree, multiRoot, ZERO_HASHES } from "../../../relayer/protocol/index.js";

/** Modest for `npm test`; DISTPOS_DEEP=1 runs the long version. */
const RUNS = process.env.DISTPOS_DEEP === "1" ? 300 : 25;

/** Flips the lowest bit of the last byte. */
const tamper = (node: Hex): Hex =>
  `0x${node.slice(2, -2)}${(Number.parseInt(node.slice(-2), 16) ^ 1).toString(16).padStart(2, "0")}`;

const treeCase = fc
  .record({
    size: fc.integer({ min: 1, max: 1000 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    earlier: fc.double({ min: 0, max: 1, noNaN: true }),
    picks: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
      minLength: 1,
      maxLength: 24,
    }),
    run: fc.integer({ min: 1, max: 40 }),
    tamperAt: fc.nat(),
  })
  .map(({ size, seed, earlier, picks, run, tamperAt }) => {
    const leaves = Array.from({ length: size }, (_, i) =>
      keccak256(numberToHex(BigInt(seed) * 1_000_000n + BigInt(i))),
    );
    const count = Math.max(1, Math.floor(earlier * size));
    // A random set of indices below `count`, plus a contiguous run (batches are often contiguous).
    const start = Math.floor(picks[0] * count);
    const set = new Set(picks.map((p) => Math.floor(p * count)));
    for (let i = start; i < Math.min(count, start + run); i++) set.add(i);
    const indices = [...set].sort((a, b) => a - b);
    return { leaves, count, indices, tamperAt };
  });

describe("MerkleTree property: TypeScript and Solidity agree", function () {
  this.timeout(RUNS * 20_000);

  it(`random trees of 1..1000 leaves: roots, proofs and multiproofs (${RUNS} runs)`, async () => {
    const { ethers } = await network.create();
    await fc.assert(
      fc.asyncProperty(treeCase, async ({ leaves, count, indices, tamperAt }) => {
        const harness = await ethers.deployContract("MerkleTreeHarness");
        const tree = MerkleTree.from(leaves);

        // The root at an earlier count, then the root of the whole tree.
        await (await harness.insertMany(leaves.slice(0, count))).wait();
        expect(await harness.root()).to.equal(tree.rootAt(count));
        if (count < leaves.length) await (await harness.insertMany(leaves.slice(count))).wait();
        expect(await harness.root()).to.equal(tree.root());

        // Single proofs at the earlier count.
        const root = tree.rootAt(count);
        for (const index of [indices[0], indices[indices.length - 1]]) {
          const proof = tree.proof(index, count);
          expect(await harness.branchRoot(leaves[index], proof as never, index)).to.equal(root);
        }

        // The multiproof verifies in Solidity.
        const ids = indices.map((i) => leaves[i]);
        const proof = tree.multiproof(indices, count);
        expect(await harness.multiRoot(ids, indices, proof, count)).to.equal(root);
        expect(multiRoot(ids, indices, proof, count)).to.equal(root);

        // An element missing or one too many (the empty subtree's hash or any other) fails.
        if (proof.length > 0) {
          await expect(
            harness.multiRoot(ids, indices, proof.slice(0, -1), count),
          ).to.be.revertedWithCustomError(harness, "InvalidMultiproof");
        }
        const extra = ZERO_HASHES[tamperAt % 32];
        await expect(
          harness.multiRoot(ids, indices, [...proof, extra], count),
        ).to.be.revertedWithCustomError(harness, "InvalidMultiproof");

        // The full branch of a single leaf is refused whenever siblings were left out.
        const branch = tree.proof(indices[0], count);
        const single = tree.multiproof([indices[0]], count);
        if (single.length < branch.length) {
          await expect(
            harness.multiRoot([ids[0]], [indices[0]], branch, count),
          ).to.be.revertedWithCustomError(harness, "InvalidMultiproof");
        }

        // A tampered element (proof or leaf) never gives the root.
        const slot = tamperAt % (proof.length + ids.length);
        if (slot < proof.length) {
          const bad = [...proof];
          bad[slot] = tamper(bad[slot]);
          expect(await harness.multiRoot(ids, indices, bad, count)).to.not.equal(root);
        } else {
          const bad = [...ids];
          bad[slot - proof.length] = tamper(bad[slot - proof.length]);
          expect(await harness.multiRoot(bad, indices, proof, count)).to.not.equal(root);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
