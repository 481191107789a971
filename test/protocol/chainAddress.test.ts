import { expect } from "chai";

import {
  addressToBytes32,
  bytes32ToAddress,
  ChainAddressError,
  formatChainAddress,
  formatChainCode,
  MAX_CHAIN_CODE,
  parseChainAddress,
  parseChainCode,
  type ChainAddressErrorReason,
} from "../../relayer/protocol/index.js";
import { chainAddressVectors as vectors } from "../vectors/load.js";

function reasonOf(action: () => unknown): ChainAddressErrorReason | "no error" {
  try {
    action();
  } catch (error) {
    if (error instanceof ChainAddressError) return error.reason;
    throw error;
  }
  return "no error";
}

describe("protocol: chain-qualified addresses", () => {
  describe("valid vectors", () => {
    for (const v of vectors.valid) {
      it(`parses and formats ${JSON.stringify(v.input)}`, () => {
        const parsed = parseChainAddress(v.input);
        expect(parsed.code).to.equal(BigInt(v.code));
        expect(parsed.account).to.equal(v.account);
        expect(formatChainAddress(parsed)).to.equal(v.formatted);
        expect(addressToBytes32(parsed.account)).to.equal(v.bytes32);
        expect(bytes32ToAddress(v.bytes32)).to.equal(v.account);
        // The canonical form parses back to the same address.
        expect(parseChainAddress(v.formatted)).to.deep.equal(parsed);
      });
    }
  });

  describe("every malformed address is rejected with its own reason", () => {
    for (const v of vectors.invalid) {
      it(`${v.reason}: ${JSON.stringify(v.input)}`, () => {
        expect(reasonOf(() => parseChainAddress(v.input))).to.equal(v.reason);
      });
    }

    it("covers every reason a parse can give", () => {
      const reasons = new Set(vectors.invalid.map((v) => v.reason));
      expect([...reasons].sort()).to.deep.equal(
        [
          "account-bad-hex",
          "account-wrong-length",
          "bad-checksum",
          "code-bad-hex",
          "code-leading-zero",
          "code-too-large",
          "empty",
          "empty-code",
          "missing-separator",
        ].sort(),
      );
    });

    it("says what is wrong and quotes the input", () => {
      const input = `e2e4x63ea7f78107dF4C6fd8b17e7b05b1b3D41a5B1Ab`;
      try {
        parseChainAddress(input);
        expect.fail("parsed a bad checksum");
      } catch (error) {
        expect(error).to.be.instanceOf(ChainAddressError);
        const message = (error as Error).message;
        expect(message).to.contain("checksum");
        expect(message).to.contain(JSON.stringify(input));
        expect(message).to.contain("63ea7F78107dF4C6fd8b17e7b05b1b3D41a5B1Ab");
      }
    });
  });

  describe("chain codes", () => {
    it("round-trips codes at the edges", () => {
      for (const code of [0n, 1n, 0xe2e4n, MAX_CHAIN_CODE]) {
        expect(parseChainCode(formatChainCode(code))).to.equal(code);
      }
      expect(formatChainCode(0xa0a1n)).to.equal("a0a1");
      expect(formatChainCode(0n)).to.equal("0");
    });

    it("rejects malformed codes", () => {
      expect(reasonOf(() => parseChainCode(""))).to.equal("empty-code");
      expect(reasonOf(() => parseChainCode("01"))).to.equal("code-leading-zero");
      expect(reasonOf(() => parseChainCode("0x1"))).to.equal("code-bad-hex");
      expect(reasonOf(() => parseChainCode("A0A1"))).to.equal("code-bad-hex");
      expect(reasonOf(() => parseChainCode("10000000000000000"))).to.equal("code-too-large");
    });

    it("refuses to format a code that is not a uint64", () => {
      expect(() => formatChainCode(-1n)).to.throw(RangeError);
      expect(() => formatChainCode(MAX_CHAIN_CODE + 1n)).to.throw(RangeError);
    });
  });

  describe("on-chain accounts", () => {
    for (const account of vectors.notEvmAccounts) {
      it(`rejects a bytes32 with non-zero upper bytes: ${account.slice(0, 12)}…`, () => {
        expect(reasonOf(() => bytes32ToAddress(account))).to.equal("not-evm-address");
      });
    }

    it("rejects a malformed account when formatting", () => {
      expect(reasonOf(() => formatChainAddress({ code: 1n, account: "0x1234" }))).to.equal(
        "account-wrong-length",
      );
      expect(
        reasonOf(() =>
          formatChainAddress({ code: 1n, account: "0x63ea7f78107dF4C6fd8b17e7b05b1b3D41a5B1Ab" }),
        ),
      ).to.equal("bad-checksum");
    });
  });
});
