import { expect } from "chai";
import { network } from "hardhat";

import { chainAddressVectors as vectors } from "../../vectors/load.js";

describe("ChainAddress (Solidity) against the shared vectors", () => {
  it("pads EVM accounts to bytes32 and back", async () => {
    const { ethers } = await network.create();
    const codec = await ethers.deployContract("CodecHarness");
    for (const v of vectors.valid) {
      expect(await codec.fromAddress(v.account)).to.equal(v.bytes32);
      expect(await codec.toAddress(v.bytes32)).to.equal(v.account);
    }
  });

  it("reverts NotEvmAddress when the upper 12 bytes are not zero", async () => {
    const { ethers } = await network.create();
    const codec = await ethers.deployContract("CodecHarness");
    for (const account of vectors.notEvmAccounts) {
      await expect(codec.toAddress(account))
        .to.be.revertedWithCustomError(codec, "NotEvmAddress")
        .withArgs(account);
    }
  });
});
