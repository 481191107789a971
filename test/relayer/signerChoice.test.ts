/** The relayer's signer choice (relayer/relay/signerChoice.ts): pure, no chain. */
import { expect } from "chai";
import type { Address, Hex } from "viem";

import {
  batchSigners,
  chooseSigners,
  fitCapacity,
  type SignerCapacity,
  type SignerNeeds,
} from "../../relayer/relay/signerChoice.js";

const signer = (n: number, stake: bigint, free: bigint): SignerCapacity => ({
  signer: `0x${n.toString(16).padStart(40, "0")}` as Address,
  signature: "0x" as Hex,
  stake,
  free,
});
const message = (valueAtRisk: bigint, more: Partial<SignerNeeds> = {}): SignerNeeds => ({
  valueAtRisk,
  stakeReport: false,
  minSigners: 0,
  ...more,
});

describe("relayer/relay/signerChoice", function () {
  it("fits capacity message by message, so one large message does not hold back the rest", function () {
    expect(fitCapacity([100n, 5n, 5n, 50n], 60n)).to.deep.equal([1, 2, 3]);
    expect(fitCapacity([5n, 100n, 5n], 10n)).to.deep.equal([0, 2]);
    expect(fitCapacity([], 10n)).to.deep.equal([]);
  });

  it("chooses as few signers as cover the value at risk and the minimum, or every one", function () {
    const usable = [{ free: 50n }, { free: 30n }, { free: 20n }];
    expect(chooseSigners(usable, 40n, 1, false)).to.deep.equal([{ free: 50n }]);
    expect(chooseSigners(usable, 60n, 1, false)).to.have.length(2);
    expect(chooseSigners(usable, 0n, 3, false)).to.have.length(3);
    expect(chooseSigners(usable, 0n, 0, false), "at least one").to.have.length(1);
    expect(chooseSigners(usable, 0n, 1, true), "a stake report: every signer").to.have.length(3);
  });

  it("signs only with mirrored attesters, the freest first", function () {
    const choice = batchSigners({
      capacities: [signer(1, 0n, 1_000n), signer(2, 10n, 20n), signer(3, 10n, 50n)],
      messages: [message(40n)],
      routeMinSigners: 1,
      everySigner: false,
    });
    expect(choice.kind).to.equal("sign");
    if (choice.kind !== "sign") return;
    expect(
      choice.signers.map((s) => s.free),
      "the unmirrored one is never chosen",
    ).to.deep.equal([50n]);
    expect(choice.moreSigners).to.equal(true);
  });

  it("waits with the reason when too few signers have stake, or none of the messages fits", function () {
    const few = batchSigners({
      capacities: [signer(1, 10n, 100n), signer(2, 0n, 100n)],
      messages: [message(1n)],
      routeMinSigners: 2,
      everySigner: false,
    });
    expect(few).to.deep.equal({
      kind: "wait",
      reason: "1 signers with free stake, route needs 2",
    });
    const poor = batchSigners({
      capacities: [signer(1, 10n, 30n)],
      messages: [message(40n), message(35n)],
      routeMinSigners: 1,
      everySigner: false,
    });
    expect(poor).to.deep.equal({
      kind: "wait",
      reason: "signers' free capacity 30 below value at risk 40",
    });
  });

  it("keeps what the capacity covers and meets the strictest minimum of the kept messages only", function () {
    const capacities = [signer(1, 10n, 60n), signer(2, 10n, 30n), signer(3, 10n, 10n)];
    const choice = batchSigners({
      capacities,
      // The second needs 3 signers but does not fit: its minimum must not raise the batch's.
      messages: [message(50n), message(100n, { minSigners: 3 }), message(10n, { minSigners: 2 })],
      routeMinSigners: 1,
      everySigner: false,
    });
    expect(choice.kind).to.equal("sign");
    if (choice.kind !== "sign") return;
    expect(choice.kept).to.deep.equal([0, 2]);
    expect(choice.signers.map((s) => s.free)).to.deep.equal([60n, 30n]);
  });

  it("signs with everyone for a stake report among the kept messages, or when asked", function () {
    const capacities = [signer(1, 10n, 60n), signer(2, 10n, 30n), signer(3, 10n, 10n)];
    for (const [messages, everySigner] of [
      [[message(1n), message(1n, { stakeReport: true })], false],
      [[message(1n)], true],
    ] as const) {
      const choice = batchSigners({ capacities, messages, routeMinSigners: 1, everySigner });
      expect(choice.kind === "sign" && choice.signers.length).to.equal(3);
      expect(choice.kind === "sign" && choice.moreSigners).to.equal(false);
    }
  });
});
