import { checksumAddress, concatHex, keccak256, numberToHex, type Address, type Hex } from "viem";

/**
 * The packed message encoding (docs/protocol.md 2.3) and the bodies of the system messages
 * (docs/protocol.md 3.4). The Solidity twin of the message is `contracts/libraries/MessageCodec.sol`.
 *
 * | version uint8 | nonce uint32 | origin uint64 | sender bytes32 | destination uint64 |
 * | recipient bytes32 | amount uint256 | fee uint128 | body bytes |  — a 133-byte header, then
 * the body.
 */

/** The only message version this code writes. */
export const MESSAGE_VERSION = 1;
/** Bytes before the body. */
export const HEADER_LENGTH = 133;
/** Largest body the Outbox accepts. */
export const MAX_BODY_BYTES = 8192;

const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT96 = (1n << 96n) - 1n;
const MAX_UINT128 = (1n << 128n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;

/** A decoded message. `sender` and `recipient` are 32-byte accounts (lower-case hex). */
export type Message = {
  version: number;
  nonce: number;
  origin: bigint;
  sender: Hex;
  destination: bigint;
  recipient: Hex;
  amount: bigint;
  /** Delivery fee (18 decimals) paid on the origin, paid to the deliverer on the destination. */
  fee: bigint;
  body: Hex;
};

/** The fields to encode; `version` defaults to 1 and `fee` to 0. */
export type MessageFields = Omit<Message, "version" | "fee"> & { version?: number; fee?: bigint };

/** A field that does not fit its width. */
export class MessageEncodeError extends Error {
  override readonly name = "MessageEncodeError";

  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`message field ${field}: ${detail}`);
  }
}

/** Bytes that are not a message. */
export class MessageDecodeError extends Error {
  override readonly name = "MessageDecodeError";

  constructor(
    readonly reason: "not-hex" | "too-short",
    detail: string,
  ) {
    super(detail);
  }
}

/** Packs a message. @throws MessageEncodeError when a field is out of range or not hex */
export function encodeMessage(fields: MessageFields): Hex {
  const version = fields.version ?? MESSAGE_VERSION;
  checkInteger("version", version, 255);
  checkInteger("nonce", fields.nonce, MAX_UINT32);
  checkBigint("origin", fields.origin, MAX_UINT64);
  checkBigint("destination", fields.destination, MAX_UINT64);
  checkBigint("amount", fields.amount, MAX_UINT256);
  checkBigint("fee", fields.fee ?? 0n, MAX_UINT128);
  checkBytes("sender", fields.sender, 32);
  checkBytes("recipient", fields.recipient, 32);
  checkBytes("body", fields.body);
  return concatHex([
    numberToHex(version, { size: 1 }),
    numberToHex(fields.nonce, { size: 4 }),
    numberToHex(fields.origin, { size: 8 }),
    fields.sender.toLowerCase() as Hex,
    numberToHex(fields.destination, { size: 8 }),
    fields.recipient.toLowerCase() as Hex,
    numberToHex(fields.amount, { size: 32 }),
    numberToHex(fields.fee ?? 0n, { size: 16 }),
    fields.body.toLowerCase() as Hex,
  ]);
}

/**
 * Unpacks a message of any version (the caller decides which versions it accepts).
 * @throws MessageDecodeError when the input is not hex or shorter than the header
 */
export function decodeMessage(encoded: Hex): Message {
  if (typeof encoded !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(encoded)) {
    throw new MessageDecodeError("not-hex", "message is not 0x-prefixed hex of whole bytes");
  }
  const hex = encoded.slice(2).toLowerCase();
  const length = hex.length / 2;
  if (length < HEADER_LENGTH) {
    throw new MessageDecodeError(
      "too-short",
      `message has ${length} bytes, shorter than the ${HEADER_LENGTH}-byte header`,
    );
  }
  const field = (offset: number, size: number) => hex.slice(offset * 2, (offset + size) * 2);
  return {
    version: Number.parseInt(field(0, 1), 16),
    nonce: Number.parseInt(field(1, 4), 16),
    origin: BigInt(`0x${field(5, 8)}`),
    sender: `0x${field(13, 32)}`,
    destination: BigInt(`0x${field(45, 8)}`),
    recipient: `0x${field(53, 32)}`,
    amount: BigInt(`0x${field(85, 32)}`),
    fee: BigInt(`0x${field(117, 16)}`),
    body: `0x${hex.slice(HEADER_LENGTH * 2)}`,
  };
}

/** The message id and Merkle leaf: keccak256 of the encoding. Accepts the fields or the bytes. */
export function messageId(message: MessageFields | Hex): Hex {
  return keccak256(typeof message === "string" ? message : encodeMessage(message));
}

// ---------------------------------------------------------------------------------------------
// System message bodies (docs/protocol.md 3.4). Each starts with a kind byte; decoders demand the
// exact length so a body is read one way only.

