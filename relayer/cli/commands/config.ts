/**
 * `distpos config init`: writes a node's first config from deployment records (the JSON files
 * `distpos:deploy` writes): the home chain's with its RPC URL and contracts, and each peer's
 * entry. A node relays with its home chain's RPC alone (relayer.handover bundles) and reads a
 * peer's contracts from its home RouteRegistry, so none are written for a peer; a peer's RPC
 * (--peer-rpc) is optional and only lets the watcher and status read the peer's chain directly.
 * The file is validated as `distpos node` will read it before it is written, and an existing file
 * is never overwritten without --force.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";

import { ConfigError, parseConfig } from "../../config/load.js";
import type { NodeConfigInput } from "../../config/schema.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

/** The fields of a deployment record (deploy/suite.ts, SuiteAddresses) a node config needs. */
const RECORD_FIELDS = [
  "name",
  "chainCode",
  "evmChainId",
  "registry",
  "outbox",
  "inbox",
  "stakingHub",
  "bank",
  "settlementToken",
  "deployedAtBlock",
] as const;

type DeploymentRecord = Record<(typeof RECORD_FIELDS)[number], string | number>;

function readRecord(file: string, flag: string): DeploymentRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(
      `${flag} ${file}: not a readable deployment record (${(e as Error).message.split("\n")[0]})`,
      EXIT.usage,
    );
  }
  const missing = RECORD_FIELDS.filter(
    (f) => raw === null || typeof raw !== "object" || !(f in raw),
  );
  if (missing.length)
    throw new CliError(
      `${flag} ${file}: not a deployment record of distpos:deploy (missing ${missing.join(", ")})`,
      EXIT.usage,
    );
  return raw as DeploymentRecord;
}

/** A routing-table entry; `withContracts` for the home chain only (bundles read a peer's). */
function chainEntry(record: DeploymentRecord, rpc: string | undefined, withContracts: boolean) {
  return {
    name: String(record.name),
    chainId: Number(record.evmChainId),
    rpc: rpc === undefined ? [] : [rpc],
    startBlock: Number(record.deployedAtBlock),
    ...(withContracts && {
      contracts: {
        registry: String(record.registry),
        outbox: String(record.outbox),
        inbox: String(record.inbox),
        stakingHub: String(record.stakingHub),
        bank: String(record.bank),
        token: String(record.settlementToken),
      },
    }),
    nodes: [] as string[],
  };
}

const collect = (v: string, all: string[] = []) => [...all, v];

export function defineConfig(program: Command, exec: Exec): void {
  const config = program.command("config").description("the node's config file");
  config
    .command("init")
    .description("write a node config from deployment records (distpos:deploy --out files)")
    .requiredOption("--home <record>", "our chain's deployment record")
    .requiredOption("--rpc <url>", "JSON-RPC URL of our chain")
    .option("--peer <record>", "a peer chain's deployment record (repeat per peer)", collect)
    .option(
      "--peer-rpc <url>",
      "JSON-RPC URL of each --peer, in the same order (optional: only the watcher and status use it)",
      collect,
    )
    .option("--out <file>", "where to write it (default: --config, distpos.yaml)")
    .option("--force", "overwrite an existing file")
    .action(exec(runConfigInit));
}

export async function runConfigInit(
  ctx: Context,
  o: {
    home: string;
    rpc: string;
    peer?: string[];
    peerRpc?: string[];
    out?: string;
    force?: boolean;
  },
): Promise<number> {
  const peers = o.peer ?? [];
  const peerRpcs = o.peerRpc ?? [];
  // None at all (the node relays with its home RPC alone), or one per peer: a partial list would
  // pair RPCs with the wrong peers.
  if (peerRpcs.length !== 0 && peers.length !== peerRpcs.length)
    throw new CliError(
      `--peer-rpc: give none, or one per --peer in the same order (${peers.length} --peer, ${peerRpcs.length} --peer-rpc)`,
      EXIT.usage,
    );
  const home = readRecord(o.home, "--home");
  const chains: Record<string, ReturnType<typeof chainEntry>> = {
    [String(home.chainCode)]: chainEntry(home, o.rpc, true),
  };
  for (const [i, file] of peers.entries()) {
    const peer = readRecord(file, "--peer");
    chains[String(peer.chainCode)] = chainEntry(peer, peerRpcs[i], false);
  }
  const out = o.out ?? ctx.opts.config;
  if (existsSync(out) && !o.force)
    throw new CliError(`--out ${out}: the file exists (--force overwrites it)`, EXIT.usage);
  const code = String(home.chainCode);
  const cfg: NodeConfigInput = {
    home: code,
    roles: ["indexer", "api", "attester", "relayer", "watcher"],
    chains,
    keys: {
      attester: "DISTPOS_ATTESTER_KEY",
      relayer: "DISTPOS_RELAYER_KEY",
      watcher: "DISTPOS_WATCHER_KEY",
      user: "DISTPOS_USER_KEY",
    },
    // One community delivers each route: the destination's (nothing is sent twice).
    relayer: { destinations: [code] },
  };
  try {
    parseConfig(cfg, out);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
  writeFileSync(
    out,
    `# Written by distpos config init from ${[o.home, ...peers].join(", ")}.\n` +
      `# Reference: relayer/README.md, "Configuration reference". Keys are never written here:\n` +
      `# export DISTPOS_ATTESTER_KEY, DISTPOS_RELAYER_KEY, DISTPOS_WATCHER_KEY before \`distpos node\`.\n` +
      toYaml(cfg),
  );
  ctx.print(
    `wrote ${out}: home ${code}, chains ${Object.keys(chains).join(", ")}; set the keys' environment variables, list peers' entry nodes under chains.<code>.nodes, then run \`distpos -c ${out} node\``,
    { file: out, home: code, chains: Object.keys(chains) },
  );
  return EXIT.ok;
}
