/**
 * Where the gas of one transaction goes, from `debug_traceTransaction` (struct logs): intrinsic
 * cost (21,000 + calldata), then execution split by kind of step (storage reads and writes,
 * keccak, signature recovery, events, external calls, everything else) and by contract.
 *
 * A step's cost is the drop of the gas counter until the next step of the same frame; a call's own
 * cost is that drop minus what its callee consumed (the callee's steps are counted in its frame).
 */
import type { EthereumProvider } from "hardhat/types/providers";

import type { SourceMapper } from "./sourceMap.js";

interface StructLog {
  pc: number;
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

interface TraceResult {
  gas: number;
  failed: boolean;
  structLogs: StructLog[];
}

export interface GasBreakdown {
  gasUsed: number;
  intrinsic: number; // 21,000
  calldata: number; // 4 per zero byte, 16 per other byte
  calldataBytes: number;
  refund: number; // intrinsic + execution − gasUsed (storage refunds)
  byKind: Record<string, number>;
  byContract: Record<string, number>;
  /** Execution in our contracts by Solidity function (from the source maps), when mappers are given. */
  byFunction: Record<string, number>;
  counts: Record<string, number>;
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
const CREATES = new Set(["CREATE", "CREATE2"]);

function kindOf(op: string): string {
  if (op === "SLOAD") return "storage reads (SLOAD)";
  if (op === "SSTORE") return "storage writes (SSTORE)";
  if (op === "KECCAK256" || op === "SHA3") return "keccak256";
  if (op.startsWith("LOG")) return "events (LOG)";
  if (op === "TLOAD" || op === "TSTORE") return "transient storage (reentrancy guard)";
  if (CALLS.has(op)) return "external calls (account access, call overhead)";
  if (
    op.startsWith("CALLDATA") ||
    op === "MLOAD" ||
    op === "MSTORE" ||
    op === "MSTORE8" ||
    op === "MCOPY" ||
    op === "RETURNDATACOPY" ||
    op === "CODECOPY"
  )
    return "memory and calldata access";
  return "other execution (stack, arithmetic, jumps)";
}

function calldataCost(data: string): { gas: number; bytes: number } {
  const hex = data.startsWith("0x") ? data.slice(2) : data;
  let gas = 0;
  for (let i = 0; i < hex.length; i += 2) gas += hex.slice(i, i + 2) === "00" ? 4 : 16;
  return { gas, bytes: hex.length / 2 };
}

function stackAddress(log: StructLog, fromTop: number): string {
  const stack = log.stack ?? [];
  const word = stack[stack.length - 1 - fromTop] ?? "0x0";
  const hex = BigInt(word.startsWith("0x") ? word : `0x${word}`)
    .toString(16)
    .padStart(40, "0")
    .slice(-40);
  return `0x${hex}`;
}

/**
 * Breaks the gas of transaction `hash` down; `names` maps lower-case addresses to contract names
 * (unknown addresses are shown as they are), `mappers` lower-case addresses of our contracts to
 * their source mappers.
 */
export async function breakdown(
  provider: EthereumProvider,
  hash: string,
  names: Map<string, string>,
  mappers: Map<string, SourceMapper> = new Map(),
): Promise<GasBreakdown> {
  const tx = (await provider.request({
    method: "eth_getTransactionByHash",
    params: [hash],
  })) as { input: string; to: string };
  const receipt = (await provider.request({
    method: "eth_getTransactionReceipt",
    params: [hash],
  })) as { gasUsed: string };
  const trace = (await provider.request({
    method: "debug_traceTransaction",
    params: [hash, { disableMemory: true, disableStorage: true }],
  })) as TraceResult;
  const logs = trace.structLogs;
  const gasUsed = Number(BigInt(receipt.gasUsed));
  const { gas: calldata, bytes: calldataBytes } = calldataCost(tx.input);
  const intrinsic = 21_000;

  const byKind: Record<string, number> = {};
  const byContract: Record<string, number> = {};
  const byFunction: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const add = (record: Record<string, number>, key: string, value: number) => {
    record[key] = (record[key] ?? 0) + value;
  };
  const nameOf = (address: string) => names.get(address.toLowerCase()) ?? address.toLowerCase();

  // The code each frame runs (DELEGATECALL runs the target's code in the caller's storage).
  const frames: string[] = [tx.to.toLowerCase()];
  let execution = 0;
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i];
    const next = logs[i + 1];
    const code = frames[step.depth - 1] ?? "?";
    const contract = nameOf(code);
    let cost: number;
    let kind = kindOf(step.op);
    if ((CALLS.has(step.op) || CREATES.has(step.op)) && next && next.depth > step.depth) {
      // Entered a callee: find where the caller resumes and what the callee consumed.
      let resume = i + 1;
      while (resume < logs.length && logs[resume].depth > step.depth) resume++;
      const lastOfCallee = logs[resume - 1];
      const calleeUsed = next.gas - (lastOfCallee.gas - lastOfCallee.gasCost);
      const inclusive = resume < logs.length ? step.gas - logs[resume].gas : step.gasCost;
      cost = inclusive - calleeUsed;
      frames[step.depth] = CREATES.has(step.op) ? "created" : stackAddress(step, 1);
      add(counts, step.op, 1);
    } else if (next && next.depth === step.depth) {
      cost = step.gas - next.gas;
      if (CALLS.has(step.op)) {
        // A call that ran no code here: a precompile (ecrecover is 0x01) or an empty account.
        const target = stackAddress(step, 1);
        if (BigInt(target) === 1n) kind = "signature recovery (ecrecover)";
        else if (BigInt(target) < 0x100n) kind = "other precompiles";
        add(counts, BigInt(target) === 1n ? "ecrecover" : step.op, 1);
      }
    } else {
      cost = step.gasCost; // the frame's last step
    }
    if (step.op === "SLOAD" || step.op === "SSTORE" || step.op.startsWith("LOG"))
      add(counts, step.op.startsWith("LOG") ? "LOG" : step.op, 1);
    if (step.op === "KECCAK256" || step.op === "SHA3") add(counts, "KECCAK256", 1);
    add(byKind, kind, cost);
    add(byContract, contract, cost);
    const mapper = mappers.get(code);
    if (mapper) add(byFunction, mapper(step.pc), cost);
    execution += cost;
  }
  const refund = intrinsic + calldata + execution - gasUsed;
  return {
    gasUsed,
    intrinsic,
    calldata,
    calldataBytes,
    refund,
    byKind,
    byContract,
    byFunction,
    counts,
  };
}
