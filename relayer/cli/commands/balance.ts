import type { Command } from "commander";
import { isAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { getBalance, type Balance } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineBalance(program: Command, exec: Exec): void {
  program
    .command("balance")
    .description("settlement tokens and gas an account holds, on each chain of the table")
    .argument("[address]", "0x account (default: the address of the key)")
    .option("--chain <code>", "only this chain")
    .option(
      "--key-env <NAME>",
      "env var holding the key whose address to show (default: keys.user)",
    )
    .action(exec(runBalance));
}

export async function runBalance(
  ctx: Context,
  address: string | undefined,
  o: { chain?: string; keyEnv?: string },
): Promise<number> {
  if (address !== undefined && !isAddress(address, { strict: false }))
    throw new CliError(
      `address must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(address)}`,
      EXIT.usage,
    );
  const account = (address ?? privateKeyToAccount(ctx.key(o.keyEnv, "user")).address) as Address;
  const chains = o.chain ? [await ctx.chain(o.chain)] : ctx.config().chainList;
  const rows: Balance[] = [];
  for (const chain of chains)
    rows.push(await getBalance(await ctx.client(), { chain: chain.code, account }));
  ctx.print(
    [
      `account ${account}`,
      ...rows.map(
        (b) => `${b.chain.padEnd(8)} ${b.balanceText} ${b.symbol}, gas ${b.nativeText} ETH`,
      ),
    ].join("\n"),
    { account, balances: rows },
  );
  return EXIT.ok;
}
