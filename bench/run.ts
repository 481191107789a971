/**
 * `npm run bench`: gas of DistPOS against Hyperlane on the same simulated chains, in one run.
 *
 * Chain A dispatches, chain B delivers. Both systems are deployed on both chains: DistPOS through
 * its production deploy path (test/helpers/suite.ts → deploy/), Hyperlane from the compiled
 * artifacts `@hyperlane-xyz/core` publishes. Every figure is `gasUsed` from a receipt; steady state
 * means after more than 1,000 earlier dispatches on the same Outbox / Mailbox; single figures are
 * medians of many transactions, per-message figures in a batch are the receipt's gas / batch size.
 * Writes bench/results.json and bench/results.md.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Hex } from "viem";

import { MerkleTree } from "../relayer/protocol/index.js";
import { dispatchedMessages, ONE } from "../test/helpers/suite.js";
import {
  BENCH_PRICE,
  carriesStakeReport,
  createBenchNetwork,
  deliverBatch,
  dispatchPure,
  dispatchWithFee,
  majorityOf,
  noncesOf,
  dispatchedIn,
  prepareBatch,
  prepareFees,
  prepareValueRoute,
  raiseAllocations,
  sendValue,
  sourceMappers,
} from "./gas/distpos.js";
import {
  addGasPaymaster,
  deployHyperlane,
  dispatchHyperlane,
  dispatchHyperlanePaid,
  merkleRootMetadata,
  messageIdMetadata,
  type HyperlaneMessage,
} from "./gas/hyperlane.js";
import {
  evaluateTargets,
  machineDescription,
  renderMarkdown,
  sourceState,
  type BenchResults,
} from "./gas/report.js";
import { buildRecordVariant, measureRecordCost, type RecordCost } from "./gas/record.js";
import { summarize, type Sample, type Summary } from "./gas/stats.js";
import { breakdown, type GasBreakdown } from "./gas/trace.js";
import { TX_GAS_LIMIT, toSample } from "./gas/tx.js";
import { treeSizeSeries } from "./gas/treeSize.js";
import { writeResultsMarkdown } from "./markdown.js";
import { progressLog } from "./progress.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const log = progressLog();

const WARMUP_DISPATCHES = 1_000;
const SIGNER_COUNTS = [1, 3, 5] as const;
/** Batches per (batch size, signer count): many small ones, fewer big ones. */
const PURE_PLAN: [batch: number, repeats: number][] = [
  [1, 11],
  [8, 5],
  [64, 3],
  [256, 1],
];
/** Lone messages delivered as their checkpoint's last (no proof), per signer count. */
const ALONE_REPEATS = 11;
const VALUE_PLAN: [batch: number, repeats: number][] = [
  [1, 5],
  [8, 3],
  [64, 1],
  [256, 1],
];
const HYPERLANE_PROCESS_SAMPLES = 15;
const DISPATCH512_SAMPLES = 100;
/**
 * Dispatch gas depends on the count's trailing one bits (each is one more branch read and hash),
 * so its distribution has a mode at half the samples: medians are taken over a window of 1,024
 * consecutive dispatches (every residue of the count's 10 low bits once) on both systems, so that
 * both medians sit at the same point of that cycle; the means are reported too.
 */
const DISPATCH_WINDOW = 1_024;
const HYPERLANE_DISPATCH32_SAMPLES = DISPATCH_WINDOW / 2; // to each of the two recipients
const TREE_SIZES = [10, 10_000, 1_000_000];
/** Stake reports measured: one per attester of A (each raises its allocation to B by a token). */
const STAKE_REPORTS = 5;
/** Pure (batch, signers) runs whose first batch is also delivered without the watcher's record. */
const RECORD_PAIRS = new Set(["1/1", "1/3", "1/5", "64/1", "64/3", "64/5"]);

/** The node benchmarks' parts of results.json (relayer, anvil, network_size): kept as they wrote them. */
async function previousNodeParts(): Promise<
  Pick<BenchResults, "relayer" | "anvil" | "network_size">
