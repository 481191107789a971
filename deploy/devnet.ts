/**
 * A local DistPOS network you can talk to: in-process chains served over JSON-RPC on free ports,
 * the suites deployed and connected, attesters staked, reserves funded, and `distpos node`
 * processes running every role — exactly as operators run them, only on one machine.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { ethers, type Wallet } from "ethers";
import { network } from "hardhat";

import { LOCAL_CHAINS } from "../hardhat.config.js";
import type { NodeConfigInput } from "../relayer/config/schema.js";
import { startAnvil, type Anvil } from "./anvil.js";
import { serveChain, type RpcEndpoint } from "./rpcServer.js";
import { freePort, startNodeProcess, type NodeProcess } from "./nodeProcess.js";
import { deployLocalNetwork, type NetworkMember } from "./network.js";
import { suiteAs } from "./suite.js";

export interface DevnetOptions {
  /** Chain names from hardhat.config.ts (distinct chain ids); default chainA, chainB, chainC. */
  chains?: string[];
  /** Reserve each community posts on each peer (tokens); a map "holder:owner" overrides one. */
  reserve?: bigint;
  reserveOverrides?: Record<string, bigint>;
  /** Blocks a node waits before it believes an event. */
  confirmations?: number;
  /** Empty blocks are mined this often so confirmations keep coming. */
  blockTimeMs?: number;
  /**
   * Which client runs the chains: Hardhat's in-process simulator (default; a block every
   * `blockTimeMs` besides the one per transaction) or `anvil` processes (a block per transaction
   * and one every second, `--mixed-mining`), each served to the nodes over JSON-RPC.
   */
  client?: "hardhat" | "anvil";
  /** Folder for the node configs and logs, emptied first (default: a new temporary folder). */
  home?: string;
  log?: (line: string) => void;
}

/**
 * Where `npm run devnet` writes its files: `$DISTPOS_DEVNET_DIR`, else `.devnet/` at the root of
 * the repository (gitignored). Fixed, so that the READMEs can name its files.
 */
export function devnetDir(): string {
  return (
    process.env.DISTPOS_DEVNET_DIR ?? join(fileURLToPath(new URL("..", import.meta.url)), ".devnet")
  );
}

/** A node process of the devnet. */
export interface DevnetNode {
  name: string;
  chain: string;
  apiUrl: string;
  configFile: string;
  process: NodeProcess;
}

export interface DevnetChain extends NetworkMember {
  rpc: RpcEndpoint;
  /** The community's treasury (the deployer): funds reserves, proposes governance. */
  treasury: ethers.Signer;
  /** Submits deliveries on this chain (the relayer role's key). */
  relayerKey: string;
  /** Submits fraud proofs on this chain (the watcher role's key). */
  watcherKey: string;
}

export interface Devnet {
  chains: DevnetChain[];
  nodes: DevnetNode[];
  /** The folder holding the node configs and their logs (`<node>.log`). */
  home: string;
  /** Environment a `distpos` command needs to act as `userKey` with a devnet config. */
  cliEnv(userKey: string): Record<string, string>;
  chain(name: string): DevnetChain;
  stop(): Promise<void>;
}

const ONE = 10n ** 18n;

