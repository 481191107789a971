/** relayer/chain/errors.ts describeRevert: a revert named as an operator reads it. Pure, no chain. */
import { expect } from "chai";
import { parseUnits } from "viem";

import { describeRevert } from "../../relayer/chain/errors.js";

describe("relayer/chain/errors describeRevert", function () {
  it("names each argument from the suite's ABI and writes amounts in tokens", function () {
    expect(
      describeRevert({
        name: "InsufficientCoverage",
        args: [parseUnits("150", 18), parseUnits("90.5", 18)],
      }),
    ).to.equal("InsufficientCoverage(valueAtRisk 150 tokens, capacity 90.5 tokens)");
    expect(describeRevert({ name: "TooFewSigners", args: [1n, 3n] })).to.equal(
      "TooFewSigners(signers 1, required 3)",
    );
  });

  it("keeps an error the ABI does not know readable", function () {
    expect(describeRevert({ name: "unknown(0x12345678)", args: [] })).to.equal(
      "unknown(0x12345678)()",
    );
    expect(describeRevert({ name: "EstimateFailed", args: ["out of gas"] })).to.equal(
      "EstimateFailed(out of gas)",
    );
  });
});
