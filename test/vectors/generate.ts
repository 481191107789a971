/**
 * Writes the shared test vectors of docs/protocol.md section 2 (and the system bodies of 3.4).
 *
 *   npx node test/vectors/generate.ts && npx prettier --write test/vectors/*.json
 *
 * Deliberately built on ethers, not on relayer/protocol (viem) or the Solidity libraries: the
 * vectors are a second, independent implementation that both codecs are checked against.
 * The Merkle part uses a naive whole-level tree for the same reason.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  concat,
  getAddress,
  keccak256,
  Signature,
  solidityPacked,
  toBeHex,
  toUtf8Bytes,
  TypedDataEncoder,
  Wallet,
  zeroPadValue,
} from "ethers";

const here = dirname(fileURLToPath(import.meta.url));
// Mocha loads every file under test/; only a direct run writes the vectors.
const runDirectly = import.meta.url === `file://${process.argv[1]}`;
const write = (name: string, data: unknown) => {
  if (!runDirectly) return;
  writeFileSync(join(here, name), `${JSON.stringify(data, null, 2)}\n`);
  console.log(`wrote test/vectors/${name}`);
};
const uint = (value: bigint) => value.toString();
const hexCode = (code: bigint) => `0x${code.toString(16)}`;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_UINT128 = (1n << 128n) - 1n;

// ------------------------------------------------------------------------------ chain addresses
const ACCOUNT = "0x63ea7F78107dF4C6fd8b17e7b05b1b3D41a5B1Ab";
const acct = ACCOUNT.slice(2);
const lower = acct.toLowerCase();
const upper = acct.toUpperCase();
// Flip the case of one letter of a correct checksum: a mixed-case account with a wrong checksum.
const badChecksum = acct.replace("F", "f");

const valid = [
  { input: `e2e4x${acct}`, code: 0xe2e4n },
  { input: `e2e4x${lower}`, code: 0xe2e4n },
  { input: `e2e4x${upper}`, code: 0xe2e4n },
  { input: `0x${acct}`, code: 0n },
  { input: `0x${lower}`, code: 0n },
  { input: `1x${acct}`, code: 1n },
  { input: `a0a1x${lower}`, code: 0xa0a1n },
  { input: `ffffffffffffffffx${acct}`, code: MAX_UINT64 },
  { input: `1x${"0".repeat(40)}`, code: 1n, account: "0x0000000000000000000000000000000000000000" },
  { input: `7fx${"f".repeat(40)}`, code: 0x7fn, account: getAddress(`0x${"f".repeat(40)}`) },
].map(({ input, code, account }) => {
  const checksummed = account ?? getAddress(`0x${input.slice(input.indexOf("x") + 1)}`);
  return {
    input,
    code: hexCode(code),
    account: checksummed,
    formatted: `${code.toString(16)}x${checksummed.slice(2)}`,
    bytes32: zeroPadValue(checksummed, 32).toLowerCase(),
  };
});

const invalid: { input: string; reason: string }[] = [
  { input: "", reason: "empty" },
  { input: `e2e4${acct}`, reason: "missing-separator" },
  { input: acct, reason: "missing-separator" },
  { input: `0X${acct}`, reason: "missing-separator" },
  { input: `x${acct}`, reason: "empty-code" },
  { input: `0e2e4x${acct}`, reason: "code-leading-zero" },
  { input: `00x${acct}`, reason: "code-leading-zero" },
  { input: `10000000000000000x${acct}`, reason: "code-too-large" },
  { input: `1ffffffffffffffffx${acct}`, reason: "code-too-large" },
  { input: `E2E4x${acct}`, reason: "code-bad-hex" },
  { input: `e2g4x${acct}`, reason: "code-bad-hex" },
  { input: ` e2e4x${acct}`, reason: "code-bad-hex" },
  { input: `-1x${acct}`, reason: "code-bad-hex" },
  { input: `e2e4x${acct.slice(0, 39)}g`, reason: "account-bad-hex" },
  { input: `e2e4x0x${acct}`, reason: "account-bad-hex" },
  { input: `e2e4x${acct} `, reason: "account-bad-hex" },
  { input: `e2e4x${acct.slice(0, 39)}`, reason: "account-wrong-length" },
  { input: `e2e4x${acct}0`, reason: "account-wrong-length" },
  { input: "e2e4x", reason: "account-wrong-length" },
  { input: "0x", reason: "account-wrong-length" },
  { input: `e2e4x${badChecksum}`, reason: "bad-checksum" },
  { input: `0x${badChecksum}`, reason: "bad-checksum" },
];

const notEvm = [
  `0x01${"00".repeat(11)}${lower}`,
  `0x${"00".repeat(11)}01${lower}`,
  `0x${"ff".repeat(32)}`,
];

write("chain-addresses.json", {
  description:
    "docs/protocol.md 2.1-2.2. valid: input -> code (hex), checksummed account, canonical formatting, on-chain bytes32. invalid: input -> ChainAddressError reason. notEvmAccounts: bytes32 that ChainAddress.toAddress rejects.",
  valid,
  invalid,
  notEvmAccounts: notEvm,
});

// ------------------------------------------------------------------------------ messages
type MessageVector = {
  name: string;
  nonce: number;
  origin: bigint;
  sender: string;
  destination: bigint;
  recipient: string;
  amount: bigint;
  fee: bigint;
  body: string;
};
const account32 = (address: string) => zeroPadValue(address, 32).toLowerCase();
const messageCases: MessageVector[] = [
  {
    name: "pure call, empty body",
    nonce: 0,
    origin: 0xa0a1n,
    sender: account32(ACCOUNT),
    destination: 0xb0b1n,
    recipient: account32("0x000000000000000000000000000000000000bEEF"),
    amount: 0n,
    fee: 0n,
    body: "0x",
  },
  {
    name: "value transfer body",
    nonce: 41,
    origin: 0xe2e4n,
    sender: account32("0x1111111111111111111111111111111111111111"),
    destination: 0x1n,
    recipient: account32(ACCOUNT),
    amount: 1_500_000_000_000_000_000n,
    fee: 25_000_000_000_000_000n,
    body: concat([
      "0x01",
      account32("0x2222222222222222222222222222222222222222"),
      toUtf8Bytes("hello"),
    ]),
  },
  {
    name: "all fields at their maximum, non-EVM accounts",
    nonce: 2 ** 32 - 1,
    origin: MAX_UINT64,
    sender: `0x${"ff".repeat(32)}`,
    destination: MAX_UINT64,
    recipient: `0x${"ab".repeat(32)}`,
    amount: MAX_UINT256,
    fee: MAX_UINT128,
    body: "0xdeadbeef",
  },
  {
    name: "every byte distinct",
    nonce: 0x01020304,
    origin: 0x05060708090a0b0cn,
    sender: `0x${Array.from({ length: 32 }, (_, i) => (0x0d + i).toString(16).padStart(2, "0")).join("")}`,
    destination: 0x2d2e2f3031323334n,
    recipient: `0x${Array.from({ length: 32 }, (_, i) => (0x35 + i).toString(16).padStart(2, "0")).join("")}`,
    amount: BigInt(
      `0x${Array.from({ length: 32 }, (_, i) => (0x55 + i).toString(16).padStart(2, "0")).join("")}`,
    ),
    fee: BigInt(
      `0x${Array.from({ length: 16 }, (_, i) => (0x75 + i).toString(16).padStart(2, "0")).join("")}`,
    ),
    body: "0x85868788",
  },
  {
    name: "maximum body (8192 bytes)",
    nonce: 7,
    origin: 0xa0a1n,
    sender: account32(ACCOUNT),
    destination: 0xc0c1n,
    recipient: account32(ACCOUNT),
    amount: 0n,
    fee: 1n,
    body: `0x${Array.from({ length: 8192 }, (_, i) => (i % 251).toString(16).padStart(2, "0")).join("")}`,
  },
];
const messages = messageCases.map((m) => {
  const encoded = solidityPacked(
    ["uint8", "uint32", "uint64", "bytes32", "uint64", "bytes32", "uint256", "uint128", "bytes"],
    [1, m.nonce, m.origin, m.sender, m.destination, m.recipient, m.amount, m.fee, m.body],
  );
  return {
    name: m.name,
    fields: {
      version: 1,
      nonce: m.nonce,
      origin: uint(m.origin),
      sender: m.sender,
      destination: uint(m.destination),
      recipient: m.recipient,
      amount: uint(m.amount),
      fee: uint(m.fee),
      body: m.body,
    },
    encoded,
    id: keccak256(encoded),
  };
});
write("messages.json", {
  description:
    "docs/protocol.md 2.3. fields (uints as decimal strings) -> packed encoding -> id = keccak256(encoding). malformed: inputs decodeMessage rejects and the Solidity accessors revert on (MessageTooShort).",
  headerLength: 133,
  messages,
  malformed: [
    { name: "empty", encoded: "0x", reason: "too-short" },
    {
      name: "one byte short of a header",
      encoded: messages[0].encoded.slice(0, 2 + 132 * 2),
      reason: "too-short",
    },
  ],
});

// ------------------------------------------------------------------------------ checkpoints
// Hardhat's well-known first test key: never holds value anywhere.
const TEST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const wallet = new Wallet(TEST_KEY);
const types = {
  Checkpoint: [
    { name: "origin", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
    { name: "last", type: "bytes32" },
  ],
};
const LAST = keccak256(toUtf8Bytes("last"));
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const checkpointCases = [
  {
    name: "chainA outbox",
    evmChainId: 0xa0a1n,
    outbox: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    checkpoint: { origin: 0xa0a1n, root: keccak256(toUtf8Bytes("root")), count: 1, last: LAST },
  },
  {
    name: "same checkpoint, another chain id",
    evmChainId: 0xb0b1n,
    outbox: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    checkpoint: { origin: 0xa0a1n, root: keccak256(toUtf8Bytes("root")), count: 1, last: LAST },
  },
  {
    name: "same checkpoint, another outbox",
    evmChainId: 0xa0a1n,
    outbox: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    checkpoint: { origin: 0xa0a1n, root: keccak256(toUtf8Bytes("root")), count: 1, last: LAST },
  },
  {
    name: "maximum fields",
    evmChainId: MAX_UINT64,
    outbox: getAddress(`0x${"ff".repeat(20)}`),
    checkpoint: {
      origin: MAX_UINT64,
      root: `0x${"ff".repeat(32)}`,
      count: 2 ** 32 - 1,
      last: `0x${"ff".repeat(32)}`,
    },
  },
  {
    name: "empty-tree root",
    evmChainId: 1n,
    outbox: "0x0000000000000000000000000000000000000001",
    checkpoint: {
      origin: 0xe2e4n,
      root: "0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757",
      count: 0,
      last: `0x${"00".repeat(32)}`,
    },
  },
];
const checkpoints = checkpointCases.map((c) => {
  const domain = {
    name: "DistPOS",
    version: "1",
    chainId: c.evmChainId,
    verifyingContract: c.outbox,
  };
  const digest = TypedDataEncoder.hash(domain, types, c.checkpoint);
  const signature = Signature.from(wallet.signingKey.sign(digest));
  // The malleable twin: same signer under plain ecrecover, rejected by OpenZeppelin ECDSA.
  const highS = concat([
    signature.r,
    toBeHex(SECP256K1_N - BigInt(signature.s), 32),
    signature.v === 27 ? "0x1c" : "0x1b",
  ]);
  return {
    name: c.name,
    domain: { evmChainId: uint(c.evmChainId), outbox: c.outbox },
    checkpoint: {
      origin: uint(c.checkpoint.origin),
      root: c.checkpoint.root,
      count: c.checkpoint.count,
      last: c.checkpoint.last,
    },
    domainSeparator: TypedDataEncoder.hashDomain(domain),
    structHash: TypedDataEncoder.from(types).hash(c.checkpoint),
    digest,
    signature: signature.serialized,
    highSSignature: highS,
    signer: wallet.address,
  };
});
write("checkpoints.json", {
  description:
    "docs/protocol.md 2.6. domain + checkpoint -> EIP-712 domain separator, struct hash, digest; signature by the fixed test key (Hardhat account #0) and its signer; highSSignature is the malleable twin that must be rejected.",
  typeHash: keccak256(
    toUtf8Bytes("Checkpoint(uint64 origin,bytes32 root,uint32 count,bytes32 last)"),
  ),
  testKey: TEST_KEY,
  checkpoints,
});

// ------------------------------------------------------------------------------ merkle
const ZERO = `0x${"00".repeat(32)}`;
const hashPair = (a: string, b: string) => keccak256(concat([a, b]));
const zeroHashes = [ZERO];
for (let i = 0; i < 32; i++) zeroHashes.push(hashPair(zeroHashes[i], zeroHashes[i]));
const leafOf = (i: number) => keccak256(solidityPacked(["string", "uint256"], ["distpos-leaf", i]));

/** All 33 levels of the tree of `leaves`, each level only as wide as the non-zero part. */
function levels(leaves: string[]): string[][] {
  const out = [leaves];
  for (let h = 0; h < 32; h++) {
    const below = out[h];
    const level: string[] = [];
    for (let i = 0; i < below.length; i += 2)
      level.push(hashPair(below[i], below[i + 1] ?? zeroHashes[h]));
    out.push(level);
  }
  return out;
}
const nodeAt = (tree: string[][], h: number, i: number) => tree[h][i] ?? zeroHashes[h];
const rootOf = (leaves: string[]) => nodeAt(levels(leaves), 32, 0);