/** Starts a devnet: chains, suites, connections, stakes, reserves, then two nodes per chain. */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const log = options.log ?? (() => {});
  const names = options.chains ?? ["chainA", "chainB", "chainC"];
  let home: string;
  if (options.home) {
    home = options.home;
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
  } else home = mkdtempSync(join(tmpdir(), "distpos-devnet-"));

  const connections = [];
  const anvils: Anvil[] = [];
  // Ignition keeps a journal for every non-simulated network (anvil): one throw-away id per run.
  const perChain: Record<string, { deploymentId: string }> = {};
  for (const name of names) {
    if (options.client !== "anvil") {
      connections.push({ name, connection: await network.create(name) });
      continue;
    }
    const chainId = LOCAL_CHAINS[name as keyof typeof LOCAL_CHAINS];
    if (!chainId) throw new Error(`no local chain id for ${name}`);
    // finalized = 2 blocks below the tip (anvil's default epoch would hold signatures 64 s).
    const anvil = await startAnvil({ chainId, blockTime: 1, mixedMining: true, slotsInAnEpoch: 1 });
    anvils.push(anvil);
    connections.push({
      name,
      connection: await network.create({ network: "anvil", override: { url: anvil.url } }),
    });
    perChain[name] = { deploymentId: `devnet-anvil-${randomUUID().slice(0, 8)}-${name}` };
  }
  const stopAnvils = async () => {
    await Promise.all(anvils.map((a) => a.stop()));
    for (const { deploymentId } of Object.values(perChain))
      rmSync(join(process.cwd(), "ignition", "deployments", deploymentId), {
        recursive: true,
        force: true,
      });
  };
  let members: NetworkMember[];
  try {
    members = await deployLocalNetwork(connections, { attestersPerChain: 2, log, perChain });
  } catch (e) {
    await stopAnvils();
    throw e;
  }

  const chains: DevnetChain[] = [];
  for (const member of members) {
    const rpc = await serveChain(member.connection.provider);
    const [treasury] = await member.connection.ethers.getSigners();
    const relayerKey = await fundedKey(member);
    const watcherKey = await fundedKey(member);
    chains.push({ ...member, rpc, treasury, relayerKey, watcherKey });
    log(`${member.name}: JSON-RPC at ${rpc.url}`);
  }

  // Every community posts a reserve on every peer, then asks the peer's bank to report it back,
  // which is where its credit for sending comes from.
  for (const holder of chains) {
    for (const owner of chains) {
      if (holder === owner) continue;
      const amount =
        options.reserveOverrides?.[`${holder.name}:${owner.name}`] ??
        options.reserve ??
        1_000n * ONE;
      await fundReserve(holder, owner, amount);
      log(`${holder.name}: reserve of ${owner.name} funded with ${ethers.formatUnits(amount)}`);
    }
  }

  // anvil mines every second already (and counts evm_setIntervalMining in seconds).
  if (options.client !== "anvil")
    for (const chain of chains) {
      await chain.connection.provider.request({
        method: "evm_setIntervalMining",
        params: [options.blockTimeMs ?? 500],
      });
    }

  let nodes: DevnetNode[];
  try {
    nodes = await startNodes(chains, home, options.confirmations ?? 1, log);
  } catch (e) {
    // Leave nothing running behind a failed start (a test would hang on the chains).
    const { killAll } = await import("./nodeProcess.js");
    await killAll();
    for (const chain of chains) {
      await chain.connection.provider
        .request({ method: "evm_setIntervalMining", params: [0] })
        .catch(() => undefined);
      await chain.rpc.close();
    }
    await stopAnvils();
    throw e;
  }
  const devnet: Devnet = {
    chains,
    nodes,
    home,
    cliEnv: (userKey) => ({ DISTPOS_USER_KEY: userKey }),
    chain(name) {
      const found = chains.find((c) => c.name === name);
      if (!found) throw new Error(`no devnet chain named ${name}`);
      return found;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.process.kill("SIGTERM")));
      for (const chain of chains) {
        await chain.connection.provider
          .request({ method: "evm_setIntervalMining", params: [0] })
          .catch(() => undefined);
        await chain.rpc.close();
        await chain.connection.close();
      }
      await stopAnvils();
    },
  };
  return devnet;
}

/** Posts `amount` tokens of `holder`'s chain into `owner`'s reserve there (the owner's treasury pays). */
export async function fundReserve(
  holder: NetworkMember & { treasury: ethers.Signer },
  owner: NetworkMember,
  amount: bigint,
): Promise<void> {
  const bank = suiteAs(holder.suite, holder.treasury);
  await (await bank.token.mint(await holder.treasury.getAddress(), amount)).wait();
  await (await bank.token.approve(holder.suite.addresses.bank, amount)).wait();
  await (await bank.bank.fund(owner.suite.code, amount)).wait();
}

/**
 * Two nodes per chain, both attesters of their chain and entry nodes of its community: node 1 also
 * relays into its chain and watches for fraud against it; node 2 only indexes, attests and serves.
 */
