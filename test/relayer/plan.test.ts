/** Batch planning by recipients' policies (relayer/relay/plan.ts): pure, no chain. */
import { expect } from "chai";

import {
  needsOf,
  planBatches,
  type PlanMessage,
  type RoutePolicy,
} from "../../relayer/relay/plan.js";

const route: RoutePolicy = { minSigners: 1, defaultCoverage: 10n };
const call = (amount = 0n, minSigners = 0, requiredCoverage = 0n): PlanMessage => ({
  kind: "call",
  amount,
  policy: { minSigners, requiredCoverage },
});

describe("relayer/relay/plan", function () {
  it("computes what the Inbox demands for a message", function () {
    expect(needsOf(call(), route)).to.deep.equal({
      minSigners: 1,
      valueAtRisk: 10n,
      policyCoverage: 0n,
    });
    expect(needsOf(call(50n), route).valueAtRisk).to.equal(50n);
    expect(needsOf(call(5n, 3, 100n), route)).to.deep.equal({
      minSigners: 3,
      valueAtRisk: 100n,
      policyCoverage: 90n,
    });
    expect(needsOf({ kind: "stakeReport", amount: 0n, policy: call().policy }, route)).to.include({
      valueAtRisk: 0n,
    });
  });

  it("keeps a message no signer set can carry out of everyone else's batches", function () {
    // 43 messages, every fourth to a recipient that set setRecipientPolicy(65535, 0).
    const items = Array.from({ length: 43 }, (_, i) => i);
    const plan = planBatches({
      items,
      message: (i) => (i % 4 === 0 ? call(0n, 65535) : call()),
      route,
      signers: 3,
      maxMessages: 100,
    });
    expect(plan.batches).to.have.length(1);
    expect(plan.batches[0]!.items).to.deep.equal(items.filter((i) => i % 4 !== 0));
    expect(plan.waiting.map((w) => w.item)).to.deep.equal(items.filter((i) => i % 4 === 0));
    expect(plan.waiting[0]!.reason).to.contain("65535 signers");
  });

  it("groups calls by the signers their recipients demand, keeping nonce order", function () {
    const plan = planBatches({
      items: [0, 1, 2, 3, 4],
      message: (i) => (i % 2 ? call(0n, 2) : call()),
      route,
      signers: 3,
      maxMessages: 100,
    });
    expect(plan.batches.map((b) => [b.minSigners, b.items])).to.deep.equal([
      [1, [0, 2, 4]],
      [2, [1, 3]],
    ]);
  });

  it("puts stake reports and bank messages in batches of their own, first, stake reports with every signature", function () {
    const kinds: PlanMessage["kind"][] = ["call", "bank", "stakeReport", "call", "bank"];
    const plan = planBatches({
      items: [0, 1, 2, 3, 4],
      message: (i) => ({ ...call(), kind: kinds[i]! }),
      route,
      signers: 1,
      maxMessages: 100,
    });
    expect(plan.batches.map((b) => [b.kind, b.items, b.everySigner])).to.deep.equal([
      ["stakeReport", [2], true],
      ["bank", [1, 4], false],
      ["call", [0, 3], false],
    ]);
  });

  it("lets policy coverage beyond the window's allowance wait, for those recipients only", function () {
    const plan = planBatches({
      items: [0, 1, 2, 3],
      // Messages 1 and 2 demand 100 each (90 beyond the default); 150 is left this window.
      message: (i) => (i === 1 || i === 2 ? call(0n, 0, 100n) : call()),
      route,
      signers: 1,
      policyCoverageAvailable: 150n,
      maxMessages: 100,
    });
    expect(plan.batches.flatMap((b) => b.items)).to.deep.equal([0, 1, 3]);
    expect(plan.waiting.map((w) => w.item)).to.deep.equal([2]);
    expect(plan.waiting[0]!.reason).to.contain("allowance");
  });

  it("cuts batches at maxMessages", function () {
    const plan = planBatches({
      items: [0, 1, 2, 3, 4],
      message: () => call(),
      route,
      signers: 1,
      maxMessages: 2,
    });
    expect(plan.batches.map((b) => b.items)).to.deep.equal([[0, 1], [2, 3], [4]]);
  });
});
