import { expect } from "chai";
import { network } from "hardhat";

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

  it("recovers the vector signer with OpenZeppelin ECDSA", async () => {
    const codec = await deploy();
    for (const v of vectors.checkpoints) {
      const { evmChainId, outbox } = v.domain;
      const { origin, root, count, last } = v.checkpoint;
      expect(
        await codec.recoverCheckpointSigner(
          evmChainId,
          outbox,
          origin,
          root,
          count,
          last,
          v.signature,
        ),
      ).to.equal(v.signer);
      // Any other count recovers somebody else.
      expect(
        await codec.recoverCheckpointSigner(
          evmChainId,
          outbox,
          origin,
          root,
          (count + 1) % 2 ** 32,
          last,
          v.signature,
        ),
      ).to.not.equal(v.signer);
    }
  });

  it("rejects the malleable high-s twin", async () => {
    const codec = await deploy();
    const [v] = vectors.checkpoints;
    const { evmChainId, outbox } = v.domain;
    const { origin, root, count, last } = v.checkpoint;
    await expect(
      codec.recoverCheckpointSigner(
        evmChainId,
        outbox,
        origin,
        root,
        count,
        last,
        v.highSSignature,
      ),
    ).to.be.revertedWithCustomError(codec, "ECDSAInvalidSignatureS");
  });
});