/** Kind byte of a stake report (StakingHub → peer Inbox). */
export const STAKE_REPORT_KIND = 0x01;
/** Kind byte of a value transfer body (CorrespondentBank → user). */
export const TRANSFER_KIND = 0x01;
/** Kind byte of a reserve report (bank → peer bank). */
export const RESERVE_REPORT_KIND = 0x02;
/** Kind byte of a netting request (bank → peer bank). */
export const NETTING_REQUEST_KIND = 0x03;
/** Kind byte of a netting reply (bank → peer bank). */
export const NETTING_REPLY_KIND = 0x04;

/** `0x01 ‖ attester (20 B) ‖ allocation uint256`: 53 bytes. */
export const STAKE_REPORT_LENGTH = 53;
/** `0x01 ‖ original sender bytes32 ‖ user body`: at least 33 bytes. */
export const TRANSFER_HEADER_LENGTH = 33;
/**
 * `0x02 ‖ reserve ‖ pending ‖ received ‖ suspended uint8 ‖ perGas uint96 ‖ base uint96 ‖
 * premiumPpm uint32`: 126 bytes (the last three: the sender's delivery price, docs/protocol.md 3.9).
 */
export const RESERVE_REPORT_LENGTH = 126;
/** `0x03|0x04 ‖ amount uint256`: 33 bytes. */
export const NETTING_LENGTH = 33;

/** An attester's allocation to the receiving chain, 18 decimals. */
export type StakeReport = { attester: Address; allocation: bigint };
/** A value transfer's body: the user who sent it on the origin and the payload for the handler. */
export type TransferBody = { sender: Hex; body: Hex };
/** The sender's view of the receiver's reserve for it (totals, 18 decimals). */
export type ReserveReport = {
  reserve: bigint;
  pending: bigint;
  received: bigint;
  suspended: boolean;
  /** The sender's delivery price: settlement units (18 decimals) per gas of the sender's chain. */
  perGas: bigint;
  /** The sender's delivery price: per-message base (18 decimals). */
  base: bigint;
  /** Underwriting premium on the amount a message carries, parts per million. */
  premiumPpm: number;
};
/** The fields to encode; the price defaults to zero. */
export type ReserveReportFields = Omit<ReserveReport, "perGas" | "base" | "premiumPpm"> &
  Partial<Pick<ReserveReport, "perGas" | "base" | "premiumPpm">>;
/** A netting request or reply. */
export type NettingAmount = { amount: bigint };

/** A system body that cannot be decoded. */
export class SystemBodyDecodeError extends Error {
  override readonly name = "SystemBodyDecodeError";

  constructor(
    readonly kind: string,
    readonly reason: "not-hex" | "wrong-kind" | "wrong-length" | "bad-flag",
    detail: string,
  ) {
    super(`${kind}: ${detail}`);
  }
}

/** Encodes a stake report. */
export function encodeStakeReport(report: StakeReport): Hex {
  checkBytes("attester", report.attester, 20);
  checkBigint("allocation", report.allocation, MAX_UINT256);
  return concatHex([
    numberToHex(STAKE_REPORT_KIND, { size: 1 }),
    report.attester.toLowerCase() as Hex,
    numberToHex(report.allocation, { size: 32 }),
  ]);
}

/** Decodes a stake report. @throws SystemBodyDecodeError */
export function decodeStakeReport(body: Hex): StakeReport {
  const hex = systemBody("stake report", body, STAKE_REPORT_KIND, STAKE_REPORT_LENGTH, true);
  return {
    attester: checksumAddress(`0x${hex.slice(2, 42)}`),
    allocation: BigInt(`0x${hex.slice(42, 106)}`),
  };
}

/** Encodes a value transfer body. */
export function encodeTransferBody(transfer: TransferBody): Hex {
  checkBytes("sender", transfer.sender, 32);
  checkBytes("body", transfer.body);
  return concatHex([
    numberToHex(TRANSFER_KIND, { size: 1 }),
    transfer.sender.toLowerCase() as Hex,
    transfer.body.toLowerCase() as Hex,
  ]);
}

/** Decodes a value transfer body. @throws SystemBodyDecodeError */
export function decodeTransferBody(body: Hex): TransferBody {
  const hex = systemBody("transfer body", body, TRANSFER_KIND, TRANSFER_HEADER_LENGTH, false);
  return { sender: `0x${hex.slice(2, 66)}`, body: `0x${hex.slice(66)}` };
}