> {
  try {
    const previous = JSON.parse(
      await readFile(join(HERE, "results.json"), "utf8"),
    ) as Partial<BenchResults>;
    return {
      relayer: previous.relayer ?? null,
      anvil: previous.anvil,
      network_size: previous.network_size,
    };
  } catch {
    return { relayer: null };
  }
}

const messagesFor = (plan: [number, number][]) =>
  SIGNER_COUNTS.length * plan.reduce((sum, [batch, repeats]) => sum + batch * repeats, 0);

// What this run compiled and deployed (other helpers may change contracts while it runs).
const sourceAtStart = await sourceState();

// ---------------------------------------------------------------------------------------------
log("deploying DistPOS on chains A and B (Ignition module, timelock, connect, 5 attesters each)");
const net = await createBenchNetwork();
const { a, b } = net;
const [relayerB] = await b.connection.ethers.getSigners();
const domainA = Number(a.suite.evmChainId);
const domainB = Number(b.suite.evmChainId);

log("deploying Hyperlane 12.1.0 (published artifacts) on chains A and B");
const hlA = await deployHyperlane(net.user, domainA, a.attesters, 3);
const hlB = await deployHyperlane(relayerB, domainB, a.attesters, 3);
// Source maps now, while the artifacts still describe the deployed code.
const mappersA = await sourceMappers(net, a);
const mappersB = await sourceMappers(net, b);
const staleArtifacts = [...new Set([...mappersA.stale, ...mappersB.stale])];
if (staleArtifacts.length)
  log(`  artifacts changed since deployment: ${staleArtifacts.join(", ")}`);
const namesA = new Map([...net.namesA, ...hlA.names]);
const namesB = new Map([...net.namesB, ...hlB.names]);

log("opening the value route: reserve[A] funded on B, reported to A");
await prepareValueRoute(net, 1_000_000n * ONE);

// ---------------------------------------------------------------------------------------------
log(`warm-up: ${WARMUP_DISPATCHES} dispatches on each system`);
await dispatchPure(net, WARMUP_DISPATCHES, 32, 0);
const hlMessages: HyperlaneMessage[] = [];
hlMessages.push(
  ...(await dispatchHyperlane(
    hlA,
    net.user,
    domainB,
    hlB.messageIdRecipient,
    WARMUP_DISPATCHES,
    32,
    0,
  )),
);

log("measured dispatches");
const ours512 = await dispatchPure(net, DISPATCH512_SAMPLES, 512, 100_000);
const pure = await dispatchPure(net, messagesFor(PURE_PLAN), 32, 200_000);
const valueSends = await sendValue(net, messagesFor(VALUE_PLAN), ONE, 32, 300_000);
const hl512 = await dispatchHyperlane(
  hlA,
  net.user,
  domainB,
  hlB.messageIdRecipient,
  DISPATCH512_SAMPLES,
  512,
  100_000,
);
const hl32 = [
  ...(await dispatchHyperlane(
    hlA,
    net.user,
    domainB,
    hlB.messageIdRecipient,
    HYPERLANE_DISPATCH32_SAMPLES,
    32,
    200_000,
  )),
  ...(await dispatchHyperlane(
    hlA,
    net.user,
    domainB,
    hlB.merkleRootRecipient,
    HYPERLANE_DISPATCH32_SAMPLES,
    32,
    300_000,
  )),
];
hlMessages.push(...hl512, ...hl32);
log(`stake reports: ${STAKE_REPORTS} attesters of A raise their allocation to B by one token`);
const reportReceipts = await raiseAllocations(net, STAKE_REPORTS);

