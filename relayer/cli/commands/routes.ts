import { writeFileSync } from "node:fs";

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";

import { IRouteRegistryAbi } from "../../chain/abis.js";
import { publicClientFor } from "../../chain/clients.js";
import { readRoute } from "../../chain/routeRegistry.js";
import { recordFromJson, RouteRecordError, type SignedRouteRecord } from "../../routes/record.js";
import { admitRecord, SignerTrust } from "../../routes/trust.js";
import { getNodeRoutes } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

/** One route record as `distpos routes` shows it: the entry, who signed it, and the verdict. */
export interface RouteEntry {
  code: string;
  name: string | null;
  nodes: string[];
  sequence: string;
  expiry: string;
  signer: string;
  /** The signer's stake as the home chain knows it (null when refused before it was read). */
  stake: string | null;
  stakeSource: string | null;
  verified: boolean;
  /** Why the record is refused (a RouteRecordError reason and its sentence). */
  refused?: { reason: string; message: string };
}

export function defineRoutes(program: Command, exec: Exec): void {
  program
    .command("routes")
    .description(
      "the routing table signed by stake: each entry with its signer and stake, verified against the home chain",
    )
    .option("--node <url>", "read the records of this node (default: the config's own api)")
    .option(
      "--write <file>",
      "write a node config skeleton: peers' contracts from the home RouteRegistry, entry nodes only from verified records",
    )
    .action(exec(runRoutes));
}

/** Reads a node's records and checks each against the config's home chain. */
export async function verifiedRoutes(ctx: Context, node: string): Promise<RouteEntry[]> {
  const cfg = ctx.config();
  const body = await getNodeRoutes(node);
  const trust = new SignerTrust(cfg.homeChain, publicClientFor(cfg.homeChain));
  const now = BigInt(Math.floor(Date.now() / 1000));
  const out: RouteEntry[] = [];
  for (const raw of (Array.isArray(body?.records) ? body.records : []).slice(0, 256)) {
    // As an honest node sends it; a hostile one may send anything (recordFromJson checks it).
    const shown: Partial<Record<keyof typeof raw, unknown>> = raw;
    const entry: RouteEntry = {
      code: String(shown.code),
      name: null,
      nodes: Array.isArray(shown.nodes) ? shown.nodes.map(String) : [],
      sequence: String(shown.sequence),
      expiry: String(shown.expiry),
      signer: String(shown.signer),
      stake: null,
      stakeSource: null,
      verified: false,
    };
    let record: SignedRouteRecord | undefined;
    try {
      record = recordFromJson(raw);
      entry.name = cfg.chainList.find((c) => c.code === record!.code)?.name ?? null;
      const admitted = await admitRecord(record, cfg.chainList, trust, now);
      entry.stake = admitted.stake.toString();
      entry.stakeSource = admitted.source;
      entry.verified = true;
    } catch (e) {
      if (!(e instanceof RouteRecordError)) throw e;
      entry.refused = { reason: e.reason, message: e.message };
      if (record && (e.reason === "signer-not-mirrored" || e.reason === "signer-not-staked")) {
        entry.stake = "0";
        entry.stakeSource =
          record.code === cfg.homeChain.code ? "home-staking-hub" : "home-inbox-mirror";
      }
    }
    out.push(entry);
  }
  return out;
}

/**
 * A config skeleton for a new node of the home community: the home chain as this config has it;
 * each peer the home RouteRegistry enrolled, with the contracts and EVM chain id the registry
 * holds and the entry nodes of its verified record. Nothing else of a peer is taken: no RPC URL
 * (the operator brings their own), no confirmations or start block, no contract a node named.
 */
async function skeleton(ctx: Context, node: string, entries: RouteEntry[]) {
  const cfg = ctx.config();
  const registry = cfg.homeChain.contracts.registry;
  if (!registry)
    throw new CliError(
      `--write needs chains.${cfg.home}.contracts.registry (peers' contracts are read from the home RouteRegistry)`,
      EXIT.usage,
    );
  const client = publicClientFor(cfg.homeChain);
  const peers = await client.readContract({
    address: registry,
    abi: IRouteRegistryAbi,
    functionName: "peers",
  });
  const { code: _c, codeHex: _h, ...home } = cfg.homeChain;
  const chains: Record<string, unknown> = { [cfg.home]: home };
  for (const code of peers) {
    const route = await readRoute(client, registry, code);
    const hex = code.toString(16);
    const verified = entries.find((e) => e.verified && e.code === hex);
    chains[hex] = {
      name: cfg.chainList.find((c) => c.code === code)?.name ?? `chain-${hex}`,
      chainId: Number(route.evmChainId),
      contracts: {
        outbox: route.outbox,
        inbox: route.inbox,
        stakingHub: route.stakingHub,
        bank: route.bank,
      },
      nodes: verified?.nodes ?? [],
    };
  }
  return {
    home: cfg.home,
    roles: ["indexer", "api"],
    chains,
    routes: { bootstrap: [node.replace(/\/+$/, "")] },
  };
}

export async function runRoutes(
  ctx: Context,
  o: { node?: string; write?: string },
): Promise<number> {
  const cfg = ctx.config();
  const node = o.node ?? `http://${cfg.api.host}:${cfg.api.port}`;
  const entries = await verifiedRoutes(ctx, node);
  if (o.write) {
    writeFileSync(o.write, toYaml(await skeleton(ctx, node, entries)));
    ctx.progress(
      `wrote ${o.write}: add your own RPC URL for each peer chain you watch, then roles and keys, before running \`distpos node\``,
    );
  }
  const lines = entries.map((e) =>
    [
      e.code.padEnd(8),
      (e.name ?? "?").padEnd(12),
      `seq ${e.sequence}`,
      `nodes ${e.nodes.join(", ") || "-"}`,
      `signed by ${e.signer}`,
      `stake ${e.stake ?? "?"}${e.stakeSource ? ` (${e.stakeSource})` : ""}`,
      e.verified ? "verified" : `REFUSED ${e.refused?.reason}: ${e.refused?.message}`,
    ].join("  "),
  );
  ctx.print(
    [`home ${cfg.home}, records of ${node}`, ...(lines.length ? lines : ["(no records)"])].join(
      "\n",
    ),
    { home: cfg.home, node, routes: entries },
  );
  return EXIT.ok;
}
