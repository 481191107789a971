/** An attester's stake in the home StakingHub: stake, allocate, unstake, withdraw. */
import type { Command } from "commander";

import { IStakingHubAbi } from "../../sdk/abis.js";
import { onChain, toAccount } from "../../sdk/client.js";
import { formatTokens, getToken, parseTokens } from "../../sdk/index.js";
import { transact, transactWithTokens, type ContractCall } from "../../sdk/transact.js";
import { EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

const KEY_HELP = "env var holding the attester's key (default: keys.attester, else keys.user)";

export function defineStaking(program: Command, exec: Exec): void {
  program
    .command("stake")
    .description("stake settlement tokens in the home StakingHub")
    .argument("<amount>", "tokens")
    .option("--key-env <NAME>", KEY_HELP)
    .action(exec(runStake));
  program
    .command("allocate")
    .description("set this attester's allocation to a peer chain (reported to its Inbox)")
    .argument("<peer>", "peer chain code")
    .argument("<amount>", "tokens")
    .option("--key-env <NAME>", KEY_HELP)
    .action(exec(runAllocate));
  program
    .command("unstake")
    .description("start unbonding free stake (withdraw after the unbonding delay)")
    .argument("<amount>", "tokens")
    .option("--key-env <NAME>", KEY_HELP)
    .action(exec(runUnstake));
  program
    .command("withdraw")
    .description("withdraw matured unbonding stake")
    .option("--key-env <NAME>", KEY_HELP)
    .action(exec(runWithdraw));
}

async function setup(ctx: Context, keyEnv: string | undefined) {
  const chain = ctx.config().homeChain;
  const client = await ctx.client();
  const account = toAccount(ctx.key(keyEnv, "attester"));
  const token = await getToken(client, { chain: chain.code });
  const call = (functionName: string, args: readonly unknown[]): ContractCall => ({
    address: chain.contracts.stakingHub,
    abi: IStakingHubAbi,
    functionName,
    args,
    call: `StakingHub.${functionName}`,
    units: token,
  });
  return { chain, client, account, token, call };
}

export async function runStake(
  ctx: Context,
  amountText: string,
  o: { keyEnv?: string },
): Promise<number> {
  const { chain, client, account, token, call } = await setup(ctx, o.keyEnv);
  const amount = parseTokens(amountText, token.decimals, "<amount>");
  const { receipt } = await transactWithTokens(client, chain, account, call("stake", [amount]), {
    token,
    spender: chain.contracts.stakingHub,
    amount,
  });
  const bonded = await onChain(chain, "StakingHub.bonded", () =>
    client.publicClient(chain).readContract({
      address: chain.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "bonded",
      args: [account.address],
    }),
  );
  ctx.print(
    `staked ${formatTokens(amount, token.decimals)} ${token.symbol}; bonded ${formatTokens(bonded, token.decimals)} ${token.symbol}\ntx ${receipt.transactionHash}`,
    {
      attester: account.address,
      staked: amount.toString(),
      bonded: bonded.toString(),
      tx: receipt.transactionHash,
    },
  );
  return EXIT.ok;
}

export async function runAllocate(
  ctx: Context,
  peerText: string,
  amountText: string,
  o: { keyEnv?: string },
): Promise<number> {
  const peer = ctx.chainEntry(peerText, "<peer>");
  const { chain, client, account, token, call } = await setup(ctx, o.keyEnv);
  const amount = parseTokens(amountText, token.decimals, "<amount>");
  const r = await transact(client, chain, account, call("allocate", [peer.code, amount]));
  ctx.print(
    `allocation to ${peer.codeHex} set to ${formatTokens(amount, token.decimals)} ${token.symbol}\ntx ${r.transactionHash}`,
    {
      attester: account.address,
      peer: peer.codeHex,
      allocation: amount.toString(),
      tx: r.transactionHash,
    },
  );
  return EXIT.ok;
}

export async function runUnstake(
  ctx: Context,
  amountText: string,
  o: { keyEnv?: string },
): Promise<number> {
  const { chain, client, account, token, call } = await setup(ctx, o.keyEnv);
  const amount = parseTokens(amountText, token.decimals, "<amount>");
  const r = await transact(client, chain, account, call("requestUnstake", [amount]));
  ctx.print(
    `unbonding ${formatTokens(amount, token.decimals)} ${token.symbol}\ntx ${r.transactionHash}`,
    {
      attester: account.address,
      unbonding: amount.toString(),
      tx: r.transactionHash,
    },
  );
  return EXIT.ok;
}

export async function runWithdraw(ctx: Context, o: { keyEnv?: string }): Promise<number> {
  const { chain, client, account, call } = await setup(ctx, o.keyEnv);
  const r = await transact(client, chain, account, call("withdraw", [account.address]));
  ctx.print(`withdrawn\ntx ${r.transactionHash}`, {
    attester: account.address,
    tx: r.transactionHash,
  });
  return EXIT.ok;
}
