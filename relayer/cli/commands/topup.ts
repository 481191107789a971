import type { Command } from "commander";
import type { Hex } from "viem";

import { MESSAGE_DECIMALS, parseTokens, topUp } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineTopUp(program: Command, exec: Exec): void {
  program
    .command("topup")
    .description(
      "add to a message's delivery fee on its origin (Outbox.topUp), from the prepaid fee balance",
    )
    .argument("<id>", "message id (0x + 64 hex)")
    .requiredOption("--amount <tokens>", "fee to add, in tokens")
    .option("--key-env <NAME>", "env var holding the payer's key (default: keys.user)")
    .action(exec(runTopUp));
}

export async function runTopUp(
  ctx: Context,
  id: string,
  o: { amount: string; keyEnv?: string },
): Promise<number> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new CliError("id must be 0x followed by 64 hex digits", EXIT.usage);
  const amount = parseTokens(o.amount, MESSAGE_DECIMALS, "--amount");
  if (amount === 0n) throw new CliError("--amount must be more than 0", EXIT.usage);
  const key = ctx.key(o.keyEnv, "user");
  const r = await topUp(await ctx.client(), { id: id as Hex, amount, account: key });
  ctx.print(
    `topped up ${r.id} by ${r.amountText} (top-up message ${r.topUpId} from ${r.origin} to ${r.destination})\ntx ${r.transactionHash}`,
    {
      id: r.id,
      topUpId: r.topUpId,
      amount: r.amount.toString(),
      origin: r.origin,
      destination: r.destination,
      tx: r.transactionHash,
    },
  );
  return EXIT.ok;
}
