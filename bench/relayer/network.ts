/**
 * The relayer benchmark's world: two in-process Hardhat chains deployed and connected by the
 * production path and served over HTTP JSON-RPC, as the node tests serve them
 * (test/relayer/helpers/net.ts), a load contract on A and a no-op recipient on B, and one `distpos node`
 * process per community running all five roles — the devnet's topology (deploy/devnet.ts), with
 * the settings of `NodeSettings`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Wallet } from "ethers";
import type { Hex } from "viem";

import { freePort, startNodeProcess, type NodeProcess } from "../../deploy/nodeProcess.js";
import type { RpcEndpoint } from "../../deploy/rpcServer.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import type { TestChain } from "../../test/helpers/suite.js";
import { serveNetwork, type ServedNetwork } from "../../test/relayer/helpers/net.js";
import { fundedKey } from "../../test/relayer/helpers/scenario.js";
import { BenchLoad__factory, BenchRecipient__factory } from "../../typechain-types/index.js";

/** The node and chain settings a run uses (recorded in the results). */
export interface NodeSettings {
  /** Blocks below the tip before an event is believed, on both chains. */
  confirmations: number;
  /** Indexer / attester / receipt polling interval. */
  pollIntervalMs: number;
  /** An empty block is mined this often on both chains (transactions are also mined at once). */
  intervalMiningMs: number;
  batchWaitMs: number;
  maxBatchMessages: number;
  maxBatchGas: number;
  /** Jobs one relayer process holds per destination (upper bound of a batch). */
  concurrency: number;
  snapshotIntervalMs: number;
  maxLogRange: number;
  watcherPollIntervalMs: number;
}

export interface BenchChains {
  a: TestChain;
  b: TestChain;
  rpcA: RpcEndpoint;
  rpcB: RpcEndpoint;
  /** BenchLoad on A. */
  load: string;
  /** Both chains, served over JSON-RPC (test/relayer/helpers/net.ts). */
  net: ServedNetwork;
  /** The no-op recipient on B, as a bytes32 word. */
  recipientWord: Hex;
  /** The account on A that sends the load (unlocked in-process). */
  loadSender: string;
  keys: { relayerA: string; relayerB: string; watcherA: string; watcherB: string };
  close(): Promise<void>;
}

export async function startChains(settings: NodeSettings): Promise<BenchChains> {
  const net = await serveNetwork({
    attestersPerChain: 1,
    confirmations: settings.confirmations,
    pollIntervalMs: settings.pollIntervalMs,
    intervalMiningMs: settings.intervalMiningMs,
  });
  const [a, b] = net.chains as [TestChain, TestChain];
  const [rpcA, rpcB] = net.rpcs as [RpcEndpoint, RpcEndpoint];
  const [userA] = await a.connection.ethers.getSigners();
  const [userB] = await b.connection.ethers.getSigners();
  const load = await new BenchLoad__factory(userA).deploy(a.suite.addresses.outbox);
  await load.waitForDeployment();
  // The gas benchmark's recipient: its handler does nothing.
  const recipient = await new BenchRecipient__factory(userB).deploy();
  await recipient.waitForDeployment();
  const keys = {
    relayerA: await fundedKey(net),
    relayerB: await fundedKey(net),
    watcherA: await fundedKey(net),
    watcherB: await fundedKey(net),
  };
  return {
    a,
    b,
    net,
    rpcA,
    rpcB,
    load: await load.getAddress(),
    recipientWord: addressToBytes32((await recipient.getAddress()) as Hex),
    loadSender: await userA.getAddress(),
    keys,
    async close() {
      await net.close();
      await a.connection.close();
      await b.connection.close();
    },
  };
}

export interface BenchNode {
  name: string;
  chain: TestChain;
  prefix: string;
  apiUrl: string;
  configFile: string;
  process: NodeProcess;
}

/**
 * Writes the configs of one node per chain (all five roles, home = its chain, relaying into its
 * home, each community's own Redis prefix) and starts them as `distpos node` processes.
 * `prefixTag` makes the prefixes unique per phase. With `cpuProfileDir`, each process runs with
 * `--cpu-prof` and writes its profile there when it stops.
 */
