/** The benchmark's results: the JSON shape, the machine and source description, the Markdown. */
import { execFile } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { promisify } from "node:util";

import { fmt, table } from "../table.js";
import { ratio } from "./stats.js";
import type { RecordCost } from "./record.js";
import type { GasBreakdown } from "./trace.js";
import type { TreeSizeResult } from "./treeSize.js";

type PerMessage = { batch: number; signers: number; gas: number };

export interface BenchResults {
  gas: {
    dispatch32: { distpos: number; hyperlane: number };
    dispatch32_mean: { distpos: number; hyperlane: number };
    dispatch512: { distpos: number; hyperlane: number };
    deliver1_3sig: {
      /** Alone as its checkpoint's last (no proof): Hyperlane MessageId's case. */
      distpos: number;
      /** Under a later checkpoint, with its proof: Hyperlane MerkleRoot's case. */
      distpos_with_proof?: number;
      hyperlane_messageid_3of5: number;
      hyperlane_merkleroot_3of5: number;
    };
    /** One message alone as its checkpoint's last (no proof). */
    deliver1: { signers: number; gas: number }[];
    /** One message alone under a later checkpoint (with its proof). */
    deliver1_with_proof?: { signers: number; gas: number }[];
    deliver_per_message: PerMessage[];
    deliver_value_per_message: PerMessage[];
    value_send32: { distpos: number };
    /** Delivery fees (protocol.md 3.9); absent in results written before them. */
    fees?: {
      price: { perGas: number; base: number; premiumPpm: number };
      quote32: string;
      hyperlane_igp_value: string;
      dispatch32: { distpos: number; hyperlane_igp: number };
      dispatch32_mean: { distpos: number; hyperlane_igp: number };
      deliver1_3sig: number;
      deliver64_3sig_per_message: number;
      deliver256_3sig_per_message: number;
      samples: unknown;
    };
    /** One stake report alone in a batch, signed by a majority of the mirrored stake (median). */
    stake_report?: {
      signers: number;
      attesters: number;
      gas: number;
      min: number;
      max: number;
      samples: number;
    };
    /** The watcher's record: deliveries with and without the `CheckpointAccepted` log. */
    checkpoint_record?: { method: string; compileSeconds: number; pairs: RecordCost[] };
    /** What the delivery figures depend on beyond the compiler and the machine. */
    settings?: {
      attesters_per_chain: number;
      mirrored_stakes: number[];
      majority_signers: number;
      signature_bytes: number;
    };
    proofs: {
      batch: number;
      signers: number;
      siblings: number;
      omittedSiblings: number;
      omittedCalldataGas: number;
    }[];
    tree_size: TreeSizeResult[];
    samples: unknown;
    ranges: unknown;
  };
  targets?: Target[];
  breakdown: Record<string, GasBreakdown>;
  relayer: unknown;
  /** bench/relayer/networkSize.ts's results (NetworkSizeResults). */
  network_size?: unknown;
  /** The anvil run (bench/relayer/anvil.ts). */
  anvil?: unknown;
  machine: string;
  date: string;
  source: { commit: string; modified: string[] };
  /** Contracts whose artifacts were rebuilt before their source maps were read (no per-function figures). */
  staleSourceMaps: string[];
  durationSeconds: number;
}

export interface Target {
  name: string;
  value: number;
  limit: number;
  /** value / reference (for ratio targets) or value / limit. */
  ratio: number;
  met: boolean;
  detail: string;
}

const run = promisify(execFile);

export function machineDescription(): string {
  const cpu = cpus();
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  return `${cpu[0]?.model.trim() ?? "unknown CPU"} × ${cpu.length}, ${gib} GiB, ${process.platform}/${process.arch}, Node ${process.versions.node}`;
}

/** The commit the run measured and the contract files that differed from it (other helpers' work). */
export async function sourceState(): Promise<{ commit: string; modified: string[] }> {
  try {
    const { stdout: commit } = await run("git", ["rev-parse", "--short", "HEAD"]);
    const { stdout: status } = await run("git", ["status", "--porcelain", "--", "contracts"]);
    return {
      commit: commit.trim(),
      modified: status
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: "unknown", modified: [] };
  }
}

