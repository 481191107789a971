/**
 * Every transaction the SDK sends: simulated first (a revert is decoded and nothing is sent), then
 * signed, sent and awaited. A transaction mined as reverted is reported with its hash.
 */
import type { Abi, Account, Hex, TransactionReceipt } from "viem";

import { erc20Abi } from "./abis.js";

import {
  chainError,
  codeOf,
  onChain,
  type DistposChain,
  type DistposClient,
  type Units,
} from "./client.js";
import { ContractRevertError, InsufficientBalanceError } from "./errors.js";
import { checkedFees } from "./feeCap.js";
import { formatTokens } from "./units.js";

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

/**
 * Simulates `c`, then sends it and waits for its receipt. With a fee cap on the client, the RPC's
 * fee suggestion is checked first (FeeCapError above the cap, nothing signed) and signed as checked.
 */
export async function transact(
  client: DistposClient,
  chain: DistposChain,
  account: Account,
  c: ContractCall,
): Promise<TransactionReceipt> {
  await simulate(client, chain, account, c);
  const fees = await checkedFees(client, chain, c.call);
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
      ...fees,
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

/** A call that pulls `amount` of `token` (its units) from the caller into `spender`. */
export interface TokenPull {
  token: { address: Hex; symbol: string; decimals: number };
  spender: Hex;
  /** Token units. */
  amount: bigint;
}

/** Errors a token raises when only its allowance is short. */
const allowanceOnly = (e: unknown) =>
  e instanceof ContractRevertError &&
  (e.errorName === "ERC20InsufficientAllowance" || /allowance/i.test(e.detail));

/**
 * Sends `c`, a call that takes tokens from the caller, with no stray approval: the balance is
 * checked (InsufficientBalanceError in token units) and `c` simulated before any transaction; a
 * simulation that fails only on the allowance means every other check passed. Then the spender is
 * approved for exactly the amount when its allowance is short, and if `c` fails after all, the
 * allowance is set back to what it was. Returns the receipt and the approval's hash, if any.
 */
export async function transactWithTokens(
  client: DistposClient,
  chain: DistposChain,
  account: Account,
  c: ContractCall,
  pull: TokenPull,
): Promise<{ receipt: TransactionReceipt; approval?: Hex }> {
  const pc = client.publicClient(chain);
  const [balance, allowance] = await onChain(chain, "token balance and allowance", () =>
    Promise.all([
      pc.readContract({
        address: pull.token.address,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [account.address],
      }),
      pc.readContract({
        address: pull.token.address,
        abi: erc20Abi,
        functionName: "allowance",
        args: [account.address, pull.spender],
      }),
    ]),
  );
  if (balance < pull.amount)
    throw new InsufficientBalanceError(
      codeOf(chain),
      account.address,
      pull.token.address,
      pull.token.symbol,
      pull.token.decimals,
      balance,
      pull.amount,
      formatTokens(balance, pull.token.decimals),
      formatTokens(pull.amount, pull.token.decimals),
    );
  try {
    await simulate(client, chain, account, c);
  } catch (e) {
    if (!(allowance < pull.amount && allowanceOnly(e))) throw e;
  }
  if (allowance >= pull.amount) return { receipt: await transact(client, chain, account, c) };
  const approve = (value: bigint): ContractCall => ({
    address: pull.token.address,
    abi: erc20Abi,
    functionName: "approve",
    args: [pull.spender, value],
    call: `${pull.token.symbol}.approve`,
    units: c.units,
  });
  const approval = (await transact(client, chain, account, approve(pull.amount))).transactionHash;
  try {
    return { receipt: await transact(client, chain, account, c), approval };
  } catch (e) {
    await transact(client, chain, account, approve(allowance)).catch(() => undefined);
    throw e;
  }
}