function branch(leaves: string[], index: number): string[] {
  const tree = levels(leaves);
  return Array.from({ length: 32 }, (_, h) => nodeAt(tree, h, Math.floor(index / 2 ** h) ^ 1));
}

/**
 * The sparse multiproof of docs/protocol.md 2.5 by direct simulation of the verifier, in the tree
 * of `leaves` (its count is `leaves.length`): a sibling whose subtree starts at or beyond the count
 * is left out.
 */
function multiproof(leaves: string[], indices: number[]): string[] {
  const tree = levels(leaves);
  const proof: string[] = [];
  let known = [...indices];
  for (let h = 0; h < 32; h++) {
    const next: number[] = [];
    for (let k = 0; k < known.length;) {
      const i = known[k];
      if (i % 2 === 0 && known[k + 1] === i + 1) {
        k += 2;
      } else {
        if ((i ^ 1) * 2 ** h < leaves.length) proof.push(nodeAt(tree, h, i ^ 1));
        k += 1;
      }
      next.push(Math.floor(i / 2));
    }
    known = next;
  }
  return proof;
}

const allLeaves = Array.from({ length: 40 }, (_, i) => leafOf(i));
// The roots at every count 0..40 of one tree: the trees of every prefix of the leaves.
const rootsAtCount = Array.from({ length: allLeaves.length + 1 }, (_, count) =>
  rootOf(allLeaves.slice(0, count)),
);