export const NODE_NAMES = ["a1", "b1"] as const;

/** The Redis prefix of node `name` in phase `tag` of run `runId`. */
export const prefixFor = (runId: string, tag: string, name: string) =>
  `bench-${runId}-${tag}-${name}`;

export async function startNodes(
  chains: BenchChains,
  settings: NodeSettings,
  home: string,
  runId: string,
  prefixTag: string,
  options: {
    cpuProfileDir?: string;
    logLevel?: "info" | "debug";
    nodeOptions?: string;
    /** Names the config and log files (default: the prefix tag). */
    fileTag?: string;
  } = {},
): Promise<BenchNode[]> {
  const members = [
    { name: "a1", chain: chains.a, relayer: chains.keys.relayerA, watcher: chains.keys.watcherA },
    { name: "b1", chain: chains.b, relayer: chains.keys.relayerB, watcher: chains.keys.watcherB },
  ];
  const ports = new Map<string, number>();
  for (const m of members) ports.set(m.name, await freePort());
  // The served network's routing table, each chain's node API named and log ranges set.
  const routing: NonNullable<NodeConfigInput["chains"]> = {};
  for (const m of members) {
    const code = m.chain.suite.addresses.chainCode;
    routing[code] = {
      ...chains.net.chainEntries[code]!,
      nodes: [`http://127.0.0.1:${ports.get(m.name)}`],
      maxLogRange: settings.maxLogRange,
    };
  }
  const nodes: BenchNode[] = [];
  mkdirSync(home, { recursive: true });
  for (const m of members) {
    const code = m.chain.suite.addresses.chainCode;
    const prefix = prefixFor(runId, prefixTag, m.name);
    const config: NodeConfigInput = {
      home: code,
      roles: ["indexer", "api", "attester", "relayer", "watcher"],
      chains: routing,
      redis: { prefix },
      api: { host: "127.0.0.1", port: ports.get(m.name)! },
      keys: {
        attester: "DISTPOS_ATTESTER_KEY",
        relayer: "DISTPOS_RELAYER_KEY",
        watcher: "DISTPOS_WATCHER_KEY",
      },
      attester: { snapshotIntervalMs: settings.snapshotIntervalMs },
      relayer: {
        destinations: [code],
        batchWaitMs: settings.batchWaitMs,
        maxBatchMessages: settings.maxBatchMessages,
        maxBatchGas: settings.maxBatchGas,
        concurrency: settings.concurrency,
      },
      watcher: { pollIntervalMs: settings.watcherPollIntervalMs },
      log: { level: options.logLevel ?? "info" },
    };
    const name = `${options.fileTag ?? prefixTag}-${m.name}`;
    const configFile = join(home, `${name}.json`);
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const env: Record<string, string> = {
      DISTPOS_ATTESTER_KEY: (m.chain.attesters[0] as Wallet).privateKey,
      DISTPOS_RELAYER_KEY: m.relayer,
      DISTPOS_WATCHER_KEY: m.watcher,
    };
    const nodeOptions = [process.env.NODE_OPTIONS ?? "", options.nodeOptions ?? ""];
    if (options.cpuProfileDir) {
      mkdirSync(options.cpuProfileDir, { recursive: true });
      nodeOptions.push(
        `--cpu-prof --cpu-prof-dir=${options.cpuProfileDir} --cpu-prof-name=${name}.cpuprofile`,
      );
    }
    if (nodeOptions.some((o) => o.trim())) env.NODE_OPTIONS = nodeOptions.join(" ").trim();
    const proc = startNodeProcess(name, configFile, env, join(home, `${name}.log`));
    nodes.push({
      name: m.name,
      chain: m.chain,
      prefix,
      apiUrl: `http://127.0.0.1:${ports.get(m.name)}`,
      configFile,
      process: proc,
    });
  }
  await Promise.all(
    nodes.map((n) => n.process.waitForLine((l) => l.msg === "node started", 120_000)),
  );
  return nodes;
}
