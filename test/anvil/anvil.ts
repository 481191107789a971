/**
 * anvil (Foundry's EVM client, from the npm package `@foundry-rs/anvil-linux-amd64`) as a second,
 * independent client for the node's tests: processes on free 127.0.0.1 ports with interval mining,
 * stopped by their PID, and a two-chain DistPOS network deployed on them with the production
 * deploy and connect path (deploy/network.ts), in the shape the node tests' helpers take
 * (test/relayer/helpers).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";

import { network } from "hardhat";
import type { Hex } from "viem";

import { deployLocalNetwork } from "../../deploy/network.js";
import { freePort } from "../../deploy/nodeProcess.js";
import { LOCAL_CHAINS } from "../../hardhat.config.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import type { NodeProcess } from "../../deploy/nodeProcess.js";
import type { ServedNetwork } from "../relayer/helpers/net.js";
import { fundedKey, nodeConfigFile, runNode, type NodeKeys } from "../relayer/helpers/scenario.js";
import type { ChainName, TestChain } from "../helpers/suite.js";

const require = createRequire(import.meta.url);
export const ANVIL_BIN = join(
  dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")),
  "bin/anvil",
);

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  pid: number;
  /** One JSON-RPC call; throws with anvil's own error message and data. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  blockNumber(): Promise<number>;
  /** Replaces the newest `depth` blocks with as many empty ones (their transactions are lost). */
  reorg(depth: number): Promise<void>;
  /** Mine a block every `seconds` (0: stop mining). */
  setIntervalMining(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  chainId: number;
  /** Seconds between blocks (`--block-time`); default 1; 0: a block per transaction. */
  blockTime?: number;
  /** `--fork-url`: a fork of that chain (same state and history up to its tip). */
  forkUrl?: string;
  /** `--slots-in-an-epoch`: anvil's `safe` block is this far below the tip, `finalized` twice. */
  slotsInAnEpoch?: number;
}