const proofCases: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [4, 5],
  [0, 17],
  [5, 17],
  [16, 17],
  [8, 9],
  [3, 9],
  [39, 40],
  [20, 33],
];
const proofs = proofCases.map(([index, count]) => ({
  index,
  count,
  leaf: allLeaves[index],
  root: rootOf(allLeaves.slice(0, count)),
  proof: branch(allLeaves.slice(0, count), index),
}));

const multiproofCases: [number[], number][] = [
  [[0], 1],
  [[0], 33],
  [[0, 1], 2],
  [[0, 1], 33],
  [[3, 4], 33],
  [[1, 2, 3, 4, 5, 6], 33],
  [[5, 17, 31], 33],
  [[2, 3, 19], 20],
  [[0, 39], 40],
  [[32], 33],
  [Array.from({ length: 33 }, (_, i) => i), 33],
  [Array.from({ length: 16 }, (_, i) => i + 16), 40],
];
const multiproofs = multiproofCases.map(([indices, count]) => ({
  indices,
  count,
  leaves: indices.map((i) => allLeaves[i]),
  root: rootOf(allLeaves.slice(0, count)),
  proof: multiproof(allLeaves.slice(0, count), indices),
}));

const base = multiproofs[6]; // [5, 17, 31] at 33
/** `base`'s proof with the empty-subtree sibling of `base.indices[2]` at `level` written out. */
function withZeroSpelledOut(level: number): string[] {
  // Simulate the verifier on base to find where that sibling would be consumed.
  const out: string[] = [];
  let known = [...base.indices];
  let used = 0;
  for (let h = 0; h < 32; h++) {
    const next: number[] = [];
    for (let k = 0; k < known.length;) {
      const i = known[k];
      if (i % 2 === 0 && known[k + 1] === i + 1) {
        k += 2;
      } else {
        if ((i ^ 1) * 2 ** h < base.count) out.push(base.proof[used++]);
        else if (h === level) out.push(zeroHashes[h]);
        k += 1;
      }
      next.push(Math.floor(i / 2));
    }
    known = next;
  }
  return out;
}
const invalidMultiproofs = [
  { name: "no leaves", leaves: [], indices: [], count: 33, proof: base.proof, reason: "no-leaves" },
  {
    name: "fewer indices than leaves",
    leaves: base.leaves,
    indices: base.indices.slice(0, 2),
    count: 33,
    proof: base.proof,
    reason: "length-mismatch",
  },
  {
    name: "indices descending",
    leaves: [...base.leaves].reverse(),
    indices: [...base.indices].reverse(),
    count: 33,
    proof: base.proof,
    reason: "indices-not-increasing",
  },
  {
    name: "index repeated",
    leaves: [base.leaves[0], base.leaves[0]],
    indices: [5, 5],
    count: 33,
    proof: base.proof,
    reason: "indices-not-increasing",
  },
  {
    name: "proof one element short",
    leaves: base.leaves,
    indices: base.indices,
    count: 33,
    proof: base.proof.slice(0, -1),
    reason: "proof-too-short",
  },
  {
    name: "proof one element too many",
    leaves: base.leaves,
    indices: base.indices,
    count: 33,
    proof: [...base.proof, ZERO],
    reason: "proof-too-long",
  },
  {
    // The full (non-sparse) proof: the verifier supplies the empty subtree itself.
    name: "an empty-subtree sibling spelled out",
    leaves: base.leaves,
    indices: base.indices,
    count: 33,
    proof: withZeroSpelledOut(6),
    reason: "proof-too-long",
  },
  {
    // The sparse proof at 33 checked as if the count were 65: the sibling of level 6 (leaves
    // 64..127) it omits is now needed.
    name: "a sparse proof at a larger count",
    leaves: base.leaves,
    indices: base.indices,
    count: 65,
    proof: base.proof,
    reason: "proof-too-short",
  },
  {
    name: "index at the count",
    leaves: base.leaves,
    indices: base.indices,
    count: 31,
    proof: base.proof,
    reason: "index-out-of-range",
  },
  {
    name: "index beyond 2^32",
    leaves: [allLeaves[0]],
    indices: [2 ** 32],
    count: 2 ** 32 + 1,
    proof: proofs[0].proof,
    reason: "index-out-of-range",
  },
];

