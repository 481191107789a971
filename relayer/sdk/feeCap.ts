/**
 * The fees of every transaction the SDK sends: the RPC's suggestion, checked against the client's
 * `maxFeePerGas` cap. Above it the transaction is refused (FeeCapError) rather than signed at the
 * cap: a user command signed below what the chain asks may sit unmined, and an RPC asking that much
 * is broken, lying, or a spike the user should decide about. The checked figures are the ones signed
 * (passed to the wallet explicitly), so the RPC cannot answer a second, different estimate.
 */
import { formatGwei } from "viem";

import { codeOf, onChain, type DistposChain, type DistposClient } from "./client.js";
import { FeeCapError } from "./errors.js";

/** Fee fields for a transaction: EIP-1559 figures, or a legacy gas price. */
export type CheckedFees =
  | { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
  | { gasPrice: bigint }
  | Record<string, never>;

/**
 * The fees to sign `call` on `chain` with: the RPC's estimate when the client has a cap (throws
 * FeeCapError when the estimate exceeds it, RpcError when the RPC fails), nothing (the wallet
 * estimates) when it has none.
 */
export async function checkedFees(
  client: DistposClient,
  chain: DistposChain,
  call: string,
): Promise<CheckedFees> {
  const cap = client.feeCap(chain);
  if (!cap) return {};
  const pc = client.publicClient(chain);
  const est = await onChain(chain, `${call} fee estimate`, () => pc.estimateFeesPerGas());
  const suggested = est.maxFeePerGas ?? est.gasPrice;
  if (suggested === undefined) return {};
  if (suggested > cap.wei)
    throw new FeeCapError(
      codeOf(chain),
      chain.name,
      call,
      suggested,
      cap.wei,
      formatGwei(suggested),
      formatGwei(cap.wei),
      cap.setting,
    );
  return est.maxFeePerGas !== undefined
    ? { maxFeePerGas: est.maxFeePerGas, maxPriorityFeePerGas: est.maxPriorityFeePerGas! }
    : { gasPrice: est.gasPrice! };
}
