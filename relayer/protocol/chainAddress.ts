import { checksumAddress, type Address, type Hex } from "viem";

/**
 * Chain-qualified addresses (docs/protocol.md 2.1–2.2): `<code>x<40 hex>`, e.g.
 * `e2e4x63ea7F78107dF4C6fd8b17e7b05b1b3D41a5B1Ab` is account `0x63ea…B1Ab` on chain `0xe2e4`.
 * A plain `0x…` address is the same syntax with code `0`: the local chain.
 */

/** Largest chain code: codes are uint64. */
export const MAX_CHAIN_CODE = (1n << 64n) - 1n;

/** An account on a chain. `code` 0n means "this chain". */
export type ChainAddress = {
  code: bigint;
  /** EIP-55 checksummed. */
  account: Address;
};

/** Why a chain-qualified address (or a part of one) was rejected. */
export type ChainAddressErrorReason =
  | "empty"
  | "missing-separator"
  | "empty-code"
  | "code-leading-zero"
  | "code-too-large"
  | "code-bad-hex"
  | "account-bad-hex"
  | "account-wrong-length"
  | "bad-checksum"
  | "not-evm-address";

/** A chain-qualified address, chain code or on-chain account that cannot be used. */
export class ChainAddressError extends Error {
  override readonly name = "ChainAddressError";

  constructor(
    readonly reason: ChainAddressErrorReason,
    readonly input: string,
    detail: string,
  ) {
    super(`${detail}: ${JSON.stringify(input)}`);
  }
}

const HEX = /^[0-9a-fA-F]*$/;
const LOWER_HEX = /^[0-9a-f]*$/;

/**
 * Parses a chain code as written in addresses: lower-case hex, no `0x`, no leading zero
 * (`"0"` itself is the local chain), at most 2^64 − 1.
 */
export function parseChainCode(text: string): bigint {
  return parseCode(text, text);
}

/** Writes a chain code: lower-case hex without `0x` or leading zeros. */
export function formatChainCode(code: bigint): string {
  checkCodeRange(code);
  return code.toString(16);
}

/**
 * Parses `<code>x<40 hex>` or a plain `0x<40 hex>` (code 0n). Mixed-case accounts must carry a
 * correct EIP-55 checksum; all-lower and all-upper accounts are accepted, as in EIP-55.
 * @throws ChainAddressError with the reason and the quoted input
 */
export function parseChainAddress(text: string): ChainAddress {
  if (text.length === 0) {
    throw new ChainAddressError(
      "empty",
      text,
      "empty chain address (expected <code>x<40 hex digits>)",
    );
  }
  const separator = text.indexOf("x");
  if (separator < 0) {
    throw new ChainAddressError(
      "missing-separator",
      text,
      "chain address has no 'x' between chain code and account (expected <code>x<40 hex digits>)",
    );
  }
  const code = parseCode(text.slice(0, separator), text);
  const account = parseAccount(text.slice(separator + 1), text);
  return { code, account };
}

/** Writes `<code>x<checksummed account>`; code 0n gives a plain `0x…` address. */
export function formatChainAddress(address: ChainAddress): string {
  const account = parseHexAddress(address.account);
  return `${formatChainCode(address.code)}x${account.slice(2)}`;
}

/** The on-chain `bytes32` form of an EVM account: left-padded with zeros (lower-case hex). */
export function addressToBytes32(address: Address): Hex {
  const account = parseHexAddress(address);
  return `0x${"0".repeat(24)}${account.slice(2).toLowerCase()}`;
}

/**
 * The EVM address in an on-chain `bytes32` account (checksummed).
 * @throws ChainAddressError "not-evm-address" when the upper 12 bytes are not zero, as
 * `ChainAddress.toAddress` reverts on-chain
 */
export function bytes32ToAddress(account: Hex): Address {
  if (!/^0x[0-9a-fA-F]{64}$/.test(account)) {
    throw new ChainAddressError(
      "account-wrong-length",
      account,
      "not a 0x-prefixed 32-byte hex account",
    );
  }
  if (!/^0x0{24}/.test(account)) {
    throw new ChainAddressError(
      "not-evm-address",
      account,
      "account is not an EVM address (upper 12 bytes not zero)",
    );
  }
  return checksumAddress(`0x${account.slice(26)}`);
}

function parseCode(code: string, input: string): bigint {
  if (code.length === 0) {
    throw new ChainAddressError(
      "empty-code",
      input,
      "chain code is empty (write 0x… for a local address)",
    );
  }
  if (!LOWER_HEX.test(code)) {
    throw new ChainAddressError(
      "code-bad-hex",
      input,
      `chain code ${JSON.stringify(code)} is not lower-case hex`,
    );
  }
  if (code.length > 1 && code.startsWith("0")) {
    throw new ChainAddressError(
      "code-leading-zero",
      input,
      `chain code ${JSON.stringify(code)} has a leading zero`,
    );
  }
  // 17+ significant hex digits can never fit; checking length first keeps BigInt small.
  const value = code.length > 16 ? MAX_CHAIN_CODE + 1n : BigInt(`0x${code}`);
  if (value > MAX_CHAIN_CODE) {
    throw new ChainAddressError(
      "code-too-large",
      input,
      `chain code ${JSON.stringify(code)} is above 2^64-1 (ffffffffffffffff)`,
    );
  }
  return value;
}

function parseAccount(account: string, input: string): Address {
  if (!HEX.test(account)) {
    throw new ChainAddressError("account-bad-hex", input, "account has non-hex characters");
  }
  if (account.length !== 40) {
    throw new ChainAddressError(
      "account-wrong-length",
      input,
      `account has ${account.length} hex digits, expected 40`,
    );
  }
  const checksummed = checksumAddress(`0x${account}`);
  const mixedCase = /[a-f]/.test(account) && /[A-F]/.test(account);
  if (mixedCase && checksummed.slice(2) !== account) {
    throw new ChainAddressError(
      "bad-checksum",
      input,
      `account has a wrong EIP-55 checksum (expected ${checksummed.slice(2)})`,
    );
  }
  return checksummed;
}

/** A `0x`-prefixed EVM address, checked like the account of a chain address. */
function parseHexAddress(address: string): Address {
  if (!address.startsWith("0x")) {
    throw new ChainAddressError("account-bad-hex", address, "EVM address does not start with 0x");
  }
  return parseAccount(address.slice(2), address);
}

function checkCodeRange(code: bigint): void {
  if (typeof code !== "bigint" || code < 0n || code > MAX_CHAIN_CODE) {
    throw new RangeError(`chain code ${String(code)} is not a uint64`);
  }
}
