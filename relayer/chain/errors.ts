import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from "viem";

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
