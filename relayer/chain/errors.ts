import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  HttpRequestError,
  formatUnits,
  TimeoutError,
  WebSocketRequestError,
  type Hex,
} from "viem";

import { suiteErrorsAbi } from "./abis.js";

/** The suite error a call reverted with, if it did revert with one. */
export function revertOf(e: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
    return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
  }
  const withData = e.walk(
    (x) =>
      typeof (x as { data?: unknown }).data === "string" &&
      /^0x[0-9a-fA-F]{8}/.test((x as { data: string }).data),
  );
  const data = (withData as { data?: Hex } | null)?.data;
  if (data) {
    try {
      const decoded = decodeErrorResult({ abi: suiteErrorsAbi, data });
      return { name: decoded.errorName, args: (decoded.args ?? []) as readonly unknown[] };
    } catch {
      return { name: `unknown(${data.slice(0, 10)})`, args: [] };
    }
  }
  if (/revert/i.test(e.message)) return { name: "reverted", args: [] };
  return undefined;
}

/**
 * Inputs of suite errors that are amounts of stake, coverage or value: 18-decimal message units
 * (relayer/sdk/units.ts), written in tokens in logs so an operator reads "150 tokens", not 1.5e20.
 */
const AMOUNT_INPUTS: ReadonlySet<string> = new Set([
  "valueAtRisk",
  "capacity",
  "signerStake",
  "totalStake",
  "requested",
  "available",
  "amount",
]);

/**
 * A revert as an operator reads it: `InsufficientCoverage(valueAtRisk 150 tokens, capacity 90
 * tokens)`, each argument named by the suite's ABI, amounts in tokens.
 */
export function describeRevert(revert: { name: string; args: readonly unknown[] }): string {
  const item = suiteErrorsAbi.find((x) => x.type === "error" && x.name === revert.name) as
    { inputs?: readonly { name?: string }[] } | undefined;
  const parts = revert.args.map((arg, i) => {
    const name = item?.inputs?.[i]?.name;
    if (typeof arg === "bigint" && name && AMOUNT_INPUTS.has(name))
      return `${name} ${formatUnits(arg, 18)} tokens`;
    return name ? `${name} ${String(arg)}` : String(arg);
  });
  return `${revert.name}(${parts.join(", ")})`;
}

/**
 * Whether a failure is the transport's (an RPC endpoint or Redis unreachable, a timeout) rather
 * than the request's: such failures are waited out, never counted against a message's attempts.
 * A send cut short by the node stopping (ShutdownError) is one too.
 */
export function isTransient(e: unknown): boolean {
  if (revertOf(e)) return false;
  if (e instanceof BaseError) {
    const t = e.walk(
      (x) =>
        x instanceof HttpRequestError ||
        x instanceof TimeoutError ||
        x instanceof WebSocketRequestError,
    );
    if (t) return true;
  }
  const text = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  return /ShutdownError|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|fetch failed|socket hang up|other side closed|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|HTTP request failed|took too long/i.test(
    text,
  );
}
