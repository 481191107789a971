/**
 * Unit fixture of the CorrespondentBank: several simulated chains in one process, each with the real
 * RouteRegistry, Outbox and CorrespondentBank, and a BankInboxHarness standing in for the Inbox, so
 * a test can deliver any message (honest or forged) to a bank exactly as the Inbox calls it.
 *
 * The relay step reads the origin Outbox's `Dispatch` logs, decodes each message with the shared
 * TypeScript codec (relayer/protocol) and calls the destination bank as the Inbox does:
 * a message from the origin's bank to our bank is a bank message, any other message from it with an
 * amount is a value transfer.
 */
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

import { decodeMessage } from "../../../relayer/protocol/index.js";
import {
  BankInboxHarness__factory,
  BankQuirkToken__factory,
  CorrespondentBank__factory,
  Outbox__factory,
  RouteRegistry__factory,
  type BankInboxHarness,
  type BankQuirkToken,
  type CorrespondentBank,
  type Outbox,
  type RouteRegistry,
} from "../../../typechain-types/index.js";

export const ONE = 10n ** 18n;

export type BankChainName = "chainA" | "chainB" | "chainC";

export interface BankChain {
  name: BankChainName;
  connection: NetworkConnection;
  code: bigint;
  deployer: HardhatEthersSigner;
  /** Accounts with tokens and gas for the test's users (index 0 is not the deployer). */
  users: HardhatEthersSigner[];
  registry: RouteRegistry;
  outbox: Outbox;
  inbox: BankInboxHarness;
  bank: CorrespondentBank;
  token: BankQuirkToken;
  decimals: number;
  /** One whole token in local units. */
  unit: bigint;
  /** Messages already delivered, per origin chain code ("code:nonce"). */
  delivered: Set<string>;
}

export interface BankChainOptions {
  decimals?: number;
  /** Tokens minted to each user, in whole tokens. */
  userTokens?: bigint;
}

/** Deploys one chain's registry, Outbox, harness Inbox, token and bank. */
export async function createBankChain(
  name: BankChainName,
  options: BankChainOptions = {},
): Promise<BankChain> {
  const connection = await network.create(name);
  const { ethers } = connection;
  const [deployer, ...users] = await ethers.getSigners();
  const code = (await ethers.provider.getNetwork()).chainId;
  const decimals = options.decimals ?? 18;
  const unit = 10n ** BigInt(decimals);

  const token = await new BankQuirkToken__factory(deployer).deploy(decimals);
  const registry = await new RouteRegistry__factory(deployer).deploy(code, deployer.address);
  const outbox = await new Outbox__factory(deployer).deploy(await registry.getAddress());
  const inbox = await new BankInboxHarness__factory(deployer).deploy();
  const bank = await new CorrespondentBank__factory(deployer).deploy(
    await registry.getAddress(),
    await token.getAddress(),
  );
  await (
    await registry.bindLocalContracts({
      outbox: await outbox.getAddress(),
      inbox: await inbox.getAddress(),
      // The bank never talks to the StakingHub; the registry only needs a non-zero address.
      stakingHub: deployer.address,
      bank: await bank.getAddress(),
    })
  ).wait();

  const userTokens = (options.userTokens ?? 1_000_000n) * unit;
  for (const user of users.slice(0, 6)) {
    await (await token.mint(user.address, userTokens)).wait();
    await (await token.connect(user).approve(await bank.getAddress(), ethers.MaxUint256)).wait();
  }
  return {
    name,
    connection,
    code,
    deployer,
    users: users.slice(0, 6),
    registry,
    outbox,
    inbox,
    bank,
    token,
    decimals,
    unit,
    delivered: new Set(),
  };
}

/** Enrolls every pair of chains in each other's registry (the route record a peer would publish). */
export async function enrollAll(chains: BankChain[]): Promise<void> {
  for (const local of chains) {
    for (const peer of chains) {
      if (peer === local) continue;
      await (
        await local.registry.enrollRoute(peer.code, {
          evmChainId: peer.code,
          outbox: await peer.outbox.getAddress(),
          inbox: await peer.inbox.getAddress(),
          stakingHub: peer.deployer.address,
          bank: await peer.bank.getAddress(),
          settlementDecimals: peer.decimals,
          minSigners: 1,
          defaultCoverage: 0n,
          unbondingDelay: 1_000n,
        })
      ).wait();
    }
  }
}