// ---------------------------------------------------------------------------------------------
log("reading A's Outbox history and building its tree");
const dispatched = await dispatchedMessages(a);
dispatched.forEach((m, i) => {
  if (m.nonce !== i) throw new Error(`Outbox history has a gap at ${i}`);
});
const tree = MerkleTree.from(dispatched.map((m) => m.id as Hex));
const source = { dispatched, tree };
const pureNonces = noncesOf(net, pure.receipts);
const valueNonces = noncesOf(net, valueSends.receipts);
const reportNonces = noncesOf(net, reportReceipts);
if (reportNonces.length !== STAKE_REPORTS) throw new Error("expected one report per allocation");
const measured = new Set([...pureNonces, ...valueNonces, ...reportNonces]);
// A batch carrying a stake report needs signers holding a majority of the mirrored stake (the
// attesters' mirrored stakes are equal here: 3 of 5).
const MAJORITY = majorityOf(a.attesters.length);
const warmNonces = dispatched
  .filter((m) => m.message.destination === b.suite.code && !measured.has(m.nonce))
  .map((m) => m.nonce);
log(`delivering the ${warmNonces.length} warm-up messages to B (batches of 256)`);
for (let i = 0; i < warmNonces.length; i += 256) {
  const nonces = warmNonces.slice(i, i + 256); // the first holds the allocations' reports
  await deliverBatch(
    net,
    nonces,
    carriesStakeReport(net, nonces, dispatched) ? MAJORITY : 1,
    source,
  );
}

log(`compiling and deploying an Inbox without the watcher's record (CheckpointAccepted) on B`);
const recordVariant = await buildRecordVariant(net);
log(`  compiled in ${recordVariant.compileSeconds} s`);
const recordCosts: RecordCost[] = [];

log(
  `stake reports: each alone in a batch, signed by ${MAJORITY} of ${a.attesters.length} (a majority)`,
);
const reportSamples: Sample[] = [];
for (const nonce of reportNonces) {
  const prepared = await prepareBatch(net, [nonce], MAJORITY, source);
  if (reportSamples.length === 0)
    recordCosts.push(await measureRecordCost(net, recordVariant, prepared));
  reportSamples.push(await deliverBatch(net, [nonce], MAJORITY, source, prepared));
}
const stakeReport = summarize(reportSamples);
log(`  stake report: ${stakeReport.median} gas (${stakeReport.min}–${stakeReport.max})`);

/**
 * Delivers `plan` out of `nonces` (in order); per-message gas samples per (batch, signers). With
 * `record`, the first batch of each (batch, signers) it names is first also sent, on the same state,
 * without the watcher's record (bench/gas/record.ts).
 */
async function runPlan(
  plan: [number, number][],
  nonces: number[],
  label: string,
  record?: Set<string>,
) {
  const out: { batch: number; signers: number; perMessage: Summary; totals: Sample[] }[] = [];
  let next = 0;
  for (const signers of SIGNER_COUNTS) {
    for (const [batch, repeats] of plan) {
      const totals: Sample[] = [];
      for (let r = 0; r < repeats; r++) {
        const slice = nonces.slice(next, next + batch);
        let prepared;
        let pair: RecordCost | undefined;
        if (r === 0 && record?.has(`${batch}/${signers}`)) {
          prepared = await prepareBatch(net, slice, signers, source);
          pair = await measureRecordCost(net, recordVariant, prepared);
          recordCosts.push(pair);
        }
        const sample = await deliverBatch(net, slice, signers, source, prepared);
        if (pair && pair.withRecord !== sample.gas)
          log(`  note: ${sample.gas} delivered, ${pair.withRecord} in the record pair`);
        totals.push(sample);
        next += batch;
      }
      const perMessage = summarize(
        totals.map((t) => ({ gas: Math.round(t.gas / batch), hash: t.hash })),
      );
      log(`  ${label}: batch ${batch}, ${signers} signer(s): ${perMessage.median} gas/message`);
      out.push({ batch, signers, perMessage, totals });
    }
  }
  if (next !== nonces.length)
    throw new Error(`${label}: ${nonces.length - next} messages left over`);
  return out;
}