/** The three targets of the benchmark. */
export function evaluateTargets(r: BenchResults): Target[] {
  const g = r.gas;
  const dispatchRatio = g.dispatch32.distpos / g.dispatch32.hyperlane;
  // Each Hyperlane ISM against its like: MerkleRoot carries a proof (ours: a message under a later
  // checkpoint), MessageId none (ours: the checkpoint's last, alone).
  const withProof = g.deliver1_3sig.distpos_with_proof ?? g.deliver1_3sig.distpos;
  const deliverRatio = withProof / g.deliver1_3sig.hyperlane_merkleroot_3of5;
  const batch = g.deliver_per_message.find((x) => x.batch === 64 && x.signers === 3);
  if (!batch) throw new Error("no batch of 64 with 3 signers");
  return [
    {
      name: "dispatch (32 B) ≤ 0.6 × Hyperlane's",
      value: g.dispatch32.distpos,
      limit: Math.floor(0.6 * g.dispatch32.hyperlane),
      ratio: ratio(g.dispatch32.distpos, g.dispatch32.hyperlane),
      met: dispatchRatio <= 0.6,
      detail: `${fmt(g.dispatch32.distpos)} vs ${fmt(g.dispatch32.hyperlane)} (limit ${fmt(Math.floor(0.6 * g.dispatch32.hyperlane))})`,
    },
    {
      name: "one message with its proof, 3 signers ≤ 0.8 × Hyperlane MerkleRoot 3/5",
      value: withProof,
      limit: Math.floor(0.8 * g.deliver1_3sig.hyperlane_merkleroot_3of5),
      ratio: ratio(withProof, g.deliver1_3sig.hyperlane_merkleroot_3of5),
      met: deliverRatio <= 0.8,
      detail: `${fmt(withProof)} vs ${fmt(g.deliver1_3sig.hyperlane_merkleroot_3of5)} (limit ${fmt(Math.floor(0.8 * g.deliver1_3sig.hyperlane_merkleroot_3of5))})`,
    },
    {
      name: "≤ 10,000 gas per message in a batch of 64 with 3 signers",
      value: batch.gas,
      limit: 10_000,
      ratio: ratio(batch.gas, 10_000),
      met: batch.gas <= 10_000,
      detail: `${fmt(batch.gas)} per message`,
    },
    {
      name: "pure path: one message (its checkpoint's last), 3 signers ≤ 0.85 × Hyperlane MessageId 3/5",
      value: g.deliver1_3sig.distpos,
      limit: Math.floor(0.85 * g.deliver1_3sig.hyperlane_messageid_3of5),
      ratio: ratio(g.deliver1_3sig.distpos, g.deliver1_3sig.hyperlane_messageid_3of5),
      met: g.deliver1_3sig.distpos <= 0.85 * g.deliver1_3sig.hyperlane_messageid_3of5,
      detail: `${fmt(g.deliver1_3sig.distpos)} vs ${fmt(g.deliver1_3sig.hyperlane_messageid_3of5)} (limit ${fmt(Math.floor(0.85 * g.deliver1_3sig.hyperlane_messageid_3of5))})`,
    },
    {
      name: "pure path: ≤ 7,500 gas per message in a batch of 64 with 3 signers",
      value: batch.gas,
      limit: 7_500,
      ratio: ratio(batch.gas, 7_500),
      met: batch.gas <= 7_500,
      detail: `${fmt(batch.gas)} per message`,
    },
    ...(g.fees
      ? [
          {
            name: "dispatch paying its fee ≤ 0.6 × Hyperlane dispatch + IGP payment",
            value: g.fees.dispatch32.distpos,
            limit: Math.floor(0.6 * g.fees.dispatch32.hyperlane_igp),
            ratio: ratio(g.fees.dispatch32.distpos, g.fees.dispatch32.hyperlane_igp),
            met: g.fees.dispatch32.distpos <= 0.6 * g.fees.dispatch32.hyperlane_igp,
            detail: `${fmt(g.fees.dispatch32.distpos)} vs ${fmt(g.fees.dispatch32.hyperlane_igp)} (limit ${fmt(Math.floor(0.6 * g.fees.dispatch32.hyperlane_igp))})`,
          },
          {
            name: "delivery with fees ≤ 10,000 gas per message in a batch of 64 with 3 signers",
            value: g.fees.deliver64_3sig_per_message,
            limit: 10_000,
            ratio: ratio(g.fees.deliver64_3sig_per_message, 10_000),
            met: g.fees.deliver64_3sig_per_message <= 10_000,
            detail: `${fmt(g.fees.deliver64_3sig_per_message)} per message`,
          },
        ]
      : []),
  ];
}

