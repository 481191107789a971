import { expect } from "chai";
import { keccak256, toBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  CHECKPOINT_TYPE,
  checkpointDigest,
  checkpointDomain,
  checkpointDomainSeparator,
  CheckpointError,
  checkpointStructHash,
  recoverCheckpointSigner,
  signCheckpoint,
  sortBySigner,
  sortSignaturesBySigner,
  type Checkpoint,
} from "../../relayer/protocol/index.js";
import { checkpointVectors as vectors } from "../vectors/load.js";

const domainOf = (v: (typeof vectors.checkpoints)[number]) =>
  checkpointDomain({ evmChainId: BigInt(v.domain.evmChainId), outbox: v.domain.outbox });
const checkpointOf = (v: (typeof vectors.checkpoints)[number]): Checkpoint => ({
  origin: BigInt(v.checkpoint.origin),
  root: v.checkpoint.root,
  count: v.checkpoint.count,
  last: v.checkpoint.last,
});

// A few more fixed test keys (Hardhat accounts #1..#3): their addresses sort differently.
const KEYS: Hex[] = [
  vectors.testKey,
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

describe("protocol: checkpoints", () => {
  it("has the EIP-712 type of docs/protocol.md 2.6", () => {
    expect(keccak256(toBytes(CHECKPOINT_TYPE))).to.equal(vectors.typeHash);
  });

  for (const v of vectors.checkpoints) {
    describe(v.name, () => {
      it("hashes domain, struct and digest as the vector", () => {
        expect(checkpointDomainSeparator(domainOf(v))).to.equal(v.domainSeparator);
        expect(checkpointStructHash(checkpointOf(v))).to.equal(v.structHash);
        expect(checkpointDigest(domainOf(v), checkpointOf(v))).to.equal(v.digest);
        // The short form { evmChainId, outbox } is the same domain.
        expect(checkpointDigest(v.domain as never, checkpointOf(v))).to.equal(v.digest);
      });

      it("signs as the vector with the test key and recovers the signer", async () => {
        expect(await signCheckpoint(vectors.testKey, domainOf(v), checkpointOf(v))).to.equal(
          v.signature,
        );
        const account = privateKeyToAccount(vectors.testKey);
        expect(await signCheckpoint(account, domainOf(v), checkpointOf(v))).to.equal(v.signature);
        expect(recoverCheckpointSigner(domainOf(v), checkpointOf(v), v.signature)).to.equal(
          v.signer,
        );
      });

      it("rejects the malleable high-s twin", () => {
        expect(() => recoverCheckpointSigner(domainOf(v), checkpointOf(v), v.highSSignature))
          .to.throw(CheckpointError)
          .with.property("reason", "signature-high-s");
      });
    });
  }

  it("binds the signature to chain id, outbox, origin, root and count", () => {
    const [v, otherChain, otherOutbox] = vectors.checkpoints;
    expect(otherChain.digest).to.not.equal(v.digest);
    expect(otherOutbox.digest).to.not.equal(v.digest);
    const base = checkpointOf(v);
    const variants: Checkpoint[] = [
      { ...base, origin: base.origin + 1n },
      { ...base, root: `0x${"00".repeat(31)}01` },
      { ...base, count: base.count + 1 },
    ];
    for (const changed of variants) {
      expect(recoverCheckpointSigner(domainOf(v), changed, v.signature)).to.not.equal(v.signer);
    }
  });

  it("rejects signatures the chain would reject", () => {
    const [v] = vectors.checkpoints;
    const reject = (signature: string) => {
      try {
        recoverCheckpointSigner(domainOf(v), checkpointOf(v), signature as Hex);
      } catch (error) {
        if (error instanceof CheckpointError) return error.reason;
        throw error;
      }
      return "accepted";
    };
    expect(reject(v.signature.slice(0, -2))).to.equal("signature-length");
    expect(reject(`${v.signature}00`)).to.equal("signature-length");
    expect(reject(`${v.signature.slice(0, -2)}01`)).to.equal("signature-v");
    expect(reject(`${v.signature.slice(0, -2)}1d`)).to.equal("signature-v");
    expect(reject(`0x${"00".repeat(64)}1b`)).to.equal("signature-invalid");
  });

  it("rejects checkpoints out of range", () => {
    const [v] = vectors.checkpoints;
    const base = checkpointOf(v);
    expect(() => checkpointDigest(domainOf(v), { ...base, count: 2 ** 32 })).to.throw(
      CheckpointError,
    );
    expect(() => checkpointDigest(domainOf(v), { ...base, origin: 1n << 64n })).to.throw(
      CheckpointError,
    );
    expect(() => checkpointDigest(domainOf(v), { ...base, root: "0x12" })).to.throw(
      CheckpointError,
    );
    expect(() => checkpointDomain({ evmChainId: 1, outbox: "0x12" })).to.throw(CheckpointError);
  });

  it("orders signatures by strictly increasing signer and drops a repeated signer", async () => {
    const [v] = vectors.checkpoints;
    const domain = domainOf(v);
    const checkpoint = checkpointOf(v);
    const signatures = await Promise.all(
      KEYS.map((key) => signCheckpoint(key, domain, checkpoint)),
    );
    const sorted = sortSignaturesBySigner(domain, checkpoint, [...signatures, signatures[1]]);
    expect(sorted).to.have.length(KEYS.length);
    const signers = sorted.map((s) => BigInt(recoverCheckpointSigner(domain, checkpoint, s)));
    for (let i = 1; i < signers.length; i++) expect(signers[i] > signers[i - 1]).to.equal(true);
    // The input order was not already sorted, so the test can fail.
    expect(sorted).to.not.deep.equal(signatures);

    const entries = KEYS.map((key, i) => ({
      signer: privateKeyToAccount(key).address,
      signature: signatures[i],
    }));
    expect(sortBySigner(entries).map((e) => e.signature)).to.deep.equal(sorted);
  });
});