log("DistPOS deliveries, pure messages");
const pureRuns = await runPlan(PURE_PLAN, pureNonces, "pure", RECORD_PAIRS);
for (const c of recordCosts)
  log(
    `  watcher's record, batch ${c.batch}, ${c.signers} signer(s): ${c.cost} (LOG3 ${c.logStep}, packing ${c.packing})`,
  );
/**
 * One message delivered alone as soon as a checkpoint ending with it is signed: its id is the
 * checkpoint's `last`, so it goes without a proof (protocol.md 3.3) — what a lone message on a quiet
 * route gets, and the like of Hyperlane's MessageId ISM, whose validators sign each message's own
 * index. Each sample dispatches a fresh message on top of the same history and delivers it.
 */
async function deliverAlone(signers: number, repeats: number) {
  const totals: Sample[] = [];
  for (let r = 0; r < repeats; r++) {
    const { receipts } = await dispatchPure(net, 1, 32, 700_000 + signers * 1_000 + r);
    const fresh = dispatchedIn(net, receipts);
    for (const m of fresh) {
      if (m.nonce !== source.tree.count) throw new Error(`Outbox history has a gap at ${m.nonce}`);
      source.dispatched.push(m);
      source.tree.append(m.id as Hex);
    }
    totals.push(await deliverBatch(net, noncesOf(net, receipts), signers, source));
  }
  const perMessage = summarize(totals);
  log(`  pure: alone as the checkpoint's last, ${signers} signer(s): ${perMessage.median} gas`);
  return { batch: 1, signers, perMessage, totals };
}
const aloneRuns: Awaited<ReturnType<typeof deliverAlone>>[] = [];
for (const signers of SIGNER_COUNTS) aloneRuns.push(await deliverAlone(signers, ALONE_REPEATS));
log("DistPOS deliveries, value transfers");
const valueRuns = await runPlan(VALUE_PLAN, valueNonces, "value");

// ---------------------------------------------------------------------------------------------
log("Hyperlane process on B with both ISMs (3 of 5)");
hlMessages.sort((x, y) => x.nonce - y.nonce);
hlMessages.forEach((m, i) => {
  if (m.nonce !== i) throw new Error(`Hyperlane history has a gap at ${i}`);
});
const hlTree = MerkleTree.from(hlMessages.map((m) => m.id as Hex));
const hookRoot = await hlA.merkleTreeHook.getFunction("root")();
if (hookRoot !== hlTree.root())
  throw new Error("MerkleTreeHook root differs from the codec's tree");
const process = hlB.mailbox.getFunction("process");
async function hyperlaneProcess(messages: HyperlaneMessage[], kind: "messageId" | "merkleRoot") {
  const samples: Sample[] = [];
  for (const m of messages) {
    const metadata =
      kind === "messageId"
        ? await messageIdMetadata(hlA, hlTree, m)
        : await merkleRootMetadata(hlA, hlTree, m);
    const receipt = await (await process(metadata, m.message, { gasLimit: TX_GAS_LIMIT })).wait();
    if (!receipt || receipt.status !== 1) throw new Error(`process failed for ${m.id}`);
    samples.push(toSample(receipt));
  }
  return summarize(samples);
}
const hlMessageId = await hyperlaneProcess(hl32.slice(0, HYPERLANE_PROCESS_SAMPLES), "messageId");
const hlMerkleRoot = await hyperlaneProcess(
  hl32.slice(
    HYPERLANE_DISPATCH32_SAMPLES,
    HYPERLANE_DISPATCH32_SAMPLES + HYPERLANE_PROCESS_SAMPLES,
  ),
  "merkleRoot",
);
log(`  MessageId 3/5: ${hlMessageId.median}, MerkleRoot 3/5: ${hlMerkleRoot.median}`);

