/**
 * Test fixtures: independent simulated chains in one process, each with a full DistPOS suite
 * deployed by the same Ignition module as production, connected pairwise, with staked attesters
 * whose keys the tests hold; and a relay step that carries dispatched messages to a peer.
 */
import { ethers, type Wallet } from "ethers";
import type { Hex } from "viem";
import { network } from "hardhat";

import {
  deployLocalNetwork,
  fundedWallets,
  type LocalNetworkOptions,
  type NetworkMember,
} from "../../deploy/network.js";
import { suiteAs } from "../../deploy/suite.js";
import {
  buildDelivery,
  decodeMessage,
  deliverArgs,
  signCheckpoint,
  sortSignaturesBySigner,
  type Checkpoint,
  type MerkleTree,
  type Message,
} from "../../relayer/protocol/index.js";

export const CHAIN_NAMES = [
  "chainA",
  "chainB",
  "chainC",
  "chainD",
  "chainE",
  "chainF",
  "chainG",
  "chainH",
] as const;
export type ChainName = (typeof CHAIN_NAMES)[number];

/** One chain of a test network. */
export interface TestChain extends NetworkMember {
  name: ChainName;
}

export interface TestNetworkOptions extends LocalNetworkOptions {
  chains?: readonly ChainName[];
}

export const ONE = 10n ** 18n;

/**
 * Creates the chains (independent simulated chains in this process) and brings up a local network
 * on them through the production deploy and connect path (`deploy/network.ts`).
 */
export async function createTestNetwork(options: TestNetworkOptions = {}): Promise<TestChain[]> {
  const names = options.chains ?? CHAIN_NAMES.slice(0, 2);
  const chains = [];
  for (const name of names) chains.push({ name, connection: await network.create(name) });
  return (await deployLocalNetwork(chains, options)) as TestChain[];
}

export { fundedWallets };

/** A message as dispatched by an Outbox, with its leaf index. */
export interface DispatchedMessage {
  id: string;
  nonce: number;
  encoded: string;
  message: Message;
}

/** Every message `origin`'s Outbox dispatched, in leaf order, read from its `Dispatch` logs. */
export async function dispatchedMessages(
  origin: Pick<TestChain, "suite">,
): Promise<DispatchedMessage[]> {
  const outbox = origin.suite.outbox;
  const logs = await outbox.queryFilter(
    outbox.filters.Dispatch(),
    origin.suite.addresses.deployedAtBlock,
  );
  return logs
    .map((log) => ({
      id: log.args.id,
      nonce: Number(log.args.nonce),
      encoded: log.args.message,
      message: decodeMessage(log.args.message as `0x${string}`),
    }))
    .sort((a, b) => a.nonce - b.nonce);
}

/**
 * The id of leaf `count - 1` (a checkpoint's `last`): from `tree` when given (it may hold leaves
 * that are not in the logs), else from the dispatched messages.
 */
export function lastLeaf(
  tree: MerkleTree | undefined,
  dispatched: readonly DispatchedMessage[],
  count: number,
): `0x${string}` {
  if (tree) return tree.leaf(count - 1);
  const last = dispatched.find((m) => m.nonce === count - 1);
  if (!last) throw new Error(`no dispatched message at nonce ${count - 1}`);
  return last.id as `0x${string}`;
}

/** `origin`'s latest snapshot as the checkpoint an honest attester signs. */
export async function latestCheckpoint(
  origin: Pick<TestChain, "suite">,
  tree?: MerkleTree,
): Promise<Checkpoint> {
  const [root, count] = await origin.suite.outbox.latestSnapshot();
  return {
    origin: origin.suite.code,
    root: root as `0x${string}`,
    count: Number(count),
    last: lastLeaf(tree, tree ? [] : await dispatchedMessages(origin), Number(count)),
  };
}

export interface RelayOptions {
  /** Which of the origin's attesters sign (default: the first; every one for a stake report). */
  signers?: Wallet[];
  /** Deliver only these nonces (default: every undelivered message for the destination). */
  nonces?: number[];
  /** Send with this account on the destination (default: the destination's deployer). */
  relayer?: ethers.Signer;
  /** Tamper with the delivery before sending (attack tests). */
  mutate?: (delivery: Delivery) => Delivery;
  /** The origin's dispatched messages when the caller already holds them (skips reading logs). */
  dispatched?: DispatchedMessage[];
  /**
   * The origin's tree, holding at least the snapshotted count of leaves (default: built from the
   * dispatched messages). Needed when the Outbox holds leaves that are not in its logs, e.g. the
   * benchmark's deep tree whose frontier was written into storage.
   */
  tree?: MerkleTree;
}

/** Arguments of `Inbox.deliver`. */
export interface Delivery {
  checkpoint: Checkpoint;
  signatures: string[];
  messages: string[];
  proof: string[];
}

/**
 * Prepares the delivery of `origin`'s undelivered messages for `destination`: snapshots the origin
 * Outbox, signs the snapshotted checkpoint with the chosen attesters, builds the multiproof.
 * Returns undefined when there is nothing to deliver.
 */
