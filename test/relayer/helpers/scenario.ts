/**
 * Building blocks of the node's integration tests: a served two-chain network, node config files
 * for it, node processes, and the checks every scenario ends with (each message delivered exactly
 * once, no deliver transaction reverted).
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import type { NodeConfigInput } from "../../../relayer/config/schema.js";
import { unpackMessages } from "../../../relayer/protocol/index.js";
import { MessagingSink__factory } from "../../../typechain-types/index.js";
import type { TestChain } from "../../helpers/suite.js";
import { nodeConfigObject, waitFor, writeConfigFile, type ServedNetwork } from "./net.js";
import { freePort, startNodeProcess, type NodeProcess } from "./proc.js";

/** A fresh key with gas money on every chain of the network. */
export async function fundedKey(net: ServedNetwork): Promise<Hex> {
  const key = generatePrivateKey();
  for (const chain of net.chains) {
    await chain.connection.provider.request({
      method: "hardhat_setBalance",
      params: [privateKeyToAccount(key).address, "0x3635C9ADC5DEA00000"],
    });
  }
  return key;
}

/** Deploys a recipient that accepts every message. */
export async function deploySink(chain: TestChain): Promise<string> {
  const [deployer] = await chain.connection.ethers.getSigners();
  const sink = await new MessagingSink__factory(deployer).deploy();
  await sink.waitForDeployment();
  return sink.getAddress();
}

/** Dispatches `n` pure messages from `from` to `recipient` on `to`; returns their ids. */
export async function dispatchMany(
  from: TestChain,
  to: TestChain,
  recipient: string,
  n: number,
  tag = 0,
): Promise<string[]> {
  const outbox = from.suite.outbox;
  const [signer] = await from.connection.ethers.getSigners();
  let nonce = await signer!.getNonce();
  const sent = [];
  for (let i = 0; i < n; i++) {
    const body = ethers.toBeHex(tag * 1_000_000 + i, 8);
    sent.push(
      await outbox
        .connect(signer!)
        .dispatch(to.suite.code, ethers.zeroPadValue(recipient, 32), body, { nonce: nonce++ }),
    );
  }
  const ids: string[] = [];
  for (const tx of sent) {
    const receipt = await tx.wait();
    const parsed = receipt!.logs
      .map((l) => outbox.interface.parseLog(l))
      .find((p) => p?.name === "Dispatch");
    ids.push((parsed!.args.id as string).toLowerCase());
  }
  return ids;
}

/** Delivered events on `chain`'s Inbox: id -> transaction hashes. */
export async function deliveries(chain: TestChain, fromBlock = 0): Promise<Map<string, string[]>> {
  const logs = await chain.suite.inbox.queryFilter(
    chain.suite.inbox.filters.Delivered(),
    fromBlock,
  );
  const out = new Map<string, string[]>();
  for (const l of logs) {
    const id = l.args.id.toLowerCase();
    out.set(id, [...(out.get(id) ?? []), l.transactionHash]);
  }
  return out;
}

export interface DeliverTx {
  hash: string;
  from: string;
  status: number;
  messages: number;
  /** Calldata bytes. */
  bytes: number;
}

/** Every transaction sent to `chain`'s Inbox from `fromBlock` on, with its outcome and size. */
export async function deliverTxs(chain: TestChain, fromBlock: number): Promise<DeliverTx[]> {
  const provider = chain.connection.ethers.provider;
  const inbox = chain.suite.addresses.inbox.toLowerCase();
  const tip = await provider.getBlockNumber();
  const out: DeliverTx[] = [];
  for (let b = fromBlock; b <= tip; b++) {
    const block = await provider.getBlock(b, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to?.toLowerCase() !== inbox) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      let messages = 0;
      try {
        const parsed = chain.suite.inbox.interface.parseTransaction({ data: tx.data });
        if (parsed?.name === "deliver") messages = unpackMessages(parsed.args[2] as Hex).length;
      } catch {
        // not a deliver call
      }
      out.push({
        hash: tx.hash,
        from: tx.from.toLowerCase(),
        status: receipt!.status ?? 0,
        messages,
        bytes: (tx.data.length - 2) / 2,
      });
    }
  }
  return out;
}

/** Every id delivered exactly once; returns the ids missing so far (empty when all are in). */
export function missing(ids: string[], delivered: Map<string, string[]>): string[] {
  return ids.filter((id) => !delivered.has(id));
}

/** Waits (`what`, polling every 500 ms) until every one of `ids` is on `chain`, then checks each is there once. */
export async function deliveredOnce(
  chain: TestChain,
  ids: string[],
  what: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    what,
    async () => missing(ids, await deliveries(chain)).length === 0,
    timeoutMs,
    500,
  );
  const delivered = await deliveries(chain);
  for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
}

