/**
 * Every transaction the SDK sends: simulated first (a revert is decoded and nothing is sent), then
 * signed, sent and awaited. A transaction mined as reverted is reported with its hash.
 */
import type { Abi, Account, Hex, TransactionReceipt } from "viem";

import {
  chainError,
  codeOf,
  onChain,
  type DistposChain,
  type DistposClient,
  type Units,
} from "./client.js";
import { ContractRevertError } from "./errors.js";

export interface ContractCall {
  address: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** What is called, for messages (e.g. `CorrespondentBank.send`). */
  call: string;
  /** Token units for the decoded error's amounts. */
  units?: Units;
}

/** eth_call of `c` from `account`: throws ContractRevertError (decoded) or RpcError. */
export async function simulate(
  client: DistposClient,
  chain: DistposChain,
  account: Account,
  c: ContractCall,
): Promise<unknown> {
  const pc = client.publicClient(chain);
  const { result } = await onChain(
    chain,
    c.call,
    () =>
      pc.simulateContract({
        account,
        address: c.address,
        abi: c.abi,
        functionName: c.functionName,
        args: c.args,
      } as Parameters<typeof pc.simulateContract>[0]),
    c.units,
  );
  return result;
}

/** Simulates `c`, then sends it and waits for its receipt. */
export async function transact(
  client: DistposClient,
  chain: DistposChain,
  account: Account,
  c: ContractCall,
): Promise<TransactionReceipt> {
  await simulate(client, chain, account, c);
  const pc = client.publicClient(chain);
  const wallet = client.walletClient(chain, account);
  let hash: Hex;
  try {
    hash = await wallet.writeContract({
      account,
      chain: wallet.chain,
      address: c.address,
      abi: c.abi,
      functionName: c.functionName,
      args: c.args,
    } as Parameters<typeof wallet.writeContract>[0]);
  } catch (e) {
    throw chainError(chain, c.call, e, c.units);
  }
  const receipt = await onChain(chain, c.call, () => pc.waitForTransactionReceipt({ hash }));
  if (receipt.status !== "success")
    throw new ContractRevertError(
      codeOf(chain),
      c.call,
      "reverted",
      [],
      "the transaction reverted when mined",
      undefined,
      hash,
    );
  return receipt;
}
