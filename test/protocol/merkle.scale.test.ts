import v8 from "node:v8";
import vm from "node:vm";

import { expect } from "chai";

import { MerkleTree, verifyMultiproof, verifyProof } from "../../relayer/protocol/index.js";

/** 1,000,000 leaves with DISTPOS_DEEP=1 (about half a minute); 50,000 otherwise. */
const LEAVES = process.env.DISTPOS_DEEP === "1" ? 1_000_000 : 50_000;

/**
 * Full garbage collections until the ArrayBuffer total stops moving, so that buffer sizes are what
 * is held, not what awaits collection: V8 frees dead ArrayBuffers' memory on a concurrent sweeper
 * after the collection, and the tree's hashing leaves millions of dead 32-byte buffers behind.
 */
async function collectGarbage(): Promise<number> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  let last = Number.NaN;
  for (let round = 0; round < 20; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = process.memoryUsage().arrayBuffers;
    if (now === last) return now;
    last = now;
  }
  return last;
}

describe("protocol: Merkle tree at node scale", function () {
  this.timeout(600_000);

  it(`holds ${LEAVES.toLocaleString("en")} leaves in about 64 bytes each and proves at earlier counts`, async () => {
    const before = await collectGarbage();
    const tree = new MerkleTree();
    const leaf = new Uint8Array(32);
    let started = performance.now();
    for (let i = 0; i < LEAVES; i++) {
      new DataView(leaf.buffer).setUint32(0, i);
      tree.append(leaf);
    }
    const appendSeconds = (performance.now() - started) / 1000;
    const bytesPerLeaf = ((await collectGarbage()) - before) / LEAVES;
    // Leaves plus complete inner nodes are 64 bytes per leaf; the last chunk of each level may be
    // up to twice what it holds.
    expect(bytesPerLeaf).to.be.lessThan(66 + (2 * 2 ** 20) / LEAVES);

    // Proofs and roots at random earlier counts (a fixed generator: reproducible).
    let state = 12345;
    const random = (below: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % below;
    };
    started = performance.now();
    for (let k = 0; k < 50; k++) {
      const count = 1 + random(LEAVES);
      const index = random(count);
      expect(
        verifyProof(tree.leaf(index), tree.proof(index, count), index, tree.rootAt(count)),
      ).to.equal(true);
    }
    const proofMs = (performance.now() - started) / 50;
    const count = Math.floor(LEAVES * 0.77);
    const indices = Array.from({ length: 100 }, (_, i) => Math.floor(LEAVES / 2) + i);
    const multiproof = tree.multiproof(indices, count);
    expect(
      verifyMultiproof(
        indices.map((i) => tree.leaf(i)),
        indices,
        multiproof,
        tree.rootAt(count),
        count,
      ),
    ).to.equal(true);
    console.log(
      `      ${appendSeconds.toFixed(1)} s to append, ${bytesPerLeaf.toFixed(1)} B/leaf, ` +
        `${proofMs.toFixed(2)} ms per proof+root+verify at an earlier count, ` +
        `100 contiguous leaves: ${multiproof.length} siblings; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
  });
});
