import { expect } from "chai";
import { ethers } from "ethers";
import { network } from "hardhat";
import type { Hex } from "viem";

import { checkpointVectors as vectors } from "../../vectors/load.js";

describe("CheckpointHash (Solidity) against the shared vectors", () => {
  async function deploy() {
    const { ethers } = await network.create();
    return ethers.deployContract("CodecHarness");
  }

  it("computes every vector's domain separator, struct hash and digest", async () => {
    const codec = await deploy();
    for (const v of vectors.checkpoints) {
      const { evmChainId, outbox } = v.domain;
      const { origin, root, count, last } = v.checkpoint;
      expect(await codec.checkpointDomainSeparator(evmChainId, outbox), v.name).to.equal(
        v.domainSeparator,
      );
      expect(await codec.checkpointStructHash(origin, root, count, last), v.name).to.equal(
        v.structHash,
      );
      expect(
        await codec.checkpointDigest(v.domainSeparator, origin, root, count, last),
        v.name,
      ).to.equal(v.digest);
    }
  });

  type Vector = (typeof vectors.checkpoints)[number];
  /** The signer `signature` recovers for vector `v`'s checkpoint with `change` applied. */
  function recover(
    codec: Awaited<ReturnType<typeof deploy>>,
    v: Vector,
    change: Partial<Vector["checkpoint"]> = {},
    signature = v.signature,
  ) {
    const { origin, root, count, last } = { ...v.checkpoint, ...change };
    const { evmChainId, outbox } = v.domain;
    return codec.recoverCheckpointSigner(evmChainId, outbox, origin, root, count, last, signature);
  }

  it("recovers the vector signer with OpenZeppelin ECDSA", async () => {
    const codec = await deploy();
    for (const v of vectors.checkpoints) {
      expect(await recover(codec, v)).to.equal(v.signer);
      // Any other count, or any other last leaf, recovers somebody else.
      const count = (v.checkpoint.count + 1) % 2 ** 32;
      expect(await recover(codec, v, { count })).to.not.equal(v.signer);
      const last = ethers.keccak256(v.checkpoint.last) as Hex;
      expect(await recover(codec, v, { last })).to.not.equal(v.signer);
    }
  });

  it("rejects the malleable high-s twin", async () => {
    const codec = await deploy();
    const [v] = vectors.checkpoints;
    await expect(recover(codec, v, {}, v.highSSignature)).to.be.revertedWithCustomError(
      codec,
      "ECDSAInvalidSignatureS",
    );
  });
});