async function startNodes(
  chains: DevnetChain[],
  home: string,
  confirmations: number,
  log: (line: string) => void,
): Promise<DevnetNode[]> {
  const ports = new Map<string, number[]>();
  for (const chain of chains) ports.set(chain.name, [await freePort(), await freePort()]);
  const routing: NonNullable<NodeConfigInput["chains"]> = {};
  for (const chain of chains) {
    const a = chain.suite.addresses;
    routing[a.chainCode] = {
      name: a.name,
      chainId: a.evmChainId,
      rpc: [chain.rpc.url],
      contracts: {
        registry: a.registry as `0x${string}`,
        outbox: a.outbox as `0x${string}`,
        inbox: a.inbox as `0x${string}`,
        stakingHub: a.stakingHub as `0x${string}`,
        bank: a.bank as `0x${string}`,
        token: a.settlementToken as `0x${string}`,
      },
      nodes: ports.get(chain.name)!.map((p) => `http://127.0.0.1:${p}`),
      confirmations,
      pollIntervalMs: 250,
      startBlock: a.deployedAtBlock,
    };
  }

  const runId = randomUUID().slice(0, 8);
  const nodes: DevnetNode[] = [];
  for (const chain of chains) {
    const code = chain.suite.addresses.chainCode;
    for (const [index, attester] of chain.attesters.entries()) {
      const name = `${chain.name}-${index + 1}`;
      const port = ports.get(chain.name)![index];
      const first = index === 0;
      const config: NodeConfigInput = {
        home: code,
        roles: first
          ? ["indexer", "api", "attester", "relayer", "watcher"]
          : ["indexer", "api", "attester"],
        // Home RPC only (docs/protocol.md 4.2), the watcher's node too: it learns what the peers'
        // Inboxes accepted from us from their entry nodes (GET /v1/checkpoints/accepted).
        chains: homeRpcOnly(routing, code),
        redis: { prefix: `devnet-${runId}-${name}` },
        api: { host: "127.0.0.1", port },
        keys: first
          ? {
              attester: "DISTPOS_ATTESTER_KEY",
              relayer: "DISTPOS_RELAYER_KEY",
              watcher: "DISTPOS_WATCHER_KEY",
              user: "DISTPOS_USER_KEY",
            }
          : { attester: "DISTPOS_ATTESTER_KEY", user: "DISTPOS_USER_KEY" },
        attester: { snapshotIntervalMs: 500 },
        // Messages cross as verified bundles node to node (docs/protocol.md 4.2): each node
        // indexes and reads its home chain only.
        relayer: {
          destinations: [code],
          batchWaitMs: 300,
          backoffMs: 500,
          handover: "bundles",
          pullIntervalMs: 1_000,
        },
        watcher: { pollIntervalMs: 500 },
      };
      const configFile = join(home, `${name}.json`);
      writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
      const env: Record<string, string> = { DISTPOS_ATTESTER_KEY: (attester as Wallet).privateKey };
      if (first) {
        env.DISTPOS_RELAYER_KEY = chain.relayerKey;
        env.DISTPOS_WATCHER_KEY = chain.watcherKey;
      }
      const process = startNodeProcess(name, configFile, env, join(home, `${name}.log`));
      nodes.push({
        name,
        chain: chain.name,
        apiUrl: `http://127.0.0.1:${port}`,
        configFile,
        process,
      });
    }
  }
  await Promise.all(
    nodes.map((n) => n.process.waitForLine((l) => l.msg === "api listening", 120_000)),
  );
  log(`nodes: ${nodes.map((n) => `${n.name} ${n.apiUrl}`).join(", ")}`);
  return nodes;
}

/** A new key with gas money on `member`'s chain. */
async function fundedKey(member: NetworkMember): Promise<string> {
  const wallet = ethers.Wallet.createRandom();
  await member.connection.networkHelpers.setBalance(wallet.address, 10n ** 21n);
  return wallet.privateKey;
}

/** The devnet's user keys: accounts 10, 11 and 12 of the well-known test mnemonic. */
export const DEVNET_MNEMONIC = "test test test test test test test test test test test junk";
export const DEVNET_USERS = 3;
/** Settlement tokens and gas each user key holds on every chain. */
export const DEVNET_USER_TOKENS = 1_000n * ONE;

/** Keys with gas and settlement tokens on every chain of the devnet. */
export async function fundUsers(devnet: Devnet): Promise<ethers.HDNodeWallet[]> {
  const users = Array.from({ length: DEVNET_USERS }, (_, i) =>
    ethers.HDNodeWallet.fromPhrase(DEVNET_MNEMONIC, undefined, `m/44'/60'/0'/0/${10 + i}`),
  );
  for (const chain of devnet.chains) {
    for (const user of users) {
      await chain.connection.networkHelpers.setBalance(user.address, 10n ** 21n);
      await (await chain.suite.token.mint(user.address, DEVNET_USER_TOKENS)).wait();
    }
  }
  return users;
}

/** The routing table `routing` as a node of chain `home` has it: no RPC but its home chain's. */
function homeRpcOnly(
  routing: NonNullable<NodeConfigInput["chains"]>,
  home: string,
): NonNullable<NodeConfigInput["chains"]> {
  return Object.fromEntries(
    Object.entries(routing).map(([c, e]) => [c, c === home ? e : { ...e, rpc: [] }]),
  );
}

