/** The relayer's pure seams (relayer/relay: gas, reverts, settle, worker, batcher): no chain. */
import { DelayedError, UnrecoverableError } from "bullmq";
import { expect } from "chai";
import {
  encodeAbiParameters,
  encodeEventTopics,
  pad,
  type Hex,
  type TransactionReceipt,
} from "viem";

import { IInboxAbi } from "../../relayer/chain/abis.js";

import { Batcher } from "../../relayer/relay/batcher.js";
import {
  BATCH_FIXED_GAS,
  ceilingGas,
  estimatedLimit,
  gasPerMessage,
  limitMayBeShort,
  modeledGas,
} from "../../relayer/relay/gas.js";
import { minedRevertAction, revertAction } from "../../relayer/relay/reverts.js";
import { batchOutcome, receiptDeliveries } from "../../relayer/relay/settle.js";
import { isFinalAttempt, jobError, workerShares } from "../../relayer/relay/worker.js";

describe("relayer/relay seams", function () {
  it("models a batch's gas from the last delivery and bounds it by every handler's whole limit", function () {
    const { expected, limit } = modeledGas(30_000, 10, 200_000n);
    expect(expected).to.equal(BigInt(BATCH_FIXED_GAS + 300_000));
    // A quarter more, one handler's whole gas (64/63 rule), a margin.
    expect(limit).to.equal((expected * 5n) / 4n + (200_000n * 65n) / 64n + 50_000n);
    expect(modeledGas(0.4, 3, 0n).expected).to.equal(BigInt(BATCH_FIXED_GAS + 2));
    expect(estimatedLimit(100n)).to.equal(120n);
    expect(ceilingGas(2, 64_000n)).to.equal(200_000n + 2n * (65_000n + 60_000n));
    expect(ceilingGas(4, 64_000n)).to.be.greaterThan(ceilingGas(3, 64_000n));
  });

  it("learns gas per message only from batches large enough to say", function () {
    expect(gasPerMessage(500_000n, 7)).to.equal(undefined);
    expect(gasPerMessage(500_000n, 8)).to.equal(50_000);
    expect(gasPerMessage(50_000n, 10)).to.equal(0);
  });

  it("estimates only when a failed call may be the limit's fault", function () {
    expect(limitMayBeShort(undefined)).to.equal(true);
    expect(limitMayBeShort({ name: "InsufficientGasForHandler" })).to.equal(true);
    expect(limitMayBeShort({ name: "reverted" })).to.equal(true);
    expect(limitMayBeShort({ name: "unknown(0x12345678)" })).to.equal(true);
    expect(limitMayBeShort({ name: "AlreadyDelivered" })).to.equal(false);
    expect(limitMayBeShort({ name: "InsufficientCoverage" })).to.equal(false);
  });

  it("splits a failing batch, retries signer shortfalls with every signer, spends attempts only alone", function () {
    const act = (name: string, messages: number, everySigner = false, moreSigners = true) =>
      revertAction({ name, messages, everySigner, moreSigners });
    expect(act("AlreadyDelivered", 5)).to.equal("recheck-delivered");
    expect(act("AlreadyDelivered", 1)).to.equal("recheck-delivered");
    expect(act("InsufficientCoverage", 5)).to.equal("every-signer");
    expect(act("TooFewSigners", 5, true)).to.equal("split");
    expect(act("StakeReportNeedsQuorum", 1, false, false)).to.equal("wait-signers");
    expect(act("InsufficientCoverage", 1, true)).to.equal("wait-signers");
    expect(act("PolicyCoverageExhausted", 3)).to.equal("split");
    expect(act("PolicyCoverageExhausted", 1)).to.equal("wait-window");
    expect(act("EstimateFailed", 2)).to.equal("split");
    expect(act("EstimateFailed", 1)).to.equal("fail");
    expect(act("HandlerOutOfBounds", 1)).to.equal("fail");
  });

  it("re-simulates a batch that reverted on chain once, splits it the second time, fails only alone", function () {
    const act = (messages: number, minedReverts: number) =>
      minedRevertAction({ messages, minedReverts });
    expect(act(5, 0)).to.equal("resimulate");
    expect(act(1, 0)).to.equal("resimulate");
    expect(act(5, 1)).to.equal("split");
    expect(act(2, 3)).to.equal("split");
    expect(act(1, 1)).to.equal("fail");
  });

  it("reads a deliver receipt's Inbox logs and settles each message of the batch by them", function () {
    const inbox = pad("0x1b0c", { size: 20 });
    const [x, y, z] = ["0x01", "0x02", "0x03"].map((v) => pad(v as Hex, { size: 32 }));
    const log = (address: Hex, topics: readonly unknown[], data: Hex = "0x") => ({
      address,
      topics: topics as [Hex, ...Hex[]],
      data,
      blockNumber: 7n,
      blockHash: pad("0x07", { size: 32 }),
      transactionHash: pad("0xaa", { size: 32 }),
      logIndex: 0,
      transactionIndex: 0,
      removed: false,
    });
    const delivered = (id: Hex, address = inbox) =>
      log(
        address,
        encodeEventTopics({ abi: IInboxAbi, eventName: "Delivered", args: { id } }),
        "0x",
      );
    const handlerFailed = (id: Hex) =>
      log(
        inbox,
        encodeEventTopics({ abi: IInboxAbi, eventName: "HandlerFailed", args: { id } }),
        encodeAbiParameters([{ type: "uint8" }, { type: "bytes" }], [1, "0x"]),
      );
    const receipt = {
      logs: [
        delivered(x!),
        delivered(y!),
        handlerFailed(y!),
        delivered(z!, pad("0x99", { size: 20 })),
      ],
    } as unknown as TransactionReceipt;
    const seen = receiptDeliveries(receipt, inbox);
    // Another contract's Delivered log is not the Inbox's.
    expect([...seen.delivered]).to.deep.equal([x, y]);
    expect([...seen.failed]).to.deep.equal([y]);

    const tx = { hash: pad("0xaa", { size: 32 }), block: 7n };
    const outcome = (id: Hex, unconfirmed: string[] = []) =>
      batchOutcome(id, { ...seen, unconfirmed: new Set(unconfirmed) }, tx, "b");
    expect(outcome(x!)).to.deep.equal({
      kind: "delivered",
      tx: tx.hash,
      block: 7,
      status: "delivered",
    });
    expect(outcome(y!)).to.deep.include({ kind: "delivered", status: "failed" });
    // Not confirmed by the Inbox's state: the RPC's fault, it waits without spending an attempt.
    const wait = outcome(x!, [x!]);
    expect(wait).to.deep.include({ kind: "wait", backoff: true });
    expect(wait.kind === "wait" && wait.reason).to.match(/^chain b: .* block 7; re-queued$/);
    const missing = outcome(z!);
    expect(missing.kind).to.equal("error");
    expect(missing.kind === "error" && missing.error.message).to.equal(
      `no Delivered event for ${z} in ${tx.hash}`,
    );
  });

  it("fails a job with a short error, dead-letters at its last attempt, shares workers by concurrency", function () {
    // A viem error carries the whole request: the job keeps its name and first line only.
    const long = Object.assign(new Error(`deliver reverted\n${"ab".repeat(100_000)}`), {
      name: "TxRevertedError",
    });
    const short = jobError(long);
    expect(short.name).to.equal("TxRevertedError");
    expect(short.message).to.equal("deliver reverted");
    const delayed = new DelayedError("waits");
    const unrecoverable = new UnrecoverableError("not in its bundle");
    expect(jobError(delayed)).to.equal(delayed);
    expect(jobError(unrecoverable)).to.equal(unrecoverable);
    expect(jobError("text").message).to.equal("text");

    expect(isFinalAttempt(new Error("x"), 1, 3)).to.equal(false);
    expect(isFinalAttempt(new Error("x"), 3, 3)).to.equal(true);
    expect(isFinalAttempt(new Error("x"), 1)).to.equal(true);
    expect(isFinalAttempt(unrecoverable, 1, 10)).to.equal(true);

    expect(workerShares(1)).to.deep.equal({ workers: 1, each: 1 });
    expect(workerShares(250)).to.deep.equal({ workers: 1, each: 250 });
    expect(workerShares(5_000)).to.deep.equal({ workers: 20, each: 250 });
    expect(workerShares(251)).to.deep.equal({ workers: 2, each: 126 });
  });

  it("batches by count at once and by time otherwise, and hands a crashed run's items back", async function () {
    const runs: number[][] = [];
    const failed: number[][] = [];
    const batcher = new Batcher<number>(
      20,
      3,
      async (items) => {
        runs.push(items);
        if (items.includes(99)) throw new Error("boom");
      },
      (items) => failed.push(items),
    );
    batcher.add(1);
    batcher.add(2);
    batcher.add(3);
    expect(runs).to.deep.equal([[1, 2, 3]]);
    batcher.add(4);
    expect(batcher.size).to.equal(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).to.deep.equal([[1, 2, 3], [4]]);
    batcher.add(99);
    batcher.flush();
    await new Promise((r) => setImmediate(r));
    expect(failed).to.deep.equal([[99]]);
    batcher.flush();
    expect(runs).to.have.length(3);
  });
});
