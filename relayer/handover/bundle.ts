import { getAddress, isAddress, type Address, type Hex } from "viem";

import {
  addressToBytes32,
  checkpointDomain,
  decodeMessage,
  formatChainCode,
  messageId,
  recoverCheckpointSigner,
  sortBySigner,
  type Checkpoint,
  type Message,
  type ProvingTree,
  type SignerSignature,
} from "../protocol/index.js";
import { ProvenTree } from "./provenTree.js";

/**
 * A bundle (docs/protocol.md 4.2): what an origin community's node hands a destination's node so
 * that it can deliver without following the origin chain. A checkpoint of the origin Outbox, its
 * attesters' signatures over it, messages under it for that destination, and the sparse multiproof
 * of their ids against the checkpoint's root. Everything in it is checked by the receiver against
 * its own chain: the signers against its Inbox's mirror, the domain against its RouteRegistry's
 * record of the origin; nothing the sender says about itself is believed.
 */
export interface Bundle {
  checkpoint: Checkpoint;
  signatures: SignerSignature[];
  /** Encoded messages, strictly increasing nonce. */
  messages: Hex[];
  /** Multiproof of the messages' ids at the checkpoint's count (protocol.md 2.5). */
  proof: Hex[];
}

/** The bundle as JSON on the wire (POST /v1/bundles, GET /v1/bundles). */
export interface BundleJson {
  version: 1;
  checkpoint: { origin: string; root: Hex; count: number; last: Hex };
  signatures: { signer: Address; signature: Hex }[];
  messages: Hex[];
  proof: Hex[];
}

/** Bounds a receiver enforces before any signature is recovered or hash computed. */
export const BUNDLE_LIMITS = {
  /** Messages in one bundle (a deliver batch holds at most 1,000). */
  messages: 1_000,
  /** Signatures in one bundle: a community's signers for one batch, not a flood. */
  signatures: 32,
  /** Proof elements: at most 32 per message. */
  proof: 32 * 1_000,
} as const;

/**
 * Why a bundle is refused. Each code is stable (the API answers it as `reason`), and each names
 * one check of `verifyBundle`, made in this order (cheapest first).
 */
export type BundleRefusal =
  | "malformed" // not a bundle (shape, hex, lengths, limits)
  | "wrong-destination" // a message is not for this node's home chain
  | "wrong-origin" // a message's origin is not the checkpoint's
  | "unknown-route" // the origin is not an active route of the home RouteRegistry
  | "unknown-signer" // no signature by an attester mirrored for the origin on the home Inbox
  | "wrong-proof" // the multiproof does not tie the messages to the signed root (or its last leaf)
  | "bad-signature" // a signature does not recover the signer it names
  | "too-few-signers" // fewer mirrored signers than the route's minimum
  | "already-delivered" // every message is delivered on the home Inbox
  | "coverage-unavailable" // the signers' free capacity cannot cover even one message now
  | "no-relayer"; // no relayer of the home chain is running on this node's Redis (try another)

/**
 * HTTP status of each refusal: 4xx, the request's fault; 409, the chain's state; 503, this node
 * cannot deliver now (the sender tries another entry node).
 */
export const REFUSAL_STATUS: Record<BundleRefusal, number> = {
  malformed: 400,
  "wrong-destination": 422,
  "wrong-origin": 422,
  "unknown-route": 422,
  "wrong-proof": 422,
  "unknown-signer": 403,
  "bad-signature": 403,
  "too-few-signers": 403,
  "already-delivered": 409,
  "coverage-unavailable": 409,
  "no-relayer": 503,
};

/** A refused bundle: `reason` is the code, the message says what exactly. */
export class BundleRefusedError extends Error {
  override readonly name = "BundleRefusedError";

  constructor(
    readonly reason: BundleRefusal,
    detail: string,
  ) {
    super(detail);
  }

