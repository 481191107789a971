/**
 * Replanning a failed deliver (relayer/relay/replan.ts): which effect each revert leads to and how
 * each message is settled. The effects are recorded, not performed: the chain side of each is
 * covered by the node suites (anvil-mined-revert, e2e-hostile, e2e-late-signer).
 */
import { expect } from "chai";

import {
  replanMinedRevert,
  replanSimulationRevert,
  sortDelivered,
  type DeliveredState,
  type ReplanEffects,
  type ReplanItem,
  type SentBatch,
} from "../../relayer/relay/replan.js";
import type { Outcome } from "../../relayer/relay/settle.js";

interface TestItem extends ReplanItem {
  outcome?: Outcome;
}

const item = (id: string, bundle?: string): TestItem => {
  const i: TestItem = {
    data: { id: `0x${id}`, message: "0x00", bundle },
    settle: (o) => {
      i.outcome = o;
    },
  };
  return i;
};

function recorder(states: Record<string, DeliveredState> = {}) {
  const calls: string[] = [];
  const effects: ReplanEffects<TestItem> = {
    send: async (b) => {
      calls.push(`send ${ids(b)} every=${b.everySigner} mined=${b.minedReverts}`);
    },
    halves: async (b) => {
      calls.push(`halves ${ids(b)} mined=${b.minedReverts}`);
    },
    deliveredState: async (i) => states[i.data.id.slice(2)] ?? "no",
    signerShortfall: async (i) => {
      calls.push(`shortfall ${i.data.id.slice(2)}`);
    },
  };
  return { calls, effects };
}
const ids = (b: SentBatch<TestItem>) => b.items.map((i) => i.data.id.slice(2)).join(",");
const batch = (items: TestItem[], everySigner = false, minedReverts = 0) => ({
  items,
  everySigner,
  minedReverts,
});

describe("relayer/relay/replan", function () {
  it("settles the delivered messages of an AlreadyDelivered batch and sends the rest", async function () {
    const items = [item("a"), item("b"), item("c")];
    const { calls, effects } = recorder({ a: "confirmed", b: "unconfirmed" });
    await replanSimulationRevert(
      batch(items),
      { name: "AlreadyDelivered", args: ["0xa"] },
      false,
      effects,
    );
    expect(items[0]!.outcome?.kind).to.equal("done");
    expect(items[1]!.outcome).to.deep.include({ kind: "wait" });
    expect(items[2]!.outcome).to.equal(undefined);
    expect(calls).to.deep.equal(["send c every=false mined=0"]);
  });

  it("leaves the message the revert named to whoever delivered it when the Inbox says none is", function () {
    const items = [item("a"), item("B")];
    const rest = sortDelivered(items, ["no", "no"], "0xb");
    expect(rest.map((i) => i.data.id)).to.deep.equal(["0xa"]);
    expect(items[1]!.outcome).to.deep.equal({ kind: "wait", reason: "delivered by someone else" });
  });

  it("retries a signer shortfall with every signer once, then splits, then lets a lone message wait", async function () {
    const shortfall = { name: "InsufficientCoverage", args: [] };
    let r = recorder();
    await replanSimulationRevert(batch([item("a"), item("b")]), shortfall, true, r.effects);
    expect(r.calls).to.deep.equal(["send a,b every=true mined=0"]);
    r = recorder();
    await replanSimulationRevert(batch([item("a"), item("b")], true), shortfall, true, r.effects);
    expect(r.calls).to.deep.equal(["halves a,b mined=0"]);
    r = recorder();
    const lone = item("a", "bundle-key");
    await replanSimulationRevert(batch([lone], true), shortfall, false, r.effects);
    expect(r.calls, "the origin's node learns it").to.deep.equal(["shortfall a"]);
    expect(lone.outcome).to.deep.include({ kind: "wait", backoff: true });
  });

  it("spends an attempt only for a lone message whose simulation fails", async function () {
    const burn = { name: "EstimateFailed", args: ["out of gas"] };
    let r = recorder();
    const two = [item("a"), item("b")];
    await replanSimulationRevert(batch(two), burn, false, r.effects);
    expect(r.calls).to.deep.equal(["halves a,b mined=0"]);
    expect(two.every((i) => i.outcome === undefined)).to.equal(true);
    r = recorder();
    const lone = item("a");
    await replanSimulationRevert(batch([lone]), burn, false, r.effects);
    expect(r.calls).to.deep.equal([]);
    expect(lone.outcome?.kind).to.equal("error");
    expect(lone.outcome?.kind === "error" && lone.outcome.error.message).to.equal(
      "deliver reverts: EstimateFailed(out of gas)",
    );
  });

  it("simulates a mined revert again, splits a second one, and fails a lone message that keeps reverting", async function () {
    const noted: string[] = [];
    const fail = async () => new Error("reverted twice");
    let r = recorder();
    await replanMinedRevert(batch([item("a"), item("b")]), r.effects, (a) => noted.push(a), fail);
    expect(r.calls).to.deep.equal(["send a,b every=false mined=1"]);
    r = recorder();
    await replanMinedRevert(
      batch([item("a"), item("b")], false, 1),
      r.effects,
      (a) => noted.push(a),
      fail,
    );
    expect(r.calls).to.deep.equal(["halves a,b mined=2"]);
    r = recorder();
    const lone = item("a");
    await replanMinedRevert(batch([lone], false, 1), r.effects, (a) => noted.push(a), fail);
    expect(r.calls).to.deep.equal([]);
    expect(lone.outcome?.kind === "error" && lone.outcome.error.message).to.equal("reverted twice");
    expect(noted).to.deep.equal(["resimulate", "split", "fail"]);
  });
});