/** A dispatched message, decoded, with its id. */
export interface DecodedMessage {
  id: string;
  nonce: number;
  origin: bigint;
  sender: `0x${string}`;
  destination: bigint;
  recipient: `0x${string}`;
  amount: bigint;
  body: `0x${string}`;
}

/** Every message `origin` dispatched, in nonce order. */
export async function dispatched(origin: BankChain): Promise<DecodedMessage[]> {
  const logs = await origin.outbox.queryFilter(origin.outbox.filters.Dispatch());
  const out: DecodedMessage[] = [];
  for (const log of logs) {
    const m = decodeMessage(log.args.message as `0x${string}`);
    out.push({ id: log.args.id, ...m });
  }
  return out.sort((a, b) => a.nonce - b.nonce);
}

export function word(address: string): string {
  return `0x${address.toLowerCase().slice(2).padStart(64, "0")}`;
}

export function addressOf(word32: string): string {
  return `0x${word32.slice(26)}`;
}

export interface RelayOptions {
  /** Deliver only these nonces, in this order (default: every undelivered one, ascending). */
  nonces?: number[];
}

/**
 * Delivers `origin`'s undelivered messages for `destination` to its bank, as the Inbox would.
 * Returns the number of messages delivered.
 */
export async function relay(
  origin: BankChain,
  destination: BankChain,
  options: RelayOptions = {},
): Promise<number> {
  const all = (await dispatched(origin)).filter((m) => m.destination === destination.code);
  const byNonce = new Map(all.map((m) => [m.nonce, m]));
  const order = options.nonces ?? all.map((m) => m.nonce);
  const originBank = word(await origin.bank.getAddress());
  const destinationBank = word(await destination.bank.getAddress());
  let count = 0;
  for (const nonce of order) {
    const m = byNonce.get(nonce);
    if (!m) throw new Error(`no message ${nonce} from ${origin.name} to ${destination.name}`);
    const key = `${origin.code}:${nonce}`;
    if (destination.delivered.has(key)) continue;
    destination.delivered.add(key);
    if (m.sender.toLowerCase() !== originBank) continue; // not the bank's business
    if (m.recipient.toLowerCase() === destinationBank) {
      await (
        await destination.inbox.bankMessage(
          await destination.bank.getAddress(),
          m.origin,
          m.nonce,
          m.body,
        )
      ).wait();
    } else if (m.amount !== 0n) {
      await (
        await destination.inbox.payout(
          await destination.bank.getAddress(),
          m.origin,
          m.id,
          addressOf(m.recipient),
          m.amount,
        )
      ).wait();
    }
    count++;
  }
  return count;
}

/** Relays both ways until no message is left in flight between every pair. */
export async function settle(chains: BankChain[]): Promise<void> {
  for (let round = 0; round < 10; round++) {
    let moved = 0;
    for (const origin of chains) {
      for (const destination of chains) {
        if (origin !== destination) moved += await relay(origin, destination);
      }
    }
    if (moved === 0) return;
  }
  throw new Error("messages still in flight after 10 rounds");
}

/** Snapshots every chain; `restore` returns them (and the relay cursors) to that point. */
export async function snapshotAll(chains: BankChain[]): Promise<() => Promise<void>> {
  const snapshots = await Promise.all(
    chains.map((c) => c.connection.networkHelpers.takeSnapshot()),
  );
  const delivered = chains.map((c) => new Set(c.delivered));
  return async () => {
    for (let i = 0; i < chains.length; i++) {
      await snapshots[i].restore();
      chains[i].delivered = new Set(delivered[i]);
    }
  };
}

/** An 18-decimal amount of `tokens` whole tokens. */
export function wad(tokens: bigint | number): bigint {
  return BigInt(tokens) * ONE;
}
