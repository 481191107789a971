/**
 * `distpos` — the node and its operator commands, one module per command under commands/, each
 * returning its exit code, over the SDK's actions (relayer/sdk). Exit codes (relayer/README.md):
 *   0  success (status: delivered)
 *   1  unexpected error
 *   2  usage or configuration error (the flag, or the field and the file, named)
 *   3  a chain, node or Redis failed: a call reverted or was refused (decoded), or an endpoint did
 *      not answer (chain and URL named); doctor: a check failed
 *   4  timed out (send --wait)
 *   5  not found (status: every chain answered, none dispatched it)
 *   6  pending (status: dispatched, not delivered yet)
 *   7  delivered, but the recipient's handler or payout failed (retry / claim)
 */
import { createRequire } from "node:module";

import { Command, CommanderError, Option } from "commander";

import { errorText } from "../log.js";
import { CliError, Context, EXIT, exitCodeOf, type GlobalOptions } from "./context.js";
import { defineBalance } from "./commands/balance.js";
import { defineClaim } from "./commands/claim.js";
import { defineConfig } from "./commands/config.js";
import { defineCredit } from "./commands/credit.js";
import { defineDlq } from "./commands/dlq.js";
import { defineDoctor } from "./commands/doctor.js";
import { defineFund } from "./commands/fund.js";
import { defineMint } from "./commands/mint.js";
import { defineNode } from "./commands/node.js";
import { defineRequeue } from "./commands/requeue.js";
import { defineQuote } from "./commands/quote.js";
import { defineRetry } from "./commands/retry.js";
import { defineRoutes } from "./commands/routes.js";
import { defineSend } from "./commands/send.js";
import { defineStaking } from "./commands/stake.js";
import { defineStatus } from "./commands/status.js";
import { defineTopUp } from "./commands/topup.js";

export { CliError, EXIT };

/** Wraps a command's run function (context first, then commander's arguments) as its action. */
export type Exec = <A extends unknown[]>(
  run: (ctx: Context, ...args: A) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

/** This package's version (package.json is two folders up from both the source and the bundle). */
function version(): string {
  try {
    return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The program; `exitCode.value` holds the code the command returned. */
export function buildCli(exitCode: { value: number } = { value: EXIT.ok }): Command {
  const program = new Command("distpos")
    .description("DistPOS node and operator commands (exit codes: see relayer/README.md)")
    .version(version(), "-V, --version", "print the version")
    .addOption(
      new Option("-c, --config <file>", "node config file (YAML or JSON)")
        .env("DISTPOS_CONFIG")
        .default("distpos.yaml"),
    )
    .option("--json", "machine-readable output (one JSON object on stdout)")
    .option(
      "--max-fee-per-gas-gwei <gwei>",
      "refuse to sign any transaction whose fee per gas the RPC puts above this (default: the chain's chains.<code>.maxFeePerGasGwei)",
    )
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const exec: Exec =
    (run) =>
    async (...args) => {
      const ctx = new Context(program.opts<GlobalOptions>());
      // commander passes the positional arguments, the options, then the command itself.
      exitCode.value = await run(ctx, ...(args.slice(0, -1) as never));
    };

  defineNode(program, exec);
  defineSend(program, exec);
  defineQuote(program, exec);
  defineTopUp(program, exec);
  defineStatus(program, exec);
  defineRoutes(program, exec);
  defineBalance(program, exec);
  defineCredit(program, exec);
  defineStaking(program, exec);
  defineFund(program, exec);
  defineMint(program, exec);
  defineRetry(program, exec);
  defineClaim(program, exec);
  defineDlq(program, exec);
  defineRequeue(program, exec);
  defineDoctor(program, exec);
  defineConfig(program, exec);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const exitCode = { value: EXIT.ok as number };
  const program = buildCli(exitCode);
  try {
    await program.parseAsync(argv);
    return exitCode.value;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const code = exitCodeOf(e);
    const text = code === EXIT.error ? errorText(e) : (e as Error).message;
    if (text) process.stderr.write(`distpos: ${text}\n`);
    return code;
  }
}

/** Entry point of the `distpos` binary (relayer/cli/bin.js). */
export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
  // Exit even if a client left a socket open; what was written is flushed first.
  setTimeout(() => process.exit(code), 500).unref();
}
