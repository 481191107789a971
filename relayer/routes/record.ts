/**
 * Route records (docs/protocol.md, "Routing table"): a community announces its entry nodes in a
 * record signed by one of its staked attesters, EIP-712 typed data
 * `RouteRecord(uint64 code,uint256 evmChainId,string[] nodes,uint64 sequence,uint64 expiry)` in
 * the domain `{name: "DistPOS routes", version: "1", chainId: <the community's EVM chain id>}`.
 * This module is pure: the record, its wire form, signing and recovering the signer. Whether the
 * signer may speak for the community is `trust.ts`'s question; which record wins is `table.ts`'s.
 */
import {
  getAddress,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { formatChainCode } from "../protocol/index.js";

/** What a community announces: where its entry nodes are, until when, in which version. */
export interface RouteRecord {
  /** The community's DistPOS chain code. */
  code: bigint;
  /** Its EVM chain id (also the chain id of the record's EIP-712 domain). */
  evmChainId: bigint;
  /** Its entry nodes' API base URLs (http(s), no trailing slash). */
  nodes: string[];
  /** Higher replaces lower (uint64). */
  sequence: bigint;
  /** Unix seconds after which the record is refused (uint64). */
  expiry: bigint;
}

/** A record with its signature and the attester that made it (recovered, never trusted). */
export interface SignedRouteRecord extends RouteRecord {
  signature: Hex;
  signer: Address;
}

/** The JSON form served by `GET /v1/routes`: integers as decimal strings, the code in hex. */
export interface RouteRecordJson {
  code: string;
  evmChainId: string;
  nodes: string[];
  sequence: string;
  expiry: string;
  signer: string;
  signature: string;
}

/** Entry nodes one record may name, and the longest URL: a record stays small to check. */
export const MAX_RECORD_NODES = 16;
export const MAX_NODE_URL = 256;
const MAX_UINT64 = (1n << 64n) - 1n;

export type RouteRecordReason =
  | "malformed"
  | "bad-signature"
  | "signer-mismatch"
  | "unknown-chain"
  | "wrong-chain-id"
  | "expired"
  | "signer-not-mirrored"
  | "signer-not-staked"
  | "stale";

/** A record refused, with the reason (a stable code) and a sentence for logs and operators. */
export class RouteRecordError extends Error {
  override readonly name = "RouteRecordError";

  constructor(
    readonly reason: RouteRecordReason,
    detail: string,
  ) {
    super(detail);
  }
}

export const ROUTE_RECORD_TYPES = {
  RouteRecord: [
    { name: "code", type: "uint64" },
    { name: "evmChainId", type: "uint256" },
    { name: "nodes", type: "string[]" },
    { name: "sequence", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
} as const;

/** An entry-node URL as records carry it: http(s), bounded, without trailing slashes. */
export function normalizeNodeUrl(url: string): string {
  if (typeof url !== "string" || url.length > MAX_NODE_URL)
    throw new RouteRecordError("malformed", `node URL longer than ${MAX_NODE_URL} characters`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RouteRecordError("malformed", `node ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new RouteRecordError("malformed", `node ${JSON.stringify(url)} is not http(s)`);
  if (u.username || u.password)
    throw new RouteRecordError("malformed", `node ${JSON.stringify(url)} carries credentials`);
  return url.replace(/\/+$/, "");
}

function checkRecord(r: RouteRecord): void {
  const uint = (v: bigint, max: bigint, what: string) => {
    if (typeof v !== "bigint" || v < 0n || v > max)
      throw new RouteRecordError("malformed", `${what} ${String(v)} is out of range`);
  };
  uint(r.code, MAX_UINT64, "code");
  if (r.code === 0n) throw new RouteRecordError("malformed", "code 0 is not a chain");
  uint(r.evmChainId, (1n << 256n) - 1n, "evmChainId");
  uint(r.sequence, MAX_UINT64, "sequence");
  uint(r.expiry, MAX_UINT64, "expiry");
  if (!Array.isArray(r.nodes) || r.nodes.length === 0 || r.nodes.length > MAX_RECORD_NODES)
    throw new RouteRecordError("malformed", `a record names 1 to ${MAX_RECORD_NODES} nodes`);
  for (const n of r.nodes)
    if (normalizeNodeUrl(n) !== n)
      throw new RouteRecordError("malformed", `node ${JSON.stringify(n)} is not normalized`);
  if (new Set(r.nodes).size !== r.nodes.length)
    throw new RouteRecordError("malformed", "a node is named twice");
}

/** The typed data an attester signs for `record` (viem's `signTypedData` input). */
export function routeRecordTypedData(record: RouteRecord) {
  checkRecord(record);
  return {
    domain: { name: "DistPOS routes", version: "1", chainId: record.evmChainId },
    types: ROUTE_RECORD_TYPES,
    primaryType: "RouteRecord" as const,
    message: {
      code: record.code,
      evmChainId: record.evmChainId,
      nodes: record.nodes,
      sequence: record.sequence,
      expiry: record.expiry,
    },
  };
}

/** Signs `record` with an attester key. */
export async function signRouteRecord(
  signer: Hex | LocalAccount,
  record: RouteRecord,
): Promise<SignedRouteRecord> {
  const account = typeof signer === "string" ? privateKeyToAccount(signer) : signer;
  if (account.signTypedData === undefined) throw new TypeError("the account cannot sign");
  const signature = await account.signTypedData(routeRecordTypedData(record));
  return { ...record, nodes: [...record.nodes], signature, signer: account.address };
}

/**
 * Recovers the signer of a signed record and checks it is the one the record names, and that the
 * record has not expired at `nowSeconds`. Says nothing about whether the signer is staked.
 * @throws RouteRecordError
 */
export async function verifyRouteRecord(
  record: SignedRouteRecord,
  nowSeconds: bigint,
): Promise<Address> {
  checkRecord(record);
  if (typeof record.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(record.signature))
    throw new RouteRecordError("bad-signature", "signature is not 65 bytes of hex");
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({
      ...routeRecordTypedData(record),
      signature: record.signature,
    });
  } catch (e) {
    throw new RouteRecordError("bad-signature", `signature recovers no signer (${String(e)})`);
  }
  if (getAddress(recovered) !== getAddress(record.signer))
    throw new RouteRecordError(
      "signer-mismatch",
      `signature is by ${recovered}, not by the named signer ${record.signer} (record altered or forged)`,
    );
  if (record.expiry <= nowSeconds)
    throw new RouteRecordError(
      "expired",
      `record of chain ${formatChainCode(record.code)} expired at ${record.expiry} (now ${nowSeconds})`,
    );
  return recovered;
}

export function recordToJson(r: SignedRouteRecord): RouteRecordJson {
  return {
    code: formatChainCode(r.code),
    evmChainId: r.evmChainId.toString(),
    nodes: [...r.nodes],
    sequence: r.sequence.toString(),
    expiry: r.expiry.toString(),
    signer: r.signer,
    signature: r.signature,
  };
}

/** Parses the JSON form (anything a peer sent). @throws RouteRecordError("malformed") */
export function recordFromJson(j: unknown): SignedRouteRecord {
  const o = j as Partial<Record<keyof RouteRecordJson, unknown>> | null;
  const str = (v: unknown, what: string, re: RegExp): string => {
    if (typeof v !== "string" || !re.test(v))
      throw new RouteRecordError("malformed", `${what} is missing or not well formed`);
    return v;
  };
  if (!o || typeof o !== "object") throw new RouteRecordError("malformed", "not an object");
  if (!Array.isArray(o.nodes) || o.nodes.length > MAX_RECORD_NODES)
    throw new RouteRecordError("malformed", `nodes must be a list of at most ${MAX_RECORD_NODES}`);
  return {
    code: BigInt(`0x${str(o.code, "code", /^[1-9a-f][0-9a-f]{0,15}$/)}`),
    evmChainId: BigInt(str(o.evmChainId, "evmChainId", /^\d{1,78}$/)),
    nodes: o.nodes.map((n) => str(n, "node", /^https?:\/\/\S+$/)),
    sequence: BigInt(str(o.sequence, "sequence", /^\d{1,20}$/)),
    expiry: BigInt(str(o.expiry, "expiry", /^\d{1,20}$/)),
    signer: getAddress(str(o.signer, "signer", /^0x[0-9a-fA-F]{40}$/)),
    signature: str(o.signature, "signature", /^0x[0-9a-fA-F]{130}$/) as Hex,
  };
}
