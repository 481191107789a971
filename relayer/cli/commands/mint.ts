import type { Command } from "commander";
import { isAddress, type Address } from "viem";

import { getToken, mint, parseTokens } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineMint(program: Command, exec: Exec): void {
  program
    .command("mint")
    .description(
      "mint settlement tokens on a devnet (only the devnet's TestToken; any other token is refused)",
    )
    .argument("<amount>", "tokens")
    .option("--chain <code>", "the chain whose token to mint (default: the home chain)")
    .option("--to <address>", "0x account receiving them (default: the address of the key)")
    .option("--key-env <NAME>", "env var holding the key that pays the gas (default: keys.user)")
    .action(exec(runMint));
}

export async function runMint(
  ctx: Context,
  amountText: string,
  o: { chain?: string; to?: string; keyEnv?: string },
): Promise<number> {
  if (o.to !== undefined && !isAddress(o.to, { strict: false }))
    throw new CliError(
      `--to must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(o.to)}`,
      EXIT.usage,
    );
  const chain =
    o.chain === undefined ? ctx.config().homeChain : await ctx.chain(o.chain, "--chain");
  const key = ctx.key(o.keyEnv, "user");
  const client = await ctx.client();
  const token = await getToken(client, { chain: chain.code });
  const amount = parseTokens(amountText, token.decimals, "<amount>");
  const r = await mint(client, {
    chain: chain.code,
    amount,
    account: key,
    ...(o.to ? { to: o.to as Address } : {}),
  });
  ctx.print(
    `minted ${r.amountText} ${r.symbol} to ${r.to} on ${chain.codeHex}\ntx ${r.transactionHash}`,
    {
      chain: chain.codeHex,
      to: r.to,
      amount: amount.toString(),
      tx: r.transactionHash,
    },
  );
  return EXIT.ok;
}