export interface NodeKeys {
  attester?: Hex;
  relayer?: Hex;
  watcher?: Hex;
  user?: Hex;
}

/** Writes a node config for the network and returns its path and the env with the keys. */
export function nodeConfigFile(
  net: ServedNetwork,
  home: string,
  prefix: string,
  keys: NodeKeys,
  overrides: Partial<NodeConfigInput> = {},
) {
  const env: Record<string, string> = {};
  const names: Record<string, string> = {};
  for (const [role, key] of Object.entries(keys)) {
    if (!key) continue;
    const name = `DISTPOS_TEST_${role.toUpperCase()}_KEY`;
    env[name] = key;
    names[role] = name;
  }
  const obj = nodeConfigObject(net, home, prefix, {
    keys: names,
    indexer: { leaseTtlMs: 2_000 },
    attester: { snapshotIntervalMs: 300 },
    log: { level: process.env.DISTPOS_TEST_LOGS ? "debug" : "info" },
    ...overrides,
    relayer: {
      batchWaitMs: 300,
      lockDurationMs: 2_000,
      backoffMs: 200,
      ...(overrides.relayer ?? {}),
    },
  });
  return { file: writeConfigFile(obj), env, obj };
}

/** Starts a node process and waits until its roles run; returns it with its API URL. */
export async function runNode(
  name: string,
  file: string,
  env: Record<string, string>,
): Promise<NodeProcess & { apiUrl?: string }> {
  const node = startNodeProcess(name, file, env);
  const started = await node.waitForLine(
    (l) => l.msg === "node started" || l.msg === "api listening",
  );
  let apiUrl: string | undefined;
  if (started.msg === "api listening") apiUrl = started.url as string;
  else {
    const api = node.lines.find((l) => l.msg === "api listening");
    apiUrl = api?.url as string | undefined;
  }
  await node.waitForLine((l) => l.msg === "node started");
  return Object.assign(node, { apiUrl });
}

/** Job counts of a destination's relay queue in a node's Redis. */
export async function queueCounts(
  redis: Redis,
  prefix: string,
  destination: string,
): Promise<Record<string, number>> {
  const base = `${prefix}:bull:relay-${destination}`;
  const [wait, active, delayed, completed, failed] = await Promise.all([
    redis.llen(`${base}:wait`),
    redis.llen(`${base}:active`),
    redis.zcard(`${base}:delayed`),
    redis.zcard(`${base}:completed`),
    redis.zcard(`${base}:failed`),
  ]);
  return { wait, active, delayed, completed, failed };
}

/**
 * Config files of a two-community pair on the bundle flow (docs/protocol.md 4.2), home RPC only:
 * `origin`'s node indexes, attests and serves its chain (its API is the origin's entry node), and
 * `destination`'s node also relays into its chain (its API is the destination's entry node, on a
 * fixed port so a restarted node is found again). `destination` overrides are merged into the
 * destination node's config (e.g. a private Redis).
 */
export async function bundlePair(
  net: ServedNetwork,
  origin: TestChain,
  destination: TestChain,
  prefix: string,
  relayerKey: Hex,
  overrides: {
    destination?: Partial<NodeConfigInput>;
    /** Entry nodes listed for the origin before its node (e.g. hostile ones). */
    originEntryNodes?: string[];
  } = {},
) {
  const url = async () => `http://127.0.0.1:${await freePort()}`;
  const urls = { origin: await url(), destination: await url() };
  const oCode = origin.suite.addresses.chainCode;
  const dCode = destination.suite.addresses.chainCode;
  net.chainEntries[oCode]!.nodes = [...(overrides.originEntryNodes ?? []), urls.origin];
  net.chainEntries[dCode]!.nodes = [urls.destination];
  const side = (
    chain: TestChain,
    url: string,
    keys: NodeKeys,
    roles: NonNullable<NodeConfigInput["roles"]>,
    more: Partial<NodeConfigInput> = {},
  ) =>
    nodeConfigFile(
      net,
      chain.suite.addresses.chainCode,
      `${prefix}-${chain.suite.addresses.chainCode}`,
      { attester: chain.attesters[0]!.privateKey as Hex, ...keys },
      {
        roles,
        ...more,
        api: { host: "127.0.0.1", port: Number(new URL(url).port) },
        relayer: { handover: "bundles", pullIntervalMs: 1_000, ...more.relayer },
      },
    );
  return {
    urls,
    origin: side(origin, urls.origin, {}, ["indexer", "api", "attester"]),
    destination: side(
      destination,
      urls.destination,
      { relayer: relayerKey },
      ["indexer", "api", "attester", "relayer"],
      overrides.destination,
    ),
    /** The Redis prefixes of the two nodes (the destination's holds its relay queue). */
    originPrefix: `${prefix}-${oCode}`,
    destinationPrefix: `${prefix}-${dCode}`,
  };
}
