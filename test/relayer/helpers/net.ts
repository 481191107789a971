/**
 * Integration fixtures for the node: the lead's test network (suites deployed and connected on
 * in-process chains) served over HTTP JSON-RPC, node config files pointing at it, and a Redis key
 * prefix per test so tests sharing the one Redis never collide.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Redis } from "ioredis";
import { pino } from "pino";
import type { Hex } from "viem";

import { parseConfig, type LoadedConfig } from "../../../relayer/config/load.js";
import type { NodeConfigInput } from "../../../relayer/config/schema.js";
import { silentLogger, type Logger } from "../../../relayer/log.js";
import { createTestNetwork, type TestChain, type TestNetworkOptions } from "../../helpers/suite.js";
import { DEFAULT_ALLOCATION } from "../../../deploy/network.js";
import { serveChain, type RpcEndpoint } from "../../../deploy/rpcServer.js";

export const REDIS_URL = process.env.DISTPOS_TEST_REDIS ?? "redis://127.0.0.1:6379";

export interface ServedNetwork {
  chains: TestChain[];
  rpcs: RpcEndpoint[];
  /** The routing-table entry of each chain (by code hex), for node configs. */
  chainEntries: Record<string, NonNullable<NodeConfigInput["chains"]>[string]>;
  close(): Promise<void>;
}

export interface ServeOptions extends TestNetworkOptions {
  confirmations?: number;
  pollIntervalMs?: number;
  /** Mine an empty block this often (ms) so confirmations keep coming; 0 = only on transactions. */
  intervalMiningMs?: number;
}

export async function serveNetwork(options: ServeOptions = {}): Promise<ServedNetwork> {
  // The node under test signs with each chain's first attester: it holds a majority of the
  // stake (300 of 500), so its signature alone carries stake reports (protocol.md 3.5).
  const chains = await createTestNetwork({
    allocations: [3n * DEFAULT_ALLOCATION],
    ...options,
  });
  const rpcs: RpcEndpoint[] = [];
  const chainEntries: ServedNetwork["chainEntries"] = {};
  for (const chain of chains) {
    const rpc = await serveChain(chain.connection.provider);
    rpcs.push(rpc);
    if (options.intervalMiningMs) {
      await chain.connection.provider.request({
        method: "evm_setIntervalMining",
        params: [options.intervalMiningMs],
      });
    }
    const a = chain.suite.addresses;
    chainEntries[a.chainCode] = {
      name: a.name,
      chainId: a.evmChainId,
      rpc: [rpc.url],
      confirmations: options.confirmations ?? 0,
      pollIntervalMs: options.pollIntervalMs ?? 100,
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
    chains,
    rpcs,
    chainEntries,
    async close() {
      for (const chain of chains) {
        await chain.connection.provider
          .request({ method: "evm_setIntervalMining", params: [0] })
          .catch(() => undefined);
      }
      await Promise.all(rpcs.map((r) => r.close()));
    },
  };
}

/** A unique Redis key prefix for one test. */
export function testPrefix(name: string): string {
  return `t-${name}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix` and the prefixes made from it (end of a test). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

export function newRedis(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
}

/**
 * The routing table of `home`'s node on the bundle flow: an RPC and contract addresses for its
 * home chain only (a node takes a peer's contracts from its home RouteRegistry).
 */
export function homeOnlyChains(net: ServedNetwork, home: string): ServedNetwork["chainEntries"] {
  return Object.fromEntries(
    Object.entries(net.chainEntries).map(([code, entry]) => {
      if (code === home) return [code, entry];
      const { contracts: _peers, ...peer } = entry;
      return [code, { ...peer, rpc: [] }];
    }),
  );
}

/**
 * A validated node config over the served network; `overrides` are merged at the top level. With
 * `relayer.handover: "bundles"` (docs/protocol.md 4.2) the routing table has the home chain's RPC
 * only (`homeOnlyChains`); otherwise the node follows every chain (`messages`, one process
 * indexing and delivering between all chains: the single-node tests of the indexer, API and CLI).
 */
export function nodeConfigObject(
  net: ServedNetwork,
  home: string,
  prefix: string,
  overrides: Partial<NodeConfigInput> = {},
): NodeConfigInput {
  const handover = overrides.relayer?.handover ?? "messages";
  return {
    home,
    roles: ["indexer", "api"],
    chains: handover === "bundles" ? homeOnlyChains(net, home) : net.chainEntries,
    redis: { url: REDIS_URL, prefix },
    api: { host: "127.0.0.1", port: 0 },
    ...overrides,
    relayer: { ...overrides.relayer, handover },
  };
}

export function loadedConfig(obj: NodeConfigInput, file = "test-config.yaml"): LoadedConfig {
  return parseConfig(obj, file);
}

/** Writes a config as JSON to a fresh temp file and returns its path. */
export function writeConfigFile(obj: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "distpos-node-"));
  const file = join(dir, "node.json");
  writeFileSync(
    file,
    JSON.stringify(obj, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2),
  );
  return file;
}

/** Mines `n` empty blocks on a chain. */
export async function mine(chain: TestChain, n = 1): Promise<void> {
  await chain.connection.provider.request({
    method: "hardhat_mine",
    params: [`0x${n.toString(16)}`],
  });
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A logger for a node under test: silent unless DISTPOS_TEST_LOGS names a directory, where each
 * node writes `<name>.log` (JSON lines) for post-mortems.
 */
export function testLogger(name: string): Logger {
  const dir = process.env.DISTPOS_TEST_LOGS;
  if (!dir) return silentLogger;
  mkdirSync(dir, { recursive: true });
  return pino(
    { level: "debug", base: { node: name } },
    pino.destination({ dest: join(dir, `${name}.log`), sync: true }),
  );
}