/**
 * The files of the operator quick start (relayer/README.md): `node.yaml`, one more node of the
 * first chain (indexer, api, and a relayer into that chain) on a free port and its own Redis
 * prefix, and `node.env`, its keys — a new relayer key with gas, and the first user key.
 */
export async function writeOperatorFiles(
  devnet: Devnet,
  users: ethers.HDNodeWallet[],
): Promise<{ configFile: string; envFile: string; apiUrl: string }> {
  const first = devnet.chains[0]!;
  const template = JSON.parse(readFileSync(devnet.nodes[0]!.configFile, "utf8")) as NodeConfigInput;
  const port = await freePort();
  const code = first.suite.addresses.chainCode;
  const config: NodeConfigInput = {
    home: code,
    roles: ["indexer", "api", "relayer"],
    // Its home chain's RPC only, as every node of the devnet: a peer is its code, chain id and
    // entry nodes; messages for chain A come as bundles from the peers' entry nodes.
    chains: template.chains!,
    redis: { prefix: `devnet-${randomUUID().slice(0, 8)}-operator` },
    api: { host: "127.0.0.1", port },
    keys: { relayer: "DISTPOS_RELAYER_KEY", user: "DISTPOS_USER_KEY" },
    relayer: { destinations: [code], batchWaitMs: 300, backoffMs: 500 },
  };
  const configFile = join(devnet.home, "node.yaml");
  // JSON is YAML: the file reads as either.
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const envFile = join(devnet.home, "node.env");
  writeFileSync(
    envFile,
    `DISTPOS_RELAYER_KEY=${await fundedKey(first)}\nDISTPOS_USER_KEY=${users[0]!.privateKey}\n`,
  );
  return { configFile, envFile, apiUrl: `http://127.0.0.1:${port}` };
}

/** What `npm run devnet` prints once the network runs. */
export function describeDevnet(
  devnet: Devnet,
  users: ethers.HDNodeWallet[],
  operator?: { configFile: string; envFile: string },
): string {
  const lines = ["DistPOS devnet running (Ctrl-C stops everything).", "", "Chains:"];
  for (const c of devnet.chains)
    lines.push(
      `  ${c.name}  code ${c.suite.addresses.chainCode}  chain id ${c.suite.addresses.evmChainId}  RPC ${c.rpc.url}  token ${c.suite.addresses.settlementToken}`,
    );
  lines.push("", "Nodes (every role on -1; indexer, api, attester on -2):");
  for (const n of devnet.nodes)
    lines.push(
      `  ${n.name}  API ${n.apiUrl}  explorer ${n.apiUrl}/explorer/  config ${n.configFile}`,
    );
  lines.push(
    "",
    `Funded keys (gas and ${ethers.formatUnits(DEVNET_USER_TOKENS)} settlement tokens on every chain):`,
  );
  for (const u of users) lines.push(`  ${u.address}  ${u.privateKey}`);
  const node = devnet.nodes[0]!;
  const peer = devnet.chains[1]!.suite.addresses.chainCode;
  lines.push(
    "",
    "Try:",
    `  export DISTPOS_USER_KEY=${users[0]!.privateKey}`,
    `  npx --no-install distpos -c ${node.configFile} send ${peer}x${users[1]!.address.slice(2)} --amount 1 --wait`,
    `  open ${node.apiUrl}/explorer/`,
  );
  if (operator)
    lines.push(
      "",
      `Your own node (the operator quick start, relayer/README.md): config ${operator.configFile}, keys ${operator.envFile}`,
    );
  lines.push("", `Files in ${devnet.home}`, "", "devnet ready");
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Reserves below what two attesters vouch for (2 × 100): a reserve report is value at risk.
  const devnet = await startDevnet({
    reserve: 150n * ONE,
    home: devnetDir(),
    log: (line) => console.error(line),
  });
  const users = await fundUsers(devnet);
  const operator = await writeOperatorFiles(devnet, users);
  // Credit comes from the peers' reserve reports, which the nodes relay: wait for it, so a send
  // works as soon as the devnet says it is ready.
  const deadline = Date.now() + 180_000;
  for (const chain of devnet.chains)
    for (const peer of devnet.chains)
      while (peer !== chain && (await chain.suite.bank.creditView(peer.suite.code)) === 0n) {
        if (Date.now() > deadline) throw new Error(`no credit of ${chain.name} on ${peer.name}`);
        await new Promise((r) => setTimeout(r, 500));
      }
  console.log(describeDevnet(devnet, users, operator));
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await devnet.stop();
  process.exit(0);
}
