import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { MerkleTree } from "../../../relayer/protocol/index.js";
import { merkleVectors as vectors } from "../../vectors/load.js";

/** Hyperlane's own compiled TestMerkle (MerkleLib), from the npm package: the anchor we must match. */
function hyperlaneTestMerkleBytecode(): string {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve("@hyperlane-xyz/core/buildArtifact.json"));
  const factory = readFileSync(
    join(dist, "typechain/factories/contracts/test/TestMerkle__factory.js"),
    "utf8",
  );
  const match = /const _bytecode = "(0x[0-9a-fA-F]+)"/.exec(factory);
  if (match === null) throw new Error("TestMerkle bytecode not found in @hyperlane-xyz/core");
  return match[1];
}

describe("MerkleTree (Solidity) against the shared vectors", () => {
  async function deploy() {
    const connection = await network.create();
    const tree = await connection.ethers.deployContract("MerkleTreeHarness");
    return { tree, ethers: connection.ethers };
  }

  it("has the deposit-contract zero hashes and empty root", async () => {
    const { tree } = await deploy();
    expect(await tree.root()).to.equal(vectors.emptyRoot);
    for (let level = 0; level <= 32; level++) {
      expect(await tree.zeroHash(level), `level ${level}`).to.equal(vectors.zeroHashes[level]);
    }
  });

  it("gives the vector root after every insert and returns the leaf index", async () => {
    const { tree } = await deploy();
    for (let i = 0; i < vectors.leaves.length; i++) {
      await expect(tree.insert(vectors.leaves[i]))
        .to.emit(tree, "Inserted")
        .withArgs(vectors.leaves[i], i);
      expect(await tree.root(), `count ${i + 1}`).to.equal(vectors.rootsAtCount[i + 1]);
    }
    expect(await tree.count()).to.equal(BigInt(vectors.leaves.length));
  });

  it("matches Hyperlane's deployed MerkleLib root for root", async () => {
    const { tree, ethers } = await deploy();
    const [deployer] = await ethers.getSigners();
    const factory = new ethers.ContractFactory(
      ["function insert(bytes32)", "function root() view returns (bytes32)"],
      hyperlaneTestMerkleBytecode(),
      deployer,
    );
    const hyperlane = (await factory.deploy()) as unknown as {
      insert(leaf: string): Promise<{ wait(): Promise<unknown> }>;
      root(): Promise<string>;
    };
    expect(await hyperlane.root()).to.equal(await tree.root());
    for (const leaf of vectors.leaves.slice(0, 20)) {
      await (await hyperlane.insert(leaf)).wait();
      await (await tree.insert(leaf)).wait();
      expect(await tree.root()).to.equal(await hyperlane.root());
    }
  });

  it("verifies the vector branches with branchRoot", async () => {
    const { tree } = await deploy();
    for (const v of vectors.proofs) {
      expect(await tree.branchRoot(v.leaf, v.proof, v.index), `${v.index}@${v.count}`).to.equal(
        v.root,
      );
      expect(await tree.branchRoot(v.leaf, v.proof, v.index ^ 1)).to.not.equal(v.root);
    }
    const [v] = vectors.proofs;
    await expect(tree.branchRoot(v.leaf, v.proof, 2n ** 32n))
      .to.be.revertedWithCustomError(tree, "IndexOutOfRange")
      .withArgs(2n ** 32n);
  });

  it("verifies the vector multiproofs with multiRoot", async () => {
    const { tree } = await deploy();
    for (const v of vectors.multiproofs) {
      expect(
        await tree.multiRoot(v.leaves, v.indices, v.proof, v.count),
        `${JSON.stringify(v.indices)}@${v.count}`,
      ).to.equal(v.root);
    }
  });

  for (const v of vectors.invalidMultiproofs) {
    it(`rejects an invalid multiproof: ${v.name}`, async () => {
      const { tree } = await deploy();
      const error = v.reason === "index-out-of-range" ? "IndexOutOfRange" : "InvalidMultiproof";
      await expect(
        tree.multiRoot(v.leaves, v.indices, v.proof, v.count),
      ).to.be.revertedWithCustomError(tree, error);
    });
  }

  it("takes the sparse proof of every leaf at every count up to 40, and refuses the full branch", async () => {
    const { tree } = await deploy();
    const local = MerkleTree.from(vectors.leaves);
    for (let count = 1; count <= vectors.leaves.length; count++) {
      const indices = Array.from({ length: count }, (_, i) => i);
      for (const index of [0, count >> 1, count - 1]) {
        const proof = local.multiproof([index], count);
        expect(
          await tree.multiRoot([local.leaf(index)], [index], proof, count),
          `${index}@${count}`,
        ).to.equal(vectors.rootsAtCount[count]);
        if (proof.length < 32) {
          await expect(
            tree.multiRoot([local.leaf(index)], [index], local.proof(index, count), count),
          ).to.be.revertedWithCustomError(tree, "InvalidMultiproof");
        }
      }
      // The whole tree at its count: only the left siblings above it (none for a power of two).
      expect(
        await tree.multiRoot(
          indices.map((i) => local.leaf(i)),
          indices,
          local.multiproof(indices, count),
          count,
        ),
      ).to.equal(vectors.rootsAtCount[count]);
    }
    // Indices at or beyond the count are refused.
    await expect(tree.multiRoot([local.leaf(3)], [3], local.multiproof([3], 4), 3))
      .to.be.revertedWithCustomError(tree, "IndexOutOfRange")
      .withArgs(3);
  });

  it("reverts TreeFull after 2^32 - 1 leaves", async () => {
    const { tree } = await deploy();
    await (await tree.setCount(2n ** 32n - 2n)).wait();
    await expect(tree.insert(vectors.leaves[0]))
      .to.emit(tree, "Inserted")
      .withArgs(vectors.leaves[0], 2n ** 32n - 2n);
    await expect(tree.insert(vectors.leaves[1])).to.be.revertedWithCustomError(tree, "TreeFull");
  });

  it("holds 1,000 leaves inserted in one transaction with the TypeScript root", async () => {
    const { tree, ethers } = await deploy();
    const leaves = Array.from(
      { length: 1000 },
      (_, i) => ethers.keccak256(ethers.toBeHex(i, 32)) as `0x${string}`,
    );
    await (await tree.insertMany(leaves)).wait();
    const local = MerkleTree.from(leaves);
    expect(await tree.root()).to.equal(local.root());
    const indices = [0, 1, 2, 500, 998, 999];
    const ids = indices.map((i) => leaves[i]);
    expect(await tree.multiRoot(ids, indices, local.multiproof(indices), 1000)).to.equal(
      local.root(),
    );
    // At an earlier count, with the siblings beyond it left out.
    const early = [0, 1, 2, 500];
    expect(
      await tree.multiRoot(
        early.map((i) => leaves[i]),
        early,
        local.multiproof(early, 501),
        501,
      ),
    ).to.equal(local.rootAt(501));
  });

  it("costs little gas: insert and multiRoot", async () => {
    const { tree, ethers } = await deploy();
    const leaves = Array.from(
      { length: 64 },
      (_, i) => ethers.keccak256(ethers.toBeHex(i + 1, 32)) as `0x${string}`,
    );
    await (await tree.insertMany(leaves.slice(0, 63))).wait();
    // The 64th leaf folds six levels: the most expensive insert below 128 leaves.
    const receipt = await (await tree.insert(leaves[63])).wait();
    const local = MerkleTree.from(leaves);
    const batch = Array.from({ length: 16 }, (_, i) => i + 8);
    const [root, gasUsed] = await tree.multiRootGas(
      batch.map((i) => leaves[i]),
      batch,
      local.multiproof(batch),
      64,
    );
    expect(root).to.equal(local.root());
    console.log(
      `      insert (6 folds) tx gas: ${receipt!.gasUsed}; multiRoot of 16 contiguous leaves: ${gasUsed}`,
    );
    expect(gasUsed).to.be.lessThan(40_000n);
  });
});