  get status(): number {
    return REFUSAL_STATUS[this.reason];
  }
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const HEX = /^0x([0-9a-fA-F]{2})*$/;
const SIG = /^0x[0-9a-fA-F]{130}$/;
const CODE = /^[1-9a-f][0-9a-f]{0,15}$/;

/** The bundle as JSON. */
export function bundleToJson(bundle: Bundle): BundleJson {
  return {
    version: 1,
    checkpoint: {
      origin: formatChainCode(bundle.checkpoint.origin),
      root: bundle.checkpoint.root,
      count: bundle.checkpoint.count,
      last: bundle.checkpoint.last,
    },
    signatures: bundle.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
    messages: [...bundle.messages],
    proof: [...bundle.proof],
  };
}

/**
 * Reads a bundle from JSON, checking its shape and the limits only (no hashing, no recovery).
 * @throws BundleRefusedError `malformed`
 */
export function parseBundle(json: unknown): Bundle {
  const fail = (detail: string): never => {
    throw new BundleRefusedError("malformed", detail);
  };
  if (typeof json !== "object" || json === null) return fail("a bundle is a JSON object");
  const b = json as Partial<Record<keyof BundleJson, unknown>>;
  if (b.version !== 1) fail(`unsupported bundle version ${JSON.stringify(b.version)}`);
  const cp = b.checkpoint as Partial<Record<string, unknown>> | undefined;
  if (typeof cp !== "object" || cp === null) return fail("checkpoint missing");
  if (typeof cp.origin !== "string" || !CODE.test(cp.origin))
    fail("checkpoint.origin must be a chain code (lower-case hex)");
  if (typeof cp.root !== "string" || !HEX32.test(cp.root))
    fail("checkpoint.root must be 32 bytes of hex");
  if (typeof cp.last !== "string" || !HEX32.test(cp.last))
    fail("checkpoint.last must be 32 bytes of hex");
  if (
    typeof cp.count !== "number" ||
    !Number.isInteger(cp.count) ||
    cp.count < 1 ||
    cp.count > 0xffffffff
  )
    fail("checkpoint.count must be a positive uint32");
  const list = (v: unknown, name: string, max: number): unknown[] => {
    if (!Array.isArray(v)) return fail(`${name} must be an array`);
    if (v.length > max) fail(`${name}: ${v.length} over the limit of ${max}`);
    return v;
  };
  const signatures = list(b.signatures, "signatures", BUNDLE_LIMITS.signatures).map((s, i) => {
    const e = s as { signer?: unknown; signature?: unknown } | null;
    if (typeof e?.signer !== "string" || !isAddress(e.signer, { strict: false }))
      fail(`signatures[${i}].signer must be an address`);
    if (typeof e?.signature !== "string" || !SIG.test(e.signature))
      fail(`signatures[${i}].signature must be 65 bytes of hex`);
    return { signer: getAddress(e!.signer as string), signature: e!.signature as Hex };
  });
  const messages = list(b.messages, "messages", BUNDLE_LIMITS.messages).map((m, i) => {
    if (typeof m !== "string" || !HEX.test(m)) fail(`messages[${i}] must be hex bytes`);
    return m as Hex;
  });
  if (!messages.length) fail("a bundle carries at least one message");
  const proof = list(b.proof, "proof", BUNDLE_LIMITS.proof).map((p, i) => {
    if (typeof p !== "string" || !HEX32.test(p)) fail(`proof[${i}] must be 32 bytes of hex`);
    return p as Hex;
  });
  return {
    checkpoint: {
      origin: BigInt(`0x${cp.origin as string}`),
      root: (cp.root as string).toLowerCase() as Hex,
      count: cp.count as number,
      last: (cp.last as string).toLowerCase() as Hex,
    },
    signatures,
    messages,
    proof,
  };
}

/**
 * Builds the bundle of `messages` (any order) under `checkpoint` from the origin's own tree.
 * @throws DeliveryError when a message is not the tree's leaf at its nonce below the count
 */
export function buildBundle(params: {
  tree: ProvingTree;
  checkpoint: Checkpoint;
  signatures: readonly SignerSignature[];
  messages: readonly Hex[];
}): Bundle {
  const sorted = params.messages
    .map((m) => ({ m, nonce: decodeMessage(m).nonce }))
    .sort((a, b) => a.nonce - b.nonce);
  const proof = params.tree.multiproof(
    sorted.map((s) => s.nonce),
    params.checkpoint.count,
  );
  return {
    checkpoint: params.checkpoint,
    signatures: sortBySigner(params.signatures),
    messages: sorted.map((s) => s.m),
    proof,
  };
}

/** What the receiver knows of an origin, from its own chain (the home RouteRegistry's record). */
export interface PeerRoute {
  evmChainId: bigint;
  outbox: Address;
  minSigners: number;
  defaultCoverage: bigint;
  /** The peer's StakingHub: its stake reports to our Inbox put no value at risk. */
  stakingHub?: Address;
}

/** The receiver's reads of its own chain that verification needs (cached by the caller). */
export interface BundleChecks {
  /** The home chain's code: every message must be for it. */
  home: bigint;
  /** The home Inbox (the recipient of peers' stake reports). */
  homeInbox?: Address;
  /** The origin's active route record on the home RouteRegistry; undefined when none. */
  route(origin: bigint): Promise<PeerRoute | undefined>;
  /** Stake mirrored on the home Inbox per attester of `origin` (stake > 0 only). */
  mirror(origin: bigint): Promise<ReadonlyMap<Address, bigint>>;
  /** Whether each message (given with its id, hashed once) is already delivered on the home Inbox. */
  delivered(messages: readonly BundledMessage[]): Promise<boolean[]>;
  /** Each signer's free capacity for `origin` on the home Inbox. */
  freeCapacity(origin: bigint, signers: readonly Address[]): Promise<bigint[]>;
}

/** A message of a bundle with its id. */
export interface BundledMessage {
  id: Hex;
  message: Hex;
}

/** A bundle that passed every check, with what delivery needs. */
export interface VerifiedBundle {
  bundle: Bundle;
  /** The messages not yet delivered, decoded, with their ids (nonce order). */
  fresh: { id: Hex; message: Hex; decoded: Message }[];
  /** Ids of messages found already delivered (dropped). */
  delivered: Hex[];
  /** Signatures by mirrored attesters, verified, in signer order. */
  signatures: SignerSignature[];
  tree: ProvenTree;
}

/**
 * Checks a bundle against the receiver's own chain, cheapest checks first, so that junk costs
 * little: shape (by `parseBundle`), each message's destination and origin, the route, then the
 * signers — a signature naming a signer not mirrored is dropped by a set lookup, and the bundle is
 * refused when none remains, before any message is hashed — then the proof (hashing only), then
 * each kept signature is recovered once, then delivery state and coverage (chain reads).
 * @throws BundleRefusedError naming the first check that failed
 */
export async function verifyBundle(bundle: Bundle, checks: BundleChecks): Promise<VerifiedBundle> {
  const { checkpoint } = bundle;
  const refuse = (reason: BundleRefusal, detail: string): never => {
    throw new BundleRefusedError(reason, detail);
  };
  const decoded: { id: Hex; message: Hex; decoded: Message }[] = [];
  // Ids (one keccak each) are computed once the signers are known to be mirrored.
  const unhashed = "0x" as Hex;
  for (const [i, message] of bundle.messages.entries()) {
    let m: Message;
    try {
      m = decodeMessage(message);
    } catch (e) {
      return refuse(
        "malformed",
        `messages[${i}] is not a DistPOS message: ${(e as Error).message}`,
      );
    }
    if (m.destination !== checks.home)
      refuse(
        "wrong-destination",
        `messages[${i}] is for chain ${formatChainCode(m.destination)}, this node's chain is ${formatChainCode(checks.home)}`,
      );
    if (m.origin !== checkpoint.origin)
      refuse(
        "wrong-origin",
        `messages[${i}] comes from chain ${formatChainCode(m.origin)}, the checkpoint's origin is ${formatChainCode(checkpoint.origin)}`,
      );
    if (i > 0 && m.nonce <= decoded[i - 1]!.decoded.nonce)
      refuse("malformed", "messages must be in strictly increasing nonce order");
    decoded.push({ id: unhashed, message, decoded: m });
  }
  const route = await checks.route(checkpoint.origin);
  if (!route)
    return refuse(
      "unknown-route",
      `chain ${formatChainCode(checkpoint.origin)} is not an active route of this chain's registry`,
    );
  // Signers before the proof: a bundle naming no mirrored attester (the cheapest junk to make) is
  // refused by a set lookup, before any hashing or recovery.
  const mirror = await checks.mirror(checkpoint.origin);
  const claimed = sortBySigner(bundle.signatures).filter((s) => mirror.has(getAddress(s.signer)));
  if (!claimed.length)
    refuse(
      "unknown-signer",
      `no signature by an attester mirrored for chain ${formatChainCode(checkpoint.origin)}`,
    );
  for (const d of decoded) d.id = messageId(d.message);
  let tree: ProvenTree;
  try {
    tree = new ProvenTree(
      decoded.map((d) => d.id),
      decoded.map((d) => d.decoded.nonce),
      bundle.proof,
      checkpoint.count,
    );
  } catch (e) {
    return refuse("wrong-proof", `the proof does not hold: ${(e as Error).message}`);
  }
  if (tree.root !== checkpoint.root.toLowerCase())
    refuse("wrong-proof", "the messages and proof do not reduce to the checkpoint's root");
  // The last leaf the signers vouch for is the bundle's message at `count - 1`, when it carries it
  // (delivered alone, that message needs no proof: the Inbox compares its id with `last`).
  const lastMessage = decoded.find((d) => d.decoded.nonce === checkpoint.count - 1);
  if (lastMessage && lastMessage.id.toLowerCase() !== checkpoint.last.toLowerCase())
    refuse("wrong-proof", "the checkpoint's last leaf is not its message at count - 1");
  const domain = checkpointDomain({ evmChainId: route.evmChainId, outbox: route.outbox });
  for (const s of claimed) {
    let recovered: Address | undefined;
    try {
      recovered = getAddress(recoverCheckpointSigner(domain, checkpoint, s.signature));
    } catch {
      recovered = undefined;
    }
    if (recovered !== getAddress(s.signer))
      refuse("bad-signature", `the signature said to be ${s.signer}'s does not recover to it`);
  }
  if (claimed.length < route.minSigners)
    refuse(
      "too-few-signers",
      `${claimed.length} mirrored signers, the route needs ${route.minSigners}`,
    );

  const states = await checks.delivered(decoded);
  const fresh = decoded.filter((_, i) => !states[i]);
  if (!fresh.length) refuse("already-delivered", "every message is delivered already");

  const free = await checks.freeCapacity(
    checkpoint.origin,
    claimed.map((s) => s.signer),
  );
  const totalFree = free.reduce((a, b) => a + b, 0n);
  // A stake report needs a quorum of the mirrored stake, not coverage (protocol.md 3.5): it must
  // cross even when the signers' capacity is used up, or stake could never be added then.
  const stakeReport = (m: Message) =>
    route.stakingHub !== undefined &&
    checks.homeInbox !== undefined &&
    m.sender.toLowerCase() === addressToBytes32(route.stakingHub).toLowerCase() &&
    m.recipient.toLowerCase() === addressToBytes32(checks.homeInbox).toLowerCase();
  const smallest = fresh.reduce(
    (min, f) => {
      const v = stakeReport(f.decoded)
        ? 0n
        : f.decoded.amount > route.defaultCoverage
          ? f.decoded.amount
          : route.defaultCoverage;
      return min === undefined || v < min ? v : min;
    },
    undefined as bigint | undefined,
  )!;
  if (totalFree < smallest)
    refuse(
      "coverage-unavailable",
      `the signers' free capacity ${totalFree} is below the smallest value at risk ${smallest}`,
    );
  return {
    bundle,
    fresh,
    delivered: decoded.filter((_, i) => states[i]).map((d) => d.id),
    signatures: claimed.map((s) => ({ signer: getAddress(s.signer), signature: s.signature })),
    tree,
  };
}
