import { secp256k1 } from "@noble/curves/secp256k1";
import {
  getAddress,
  hashDomain,
  hashStruct,
  hashTypedData,
  isAddress,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { privateKeyToAccount, publicKeyToAddress } from "viem/accounts";

/**
 * Checkpoints (docs/protocol.md 2.6): EIP-712 typed data `Checkpoint(uint64 origin,bytes32 root,
 * uint32 count,bytes32 last)` in the domain `{name: "DistPOS", version: "1", chainId: <origin EVM chain id>,
 * verifyingContract: <origin Outbox>}`. The Solidity twin is `contracts/libraries/CheckpointHash.sol`;
 * recovery follows OpenZeppelin's ECDSA (65 bytes `r ‖ s ‖ v`, v 27 or 28, low s).
 */

/**
 * An attester's signed view of an origin Outbox: the root of its first `count` leaves and the last
 * of them, `last` (message `count - 1`'s id), which is delivered alone without a proof.
 */
export type Checkpoint = { origin: bigint; root: Hex; count: number; last: Hex };

/**
 * The checkpoint of `tree`'s first `count` leaves (all of them by default) for `origin`: its root
 * and its last leaf, what an honest attester signs.
 */
export function treeCheckpoint(
  origin: bigint,
  tree: { count: number; rootAt(count: number): Hex; leaf(index: number): Hex },
  count: number = tree.count,
): Checkpoint {
  return { origin, root: tree.rootAt(count), count, last: tree.leaf(count - 1) };
}

/** The EIP-712 domain of one Outbox's checkpoints. */
export type CheckpointDomain = {
  name: "DistPOS";
  version: "1";
  chainId: bigint;
  verifyingContract: Address;
};

/** A domain, or what determines it: the origin's EVM chain id and Outbox. */
export type CheckpointDomainInput =
  CheckpointDomain | { evmChainId: bigint | number; outbox: Address };

/** A signature with the address that made it. */
export type SignerSignature = { signer: Address; signature: Hex };

/** EIP-712 types of a checkpoint. */
export const CHECKPOINT_TYPES = {
  Checkpoint: [
    { name: "origin", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
    { name: "last", type: "bytes32" },
  ],
} as const;

/** The EIP-712 type string (its keccak256 is `CheckpointHash.TYPEHASH`). */
export const CHECKPOINT_TYPE = "Checkpoint(uint64 origin,bytes32 root,uint32 count,bytes32 last)";

// secp256k1 group order / 2: OpenZeppelin's ECDSA rejects any larger s (malleable twin).
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const MAX_UINT64 = (1n << 64n) - 1n;

/** A checkpoint, domain or signature that cannot be used. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";

  constructor(
    readonly reason:
      | "bad-origin"
      | "bad-root"
      | "bad-last"
      | "bad-count"
      | "bad-chain-id"
      | "bad-outbox"
      | "signature-length"
      | "signature-invalid"
      | "signature-v"
      | "signature-high-s",
    detail: string,
  ) {
    super(detail);
  }
}

/** The domain of the checkpoints of `outbox` on EVM chain `evmChainId`. */
export function checkpointDomain(params: {
  evmChainId: bigint | number;
  outbox: Address;
}): CheckpointDomain {
  const chainId = BigInt(params.evmChainId);
  if (chainId < 0n || chainId >= 1n << 256n) {
    throw new CheckpointError("bad-chain-id", `EVM chain id ${chainId} is not a uint256`);
  }
  if (!isAddress(params.outbox, { strict: false })) {
    throw new CheckpointError(
      "bad-outbox",
      `Outbox ${JSON.stringify(params.outbox)} is not an address`,
    );
  }
  return { name: "DistPOS", version: "1", chainId, verifyingContract: getAddress(params.outbox) };
}

/** The domain itself, or the domain of `{ evmChainId, outbox }`. */
export function toCheckpointDomain(input: CheckpointDomainInput): CheckpointDomain {
  return "evmChainId" in input ? checkpointDomain(input) : input;
}

/** The typed data an attester signs (viem's `signTypedData` / `hashTypedData` input). */
export function checkpointTypedData(domain: CheckpointDomainInput, checkpoint: Checkpoint) {
  checkCheckpoint(checkpoint);
  return {
    domain: toCheckpointDomain(domain),
    types: CHECKPOINT_TYPES,
    primaryType: "Checkpoint" as const,
    message: {
      origin: checkpoint.origin,
      root: checkpoint.root,
      count: checkpoint.count,
      last: checkpoint.last,
    },
  };
}

/** EIP-712 domain separator (`CheckpointHash.domainSeparator`). */
export function checkpointDomainSeparator(domain: CheckpointDomainInput): Hex {
  return hashDomain({ domain: toCheckpointDomain(domain), types: { EIP712Domain: DOMAIN_TYPE } });
}

/** EIP-712 struct hash of a checkpoint (`CheckpointHash.structHash`). */
export function checkpointStructHash(checkpoint: Checkpoint): Hex {
  checkCheckpoint(checkpoint);
  return hashStruct({
    data: {
      origin: checkpoint.origin,
      root: checkpoint.root,
      count: checkpoint.count,
      last: checkpoint.last,
    },
    primaryType: "Checkpoint",
    types: CHECKPOINT_TYPES,
  });
}

/** The digest an attester signs (`CheckpointHash.digest`). */
export function checkpointDigest(domain: CheckpointDomainInput, checkpoint: Checkpoint): Hex {
  return hashTypedData(checkpointTypedData(domain, checkpoint));
}

/** Signs a checkpoint: 65 bytes `r ‖ s ‖ v` (v 27/28, low s), as the Inbox expects. */
export async function signCheckpoint(
  signer: Hex | LocalAccount,
  domain: CheckpointDomainInput,
  checkpoint: Checkpoint,
): Promise<Hex> {
  const account = typeof signer === "string" ? privateKeyToAccount(signer) : signer;
  if (account.signTypedData === undefined) {
    throw new TypeError("the account cannot sign typed data");
  }
  return account.signTypedData(checkpointTypedData(domain, checkpoint));
}

/**
 * The address that signed `checkpoint`, with the on-chain rules (OpenZeppelin ECDSA): exactly
 * 65 bytes, v 27 or 28, s in the lower half of the curve order, a valid curve point.
 * @throws CheckpointError when the signature would be rejected on-chain
 */
export function recoverCheckpointSigner(
  domain: CheckpointDomainInput,
  checkpoint: Checkpoint,
  signature: Hex,
): Address {
  checkSignature(signature);
  const digest = checkpointDigest(domain, checkpoint);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  let publicKey: string;
  try {
    publicKey = secp256k1.Signature.fromCompact(signature.slice(2, 130))
      .addRecoveryBit(v - 27)
      .recoverPublicKey(digest.slice(2))
      .toHex(false);
  } catch (error) {
    throw new CheckpointError(
      "signature-invalid",
      `signature does not recover a signer (${String(error)})`,
    );
  }
  return publicKeyToAddress(`0x${publicKey}`);
}

/**
 * Recovers the signer of each signature and returns the signatures ordered by strictly increasing
 * signer address, as `Inbox.deliver` demands. A signer met twice keeps its first signature (a
 * second adds no stake and would make the batch revert).
 * @throws CheckpointError when a signature would be rejected on-chain
 */
export function sortSignaturesBySigner(
  domain: CheckpointDomainInput,
  checkpoint: Checkpoint,
  signatures: readonly Hex[],
): Hex[] {
  return sortBySigner(
    signatures.map((signature) => ({
      signature,
      signer: recoverCheckpointSigner(domain, checkpoint, signature),
    })),
  ).map((entry) => entry.signature);
}

/** Bytes of one signature as the Inbox takes it (r ‖ s ‖ v). */
export const SIGNATURE_BYTES = 65;

/**
 * Signatures as `Inbox.deliver` takes them and `CheckpointAccepted` records them: 65-byte
 * signatures packed one after the other, in the given (ascending-signer) order.
 * @throws CheckpointError when one is not 65 bytes
 */
export function packSignatures(signatures: readonly Hex[]): Hex {
  for (const signature of signatures) checkSignatureLength(signature);
  return `0x${signatures.map((signature) => signature.slice(2)).join("")}`;
}

/** The 65-byte signatures of a packed string (`packSignatures`'s inverse; a partial tail is dropped). */
export function splitSignatures(packed: Hex): Hex[] {
  const hex = packed.slice(2);
  const out: Hex[] = [];
  for (let i = 0; i + SIGNATURE_BYTES * 2 <= hex.length; i += SIGNATURE_BYTES * 2)
    out.push(`0x${hex.slice(i, i + SIGNATURE_BYTES * 2)}`);
  return out;
}

/** Orders already-recovered signatures by strictly increasing signer (first one per signer kept). */
export function sortBySigner<T extends SignerSignature>(signatures: readonly T[]): T[] {
  const bySigner = new Map<bigint, T>();
  for (const entry of signatures) {
    const key = BigInt(entry.signer);
    if (!bySigner.has(key)) bySigner.set(key, entry);
  }
  return [...bySigner.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, entry]) => entry);
}