// ---------------------------------------------------------------------------------------------
log("delivery fees (protocol.md 3.9): B's price reported to A, fee-paying dispatches and batches");
const FEE_DISPATCH_SAMPLES = 256;
const FEE_BATCHES_64 = 3;
const FEE_SINGLES = 5;
const feeQuote = await prepareFees(net, 1_000n * ONE, 32);
const feeDispatches = await dispatchWithFee(
  net,
  FEE_DISPATCH_SAMPLES + 64 * FEE_BATCHES_64 + FEE_SINGLES,
  32,
  300_000,
  feeQuote,
);
const feeDispatch32 = summarize(feeDispatches.samples.slice(0, FEE_DISPATCH_SAMPLES));
const feeNonces = noncesOf(net, feeDispatches.receipts);
const feeHistory = await dispatchedMessages(a);
const feeSource = {
  dispatched: feeHistory,
  tree: MerkleTree.from(feeHistory.map((m) => m.id as Hex)),
};
// The first batch (the dispatch samples, 256 messages) also creates the relayer's earned balance
// on B, so the measured batches below pay into an existing slot, as a relayer's do.
const fee256 = await deliverBatch(net, feeNonces.slice(0, FEE_DISPATCH_SAMPLES), 3, feeSource);
const fee64Samples: Sample[] = [];
for (let i = 0; i < FEE_BATCHES_64; i++) {
  const start = FEE_DISPATCH_SAMPLES + 64 * i;
  const sample = await deliverBatch(net, feeNonces.slice(start, start + 64), 3, feeSource);
  fee64Samples.push({ ...sample, gas: Math.round(sample.gas / 64) });
}
const fee64 = summarize(fee64Samples);
const fee1Samples: Sample[] = [];
for (let i = 0; i < FEE_SINGLES; i++) {
  const nonce = feeNonces[FEE_DISPATCH_SAMPLES + 64 * FEE_BATCHES_64 + i];
  fee1Samples.push(await deliverBatch(net, [nonce], 3, feeSource));
}
const fee1 = summarize(fee1Samples);
log(
  `  dispatchWithFee ${feeDispatch32.median}; deliver with fees: 1 message ${fee1.median}, batch of 64 ${fee64.median}/message, 256 ${Math.round(fee256.gas / 256)}/message`,
);
log("Hyperlane with its InterchainGasPaymaster in the hook path: dispatch paying the IGP's quote");
const igpValue = await addGasPaymaster(hlA, net.user, domainB, hlB.messageIdRecipient, 32);
const hlPaid = await dispatchHyperlanePaid(
  hlA,
  net.user,
  domainB,
  hlB.messageIdRecipient,
  FEE_DISPATCH_SAMPLES,
  32,
  400_000,
  igpValue,
);
const hlPaidDispatch32 = summarize(hlPaid.map((m) => toSample(m.receipt)));
log(`  Hyperlane dispatch + IGP: ${hlPaidDispatch32.median}`);
for (const [address, name] of hlA.names) namesA.set(address, name);

// ---------------------------------------------------------------------------------------------
log("where the gas goes (debug_traceTransaction of the median transactions)");
if (pure.samples.length < DISPATCH_WINDOW) throw new Error("too few dispatches for the window");
const oursDispatch32 = summarize(pure.samples.slice(0, DISPATCH_WINDOW));
const oursDispatch512 = summarize(ours512.samples);
const hlDispatch32 = summarize(hl32.map((m) => toSample(m.receipt)));
const hlDispatch512 = summarize(hl512.map((m) => toSample(m.receipt)));
const valueSend = summarize(valueSends.samples);
const meanGas = (samples: Sample[]) =>
  Math.round(samples.reduce((sum, x) => sum + x.gas, 0) / samples.length);
