import type { Command } from "commander";

import { getCredit, getHeadroom, getReserve, getRouteStatus } from "../../sdk/index.js";
import { EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineCredit(program: Command, exec: Exec): void {
  program
    .command("credit")
    .description(
      "per route from a chain: status, credit, reserves on both sides, attesters' headroom",
    )
    .argument("[peer]", "only the route to this chain")
    .option("--chain <code>", "the sending chain (default: the config's home)")
    .action(exec(runCredit));
}

/** What the routes from `origin` can carry now (also used by `doctor`). */
export async function routeReport(ctx: Context, originCode: bigint, peerCodes: bigint[]) {
  const client = await ctx.client();
  const rows = [];
  for (const peer of peerCodes) {
    const status = await getRouteStatus(client, { origin: originCode, destination: peer });
    const credit = await getCredit(client, { origin: originCode, destination: peer });
    const ourReserve = await getReserve(client, { chain: peer, peer: originCode });
    const theirReserve = await getReserve(client, { chain: originCode, peer });
    const headroom = await getHeadroom(client, { origin: originCode, destination: peer });
    rows.push({ peer: credit.destination, status, credit, ourReserve, theirReserve, headroom });
  }
  return rows;
}

export async function runCredit(
  ctx: Context,
  peerText: string | undefined,
  o: { chain?: string },
): Promise<number> {
  const origin = await ctx.chain(o.chain);
  const peers = peerText
    ? [await ctx.chain(peerText, "[peer]")]
    : ctx.config().chainList.filter((c) => c.code !== origin.code);
  const rows = await routeReport(
    ctx,
    origin.code,
    peers.map((p) => p.code),
  );
  const lines = rows.map(
    (r) =>
      `${origin.codeHex} -> ${r.peer}: route ${r.status}; credit ${r.credit.creditText} ${r.credit.symbol}; ` +
      `our reserve there ${r.ourReserve.reserveText} ${r.ourReserve.symbol}${r.ourReserve.suspended ? " (suspended)" : ""}; ` +
      `theirs here ${r.theirReserve.reserveText} ${r.theirReserve.symbol}; ` +
      `attesters' headroom ${r.headroom.totalText} (${r.headroom.attesters.length} attesters)`,
  );
  ctx.print(lines.join("\n") || `no peers of ${origin.codeHex}`, {
    origin: origin.codeHex,
    routes: rows,
  });
  return EXIT.ok;
}
