import type { Command } from "commander";
import type { Hex } from "viem";

import { retry } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";
import { describeDelivery } from "./status.js";

export function defineRetry(program: Command, exec: Exec): void {
  program
    .command("retry")
    .description("run a delivered message whose handler or payout failed again (Inbox.retry)")
    .argument("<id>", "message id (0x + 64 hex)")
    .option("--key-env <NAME>", "env var holding the key that pays the gas (default: keys.user)")
    .action(exec(runRetry));
}

export async function runRetry(ctx: Context, id: string, o: { keyEnv?: string }): Promise<number> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new CliError("id must be 0x followed by 64 hex digits", EXIT.usage);
  const key = ctx.key(o.keyEnv, "user");
  const r = await retry(await ctx.client(), { id: id as Hex, account: key });
  ctx.print(
    `retried message ${id} on ${r.after.destination.chain}\ntx ${r.transactionHash}\n${describeDelivery(r.after)}`,
    {
      id,
      tx: r.transactionHash,
      status: r.after.destination.status,
      ...(r.after.destination.failureKind ? { failureKind: r.after.destination.failureKind } : {}),
    },
  );
  return r.after.destination.status === "failed" ? EXIT.handlerFailed : EXIT.ok;
}