/** Starts anvil on a free 127.0.0.1 port and waits until it answers. */
export async function startAnvil(options: AnvilOptions): Promise<Anvil> {
  const port = await freePort();
  const blockTime = options.blockTime ?? 1;
  const proc: ChildProcess = spawn(
    ANVIL_BIN,
    [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--chain-id",
      String(options.chainId),
      ...(blockTime ? ["--block-time", String(blockTime)] : []),
      ...(options.forkUrl ? ["--fork-url", options.forkUrl] : []),
      "--hardfork",
      "cancun",
      ...(options.slotsInAnEpoch ? ["--slots-in-an-epoch", String(options.slotsInAnEpoch)] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Not in nodeProcess's `killAll` set (tests call that after each case): the network outlives
  // its nodes; `stop()` (AnvilNetwork.close) ends it by its PID.
  let output = "";
  proc.stdout!.on("data", (c: Buffer) => (output = (output + c.toString("utf8")).slice(-8_000)));
  proc.stderr!.on("data", (c: Buffer) => (output = (output + c.toString("utf8")).slice(-8_000)));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  let interval = blockTime;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string; data?: unknown } };
    if (body.error)
      throw new Error(`anvil ${method}: ${body.error.message} ${JSON.stringify(body.error.data)}`);
    return body.result as T;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc("eth_chainId");
      break;
    } catch (e) {
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`anvil did not start: ${String(e)}\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    chainId: options.chainId,
    pid: proc.pid!,
    rpc,
    blockNumber: async () => Number(await rpc<string>("eth_blockNumber")),
    // Interval mining pauses around the reorg: in two of five runs before it did, nothing moved
    // for 45 s after a reorg made while blocks kept coming (cause not pinned down: anvil, or the
    // node); the pause takes anvil's miner out of the picture.
    reorg: async (depth) => {
      if (interval) await rpc("evm_setIntervalMining", [0]);
      try {
        await rpc("anvil_reorg", [depth, []]);
      } finally {
        if (interval) await rpc("evm_setIntervalMining", [interval]);
      }
    },
    setIntervalMining: async (seconds) => {
      await rpc("evm_setIntervalMining", [seconds]);
      interval = seconds;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid!, "SIGKILL");
      await exited;
    },
  };
}

export interface AnvilNetwork extends ServedNetwork {
  anvils: Anvil[];
}

export interface AnvilNetworkOptions {
  confirmations?: number;
  pollIntervalMs?: number;
  /** Seconds between blocks once deployed; default 1. */
  blockTime?: number;
  /**
   * anvil's `--slots-in-an-epoch`: its finalized block, the one attesters sign at or below, is
   * twice this below the tip. Default 3 (6 one-second blocks; anvil's own default, 32, would hold
   * every signature back 64 s).
   */
  slotsInAnEpoch?: number;
}

/**
 * Two anvil chains (chainA, chainB: the chain ids of hardhat.config.ts) with the suite deployed,
 * connected, attesters staked and mirrors seeded, then mining one block every `blockTime` seconds.
 * The deployment runs with automining (one block per transaction, so Ignition waits for one
 * confirmation, not five 1-second blocks); interval mining starts once it is done. `rpcs` is empty:
 * the nodes talk to anvil directly.
 */
export async function anvilNetwork(options: AnvilNetworkOptions = {}): Promise<AnvilNetwork> {
  const names: ChainName[] = ["chainA", "chainB"];
  const anvils: Anvil[] = [];
  const deploymentIds: string[] = [];
  try {
    const chains = [];
    const perChain: Record<string, { deploymentId: string }> = {};
    for (const name of names) {
      const anvil = await startAnvil({
        chainId: LOCAL_CHAINS[name],
        blockTime: options.blockTime,
        slotsInAnEpoch: options.slotsInAnEpoch ?? 3,
      });
      anvils.push(anvil);
      await anvil.rpc("evm_setAutomine", [true]);
      const connection = await network.create({ network: "anvil", override: { url: anvil.url } });
      chains.push({ name, connection });
      // Ignition keeps a journal for every non-simulated network: one throw-away id per run.
      const deploymentId = `anvil-test-${randomUUID().slice(0, 8)}-${name}`;
      perChain[name] = { deploymentId };
      deploymentIds.push(deploymentId);
    }
    const members = (await deployLocalNetwork(chains, { perChain })) as TestChain[];
    const chainEntries: ServedNetwork["chainEntries"] = {};
    for (const [i, chain] of members.entries()) {
      await anvils[i]!.rpc("evm_setAutomine", [false]);
      await anvils[i]!.setIntervalMining(options.blockTime ?? 1);
      const a = chain.suite.addresses;
      chainEntries[a.chainCode] = {
        name: a.name,
        chainId: a.evmChainId,
        rpc: [anvils[i]!.url],
        confirmations: options.confirmations ?? 2,
        pollIntervalMs: options.pollIntervalMs ?? 200,
        startBlock: a.deployedAtBlock,
        contracts: {
          registry: a.registry as Hex,
          outbox: a.outbox as Hex,
          inbox: a.inbox as Hex,
          stakingHub: a.stakingHub as Hex,
          bank: a.bank as Hex,
          token: a.settlementToken as Hex,
        },
        nodes: [],
      };
    }
    return {
      chains: members,
      rpcs: [],
      chainEntries,
      anvils,
      async close() {
        await Promise.all(anvils.map((a) => a.stop()));
        removeJournals(deploymentIds);
      },
    };
  } catch (e) {
    await Promise.all(anvils.map((a) => a.stop()));
    removeJournals(deploymentIds);
    throw e;
  }
}

function removeJournals(ids: string[]): void {
  for (const id of ids)
    rmSync(join(process.cwd(), "ignition", "deployments", id), { recursive: true, force: true });
}

export interface Community {
  chain: TestChain;
  node: NodeProcess & { apiUrl?: string };
  file: string;
  env: Record<string, string>;
  keys: Required<Pick<NodeKeys, "attester" | "relayer" | "watcher">>;
}

/**
 * One `distpos node` per chain, every role, each relaying into its own home chain only (so no
 * route is relayed twice), with fixed free API ports so each lists the other as an entry node.
 * `overrides` are merged into both configs.
 */
export async function runCommunities(
  net: AnvilNetwork,
  prefix: string,
  overrides: Partial<NodeConfigInput> = {},
): Promise<Community[]> {
  const ports = await Promise.all(net.chains.map(() => freePort()));
  const chains = structuredClone(net.chainEntries);
  net.chains.forEach((c, i) => {
    chains[c.suite.addresses.chainCode]!.nodes = [`http://127.0.0.1:${ports[i]}`];
  });
  const out: Community[] = [];
  for (const [i, chain] of net.chains.entries()) {
    const code = chain.suite.addresses.chainCode;
    const keys = {
      attester: chain.attesters[0]!.privateKey as Hex,
      relayer: await fundedKey(net),
      watcher: await fundedKey(net),
    };
    const { file, env } = nodeConfigFile(
      { ...net, chainEntries: chains },
      code,
      `${prefix}-${code}`,
      keys,
      {
        roles: ["indexer", "api", "attester", "relayer", "watcher"],
        api: { host: "127.0.0.1", port: ports[i]! },
        ...overrides,
        relayer: { destinations: [code], ...(overrides.relayer ?? {}) },
      },
    );
    out.push({ chain, file, env, keys, node: await runNode(`anvil-${code}`, file, env) });
  }
  return out;
}
