import { writeFileSync } from "node:fs";

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";

import type { LoadedConfig } from "../../config/load.js";
import { getNodeRoutes, type NodeRoutes } from "../../sdk/index.js";
import { EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

/** The routing table in the shape the API serves (`GET /v1/routes`): the one table of the CLI. */
export function routesOf(cfg: LoadedConfig): NodeRoutes {
  return {
    home: cfg.home,
    chains: cfg.chainList.map((c) => ({
      code: c.codeHex,
      name: c.name,
      chainId: c.chainId,
      rpc: c.rpc,
      contracts: c.contracts,
      nodes: c.nodes,
      confirmations: c.confirmations,
      startBlock: c.startBlock,
    })),
  };
}

export function defineRoutes(program: Command, exec: Exec): void {
  program
    .command("routes")
    .description("the routing table: from the config, or from an entry node (to bootstrap a node)")
    .option("--node <url>", "read it from this node's API")
    .option("--write <file>", "write a node config skeleton with this routing table")
    .action(exec(runRoutes));
}

export async function runRoutes(
  ctx: Context,
  o: { node?: string; write?: string },
): Promise<number> {
  const table = o.node ? await getNodeRoutes(o.node) : routesOf(ctx.config());
  if (o.write) {
    const chains = Object.fromEntries(table.chains.map(({ code, ...rest }) => [code, rest]));
    writeFileSync(o.write, toYaml({ home: table.home, roles: ["indexer", "api"], chains }));
    ctx.progress(`wrote ${o.write}: set home, roles and keys before running \`distpos node\``);
  }
  const lines = table.chains.map(
    (c) =>
      `${c.code.padEnd(8)} ${c.name.padEnd(12)} chain id ${String(c.chainId).padEnd(8)} outbox ${c.contracts.outbox}  nodes ${c.nodes.join(", ") || "-"}`,
  );
  ctx.print([`home ${table.home}`, ...lines].join("\n"), table);
  return EXIT.ok;
}