write("merkle.json", {
  description:
    'docs/protocol.md 2.4-2.5. leaf i = keccak256(abi.encodePacked("distpos-leaf", uint256(i))). rootsAtCount[n]: root of the tree of the first n leaves. proofs: 32-sibling branches at an earlier or current count. multiproofs: sparse positional multiproofs in the tree of the first `count` leaves (siblings in consumption order; siblings whose subtree starts at or beyond `count` left out). invalidMultiproofs: rejected by multiRoot at `count` (reason = TS InvalidMultiproofError reason; Solidity reverts InvalidMultiproof, or IndexOutOfRange for index-out-of-range).',
  emptyRoot: zeroHashes[32],
  zeroHashes,
  leaves: allLeaves,
  rootsAtCount,
  proofs,
  multiproofs,
  invalidMultiproofs,
});

// ------------------------------------------------------------------------------ system bodies
const stakeReports = [
  { attester: ACCOUNT, allocation: 100n * 10n ** 18n },
  { attester: "0x0000000000000000000000000000000000000001", allocation: 0n },
  { attester: getAddress(`0x${"ff".repeat(20)}`), allocation: MAX_UINT256 },
].map((r) => ({
  attester: r.attester,
  allocation: uint(r.allocation),
  encoded: solidityPacked(["uint8", "address", "uint256"], [1, r.attester, r.allocation]),
}));
const transfers = [
  { sender: account32(ACCOUNT), body: "0x" },
  { sender: account32(ACCOUNT), body: "0x68656c6c6f" },
  { sender: `0x${"ee".repeat(32)}`, body: `0x${"00".repeat(40)}` },
].map((t) => ({
  ...t,
  encoded: solidityPacked(["uint8", "bytes32", "bytes"], [1, t.sender, t.body]),
}));
const MAX_UINT96 = (1n << 96n) - 1n;
const reserveReports = [
  {
    reserve: 1000n * 10n ** 18n,
    pending: 0n,
    received: 25n * 10n ** 18n,
    suspended: false,
    perGas: 3_000_000_000_000n,
    base: 10n ** 16n,
    premiumPpm: 500,
  },
  {
    reserve: 0n,
    pending: 3n,
    received: MAX_UINT256,
    suspended: true,
    perGas: MAX_UINT96,
    base: MAX_UINT96,
    premiumPpm: 2 ** 32 - 1,
  },
  { reserve: 1n, pending: 0n, received: 0n, suspended: false, perGas: 0n, base: 0n, premiumPpm: 0 },
].map((r) => ({
  reserve: uint(r.reserve),
  pending: uint(r.pending),
  received: uint(r.received),
  suspended: r.suspended,
  perGas: uint(r.perGas),
  base: uint(r.base),
  premiumPpm: r.premiumPpm,
  encoded: solidityPacked(
    ["uint8", "uint256", "uint256", "uint256", "uint8", "uint96", "uint96", "uint32"],
    [2, r.reserve, r.pending, r.received, r.suspended ? 1 : 0, r.perGas, r.base, r.premiumPpm],
  ),
}));
/** Byte 97 of a reserve report is its suspended flag. */
const withFlag = (encoded: string, flag: string) =>
  `${encoded.slice(0, 2 + 97 * 2)}${flag}${encoded.slice(2 + 98 * 2)}`;