/** Encodes a reserve report. */
export function encodeReserveReport(report: ReserveReportFields): Hex {
  const perGas = report.perGas ?? 0n;
  const base = report.base ?? 0n;
  const premiumPpm = report.premiumPpm ?? 0;
  checkBigint("perGas", perGas, MAX_UINT96);
  checkBigint("base", base, MAX_UINT96);
  checkInteger("premiumPpm", premiumPpm, MAX_UINT32);
  checkBigint("reserve", report.reserve, MAX_UINT256);
  checkBigint("pending", report.pending, MAX_UINT256);
  checkBigint("received", report.received, MAX_UINT256);
  if (typeof report.suspended !== "boolean") {
    throw new MessageEncodeError("suspended", "must be a boolean");
  }
  return concatHex([
    numberToHex(RESERVE_REPORT_KIND, { size: 1 }),
    numberToHex(report.reserve, { size: 32 }),
    numberToHex(report.pending, { size: 32 }),
    numberToHex(report.received, { size: 32 }),
    numberToHex(report.suspended ? 1 : 0, { size: 1 }),
    numberToHex(perGas, { size: 12 }),
    numberToHex(base, { size: 12 }),
    numberToHex(premiumPpm, { size: 4 }),
  ]);
}

/** Decodes a reserve report; the suspended flag must be 0 or 1. @throws SystemBodyDecodeError */
export function decodeReserveReport(body: Hex): ReserveReport {
  const hex = systemBody("reserve report", body, RESERVE_REPORT_KIND, RESERVE_REPORT_LENGTH, true);
  const flag = hex.slice(194, 196);
  if (flag !== "00" && flag !== "01") {
    throw new SystemBodyDecodeError(
      "reserve report",
      "bad-flag",
      `suspended flag is 0x${flag}, not 0 or 1`,
    );
  }
  return {
    reserve: BigInt(`0x${hex.slice(2, 66)}`),
    pending: BigInt(`0x${hex.slice(66, 130)}`),
    received: BigInt(`0x${hex.slice(130, 194)}`),
    suspended: flag === "01",
    perGas: BigInt(`0x${hex.slice(196, 220)}`),
    base: BigInt(`0x${hex.slice(220, 244)}`),
    premiumPpm: Number.parseInt(hex.slice(244, 252), 16),
  };
}

/** Encodes a netting request. */
export function encodeNettingRequest(request: NettingAmount): Hex {
  return encodeNetting(NETTING_REQUEST_KIND, request);
}

/** Decodes a netting request. @throws SystemBodyDecodeError */
export function decodeNettingRequest(body: Hex): NettingAmount {
  const hex = systemBody("netting request", body, NETTING_REQUEST_KIND, NETTING_LENGTH, true);
  return { amount: BigInt(`0x${hex.slice(2, 66)}`) };
}

/** Encodes a netting reply. */
export function encodeNettingReply(reply: NettingAmount): Hex {
  return encodeNetting(NETTING_REPLY_KIND, reply);
}

/** Decodes a netting reply. @throws SystemBodyDecodeError */
export function decodeNettingReply(body: Hex): NettingAmount {
  const hex = systemBody("netting reply", body, NETTING_REPLY_KIND, NETTING_LENGTH, true);
  return { amount: BigInt(`0x${hex.slice(2, 66)}`) };
}

function encodeNetting(kind: number, netting: NettingAmount): Hex {
  checkBigint("amount", netting.amount, MAX_UINT256);
  return concatHex([numberToHex(kind, { size: 1 }), numberToHex(netting.amount, { size: 32 })]);
}

/** Checks hex, kind byte and length; returns the lower-case hex without `0x`. */
function systemBody(name: string, body: Hex, kind: number, length: number, exact: boolean): string {
  if (typeof body !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(body)) {
    throw new SystemBodyDecodeError(name, "not-hex", "body is not 0x-prefixed hex of whole bytes");
  }
  const hex = body.slice(2).toLowerCase();
  const size = hex.length / 2;
  // The kind first: a body of another kind is reported as such, not as a length mismatch.
  if (size > 0 && Number.parseInt(hex.slice(0, 2), 16) !== kind) {
    throw new SystemBodyDecodeError(
      name,
      "wrong-kind",
      `kind byte is 0x${hex.slice(0, 2)}, expected 0x${kind.toString(16).padStart(2, "0")}`,
    );
  }
  if (exact ? size !== length : size < length) {
    throw new SystemBodyDecodeError(
      name,
      "wrong-length",
      `body has ${size} bytes, expected ${exact ? "" : "at least "}${length}`,
    );
  }
  return hex;
}

function checkInteger(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new MessageEncodeError(field, `${String(value)} is not an integer in [0, ${max}]`);
  }
}

function checkBigint(field: string, value: bigint, max: bigint): void {
  if (typeof value !== "bigint" || value < 0n || value > max) {
    throw new MessageEncodeError(field, `${String(value)} is not a bigint in [0, ${max}]`);
  }
}

function checkBytes(field: string, value: Hex, size?: number): void {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new MessageEncodeError(field, "is not 0x-prefixed hex of whole bytes");
  }
  if (size !== undefined && value.length !== 2 + size * 2) {
    throw new MessageEncodeError(field, `has ${(value.length - 2) / 2} bytes, expected ${size}`);
  }
}
