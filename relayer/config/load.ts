import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { parse as parseYaml } from "yaml";
import type { Hex } from "viem";
import type { z } from "zod";

import { DistposError } from "../sdk/errors.js";
import {
  chainCodeString,
  configSchema,
  type ChainConfig,
  type ChainContracts,
  type NodeConfig,
} from "./schema.js";

/** A configuration problem, with the file and the field at fault, ready to print to an operator. */
export class ConfigError extends DistposError {
  override name = "ConfigError";

  constructor(
    readonly file: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(
      `invalid config ${file}:\n` +
        issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`).join("\n"),
    );
  }
}

/**
 * One chain of the routing table with its code in both forms. A peer's contract addresses may be
 * absent: with `relayer.handover: bundles` they come from the home RouteRegistry (handover/peers.ts).
 */
export interface ChainEntry extends ChainConfig {
  /** DistPOS chain code as uint64. */
  code: bigint;
  /** The code as written in addresses (`a0a1`). */
  codeHex: string;
}

/**
 * A chain whose contract addresses are known: the home chain (the schema refuses it without them),
 * every chain with the messages hand-over (likewise), or a peer with its route record's addresses.
 */
export interface Chain extends ChainEntry {
  contracts: ChainContracts;
}

/** Whether `chain`'s config entry gives its contract addresses. */
export function hasContracts(chain: ChainEntry): chain is Chain {
  return chain.contracts !== undefined;
}

export interface LoadedConfig extends NodeConfig {
  /** Absolute path of the file the config came from (for error messages). */
  file: string;
  chainList: ChainEntry[];
  chain(code: bigint | string): ChainEntry;
  /**
   * Chain `code` with the contract addresses its config entry gives, for code that reads a chain's
   * contracts from the config (the messages hand-over, where the schema requires them).
   * @throws ConfigError naming `chains.<code>.contracts` when the entry has none
   */
  chainWithContracts(code: bigint | string): Chain;
  homeChain: Chain;
}

function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Validates an already parsed config object; `file` names the source in errors. */
export function parseConfig(raw: unknown, file: string): LoadedConfig {
  // Chain codes are the keys of `chains`; zod reports a bad record key without naming it, so they
  // are checked here, together with the schema's own issues.
  const issues: { path: string; message: string }[] = [];
  const chains = (raw as { chains?: unknown } | null)?.chains;
  if (chains && typeof chains === "object" && !Array.isArray(chains)) {
    for (const key of Object.keys(chains)) {
      const ok = chainCodeString.safeParse(key);
      if (!ok.success)
        issues.push({ path: `chains.${key}`, message: `"${key}" ${ok.error.issues[0]!.message}` });
    }
  }
  const result = configSchema.safeParse(raw, {
    error: (iss) =>
      iss.code === "invalid_type" && iss.input === undefined ? "is required" : undefined,
  });
  if (!result.success) {
    issues.push(
      ...result.error.issues.map((i: z.core.$ZodIssue) => ({
        path: formatPath(i.path),
        message: i.message,
      })),
    );
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(file, issues);
  const cfg = result.data;
  const chainList: ChainEntry[] = Object.entries(cfg.chains).map(([codeHex, c]) => ({
    ...c,
    code: BigInt("0x" + codeHex),
    codeHex,
  }));
  const byCode = new Map(chainList.map((c) => [c.code, c]));
  const chain = (code: bigint | string): ChainEntry => {
    const key = typeof code === "bigint" ? code : BigInt("0x" + code);
    const found = byCode.get(key);
    if (!found) throw new Error(`chain ${key.toString(16)} is not in the routing table of ${file}`);
    return found;
  };
  const chainWithContracts = (code: bigint | string): Chain => {
    const c = chain(code);
    if (hasContracts(c)) return c;
    throw new ConfigError(file, [
      {
        path: `chains.${c.codeHex}.contracts`,
        message:
          "is not set, and this needs the chain's contract addresses: add registry, outbox, inbox, stakingHub and bank from its deployment record",
      },
    ]);
  };
  // The schema refuses a home chain without contracts: this cannot throw.
  const homeChain = chainWithContracts(cfg.home);
  return { ...cfg, file, chainList, chain, chainWithContracts, homeChain };
}

/** Reads a YAML or JSON config file and validates it; every error names the field and the file. */
export function loadConfig(path: string): LoadedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [
      { path: "", message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { schema: "failsafe" });
  } catch (e) {
    throw new ConfigError(file, [
      {
        path: "",
        message: `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
      },
    ]);
  }
  return parseConfig(raw, file);
}

/**
 * Reads the private keys of `roles` from the environment at once: every key that is missing or
 * malformed is named in one ConfigError (an operator fixes them all in one go, not one per start).
 */
export function readKeys<R extends keyof NodeConfig["keys"]>(
  cfg: LoadedConfig,
  roles: readonly R[],
  env: NodeJS.ProcessEnv = process.env,
): Record<R, Hex> {
  const keys = {} as Record<R, Hex>;
  const issues: { path: string; message: string }[] = [];
  for (const role of roles) {
    try {
      keys[role] = readKey(cfg, role, env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(...e.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(cfg.file, issues);
  return keys;
}

/**
 * Reads the private key named by `keys.<role>` from the environment. Fails naming the config field
 * and the variable, never printing a value.
 */
export function readKey(
  cfg: LoadedConfig,
  role: keyof NodeConfig["keys"],
  env: NodeJS.ProcessEnv = process.env,
): Hex {
  const name = cfg.keys[role];
  if (!name)
    throw new ConfigError(cfg.file, [
      { path: `keys.${role}`, message: "is not set (name the env var that holds this key)" },
    ]);
  const value = env[name]?.trim();
  if (!value)
    throw new ConfigError(cfg.file, [
      { path: `keys.${role}`, message: `environment variable ${name} is empty or not set` },
    ]);
  const hex = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ConfigError(cfg.file, [
      {
        path: `keys.${role}`,
        message: `environment variable ${name} is not a 32-byte hex private key`,
      },
    ]);
  }
  return hex as Hex;
}
