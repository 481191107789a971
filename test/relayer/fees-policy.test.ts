/**
 * The relayer's fee judgement (relayer/relay/fees.ts) on encoded messages: a message and its
 * top-ups are one group, judged against the cost with the margin; fee-less messages go only when
 * the operator says so (protocol messages always); a top-up whose message is absent is an orphan.
 */
import { expect } from "chai";
import type { Hex } from "viem";

import {
  feeNeeded,
  judgeFees,
  messageCost,
  topUpTarget,
  type FeePolicyConfig,
} from "../../relayer/relay/fees.js";
import { addressToBytes32, encodeMessage, messageId } from "../../relayer/protocol/index.js";

const OUTBOX_B = addressToBytes32("0x00000000000000000000000000000000000000b0");
const SINK = addressToBytes32("0x00000000000000000000000000000000000000aa");
const USER = addressToBytes32("0x00000000000000000000000000000000000000cc");
const BANK_A = addressToBytes32("0x00000000000000000000000000000000000000ba");

let nonce = 0;
function message(fields: { fee?: bigint; recipient?: Hex; body?: Hex; sender?: Hex }) {
  const encoded = encodeMessage({
    nonce: nonce++,
    origin: 0xa0n,
    sender: fields.sender ?? USER,
    destination: 0xb0n,
    recipient: fields.recipient ?? SINK,
    amount: 0n,
    fee: fields.fee ?? 0n,
    body: fields.body ?? "0x",
  });
  return { id: messageId(encoded), message: encoded, system: fields.sender === BANK_A };
}
const topUpOf = (id: Hex, fee: bigint) => message({ fee, recipient: OUTBOX_B, body: id });

const config = (over: Partial<FeePolicyConfig> = {}): FeePolicyConfig => ({
  minMarginPct: 0,
  deliverUnpaid: true,
  nativePrice: {},
  gasPerMessage: 100_000,
  ...over,
});
const judge = (items: ReturnType<typeof message>[], cost: bigint, c = config()) =>
  judgeFees(items, (i) => i, { destinationOutbox: OUTBOX_B, cost, config: c });

describe("relayer fee policy (relay/fees.ts)", function () {
  it("prices a message at gas × gas price × native price, with the margin rounded up", function () {
    expect(messageCost(100_000n, 2_000_000_000n, "1.5")).to.equal(300_000_000_000_000n);
    expect(messageCost(100_000n, 2_000_000_000n, undefined)).to.equal(0n);
    expect(feeNeeded(2, 100n, 10)).to.equal(220n);
    expect(feeNeeded(1, 3n, 10)).to.equal(4n); // 3.3 rounded up
  });

  it("tells a top-up by its recipient (the destination's Outbox) and its 32-byte body", function () {
    const m = message({});
    expect(topUpTarget(topUpOf(m.id, 5n).message, OUTBOX_B)).to.equal(m.id.toLowerCase());
    expect(
      topUpTarget(message({ fee: 5n, recipient: SINK, body: m.id }).message, OUTBOX_B),
    ).to.equal(undefined);
    expect(
      topUpTarget(message({ fee: 5n, recipient: OUTBOX_B, body: "0x01" }).message, OUTBOX_B),
    ).to.equal(undefined);
  });

  it("delivers what pays, holds what does not, and counts a message's top-ups with it", function () {
    const paid = message({ fee: 100n });
    const short = message({ fee: 99n });
    const topped = message({ fee: 50n });
    const topUp = topUpOf(topped.id, 150n);
    const r = judge([paid, short, topped, topUp], 100n);
    expect(r.pay.map((g) => g.id)).to.deep.equal([paid.id, topped.id]);
    const group = r.pay[1]!;
    expect(group.items).to.deep.equal([topped, topUp]);
    expect([group.fee, group.topUps, group.needed]).to.deep.equal([200n, 150n, 200n]);
    expect(r.underpaid.map((g) => g.id)).to.deep.equal([short.id]);
    expect(r.orphans).to.deep.equal([]);
    // A margin of 10 % holds the exactly-paid message too.
    expect(judge([paid], 100n, config({ minMarginPct: 10 })).underpaid).to.have.length(1);
  });

  it("delivers fee-less messages only with deliverUnpaid, protocol messages always", function () {
    const free = message({});
    const report = message({ sender: BANK_A });
    expect(judge([free, report], 0n).pay).to.have.length(2);
    const strict = judge([free, report], 0n, config({ deliverUnpaid: false }));
    expect(strict.pay.map((g) => g.id)).to.deep.equal([report.id]);
    expect(strict.underpaid.map((g) => g.id)).to.deep.equal([free.id]);
    // With a top-up, a fee-less message is judged on the top-up's fee.
    const t = topUpOf(free.id, 300n);
    expect(judge([free, t], 100n, config({ deliverUnpaid: false })).pay[0]!.items).to.deep.equal([
      free,
      t,
    ]);
  });

  it("returns a top-up whose message is not among the items as an orphan", function () {
    const absent = message({});
    const t = topUpOf(absent.id, 10n);
    const r = judge([t], 1n);
    expect(r.orphans).to.deep.equal([{ item: t, target: absent.id.toLowerCase() }]);
    expect(r.pay).to.deep.equal([]);
  });
});
