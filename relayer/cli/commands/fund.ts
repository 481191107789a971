import type { Command } from "commander";

import { fund, getToken, parseTokens } from "../../sdk/index.js";
import { EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineFund(program: Command, exec: Exec): void {
  program
    .command("fund")
    .description("post tokens into a peer's reserve (correspondent account) on the home chain")
    .argument("<peer>", "peer chain code")
    .argument("<amount>", "tokens")
    .option("--key-env <NAME>", "env var holding the funder's key (default: keys.user)")
    .action(exec(runFund));
}

export async function runFund(
  ctx: Context,
  peerText: string,
  amountText: string,
  o: { keyEnv?: string },
): Promise<number> {
  const chain = ctx.config().homeChain;
  const peer = ctx.chainEntry(peerText, "<peer>");
  const key = ctx.key(o.keyEnv, "user");
  const client = await ctx.client();
  const token = await getToken(client, { chain: chain.code });
  const amount = parseTokens(amountText, token.decimals, "<amount>");
  const r = await fund(client, { chain: chain.code, peer: peer.code, amount, account: key });
  ctx.print(
    `funded ${amountText} ${token.symbol} into the reserve of ${peer.codeHex} on ${chain.codeHex}; reserve now ${r.reserveText} ${token.symbol}\ntx ${r.transactionHash}`,
    {
      peer: peer.codeHex,
      funded: amount.toString(),
      reserve: r.reserve.toString(),
      tx: r.transactionHash,
    },
  );
  return EXIT.ok;
}
