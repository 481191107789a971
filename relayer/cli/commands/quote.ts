import type { Command } from "commander";
import type { Hex } from "viem";

import { MESSAGE_DECIMALS, parseTokens, quote } from "../../sdk/index.js";
import { checkBody } from "../../sdk/dispatch.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

interface QuoteOptions {
  to: string;
  chain?: string;
  bodySize?: string;
  body?: string;
  handlerGas?: string;
  amount?: string;
}

export function defineQuote(program: Command, exec: Exec): void {
  program
    .command("quote")
    .description("the delivery fee a message pays at the destination's latest price (Outbox.quote)")
    .requiredOption("--to <code>", "destination chain code")
    .option("--chain <code>", "origin chain (default: the config's home)")
    .option("--body-size <bytes>", "bytes of the body")
    .option("--body <hex>", "the body itself (its size is quoted)")
    .option("--handler-gas <gas>", "gas of the recipient's handler", "0")
    .option("--amount <tokens>", "value carried (the premium's base), in tokens", "0")
    .action(exec(runQuote));
}

/** A whole number given to `flag`, else a usage error. */
export function wholeNumber(text: string, flag: string): bigint {
  if (!/^\d+$/.test(text))
    throw new CliError(`${flag} must be a whole number, got ${text}`, EXIT.usage);
  return BigInt(text);
}

export async function runQuote(ctx: Context, o: QuoteOptions): Promise<number> {
  if (o.body !== undefined && o.bodySize !== undefined)
    throw new CliError("--body and --body-size: give one, not both", EXIT.usage);
  let bodySize = 0;
  if (o.body !== undefined) bodySize = (checkBody(o.body as Hex, "--body").length - 2) / 2;
  else if (o.bodySize !== undefined) bodySize = Number(wholeNumber(o.bodySize, "--body-size"));
  const handlerGas = wholeNumber(o.handlerGas ?? "0", "--handler-gas");
  const amount = parseTokens(o.amount ?? "0", MESSAGE_DECIMALS, "--amount");
  const origin = await ctx.chain(o.chain);
  const destination = await ctx.chain(o.to, "--to");
  const q = await quote(await ctx.client(), {
    from: origin.code,
    to: destination.code,
    bodySize,
    handlerGas,
    amount,
  });
  ctx.print(
    `fee ${q.feeText} from ${origin.codeHex} to ${destination.codeHex} (${bodySize}-byte body, handler gas ${handlerGas}, amount ${o.amount ?? "0"})\nprice: ${q.price.perGas} per gas, base ${q.price.base}, premium ${q.price.premiumPpm} ppm`,
    {
      origin: origin.codeHex,
      destination: destination.codeHex,
      fee: q.fee.toString(),
      feeText: q.feeText,
      bodySize,
      handlerGas: handlerGas.toString(),
      price: {
        perGas: q.price.perGas.toString(),
        base: q.price.base.toString(),
        premiumPpm: q.price.premiumPpm,
      },
    },
  );
  return EXIT.ok;
}
