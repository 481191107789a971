import { expect } from "chai";
import type { Hex } from "viem";

import {
  buildDelivery,
  CheckpointError,
  DeliveryError,
  encodeMessage,
  MerkleTree,
  messageId,
  multiRoot,
  packMessages,
  packSignatures,
  splitSignatures,
  unpackMessages,
} from "../../relayer/protocol/index.js";

const message = (nonce: number): Hex =>
  encodeMessage({
    nonce,
    origin: 0xa0a1n,
    sender: `0x${"00".repeat(31)}01`,
    destination: 0xb0b1n,
    recipient: `0x${"00".repeat(31)}02`,
    amount: 0n,
    body: `0x${nonce.toString(16).padStart(2, "0")}`,
  });

describe("protocol: delivery builder", () => {
  const messages = Array.from({ length: 12 }, (_, i) => message(i));
  const leaves = messages.map((m) => messageId(m));
  const tree = MerkleTree.from(leaves);

  it("orders messages by nonce and proves them at the count", () => {
    const delivery = buildDelivery({
      tree,
      count: 10,
      messages: [messages[7], messages[2], messages[3]],
    });
    expect(delivery.nonces).to.deep.equal([2, 3, 7]);
    expect(delivery.messages).to.deep.equal([messages[2], messages[3], messages[7]]);
    const ids = delivery.messages.map((m) => messageId(m));
    expect(multiRoot(ids, delivery.nonces, delivery.proof, 10)).to.equal(tree.rootAt(10));
    // Sparse: the siblings of leaves from 10 on are left out.
    expect(delivery.proof).to.deep.equal(tree.multiproof([2, 3, 7], 10));
    // Leaf 6, node 0 of level 1, node 2 of level 1, node 1 of level 3 (leaves 8..15); the levels
    // from 4 up are empty right siblings.
    expect(delivery.proof).to.have.length(4);
    // From the leaves alone, the same delivery.
    expect(
      buildDelivery({ leaves, count: 10, messages: [messages[7], messages[2], messages[3]] }),
    ).to.deep.equal(delivery);
  });

  it("refuses what the Inbox would refuse", () => {
    const reason = (action: () => unknown) => {
      try {
        action();
      } catch (error) {
        if (error instanceof DeliveryError) return error.reason;
        throw error;
      }
      return "no error";
    };
    expect(reason(() => buildDelivery({ tree, count: 10, messages: [] }))).to.equal("no-messages");
    expect(
      reason(() => buildDelivery({ tree, count: 10, messages: [messages[1], messages[1]] })),
    ).to.equal("duplicate-nonce");
    expect(reason(() => buildDelivery({ tree, count: 10, messages: [messages[10]] }))).to.equal(
      "nonce-beyond-count",
    );
    const forged = encodeMessage({
      nonce: 4,
      origin: 0xa0a1n,
      sender: `0x${"00".repeat(31)}01`,
      destination: 0xb0b1n,
      recipient: `0x${"00".repeat(31)}02`,
      amount: 10n ** 18n,
      body: "0x04",
    });
    expect(reason(() => buildDelivery({ tree, count: 10, messages: [forged] }))).to.equal(
      "leaf-mismatch",
    );
  });
});

describe("protocol: framed messages and packed signatures (Inbox.deliver's encoding)", () => {
  const messages = [message(1), message(2), message(3)];

  it("frames messages as a two-byte count and two-byte lengths, and reads them back", () => {
    const framed = packMessages(messages);
    const length = (messages[0]!.length - 2) / 2;
    expect(framed.slice(0, 10)).to.equal(`0x0003${length.toString(16).padStart(4, "0")}`);
    expect((framed.length - 2) / 2).to.equal(
      2 + messages.reduce((n, m) => n + 2 + (m.length - 2) / 2, 0),
    );
    expect(unpackMessages(framed)).to.deep.equal(messages);
    expect(packMessages([])).to.equal("0x0000");
  });

  it("refuses what cannot be framed or does not add up", () => {
    const long = `0x${"00".repeat(0x10000)}` as Hex;
    expect(() => packMessages([long])).to.throw(DeliveryError, "cannot be framed");
    const framed = packMessages(messages);
    expect(() => unpackMessages(`${framed}00`)).to.throw(DeliveryError);
    expect(() => unpackMessages(framed.slice(0, -2) as Hex)).to.throw(DeliveryError);
    expect(() => unpackMessages("0x0000")).to.throw(DeliveryError);
  });

  it("packs 65-byte signatures end to end and splits them back; refuses another length", () => {
    const signatures = [`0x${"11".repeat(65)}`, `0x${"22".repeat(65)}`] as Hex[];
    const packed = packSignatures(signatures);
    expect(packed).to.equal(`0x${"11".repeat(65)}${"22".repeat(65)}`);
    expect(splitSignatures(packed)).to.deep.equal(signatures);
    expect(() => packSignatures([`0x${"11".repeat(64)}`])).to.throw(CheckpointError);
  });
});
