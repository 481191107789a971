import { expect } from "chai";
import { network } from "hardhat";

import { messageVectors as vectors } from "../../vectors/load.js";

describe("MessageCodec (Solidity) against the shared vectors", () => {
  async function deploy() {
    const { ethers } = await network.create();
    return ethers.deployContract("CodecHarness");
  }

  it("encodes every vector and hashes it to its id", async () => {
    const codec = await deploy();
    for (const v of vectors.messages) {
      const f = v.fields;
      const encoded = await codec.encodeMessage(
        f.nonce,
        f.origin,
        f.sender,
        f.destination,
        f.recipient,
        f.amount,
        f.fee,
        f.body,
      );
      expect(encoded, v.name).to.equal(v.encoded);
      expect(await codec.messageId(v.encoded), v.name).to.equal(v.id);
    }
  });

  it("reads every field of every vector with the calldata accessors", async () => {
    const codec = await deploy();
    for (const v of vectors.messages) {
      const [header, body] = await codec.decodeMessage(v.encoded);
      expect(header.version).to.equal(BigInt(v.fields.version));
      expect(header.nonce).to.equal(BigInt(v.fields.nonce));
      expect(header.origin).to.equal(BigInt(v.fields.origin));
      expect(header.sender).to.equal(v.fields.sender);
      expect(header.destination).to.equal(BigInt(v.fields.destination));
      expect(header.recipient).to.equal(v.fields.recipient);
      expect(header.amount).to.equal(BigInt(v.fields.amount));
      expect(header.fee).to.equal(BigInt(v.fields.fee));
      expect(body).to.equal(v.fields.body);
    }
  });

  it("reverts MessageTooShort on a message shorter than the header", async () => {
    const codec = await deploy();
    for (const v of vectors.malformed) {
      const length = (v.encoded.length - 2) / 2;
      await expect(codec.decodeMessage(v.encoded))
        .to.be.revertedWithCustomError(codec, "MessageTooShort")
        .withArgs(length);
      await expect(codec.messageVersion(v.encoded))
        .to.be.revertedWithCustomError(codec, "MessageTooShort")
        .withArgs(length);
      await expect(codec.messageBody(v.encoded))
        .to.be.revertedWithCustomError(codec, "MessageTooShort")
        .withArgs(length);
    }
  });

  it("accepts a bare header with an empty body", async () => {
    const codec = await deploy();
    const header = vectors.messages[0].encoded; // empty body
    expect((header.length - 2) / 2).to.equal(vectors.headerLength);
    expect(await codec.messageBody(header)).to.equal("0x");
  });
});
