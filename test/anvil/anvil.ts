/**
 * anvil (Foundry's EVM client, from the npm package `@foundry-rs/anvil-linux-amd64`) as a second,
 * independent client for the node's tests: processes on free 127.0.0.1 ports with interval mining,
 * stopped by their PID, and a two-chain DistPOS network deployed on them with the production
 * deploy and connect path (deploy/network.ts), in the shape the node tests' helpers take
 * (test/relayer/helpers).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

import { network } from "hardhat";
import type { Hex } from "viem";

import { startAnvil, type Anvil } from "../../deploy/anvil.js";
import { deployLocalNetwork } from "../../deploy/network.js";
import { freePort } from "../../deploy/nodeProcess.js";
import { LOCAL_CHAINS } from "../../hardhat.config.js";
import type { NodeConfigInput } from "../../relayer/config/schema.js";
import type { NodeProcess } from "../../deploy/nodeProcess.js";
import type { Redis } from "ioredis";

import { clearPrefix, newRedis, testPrefix, type ServedNetwork } from "../relayer/helpers/net.js";
import { killAll } from "../relayer/helpers/proc.js";
import { fundedKey, nodeConfigFile, runNode, type NodeKeys } from "../relayer/helpers/scenario.js";
import type { ChainName, TestChain } from "../helpers/suite.js";

export { ANVIL_BIN, startAnvil, type Anvil, type AnvilOptions } from "../../deploy/anvil.js";

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

/** What an anvil suite reads: the network, its two chains, Redis and the key prefix in use. */
export interface AnvilFixture {
  readonly net: AnvilNetwork;
  readonly a: TestChain;
  readonly b: TestChain;
  readonly redis: Redis;
  /** The Redis prefix: fresh for each test, or one for the suite with `perSuite`. */
  readonly prefix: string;
}

/**
 * The anvil suites' one fixture (test/relayer/helpers/network.ts is the served network's): an
 * anvil network for the enclosing `describe`, a Redis client and a prefix, node processes killed
 * and keys deleted after each test (after the suite with `perSuite`), anvil stopped at the end.
 * Handles are readable from the suite's own first `before` hook on.
 */
export function useAnvilNetwork(
  name: string,
  options: AnvilNetworkOptions & { perSuite?: boolean } = {},
): AnvilFixture {
  const { perSuite, ...anvil } = options;
  let net: AnvilNetwork | undefined;
  let redis: Redis | undefined;
  let prefix: string | undefined;
  const ready = <T>(what: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`useAnvilNetwork(${name}): ${what} read before its hook`);
    return v;
  };
  before(async function () {
    this.timeout(Math.max(this.timeout(), 300_000)); // deploying on two anvils takes a while
    redis = newRedis();
    if (perSuite) prefix = testPrefix(name);
    net = await anvilNetwork(anvil);
  });
  after(async function () {
    await killAll();
    if (perSuite && prefix && redis) await clearPrefix(redis, prefix);
    await net?.close();
    redis?.disconnect();
  });
  if (!perSuite) {
    beforeEach(() => (prefix = testPrefix(name)));
    afterEach(async function () {
      await killAll();
      await clearPrefix(redis!, prefix!);
    });
  }
  return {
    get net() {
      return ready("the network", net);
    },
    get a() {
      return ready("the network", net).chains[0]!;
    },
    get b() {
      return ready("the network", net).chains[1]!;
    },
    get redis() {
      return ready("redis", redis);
    },
    get prefix() {
      return ready("the prefix", prefix);
    },
  };
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
 * `overrides` are merged into both configs, `perChain(code)` into that chain's.
 */
export async function runCommunities(
  net: AnvilNetwork,
  prefix: string,
  overrides: Partial<NodeConfigInput> = {},
  perChain: (code: string) => Partial<NodeConfigInput> = () => ({}),
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
        ...perChain(code),
        relayer: { destinations: [code], ...(overrides.relayer ?? {}) },
      },
    );
    out.push({ chain, file, env, keys, node: await runNode(`anvil-${code}`, file, env) });
  }
  return out;
}
