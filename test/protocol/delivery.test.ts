import { expect } from "chai";
import type { Hex } from "viem";

import {
  buildDelivery,
  DeliveryError,
  encodeMessage,
  MerkleTree,
  messageId,
  multiRoot,
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
