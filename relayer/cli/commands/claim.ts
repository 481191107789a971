import type { Command } from "commander";
import type { Hex } from "viem";

import { claim } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineClaim(program: Command, exec: Exec): void {
  program
    .command("claim")
    .description("pay a transfer's pending payout once the origin's reserve covers it")
    .argument("<id>", "message id of the transfer (0x + 64 hex)")
    .option(
      "--chain <code>",
      "the destination chain holding the payout (default: from the message)",
    )
    .option("--key-env <NAME>", "env var holding the key that pays the gas (default: keys.user)")
    .action(exec(runClaim));
}

export async function runClaim(
  ctx: Context,
  id: string,
  o: { chain?: string; keyEnv?: string },
): Promise<number> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new CliError("id must be 0x followed by 64 hex digits", EXIT.usage);
  const chain = o.chain === undefined ? undefined : (await ctx.chain(o.chain)).code;
  const key = ctx.key(o.keyEnv, "user");
  const r = await claim(await ctx.client(), {
    id: id as Hex,
    account: key,
    ...(chain ? { chain } : {}),
  });
  ctx.print(`paid ${r.amountText} to ${r.recipient} on ${r.chain}\ntx ${r.transactionHash}`, {
    id,
    chain: r.chain,
    recipient: r.recipient,
    amount: r.amount.toString(),
    tx: r.transactionHash,
  });
  return EXIT.ok;
}
