import type { Hex } from "viem";

import { packSignatures, type Checkpoint } from "./checkpoint.js";
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
    readonly reason:
      | "no-messages"
      | "duplicate-nonce"
      | "nonce-beyond-count"
      | "leaf-mismatch"
      | "too-many-messages"
      | "message-too-long",
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

/** Most messages one `deliver` frames, and most bytes of one framed message (two-byte fields). */
export const MAX_FRAMED = 0xffff;

/**
 * Messages as `Inbox.deliver` takes them (docs/protocol.md 3.3): a two-byte count, then each
 * encoded message after its two-byte length, big-endian. No offsets, lengths or padding words:
 * a message costs two bytes of framing instead of 64 to 95.
 * @throws DeliveryError when there are more than 65,535 messages or one is longer than 65,535 bytes
 */
export function packMessages(messages: readonly Hex[]): Hex {
  if (messages.length > MAX_FRAMED)
    throw new DeliveryError("too-many-messages", `${messages.length} messages in one delivery`);
  const u16 = (n: number) => n.toString(16).padStart(4, "0");
  let out = `0x${u16(messages.length)}`;
  for (const m of messages) {
    const length = (m.length - 2) / 2;
    if (length > MAX_FRAMED)
      throw new DeliveryError("message-too-long", `a message of ${length} bytes cannot be framed`);
    out += u16(length) + m.slice(2);
  }
  return out as Hex;
}

/** The messages `packMessages` framed, in order. @throws DeliveryError when they do not add up */
export function unpackMessages(framed: Hex): Hex[] {
  const hex = framed.slice(2);
  const u16 = (at: number) => Number.parseInt(hex.slice(at * 2, at * 2 + 4), 16);
  const count = hex.length >= 4 ? u16(0) : 0;
  const out: Hex[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = u16(at);
    if (Number.isNaN(length) || (at + 2 + length) * 2 > hex.length)
      throw new DeliveryError("message-too-long", `the frame at byte ${at} runs past the end`);
    out.push(`0x${hex.slice((at + 2) * 2, (at + 2 + length) * 2)}`);
    at += 2 + length;
  }
  if (at * 2 !== hex.length || count === 0)
    throw new DeliveryError("no-messages", `framed messages do not add up (${count} counted)`);
  return out;
}

/**
 * The arguments of `Inbox.deliver(checkpoint, signatures, messages, proof)`: the one place its
 * call is encoded, for the relayer, the tests, the benchmarks and the forgery demo. `signatures`
 * in ascending signer order (checkpoint.ts `sortBySigner`), `delivery` from `buildDelivery`.
 * The checkpoint's last message delivered alone goes without its proof: the Inbox compares its id
 * with the signed `last` instead (docs/protocol.md 3.3), ≈ 11k gas less in a tree of 4,096.
 */
export function deliverArgs(
  checkpoint: Checkpoint,
  signatures: readonly Hex[],
  delivery: { messages: readonly Hex[]; proof: readonly Hex[] },
): [checkpoint: Checkpoint, signatures: Hex, messages: Hex, proof: Hex[]] {
  return [
    {
      origin: checkpoint.origin,
      root: checkpoint.root,
      count: checkpoint.count,
      last: checkpoint.last,
    },
    packSignatures(signatures),
    packMessages(delivery.messages),
    isLastAlone(checkpoint, delivery.messages) ? [] : [...delivery.proof],
  ];
}

/**
 * Whether `messages` is the checkpoint's last message alone (delivered without a proof). Any bytes
 * are judged, a malformed message included (it is never the last leaf: its id is compared first).
 */
export function isLastAlone(checkpoint: Checkpoint, messages: readonly Hex[]): boolean {
  if (messages.length !== 1) return false;
  const [message] = messages as [Hex];
  if (messageId(message).toLowerCase() !== checkpoint.last.toLowerCase()) return false;
  try {
    return decodeMessage(message).nonce === checkpoint.count - 1;
  } catch {
    return false;
  }
}