const netting = (kind: number) =>
  [0n, 5n * 10n ** 17n, MAX_UINT256].map((amount) => ({
    amount: uint(amount),
    encoded: solidityPacked(["uint8", "uint256"], [kind, amount]),
  }));
const nettingRequests = netting(3);
const nettingReplies = netting(4);
write("system-bodies.json", {
  description:
    "docs/protocol.md 3.4. Each kind: fields -> packed body. invalid: body -> decoder reason (SystemBodyDecodeError).",
  stakeReports,
  transfers,
  reserveReports,
  nettingRequests,
  nettingReplies,
  invalid: [
    { decoder: "stakeReport", body: stakeReports[0].encoded.slice(0, -2), reason: "wrong-length" },
    { decoder: "stakeReport", body: `${stakeReports[0].encoded}00`, reason: "wrong-length" },
    {
      decoder: "stakeReport",
      body: `0x02${stakeReports[0].encoded.slice(4)}`,
      reason: "wrong-kind",
    },
    { decoder: "stakeReport", body: "0x", reason: "wrong-length" },
    { decoder: "transfer", body: transfers[0].encoded.slice(0, -2), reason: "wrong-length" },
    { decoder: "transfer", body: `0x02${transfers[1].encoded.slice(4)}`, reason: "wrong-kind" },
    {
      decoder: "reserveReport",
      body: withFlag(reserveReports[0].encoded, "02"),
      reason: "bad-flag",
    },
    {
      decoder: "reserveReport",
      body: reserveReports[0].encoded.slice(0, -2),
      reason: "wrong-length",
    },
    {
      decoder: "reserveReport",
      body: `0x03${reserveReports[0].encoded.slice(4)}`,
      reason: "wrong-kind",
    },
    { decoder: "nettingRequest", body: nettingReplies[1].encoded, reason: "wrong-kind" },
    { decoder: "nettingRequest", body: `${nettingRequests[1].encoded}00`, reason: "wrong-length" },
    { decoder: "nettingReply", body: nettingRequests[1].encoded, reason: "wrong-kind" },
    {
      decoder: "nettingReply",
      body: nettingReplies[1].encoded.slice(0, -2),
      reason: "wrong-length",
    },
    { decoder: "nettingReply", body: "0x04zz", reason: "not-hex" },
  ],
});