const DOMAIN_TYPE = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
] as const;

function checkCheckpoint(checkpoint: Checkpoint): void {
  if (
    typeof checkpoint.origin !== "bigint" ||
    checkpoint.origin < 0n ||
    checkpoint.origin > MAX_UINT64
  ) {
    throw new CheckpointError(
      "bad-origin",
      `checkpoint origin ${String(checkpoint.origin)} is not a uint64`,
    );
  }
  if (typeof checkpoint.root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(checkpoint.root)) {
    throw new CheckpointError(
      "bad-root",
      `checkpoint root ${String(checkpoint.root)} is not 32 bytes of hex`,
    );
  }
  if (typeof checkpoint.last !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(checkpoint.last)) {
    throw new CheckpointError(
      "bad-last",
      `checkpoint last leaf ${String(checkpoint.last)} is not 32 bytes of hex`,
    );
  }
  if (
    !Number.isInteger(checkpoint.count) ||
    checkpoint.count < 0 ||
    checkpoint.count > 2 ** 32 - 1
  ) {
    throw new CheckpointError(
      "bad-count",
      `checkpoint count ${String(checkpoint.count)} is not a uint32`,
    );
  }
}

function checkSignatureLength(signature: Hex): void {
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new CheckpointError("signature-length", "signature is not 65 bytes of hex (r ‖ s ‖ v)");
  }
}

function checkSignature(signature: Hex): void {
  checkSignatureLength(signature);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  if (v !== 27 && v !== 28) {
    throw new CheckpointError("signature-v", `signature v is ${v}, expected 27 or 28`);
  }
  if (s > HALF_ORDER) {
    throw new CheckpointError(
      "signature-high-s",
      "signature s is in the upper half of the curve order (malleable)",
    );
  }
}
