/**
 * The Solidity codec of bank message bodies (contracts/libraries/BankMessages.sol) against its
 * TypeScript twin (relayer/protocol/message.ts): byte-identical encodings, each decoding the other's
 * output, and the same malformed bodies refused by both.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";

import {
  decodeNettingReply,
  decodeNettingRequest,
  decodeReserveReport,
  decodeTransferBody,
  encodeNettingReply,
  encodeNettingRequest,
  encodeReserveReport,
  encodeTransferBody,
  NETTING_REPLY_KIND,
  NETTING_REQUEST_KIND,
} from "../../../relayer/protocol/index.js";
import {
  BankMessagesHarness__factory,
  type BankMessagesHarness,
} from "../../../typechain-types/index.js";

const { ethers } = await network.create("chainA");
const RUNS = process.env.DISTPOS_DEEP === "1" ? 500 : 50;

type Hex = `0x${string}`;
const uint256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const bytes32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => ethers.hexlify(b) as Hex);
const userBody = fc.uint8Array({ maxLength: 200 }).map((b) => ethers.hexlify(b) as Hex);

describe("BankMessages codec (Solidity) against relayer/protocol (TypeScript)", function () {
  let codec: BankMessagesHarness;

  before(async function () {
    const [deployer] = await ethers.getSigners();
    codec = await new BankMessagesHarness__factory(deployer).deploy();
  });

  it("encodes and decodes transfer bodies identically", async function () {
    await fc.assert(
      fc.asyncProperty(bytes32, userBody, async (sender, body) => {
        const ts = encodeTransferBody({ sender, body });
        expect(await codec.encodeTransfer(sender, body)).to.equal(ts);
        const [decodedSender, decodedBody] = await codec.decodeTransfer(ts);
        expect(decodedSender).to.equal(sender);
        expect(decodedBody).to.equal(body);
        expect(decodeTransferBody(ts)).to.deep.equal({ sender, body });
      }),
      { numRuns: RUNS },
    );
  });

  it("encodes and decodes reserve reports identically", async function () {
    await fc.assert(
      fc.asyncProperty(
        uint256,
        uint256,
        uint256,
        fc.boolean(),
        fc.bigInt({ min: 0n, max: (1n << 96n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 96n) - 1n }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        async (reserve, pending, received, suspended, perGas, base, premiumPpm) => {
          const report = { reserve, pending, received, suspended, perGas, base, premiumPpm };
          const ts = encodeReserveReport(report);
          expect(ethers.dataLength(ts)).to.equal(126);
          expect(await codec.encodeReserveReport(report)).to.equal(ts);
          const decoded = await codec.decodeReserveReport(ts);
          expect([
            decoded.reserve,
            decoded.pending,
            decoded.received,
            decoded.suspended,
            decoded.perGas,
            decoded.base,
            decoded.premiumPpm,
          ]).to.deep.equal([
            reserve,
            pending,
            received,
            suspended,
            perGas,
            base,
            BigInt(premiumPpm),
          ]);
          expect(decodeReserveReport(ts)).to.deep.equal(report);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("encodes and decodes netting requests and replies identically", async function () {
    await fc.assert(
      fc.asyncProperty(uint256, async (amount) => {
        const request = encodeNettingRequest({ amount });
        const reply = encodeNettingReply({ amount });
        expect(await codec.encodeNettingRequest(amount)).to.equal(request);
        expect(await codec.encodeNettingReply(amount)).to.equal(reply);
        expect(await codec.decodeNetting(request, NETTING_REQUEST_KIND)).to.equal(amount);
        expect(await codec.decodeNetting(reply, NETTING_REPLY_KIND)).to.equal(amount);
        expect(decodeNettingRequest(request).amount).to.equal(amount);
        expect(decodeNettingReply(reply).amount).to.equal(amount);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses the same malformed bodies on both sides", async function () {
    const report = encodeReserveReport({
      reserve: 1n,
      pending: 2n,
      received: 3n,
      suspended: false,
    });
    const request = encodeNettingRequest({ amount: 5n });
    const malformedReports: Hex[] = [
      `${report.slice(0, 2 + 97 * 2)}02${report.slice(2 + 98 * 2)}` as Hex, // flag neither 0 nor 1
      `${report}00` as Hex, // too long
      report.slice(0, -2) as Hex, // too short
      `0x03${report.slice(4)}` as Hex, // wrong kind
    ];
    for (const body of malformedReports) {
      await expect(codec.decodeReserveReport(body)).to.be.revertedWithCustomError(
        codec,
        "MalformedBankMessage",
      );
      expect(() => decodeReserveReport(body)).to.throw();
    }
    for (const body of [`${request}00`, request.slice(0, -2), `0x04${request.slice(4)}`] as Hex[]) {
      await expect(codec.decodeNetting(body, NETTING_REQUEST_KIND)).to.be.revertedWithCustomError(
        codec,
        "MalformedBankMessage",
      );
      expect(() => decodeNettingRequest(body)).to.throw();
    }
    for (const body of ["0x", "0x01", `0x02${"00".repeat(32)}`] as Hex[]) {
      await expect(codec.decodeTransfer(body)).to.be.revertedWithCustomError(
        codec,
        "MalformedBankMessage",
      );
      expect(() => decodeTransferBody(body)).to.throw();
    }
  });
});
