/**
 * What the destination's relayer does with a message only more signers or time can cure
 * (relay/reverts.ts, issue 14): a quorum shortfall waits whole, and waits back off.
 */
import { expect } from "chai";

import { revertAction, WAIT_BACKOFF, waitBackoffMs } from "../../relayer/relay/reverts.js";

describe("relayer: waiting for signers", function () {
  it("waits a whole batch that lacks a quorum with every signer: no split can cure it", function () {
    const act = (messages: number, everySigner: boolean, moreSigners: boolean) =>
      revertAction({ name: "StakeReportNeedsQuorum", messages, everySigner, moreSigners });
    expect(act(4, false, true)).to.equal("every-signer");
    expect(act(4, true, false)).to.equal("wait-signers");
    expect(act(1, true, false)).to.equal("wait-signers");
    // Coverage can be cured by a smaller batch: split as before.
    expect(
      revertAction({
        name: "InsufficientCoverage",
        messages: 4,
        everySigner: true,
        moreSigners: false,
      }),
    ).to.equal("split");
  });

  it("backs off from 0.5 s doubling to at most 15 s", function () {
    expect(waitBackoffMs(0)).to.equal(WAIT_BACKOFF.firstMs);
    expect(waitBackoffMs(1)).to.equal(1_000);
    expect(waitBackoffMs(4)).to.equal(8_000);
    expect(waitBackoffMs(5)).to.equal(WAIT_BACKOFF.maxMs);
    expect(waitBackoffMs(1_000)).to.equal(WAIT_BACKOFF.maxMs);
  });
});