const run = (runs: typeof pureRuns, batch: number, signers: number) => {
  const found = runs.find((r) => r.batch === batch && r.signers === signers);
  if (!found) throw new Error(`no run for batch ${batch} with ${signers} signers`);
  return found;
};
const traces: Record<string, GasBreakdown> = {};
const traced: [string, "A" | "B", string][] = [
  ["DistPOS dispatch (32 B)", "A", oursDispatch32.medianTx],
  ["Hyperlane dispatch (32 B)", "A", hlDispatch32.medianTx],
  ["DistPOS deliver 1 message, 3 signers", "B", run(aloneRuns, 1, 3).perMessage.medianTx],
  [
    "DistPOS deliver 1 message under a later checkpoint (with its proof), 3 signers",
    "B",
    run(pureRuns, 1, 3).perMessage.medianTx,
  ],
  ["Hyperlane process, MessageId 3/5", "B", hlMessageId.medianTx],
  ["Hyperlane process, MerkleRoot 3/5", "B", hlMerkleRoot.medianTx],
  ["DistPOS deliver batch of 64, 3 signers", "B", run(pureRuns, 64, 3).perMessage.medianTx],
  ["DistPOS CorrespondentBank.send (32 B)", "A", valueSend.medianTx],
  ["DistPOS deliver 1 value transfer, 3 signers", "B", run(valueRuns, 1, 3).perMessage.medianTx],
  ["DistPOS deliver 64 value transfers, 3 signers", "B", run(valueRuns, 64, 3).perMessage.medianTx],
  [`DistPOS deliver 1 stake report, ${MAJORITY} signers (a majority)`, "B", stakeReport.medianTx],
  ["DistPOS dispatchWithFee (32 B)", "A", feeDispatch32.medianTx],
  ["Hyperlane dispatch + IGP payment (32 B)", "A", hlPaidDispatch32.medianTx],
  ["DistPOS deliver batch of 64 with fees, 3 signers", "B", fee64.medianTx],
];
for (const [label, chain, hash] of traced) {
  traces[label] =
    chain === "A"
      ? await breakdown(a.connection.provider, hash, namesA, mappersA.mappers)
      : await breakdown(b.connection.provider, hash, namesB, mappersB.mappers);
}

// ---------------------------------------------------------------------------------------------
log(`tree size series (${TREE_SIZES.join(", ")} leaves) on a fresh pair of chains`);
const treeSizes = await treeSizeSeries(TREE_SIZES, log);