function breakdownTable(label: string, b: GasBreakdown): string {
  const rows: (string | number)[][] = [
    ["intrinsic (21,000 per transaction)", b.intrinsic],
    [`calldata (${fmt(b.calldataBytes)} bytes)`, b.calldata],
    ...Object.entries(b.byKind)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => [k, v]),
  ];
  if (b.refund !== 0) rows.push(["storage refund", -b.refund]);
  rows.push(["**total (receipt)**", b.gasUsed]);
  const contracts = Object.entries(b.byContract)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join("; ");
  const functions = Object.entries(b.byFunction)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 14)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join("; ");
  const counts = Object.entries(b.counts)
    .map(([k, v]) => `${k} × ${v}`)
    .join(", ");
  return [
    `#### ${label}`,
    "",
    table(["where", "gas"], rows),
    "",
    `Execution by contract (code that ran): ${contracts}.`,
    "",
    ...(functions
      ? [
          `Execution in DistPOS contracts by Solidity function (source maps; the optimizer shares some code between functions, so small entries can be mislabelled): ${functions}.`,
          "",
        ]
      : []),
    `Steps: ${counts}.`,
    "",
  ].join("\n");
}

/** results.md. `analysis` is the hand-written part (causes and proposals), kept in bench/analysis.md. */
export function renderMarkdown(r: BenchResults, analysis = ""): string {
  const g = r.gas;
  const targets = r.targets ?? evaluateTargets(r);
  const hlMR = g.deliver1_3sig.hyperlane_merkleroot_3of5;
  const hlMID = g.deliver1_3sig.hyperlane_messageid_3of5;
  const byBatch = (list: PerMessage[]) => {
    const batches = [...new Set(list.map((x) => x.batch))];
    const signers = [...new Set(list.map((x) => x.signers))];
    return table(
      ["batch size", ...signers.map((s) => `${s} signer${s === 1 ? "" : "s"}`)],
      batches.map((batch) => [
        `${batch}`,
        ...signers.map((s) => list.find((x) => x.batch === batch && x.signers === s)?.gas ?? "—"),
      ]),
    );
  };

  const set = g.settings;
  const sr = g.stake_report;
  const rec = g.checkpoint_record;
  const pure1 = (signers: number) => g.deliver1.find((d) => d.signers === signers)?.gas;
  const value64 = g.deliver_value_per_message.find((x) => x.batch === 64 && x.signers === 3)?.gas;

  return `# Gas benchmark: DistPOS against Hyperlane

Generated by \`npm run bench\` (bench/run.ts) on ${r.date.slice(0, 10)}; machine: ${r.machine}; ran in ${r.durationSeconds} s.
Source: commit \`${r.source.commit}\`${r.source.modified.length ? ` with uncommitted changes to ${r.source.modified.map((f) => `\`${f}\``).join(", ")} (other helpers' work in progress)` : ""}.
${set ? `Settings the delivery figures depend on: ${set.attesters_per_chain} attesters per chain; B's mirror of A ${set.mirrored_stakes.map((x) => fmt(x)).join(", ")} tokens (vouching stake: allocation × (1 − bounty), protocol.md 3.8); a batch carrying a stake report is signed by ${set.majority_signers} of ${set.attesters_per_chain} (more than half of the mirrored total, 3.5); signatures ${set.signature_bytes} bytes each, packed in calldata; the benchmark's deliveries are their transactions' own calls, so the watcher's record carries none (they are in the input, protocol.md 3.5); “one message” is a message delivered alone as its checkpoint's last (no proof) unless it says “with its proof”; batch rows, batch size 1 included, are messages under a later checkpoint, with their proof.\n` : ""}Solidity 0.8.30, optimizer 10,000 runs, cancun — the project's single compiler profile. Hyperlane: \`@hyperlane-xyz/core\` 12.1.0, its published compiled artifacts (solc 0.8.33, 3,599 runs), not recompiled.

## How it was measured

- Two Hardhat simulated chains in one process; chain A dispatches, chain B delivers. Both systems are deployed on both chains: DistPOS through the production path (Ignition module, timelock governance, pairwise connect, 5 staked and allocated attesters per chain), Hyperlane as deployed — Mailbox behind a \`TransparentUpgradeableProxy\` with a \`ProxyAdmin\`, \`MerkleTreeHook\` as required hook, \`PausableHook\` (unpaused, the cheapest published hook) as default hook, \`StaticMessageIdMultisigIsm\` and \`StaticMerkleRootMultisigIsm\` (3 of 5) made by their factories, and the published no-op \`LightTestRecipient\`.
- Like for like: a pure message (amount 0) with a 32-byte body from an EOA to a recipient whose handler does nothing (DistPOS: \`contracts/test/BenchRecipient.sol\`). Hyperlane validators sign with ethers wallets exactly as \`CheckpointLib.digest\` defines (EIP-191 over \`keccak(domainHash ‖ root ‖ index ‖ messageId)\`); the MessageId ISM gets a checkpoint per message (the message is its latest leaf), the MerkleRoot ISM the latest checkpoint plus a 32-sibling proof. Hyperlane's tree was checked equal to the codec's \`MerkleTree\` (same construction).
- Steady state: ${fmt(1000)} warm-up dispatches on each Outbox/Mailbox first (and the warm-up messages delivered), then the measured ones. Every figure is \`gasUsed\` of a transaction receipt, the **median** of many transactions (counts in results.json \`gas.samples\`). **Per-message gas in a batch = the receipt's total gas / batch size**, median over the batches.
- Dispatch gas depends on how many trailing one bits the count has (each is one more branch read and hash in the incremental tree, in both systems), so half the dispatches sit at the lowest value: the dispatch medians are taken over 1,024 consecutive dispatches on both systems (every residue of the count's low 10 bits once), which puts both medians at the same point of that cycle; the means over the same windows are shown as well.
- Deliveries of a batch are contiguous runs of nonces as a relayer finds them (not aligned to powers of two), proven against the latest snapshot with one multiproof; all messages of a batch go to the same recipient.
- Value transfers: \`CorrespondentBank.send\` on A (1 token, 32-byte user body), delivered on B with coverage charged to the signers (greedy: the first signer's free stake covers it), the payout from reserve[A] as a token transfer to the recipient, and the recipient's handler called with the user body. B's report threshold is set high so that payouts do not each dispatch a reserve report back (a report costs one extra dispatch when the threshold is crossed).${
    sr
      ? `
- Stake reports (a mirror change, protocol.md 3.5): in the steady state, each of A's first ${sr.samples} attesters raises its allocation to B by one token (\`StakingHub.allocate\` dispatches the report); each report is delivered alone in a batch signed by ${sr.signers} of the ${sr.attesters} attesters — a majority of B's mirrored total, the fewest the rule accepts (a batch with fewer reverts \`StakeReportNeedsQuorum\`). The allocations' first reports travel in the first warm-up batch, signed by the same majority.`
      : ""
  }${
    rec
      ? `
- The watcher's record (\`CheckpointAccepted(origin, root, count, last, signatures)\`, emitted once per accepted batch; the deliveries here are their transactions' own calls, so its signatures are empty): ${rec.method}. Compiled in the run (${rec.compileSeconds} s with the npm \`solc\` wasm, the same settings); nothing of it is deployed outside the run.`
      : ""
  }

## Results

### Dispatch

${table(
  ["", "DistPOS", "Hyperlane", "ratio"],
  [
    [
      "dispatch, 32-byte body (median)",
      g.dispatch32.distpos,
      g.dispatch32.hyperlane,
      ratio(g.dispatch32.distpos, g.dispatch32.hyperlane).toFixed(2),
    ],
    [
      "dispatch, 32-byte body, mean over the same window",
      g.dispatch32_mean.distpos,
      g.dispatch32_mean.hyperlane,
      ratio(g.dispatch32_mean.distpos, g.dispatch32_mean.hyperlane).toFixed(2),
    ],
    [
      "dispatch, 512-byte body",
      g.dispatch512.distpos,
      g.dispatch512.hyperlane,
      ratio(g.dispatch512.distpos, g.dispatch512.hyperlane).toFixed(2),
    ],
    ["value transfer send (CorrespondentBank.send, 32 B)", g.value_send32.distpos, "—", "—"],
  ],
)}

${
  g.fees
    ? `### Delivery fees (protocol.md 3.9)

B publishes its delivery price for A (${fmt(g.fees.price.perGas)} settlement units per gas, base ${fmt(g.fees.price.base)}, premium ${g.fees.price.premiumPpm} ppm) in its reserve report; A's user prepays fees once (\`CorrespondentBank.prepayFees\`) and each \`Outbox.dispatchWithFee\` takes the quote (${g.fees.quote32} for 32 bytes and 50,000 handler gas) from that balance and carries it in the message. B pays the deliverer out of reserve[A] once per batch (\`payFees\`: one call, into its earned balance). Hyperlane's side: its \`InterchainGasPaymaster\` (behind a TransparentUpgradeableProxy) with a \`StorageGasOracle\` as the Mailbox's default hook after the required \`MerkleTreeHook\`, each dispatch paying the IGP's quote (${g.fees.hyperlane_igp_value} wei) in \`msg.value\`; production puts the IGP inside an aggregation hook, whose own overhead is not counted here. Medians over ${fmt(256)} consecutive dispatches each (not the 1,024 window above), means beside them.

${table(
  ["", "DistPOS", "Hyperlane + IGP", "ratio"],
  [
    [
      "dispatch paying its fee, 32-byte body (median)",
      g.fees.dispatch32.distpos,
      g.fees.dispatch32.hyperlane_igp,
      ratio(g.fees.dispatch32.distpos, g.fees.dispatch32.hyperlane_igp).toFixed(2),
    ],
    [
      "the same, mean",
      g.fees.dispatch32_mean.distpos,
      g.fees.dispatch32_mean.hyperlane_igp,
      ratio(g.fees.dispatch32_mean.distpos, g.fees.dispatch32_mean.hyperlane_igp).toFixed(2),
    ],
  ],
)}

${table(
  ["delivery of fee-paying messages, 3 signers", "gas per message"],
  [
    ["one message", g.fees.deliver1_3sig],
    ["batch of 64", g.fees.deliver64_3sig_per_message],
    ["batch of 256", g.fees.deliver256_3sig_per_message],
  ],
)}

`
    : ""
}### Delivery of one message

${table(
  ["", "gas", "÷ Hyperlane MerkleRoot 3/5", "÷ Hyperlane MessageId 3/5"],
  [
    ...g.deliver1.map((d) => [
      `DistPOS, ${d.signers} signer${d.signers === 1 ? "" : "s"}, the checkpoint's last (no proof)`,
      d.gas,
      ratio(d.gas, hlMR).toFixed(2),
      ratio(d.gas, hlMID).toFixed(2),
    ]),
    ...(g.deliver1_with_proof ?? []).map((d) => [
      `DistPOS, ${d.signers} signer${d.signers === 1 ? "" : "s"}, under a later checkpoint (with its proof)`,
      d.gas,
      ratio(d.gas, hlMR).toFixed(2),
      ratio(d.gas, hlMID).toFixed(2),
    ]),
    ["Hyperlane process, MerkleRoot multisig ISM 3/5", hlMR, "1.00", ratio(hlMR, hlMID).toFixed(2)],
    ["Hyperlane process, MessageId multisig ISM 3/5", hlMID, ratio(hlMID, hlMR).toFixed(2), "1.00"],
  ],
)}

### Delivery per message in a batch (pure messages; total gas / batch size)

${byBatch(g.deliver_per_message)}

Sparse multiproof of the median delivery (3 signers; contiguous nonces, unaligned): siblings sent, and the roots of empty subtrees (\`Z[level]\`, at or beyond the checkpoint's count) it leaves out for the verifier to supply, with the calldata gas a full proof would have spent on them:

${table(
  [
    "batch size",
    "siblings sent",
    "empty-subtree siblings left out",
    "calldata gas saved",
    "per message",
  ],
  g.proofs
    .filter((p) => p.signers === 3)
    .map((p) => [
      `${p.batch}`,
      p.siblings,
      p.omittedSiblings,
      p.omittedCalldataGas,
      Math.round(p.omittedCalldataGas / p.batch),
    ]),
)}

Hyperlane has no batch delivery: every message is one \`process\` transaction (${fmt(hlMR)} with MerkleRoot 3/5, ${fmt(hlMID)} with MessageId 3/5).

### Value transfers per message in a batch (total gas / batch size)

${byBatch(g.deliver_value_per_message)}

Every message of the peer's bank, value transfers included, is keyed for replay by its id (protocol.md 3.3): each transfer writes one new storage slot on delivery (\`_systemDelivered[id]\`, a zero-to-non-zero SSTORE of a cold slot, 22,100 gas) besides the bitmap word its batch shares, so that a transfer whose nonce a liar squatted under a false checkpoint is still delivered and paid — squatting moves no user's money out of reach. Pure messages keep the bitmap alone.${value64 ? ` In a batch of 64 with 3 signers a transfer costs ${fmt(value64)} per message.` : ""}
${
  sr
    ? `
### Stake report (a mirror change)

${table(
  ["", "gas"],
  [
    [
      `one stake report alone in a batch, ${sr.signers} of ${sr.attesters} signers (median of ${sr.samples}; ${fmt(sr.min)}–${fmt(sr.max)})`,
      sr.gas,
    ],
    ...(pure1(sr.signers) !== undefined
      ? [[`one pure message, ${sr.signers} signers (for comparison)`, pure1(sr.signers) as number]]
      : []),
  ],
)}

A stake report carries no value at risk (no coverage is charged); it needs the majority's signatures instead, and writes the attester's mirror record (stake and next report nonce, one slot) and the mirrored total, and emits \`MirrorUpdated\`.
`
    : ""
}${
    rec
      ? `
### The watcher's record (\`CheckpointAccepted\`) per batch

${table(
  [
    "batch size",
    "signers",
    "deliver with the record",
    "without",
    "record",
    "LOG3 step (data bytes)",
    "writing the log data",
    "per message",
  ],
  rec.pairs.map((p) => [
    `${p.batch}`,
    p.signers,
    p.withRecord,
    p.withoutRecord,
    p.cost,
    `${fmt(p.logStep)} (${p.logDataBytes})`,
    p.packing,
    Math.round(p.cost / p.batch),
  ]),
)}

The record is paid once per batch: 3 topics and data of \`count\`, \`last\`, an offset, a length and the signatures packed 65 bytes each (padded to 32), copied in one piece from \`deliver\`'s packed signatures — none when \`deliver\` is the transaction's own call, as every delivery here is (the input holds them, protocol.md 3.5), so it is 128 bytes of data whatever the signers. Through a contract, 3 signatures add 224 bytes (≈ 1.8k gas) and 5 signers 352. The unmodified source compiled the same way gave exactly the deployed Inbox's gas in every pair (control). The first row with a batch of 1 and ${sr ? `${sr.signers}` : "3"} signers is a stake report.
`
      : ""
  }
### Against the size of the origin tree

${table(
  [
    "leaves",
    "dispatch (32 B)",
    "deliver 1, 1 signer",
    "deliver 1, 3 signers",
    "deliver 1, 5 signers",
    "batch of 64, 3 signers, per message",
  ],
  g.tree_size.map((t) => [
    fmt(t.leaves),
    t.dispatch32,
    ...[1, 3, 5].map((s) => t.deliver1.find((d) => d.signers === s)?.gas ?? "—"),
    t.batch64PerMessage3sig,
  ]),
)}

How the tree got its size: ${g.tree_size.map((t) => `${fmt(t.leaves)} — ${t.method}`).join("; ")}. The leaves beyond the real messages are stand-ins (sha256 of the index); the Outbox's whole frontier (all 32 \`branch\` slots, including the stale ones a real history leaves, which decide between a fresh and an updating SSTORE) and its count are exactly those of a tree with that history, its \`root()\` was checked equal to the TypeScript tree's, and every delivery used a real proof from that tree against a root the Outbox snapshotted itself. Each row: median of 73 dispatches from that size on; deliveries median of 3.

## Targets

${table(
  ["target", "measured", "ratio", "met?"],
  targets.map((t) => [
    t.name,
    t.detail,
    t.ratio.toFixed(2),
    t.met ? "**met**" : `**missed** by ${fmt(t.value - t.limit)} gas`,
  ]),
)}

## Where the gas goes

Breakdowns of the median transactions from \`debug_traceTransaction\`: intrinsic and calldata cost from the transaction, execution by kind of step and by contract (a call's own cost — account access, value, memory — is counted apart from what its callee spent).${r.staleSourceMaps.length ? ` Per-function figures are missing for ${r.staleSourceMaps.join(", ")}: their artifacts were rebuilt (other helpers' work) before the run could read their source maps.` : ""}

${Object.entries(r.breakdown)
  .map(([label, b]) => breakdownTable(label, b))
  .join("\n")}
${analysis ? `\n${analysis.trim()}\n` : ""}`;
}
