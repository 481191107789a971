import { expect } from "chai";
import type { Hex } from "viem";

import {
  decodeMessage,
  decodeNettingReply,
  decodeNettingRequest,
  decodeReserveReport,
  decodeStakeReport,
  decodeTransferBody,
  encodeMessage,
  encodeNettingReply,
  encodeNettingRequest,
  encodeReserveReport,
  encodeStakeReport,
  encodeTransferBody,
  HEADER_LENGTH,
  MessageDecodeError,
  MessageEncodeError,
  messageId,
  SystemBodyDecodeError,
  type MessageFields,
} from "../../relayer/protocol/index.js";
import { messageVectors, systemBodyVectors as bodies } from "../vectors/load.js";

function fieldsOf(v: (typeof messageVectors.messages)[number]): MessageFields {
  return {
    version: v.fields.version,
    nonce: v.fields.nonce,
    origin: BigInt(v.fields.origin),
    sender: v.fields.sender,
    destination: BigInt(v.fields.destination),
    recipient: v.fields.recipient,
    amount: BigInt(v.fields.amount),
    fee: BigInt(v.fields.fee),
    body: v.fields.body,
  };
}

/** Flips every bit of byte `index` of `hex`. */
function flipByte(hex: Hex, index: number): Hex {
  const bytes = hex.slice(2).match(/../g) ?? [];
  bytes[index] = (Number.parseInt(bytes[index], 16) ^ 0xff).toString(16).padStart(2, "0");
  return `0x${bytes.join("")}`;
}

describe("protocol: messages", () => {
  it("has a 133-byte header", () => {
    expect(HEADER_LENGTH).to.equal(messageVectors.headerLength);
  });

  for (const v of messageVectors.messages) {
    describe(v.name, () => {
      it("encodes the fields to the vector and hashes to its id", () => {
        expect(encodeMessage(fieldsOf(v))).to.equal(v.encoded);
        expect(messageId(fieldsOf(v))).to.equal(v.id);
        expect(messageId(v.encoded)).to.equal(v.id);
      });

      it("decodes the vector to its fields", () => {
        expect(decodeMessage(v.encoded)).to.deep.equal({ ...fieldsOf(v), version: 1 });
      });

      it("changes the id when any header byte changes", () => {
        for (let i = 0; i < HEADER_LENGTH; i++) {
          const changed = flipByte(v.encoded, i);
          expect(messageId(changed), `byte ${i}`).to.not.equal(v.id);
          expect(encodeMessage(decodeMessage(changed)), `byte ${i}`).to.equal(changed);
        }
      });
    });
  }

  it("changes the id when a body byte changes", () => {
    const v = messageVectors.messages[1];
    const changed = flipByte(v.encoded, HEADER_LENGTH + 3);
    expect(messageId(changed)).to.not.equal(v.id);
    expect(decodeMessage(changed).body).to.not.equal(v.fields.body);
  });

  for (const v of messageVectors.malformed) {
    it(`rejects a malformed message: ${v.name}`, () => {
      expect(() => decodeMessage(v.encoded))
        .to.throw(MessageDecodeError)
        .with.property("reason", v.reason);
    });
  }

  it("rejects bytes that are not hex", () => {
    expect(() => decodeMessage("0x0g" as Hex))
      .to.throw(MessageDecodeError)
      .with.property("reason", "not-hex");
    expect(() => decodeMessage("0x123" as Hex))
      .to.throw(MessageDecodeError)
      .with.property("reason", "not-hex");
  });

  it("refuses fields that do not fit", () => {
    const base = fieldsOf(messageVectors.messages[0]);
    const cases: [string, MessageFields][] = [
      ["nonce", { ...base, nonce: 2 ** 32 }],
      ["nonce", { ...base, nonce: -1 }],
      ["nonce", { ...base, nonce: 1.5 }],
      ["origin", { ...base, origin: 1n << 64n }],
      ["destination", { ...base, destination: -1n }],
      ["amount", { ...base, amount: 1n << 256n }],
      ["sender", { ...base, sender: "0x1234" }],
      ["recipient", { ...base, recipient: `0x${"00".repeat(33)}` }],
      ["body", { ...base, body: "0xabc" as Hex }],
      ["version", { ...base, version: 256 }],
    ];
    for (const [field, fields] of cases) {
      expect(() => encodeMessage(fields), field)
        .to.throw(MessageEncodeError)
        .with.property("field", field);
    }
  });
});

describe("protocol: system message bodies", () => {
  it("stake reports", () => {
    for (const v of bodies.stakeReports) {
      const report = { attester: v.attester, allocation: BigInt(v.allocation) };
      expect(encodeStakeReport(report)).to.equal(v.encoded);
      expect(decodeStakeReport(v.encoded)).to.deep.equal(report);
    }
  });

  it("value transfer bodies", () => {
    for (const v of bodies.transfers) {
      expect(encodeTransferBody({ sender: v.sender, body: v.body })).to.equal(v.encoded);
      expect(decodeTransferBody(v.encoded)).to.deep.equal({ sender: v.sender, body: v.body });
    }
  });

  it("reserve reports", () => {
    for (const v of bodies.reserveReports) {
      const report = {
        reserve: BigInt(v.reserve),
        pending: BigInt(v.pending),
        received: BigInt(v.received),
        suspended: v.suspended,
        perGas: BigInt(v.perGas),
        base: BigInt(v.base),
        premiumPpm: v.premiumPpm,
      };
      expect(encodeReserveReport(report)).to.equal(v.encoded);
      expect(decodeReserveReport(v.encoded)).to.deep.equal(report);
    }
  });

  it("netting requests and replies", () => {
    for (const v of bodies.nettingRequests) {
      expect(encodeNettingRequest({ amount: BigInt(v.amount) })).to.equal(v.encoded);
      expect(decodeNettingRequest(v.encoded)).to.deep.equal({ amount: BigInt(v.amount) });
    }
    for (const v of bodies.nettingReplies) {
      expect(encodeNettingReply({ amount: BigInt(v.amount) })).to.equal(v.encoded);
      expect(decodeNettingReply(v.encoded)).to.deep.equal({ amount: BigInt(v.amount) });
    }
  });

  const decoders: Record<string, (body: Hex) => unknown> = {
    stakeReport: decodeStakeReport,
    transfer: decodeTransferBody,
    reserveReport: decodeReserveReport,
    nettingRequest: decodeNettingRequest,
    nettingReply: decodeNettingReply,
  };
  for (const v of bodies.invalid) {
    it(`rejects a malformed ${v.decoder}: ${v.reason}`, () => {
      expect(() => decoders[v.decoder](v.body))
        .to.throw(SystemBodyDecodeError)
        .with.property("reason", v.reason);
    });
  }
});