// ---------------------------------------------------------------------------------------------
const results: BenchResults = {
  gas: {
    dispatch32: { distpos: oursDispatch32.median, hyperlane: hlDispatch32.median },
    dispatch32_mean: {
      distpos: meanGas(pure.samples.slice(0, DISPATCH_WINDOW)),
      hyperlane: meanGas(hl32.map((m) => toSample(m.receipt))),
    },
    dispatch512: { distpos: oursDispatch512.median, hyperlane: hlDispatch512.median },
    deliver1_3sig: {
      distpos: run(aloneRuns, 1, 3).perMessage.median,
      distpos_with_proof: run(pureRuns, 1, 3).perMessage.median,
      hyperlane_messageid_3of5: hlMessageId.median,
      hyperlane_merkleroot_3of5: hlMerkleRoot.median,
    },
    deliver1: SIGNER_COUNTS.map((signers) => ({
      signers,
      gas: run(aloneRuns, 1, signers).perMessage.median,
    })),
    deliver1_with_proof: SIGNER_COUNTS.map((signers) => ({
      signers,
      gas: run(pureRuns, 1, signers).perMessage.median,
    })),
    deliver_per_message: pureRuns.map((r) => ({
      batch: r.batch,
      signers: r.signers,
      gas: r.perMessage.median,
    })),
    deliver_value_per_message: valueRuns.map((r) => ({
      batch: r.batch,
      signers: r.signers,
      gas: r.perMessage.median,
    })),
    value_send32: { distpos: valueSend.median },
    fees: {
      price: {
        perGas: Number(BENCH_PRICE.perGas),
        base: Number(BENCH_PRICE.base),
        premiumPpm: BENCH_PRICE.premiumPpm,
      },
      quote32: feeQuote.toString(),
      hyperlane_igp_value: igpValue.toString(),
      dispatch32: { distpos: feeDispatch32.median, hyperlane_igp: hlPaidDispatch32.median },
      dispatch32_mean: {
        distpos: meanGas(feeDispatches.samples.slice(0, FEE_DISPATCH_SAMPLES)),
        hyperlane_igp: meanGas(hlPaid.map((m) => toSample(m.receipt))),
      },
      deliver1_3sig: fee1.median,
      deliver64_3sig_per_message: fee64.median,
      deliver256_3sig_per_message: Math.round(fee256.gas / 256),
      samples: {
        dispatch32: FEE_DISPATCH_SAMPLES,
        batches64: FEE_BATCHES_64,
        singles: FEE_SINGLES,
      },
    },
    stake_report: {
      signers: MAJORITY,
      attesters: a.attesters.length,
      gas: stakeReport.median,
      min: stakeReport.min,
      max: stakeReport.max,
      samples: stakeReport.samples,
    },
    checkpoint_record: {
      method:
        "same prepared delivery on the same state (evm_snapshot/evm_revert): B's Inbox as deployed, then the runtime code of Inbox.sol compiled without its `_emitCheckpointAccepted` call (hardhat_setCode), then the unmodified source compiled the same way (control, must equal the deployed Inbox); cost = deployed − without; LOG3 = 375 + 3 × 375 + 8 × data bytes, packing = the rest",
      compileSeconds: recordVariant.compileSeconds,
      pairs: recordCosts,
    },
    settings: {
      attesters_per_chain: a.attesters.length,
      // B's mirror of A at the end of the run, in whole tokens (vouching stake: allocation × (1 − bounty)).
      mirrored_stakes: await Promise.all(
        a.attesters.map(async (x) =>
          Number((await b.suite.inbox.mirroredStake(a.suite.code, x.address)) / ONE),
        ),
      ),
      majority_signers: MAJORITY,
      signature_bytes: 65,
    },
    // Proof of the median delivery of each pure run: siblings sent, and the roots of empty
    // subtrees the sparse multiproof leaves out (the verifier supplies them: protocol.md 2.5).
    proofs: pureRuns.map((r) => {
      const median = r.totals.find((t) => t.hash === r.perMessage.medianTx);
      return {
        batch: r.batch,
        signers: r.signers,
        siblings: median?.proofSiblings ?? 0,
        omittedSiblings: median?.omittedSiblings ?? 0,
        omittedCalldataGas: median?.omittedCalldataGas ?? 0,
      };
    }),
    tree_size: treeSizes,
    samples: {
      dispatch32: { distpos: oursDispatch32.samples, hyperlane: hlDispatch32.samples },
      dispatch512: { distpos: oursDispatch512.samples, hyperlane: hlDispatch512.samples },
      hyperlane_process: { messageid: hlMessageId.samples, merkleroot: hlMerkleRoot.samples },
      deliver_per_message: pureRuns.map((r) => ({
        batch: r.batch,
        signers: r.signers,
        batches: r.totals.length,
      })),
      deliver_value_per_message: valueRuns.map((r) => ({
        batch: r.batch,
        signers: r.signers,
        batches: r.totals.length,
      })),
      value_send32: valueSend.samples,
    },
    ranges: {
      dispatch32: {
        distpos: [oursDispatch32.min, oursDispatch32.max],
        hyperlane: [hlDispatch32.min, hlDispatch32.max],
      },
      hyperlane_messageid_3of5: [hlMessageId.min, hlMessageId.max],
      hyperlane_merkleroot_3of5: [hlMerkleRoot.min, hlMerkleRoot.max],
    },
  },
  breakdown: traces,
  // The node benchmarks fill these parts; keep what they wrote.
  ...(await previousNodeParts()),
  machine: machineDescription(),
  date: new Date().toISOString(),
  source: sourceAtStart,
  staleSourceMaps: staleArtifacts,
  durationSeconds: Math.round((Date.now() - started) / 1000),
};
results.targets = evaluateTargets(results);
for (const t of results.targets)
  log(`  target ${t.met ? "met" : "MISSED"}: ${t.name}: ${t.detail}`);
await writeFile(join(HERE, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
await writeResultsMarkdown(results);
log(`wrote bench/results.json and bench/results.md`);