export async function prepareDelivery(
  origin: TestChain,
  destination: TestChain,
  options: RelayOptions = {},
): Promise<Delivery | undefined> {
  await (await origin.suite.outbox.snapshot()).wait();
  const [root, count] = await origin.suite.outbox.latestSnapshot();
  const all = options.dispatched ?? (await dispatchedMessages(origin));
  const wanted = options.nonces ? new Set(options.nonces) : undefined;
  const pending: DispatchedMessage[] = [];
  for (const m of all) {
    if (m.nonce >= Number(count)) continue;
    if (m.message.destination !== destination.suite.code) continue;
    if (wanted && !wanted.has(m.nonce)) continue;
    if (await destination.suite.inbox.isDelivered(origin.suite.code, m.nonce)) continue;
    pending.push(m);
  }
  if (pending.length === 0) return undefined;

  const checkpoint: Checkpoint = {
    origin: origin.suite.code,
    root: root as `0x${string}`,
    count: Number(count),
    last: lastLeaf(options.tree, all, Number(count)),
  };
  const domain = {
    evmChainId: origin.suite.evmChainId,
    outbox: origin.suite.addresses.outbox as `0x${string}`,
  };
  // A stake report needs signers holding more than half of the mirrored stake (protocol.md 3.5):
  // by default such a batch is signed by every attester, any other by the first.
  const hub = origin.suite.addresses.stakingHub.toLowerCase();
  const carriesReport = pending.some(
    (m) => `0x${m.message.sender.slice(26)}`.toLowerCase() === hub,
  );
  const signers =
    options.signers ?? (carriesReport ? origin.attesters : origin.attesters.slice(0, 1));
  const signatures = await Promise.all(
    signers.map((s) => signCheckpoint(s.privateKey as `0x${string}`, domain, checkpoint)),
  );
  const delivery = buildDelivery({
    ...(options.tree
      ? { tree: options.tree }
      : { leaves: all.slice(0, Number(count)).map((m) => m.id as `0x${string}`) }),
    count: Number(count),
    messages: pending.map((m) => m.encoded as `0x${string}`),
  });
  return {
    checkpoint,
    signatures: sortSignaturesBySigner(domain, checkpoint, signatures),
    messages: delivery.messages,
    proof: delivery.proof,
  };
}

/** `Inbox.deliver`'s arguments for a prepared delivery (the protocol's one encoding, `deliverArgs`). */
export function deliveryArgs(d: Delivery) {
  return deliverArgs(d.checkpoint, d.signatures as Hex[], {
    messages: d.messages as Hex[],
    proof: d.proof as Hex[],
  });
}

/** Delivers a prepared delivery and returns the receipt. */
export async function sendDelivery(
  destination: TestChain,
  delivery: Delivery,
  relayer?: ethers.Signer,
) {
  const inbox = relayer ? suiteAs(destination.suite, relayer).inbox : destination.suite.inbox;
  const tx = await inbox.deliver(...deliveryArgs(delivery));
  const receipt = await tx.wait();
  if (!receipt) throw new Error("deliver: no receipt");
  return receipt;
}

/** Relays every undelivered message from `origin` to `destination`; returns the receipt or undefined. */
export async function relay(origin: TestChain, destination: TestChain, options: RelayOptions = {}) {
  const prepared = await prepareDelivery(origin, destination, options);
  if (!prepared) return undefined;
  const delivery = options.mutate ? options.mutate(prepared) : prepared;
  return sendDelivery(destination, delivery, options.relayer);
}

/** A delivery price (protocol.md 3.9): settlement units per gas, per message, premium in ppm. */
export interface DeliveryPrice {
  perGas: bigint;
  base: bigint;
  premiumPpm?: number;
}

/**
 * `destination`'s governance (its timelock, impersonated) prices `origin`'s messages; the reserve
 * report carrying the price is relayed to `origin`, whose exposure window W then passes (a raise
 * waits it, 3.9 "Price delay") and the pending price is applied. The one way tests publish a price.
 */
export async function publishDeliveryPrice(
  destination: TestChain,
  origin: TestChain,
  price: DeliveryPrice,
  /** false: leave the raise pending once its window passed (a node's attester applies it). */
  options: { apply?: boolean } = {},
): Promise<void> {
  const timelock = destination.suite.addresses.timelock;
  await destination.connection.networkHelpers.impersonateAccount(timelock);
  await destination.connection.networkHelpers.setBalance(timelock, 10n ** 20n);
  const governance = destination.suite.bank.connect(
    await destination.connection.ethers.getSigner(timelock),
  );
  await (
    await governance.setDeliveryPrice(
      origin.suite.code,
      price.perGas,
      price.base,
      price.premiumPpm ?? 0,
    )
  ).wait();
  await relay(destination, origin, { signers: destination.attesters });
  await origin.connection.networkHelpers.time.increase(await origin.suite.inbox.exposureWindow());
  const pending = await origin.suite.bank.pendingPrice(destination.suite.code);
  if (pending.readyAt !== 0n && options.apply !== false)
    await (await origin.suite.bank.applyPendingPrice(destination.suite.code)).wait();
}
