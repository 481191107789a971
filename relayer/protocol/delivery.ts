import type { Hex } from "viem";

import { MerkleTree } from "./merkle.js";
import { decodeMessage, messageId } from "./message.js";

/**
 * The message and proof part of an `Inbox.deliver` call: the messages in strictly increasing
 * nonce order and the sparse positional multiproof of their ids against the root at `count`
 * (docs/protocol.md 2.5: siblings that are empty subtrees at or beyond `count` are left out, so
 * the proof holds only for the checkpoint of that count).
 */
export type Delivery = { messages: Hex[]; nonces: number[]; proof: Hex[] };

/**
 * What a delivery is proven from: the origin's whole tree (an index of it), or any tree that knows
 * the leaves it is asked about and can prove them (a bundle's proven part, handover/provenTree.ts).
 */
export type ProvingTree = Pick<MerkleTree, "count" | "leaf" | "multiproof">;

/** Messages that cannot be delivered together under the given tree and count. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";

  constructor(
    readonly reason: "no-messages" | "duplicate-nonce" | "nonce-beyond-count" | "leaf-mismatch",
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Orders `messages` by nonce and proves them against the origin tree at `count`.
 * `tree` is the origin's tree (or its leaves, oldest first), holding at least `count` leaves.
 * @throws DeliveryError when a message repeats, lies beyond `count`, or is not the tree's leaf
 */
export function buildDelivery(params: {
  tree?: ProvingTree;
  leaves?: readonly Hex[];
  count: number;
  messages: readonly Hex[];
}): Delivery {
  const tree: ProvingTree =
    params.tree ?? MerkleTree.from((params.leaves ?? []).slice(0, params.count));
  if (params.messages.length === 0)
    throw new DeliveryError("no-messages", "a delivery needs at least one message");
  const entries = params.messages
    .map((message) => ({ message, nonce: decodeMessage(message).nonce }))
    .sort((a, b) => a.nonce - b.nonce);
  for (let i = 0; i < entries.length; i++) {
    const { message, nonce } = entries[i];
    if (i > 0 && nonce === entries[i - 1].nonce) {
      throw new DeliveryError("duplicate-nonce", `two messages have nonce ${nonce}`);
    }
    if (nonce >= params.count) {
      throw new DeliveryError(
        "nonce-beyond-count",
        `message nonce ${nonce} is not below count ${params.count}`,
      );
    }
    if (nonce >= tree.count || tree.leaf(nonce) !== messageId(message)) {
      throw new DeliveryError(
        "leaf-mismatch",
        `message ${messageId(message)} is not leaf ${nonce} of the tree`,
      );
    }
  }
  const nonces = entries.map((entry) => entry.nonce);
  return {
    messages: entries.map((entry) => entry.message),
    nonces,
    proof: tree.multiproof(nonces, params.count),
  };
}
