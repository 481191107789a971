/**
 * relayer/handover/coverage.ts `verdict`: whether the origin hands a message over under a
 * checkpoint's signers, waits for more signatures, or refuses it, and the reason it gives (shown
 * by the explorer and `distpos status --node`, amounts in tokens). Pure, no chain.
 */
import { expect } from "chai";
import { parseUnits, type Address } from "viem";

import { verdict, type OriginNeeds } from "../../relayer/handover/coverage.js";

const [x, y, z] = [
  "0x1000000000000000000000000000000000000001",
  "0x2000000000000000000000000000000000000002",
  "0x3000000000000000000000000000000000000003",
] as Address[];
const t = (n: string) => parseUnits(n, 18);
/** Three attesters vouching 90 tokens each for the destination. */
const stakes = new Map<Address, bigint>([
  [x, t("90")],
  [y, t("90")],
  [z, t("90")],
]);
const B = 0xb0b0n;
const transfer = (value: string): OriginNeeds => ({
  kind: "bank",
  minSigners: 1,
  valueAtRisk: t(value),
  bound: false,
});

describe("relayer/handover/coverage verdict", function () {
  it("hands a message its signers' vouching stake covers", function () {
    expect(verdict(transfer("150"), [x, y], stakes, B, undefined)).to.deep.equal({ hand: true });
  });

  it("waits, in tokens, for more signatures when every attester together could cover it", function () {
    const v = verdict(transfer("150"), [x], stakes, B, undefined);
    expect(v).to.deep.include({ hand: false, state: "waiting" });
    expect((v as { reason: string }).reason).to.match(
      /^value at risk 150 tokens \(min 1 signers\) above the 1 signers' vouching stake for chain b0b0/,
    );
  });

  it("refuses, in tokens, what no set of our attesters could carry", function () {
    const v = verdict(transfer("270.5"), [x, y, z], stakes, B, undefined);
    expect(v).to.deep.include({ hand: false, state: "refused" });
    expect((v as { reason: string }).reason).to.contain(
      "value at risk 270.5 tokens, min 1 signers, against 3 attesters vouching 270 tokens in all",
    );
  });

  it("waits for a checkpoint signed by more than the destination reported it cannot use", function () {
    const v = verdict(transfer("10"), [x], stakes, B, 1);
    expect(v).to.deep.include({ hand: false, state: "waiting" });
    // Every attester signed: nothing better to wait for, the destination judges.
    expect(verdict(transfer("10"), [x, y, z], stakes, B, 1)).to.deep.equal({ hand: true });
  });
});
