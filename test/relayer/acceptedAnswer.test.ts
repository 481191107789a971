/**
 * What the watcher reads of an entry node's GET /v1/checkpoints/accepted answer: junk is refused,
 * and a long answer is cut at a checkpoint boundary with the cursor stopping there, so the caps
 * bound the work an answer costs without skipping what a truthful node reported.
 */
import { expect } from "chai";

import {
  JunkAnswer,
  MAX_CHECKPOINTS_PER_ANSWER,
  MAX_SIGNATURES_PER_ANSWER,
  MAX_SIGNATURES_PER_CHECKPOINT,
  readAcceptedAnswer,
} from "../../relayer/watcher/acceptedFromNodes.js";

const URL = "http://node.example/v1/checkpoints/accepted?origin=a0a1&from=10";
const root = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;
const sig = (i: number) => `0x${i.toString(16).padStart(130, "0")}`;
const checkpoint = (block: number, i: number, signatures: number) => ({
  block,
  root: root(i),
  count: i,
  last: root(i + 1),
  signatures: Array.from({ length: signatures }, (_, j) => sig(i * 1_000 + j)),
});

describe("watcher: reading an entry node's accepted checkpoints", function () {
  it("keeps a truthful answer whole and moves the cursor to its next", function () {
    const read = readAcceptedAnswer(URL, 10, {
      next: 20,
      checkpoints: [checkpoint(10, 1, 2), checkpoint(19, 2, 3)],
    });
    expect(read.next).to.equal(20);
    expect(read.checkpoints.map((c) => c.signatures.length)).to.deep.equal([2, 3]);
  });

  it("cuts at the checkpoint cap and stops the cursor at the first checkpoint left out", function () {
    const n = MAX_CHECKPOINTS_PER_ANSWER + 10;
    const read = readAcceptedAnswer(URL, 10, {
      next: 10 + n,
      checkpoints: Array.from({ length: n }, (_, i) => checkpoint(10 + i, i, 0)),
    });
    expect(read.checkpoints).to.have.length(MAX_CHECKPOINTS_PER_ANSWER);
    expect(read.next).to.equal(10 + MAX_CHECKPOINTS_PER_ANSWER);
  });

  it("cuts at the signature cap without reading half of a checkpoint", function () {
    const per = MAX_SIGNATURES_PER_CHECKPOINT;
    const kept = Math.floor(MAX_SIGNATURES_PER_ANSWER / per);
    const read = readAcceptedAnswer(URL, 10, {
      next: 100,
      checkpoints: Array.from({ length: kept + 3 }, (_, i) => checkpoint(10 + i, i, per)),
    });
    expect(read.checkpoints).to.have.length(kept);
    expect(read.checkpoints.every((c) => c.signatures.length === per)).to.equal(true);
    expect(read.next).to.equal(10 + kept);
  });

  it("reads at most the per-checkpoint cap of signatures and drops what is not one", function () {
    const cp = checkpoint(10, 1, MAX_SIGNATURES_PER_CHECKPOINT + 20);
    cp.signatures[0] = "0x1234";
    const read = readAcceptedAnswer(URL, 10, { next: 11, checkpoints: [cp] });
    expect(read.checkpoints[0]!.signatures).to.have.length(MAX_SIGNATURES_PER_CHECKPOINT - 1);
  });

  it("moves past a block holding more than the cap (a node cannot pin its cursor)", function () {
    const n = MAX_CHECKPOINTS_PER_ANSWER + 1;
    const read = readAcceptedAnswer(URL, 10, {
      next: 11,
      checkpoints: Array.from({ length: n }, (_, i) => checkpoint(10, i, 0)),
    });
    expect(read.next).to.equal(11);
  });

  it("refuses junk: no next, next before from, a block outside the range, a malformed checkpoint", function () {
    const junk: unknown[] = [
      null,
      "x",
      { checkpoints: [] },
      { next: 9, checkpoints: [] },
      { next: 1e11, checkpoints: [] },
      { next: 20 },
      { next: 20, checkpoints: [checkpoint(9, 1, 1)] },
      { next: 20, checkpoints: [checkpoint(20, 1, 1)] },
      { next: 20, checkpoints: [{ ...checkpoint(10, 1, 1), root: "0x12" }] },
      { next: 20, checkpoints: [{ ...checkpoint(10, 1, 1), count: -1 }] },
      { next: 20, checkpoints: [{ ...checkpoint(10, 1, 1), signatures: "0x" }] },
    ];
    for (const body of junk)
      expect(() => readAcceptedAnswer(URL, 10, body), JSON.stringify(body)).to.throw(JunkAnswer);
  });
});
