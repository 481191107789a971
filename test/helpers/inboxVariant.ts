/**
 * The Inbox compared with itself minus one piece, for the tests and benchmarks that need it (the
 * checked path against the fast one, the watcher's record's cost): `contracts/messaging/Inbox.sol`
 * is compiled here with the npm `solc` wasm and the project's settings (hardhat.config.ts: optimizer
 * 10,000 runs, cancun) once per edit of its source, each build deployed on a test chain with that
 * chain's Inbox's constructor arguments (so its immutables are the Inbox's), and its runtime code
 * returned, to be put at the Inbox's address on a snapshot (`withInboxCode`). Nothing of it is
 * deployed outside the run.
 */
import { readFile, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { ethers } from "ethers";

import type { TestChain } from "./suite.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const INBOX = "contracts/messaging/Inbox.sol";

/** Applies one edit to the Inbox's source; throws when the text it changes is not there once. */
export function replaceOnce(source: string, from: string, to: string): string {
  const parts = source.split(from);
  if (parts.length !== 2)
    throw new Error(`${INBOX}: expected the text ${JSON.stringify(from.trim())} exactly once`);
  return parts.join(to);
}

/**
 * Compiles the Inbox once per entry of `edits` (its source through the edit) and deploys each on
 * `chain`; returns each build's runtime code by name, and how long the compile took.
 */
export async function inboxVariants<K extends string>(
  chain: TestChain,
  edits: Record<K, (source: string) => string>,
): Promise<{ code: Record<K, string>; compileSeconds: number }> {
  const started = Date.now();
  const source = await promisify(readFile)(join(ROOT, INBOX), "utf8");
  const names = Object.keys(edits) as K[];
  // One virtual source unit per variant, never on disk; imports resolve from the project.
  const unit = (name: K) => `contracts/messaging/Inbox.${name}.sol`;
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(names.map((n) => [unit(n), { content: edits[n](source) }])),
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
      outputSelection: Object.fromEntries(
        names.map((n) => [unit(n), { Inbox: ["evm.bytecode.object"] }]),
      ),
    },
  };
  const require = createRequire(import.meta.url);
  const solc = require("solc") as { compile(input: string, options: unknown): string };
  const findImports = (path: string) => {
    try {
      const file = path.startsWith("@") ? require.resolve(path) : join(ROOT, path);
      return { contents: readFileSync(file, "utf8") };
    } catch (error) {
      return { error: String(error) };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));

  const [deployer] = await chain.connection.ethers.getSigners();
  const inbox = chain.suite.inbox;
  const args = [
    await inbox.registry(),
    await inbox.exposureWindow(),
    await inbox.handlerGasLimit(),
  ] as const;
  const abi = ["constructor(address registry, uint32 exposureWindow, uint32 handlerGasLimit)"];
  const code = {} as Record<K, string>;
  for (const name of names) {
    const bytecode = `0x${output.contracts[unit(name)]!.Inbox!.evm.bytecode.object}`;
    const contract = await new ethers.ContractFactory(abi, bytecode, deployer).deploy(...args);
    await contract.waitForDeployment();
    code[name] = await chain.connection.ethers.provider.getCode(await contract.getAddress());
  }
  return { code, compileSeconds: Math.round((Date.now() - started) / 100) / 10 };
}

/**
 * Runs `action` on a snapshot of `chain` with `code` at its Inbox's address (undefined: as
 * deployed), then reverts to the snapshot: the chain is left as it was, whatever `action` did.
 */
export async function withInboxCode<T>(
  chain: TestChain,
  code: string | undefined,
  action: () => Promise<T>,
): Promise<T> {
  const provider = chain.connection.provider;
  const snapshot = (await provider.request({ method: "evm_snapshot", params: [] })) as string;
  try {
    if (code)
      await provider.request({
        method: "hardhat_setCode",
        params: [chain.suite.addresses.inbox, code],
      });
    return await action();
  } finally {
    const reverted = await provider.request({ method: "evm_revert", params: [snapshot] });
    if (reverted !== true) throw new Error("evm_revert failed");
  }
}
