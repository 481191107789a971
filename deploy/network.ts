/**
 * Bringing up a local DistPOS network: a suite on each chain, every pair connected, attesters
 * staked and allocated to every peer, mirrors seeded. Used by the local demo and by the tests, so
 * both run the production deploy and connect path.
 */
import { ethers, type Wallet } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

import { enrollBothWays, seedBothWays } from "./connect.js";
import { deployLocalSuite, suiteAs, type LocalSuiteParameters, type Suite } from "./suite.js";

/** One chain of a local network. */
export interface NetworkMember {
  name: string;
  connection: NetworkConnection;
  suite: Suite;
  /** Attesters staked on this chain (their keys sign this chain's checkpoints), ascending. */
  attesters: Wallet[];
}

export interface LocalNetworkOptions extends LocalSuiteParameters {
  /** Attesters per chain. */
  attestersPerChain?: number;
  /** Stake per attester, in token units. */
  stake?: bigint;
  /** Allocation of each attester to each peer, in token units. */
  allocation?: bigint;
  /**
   * Allocations by attester index (attesters are sorted by address), overriding `allocation` for
   * those indices: e.g. give one attester a majority of the stake, which alone can then sign the
   * stake reports every mirror change needs (protocol.md 3.5).
   */
  allocations?: bigint[];
  /** Default minimum signers of every route. */
  minSigners?: number;
  /** Seed the mirrors (default true; false for tests of the bootstrap itself). */
  seed?: boolean;
  /** Suite parameters for one chain only (e.g. a 6-decimal token), by chain name. */
  perChain?: Record<string, LocalSuiteParameters>;
  /** Attester keys to use instead of random ones, per chain name. */
  attesterKeys?: Record<string, string[]>;
  /** Progress lines. */
  log?: (line: string) => void;
}

export const DEFAULT_STAKE = 1_000n * 10n ** 18n;
export const DEFAULT_ALLOCATION = 100n * 10n ** 18n;

/**
 * Deploys a suite on every chain, connects every pair both ways, stakes each attester and
 * allocates it to every peer, then seeds every mirror from the peers' StakingHubs.
 */
export async function deployLocalNetwork(
  chains: { name: string; connection: NetworkConnection }[],
  options: LocalNetworkOptions = {},
): Promise<NetworkMember[]> {
  const log = options.log ?? (() => {});
  const stake = options.stake ?? DEFAULT_STAKE;
  const allocation = options.allocation ?? DEFAULT_ALLOCATION;

  const members: NetworkMember[] = [];
  for (const { name, connection } of chains) {
    const suite = await deployLocalSuite(connection, name, {
      ...options,
      ...options.perChain?.[name],
    });
    log(
      `${name}: suite deployed (chain code ${suite.addresses.chainCode}, outbox ${suite.addresses.outbox})`,
    );
    const keys = options.attesterKeys?.[name];
    const attesters = await fundedWallets(
      connection,
      suite,
      keys?.length ?? options.attestersPerChain ?? 3,
      stake * 2n,
      keys,
    );
    members.push({ name, connection, suite, attesters });
  }

  for (const [a, b] of pairs(members)) {
    await enrollBothWays(a.suite, b.suite, { minSigners: options.minSigners ?? 1, log });
  }

  for (const member of members) {
    for (const [index, attester] of member.attesters.entries()) {
      const own = suiteAs(member.suite, attester);
      const allocated = options.allocations?.[index] ?? allocation;
      await (await own.token.approve(member.suite.addresses.stakingHub, ethers.MaxUint256)).wait();
      await (await own.stakingHub.stake(stake > allocated ? stake : allocated)).wait();
      for (const peer of members) {
        if (peer === member || allocated === 0n) continue;
        await (await own.stakingHub.allocate(peer.suite.code, allocated)).wait();
      }
    }
    log(
      `${member.name}: ${member.attesters.length} attesters staked, each allocated to every peer`,
    );
  }

  if (options.seed ?? true) {
    for (const [a, b] of pairs(members)) await seedBothWays(a.suite, b.suite, { log });
  }
  return members;
}

/**
 * Wallets on `connection` with gas money and `tokens` settlement tokens each: from `keys`, or new
 * random ones. Sorted by address, the order signatures take on-chain.
 */
export async function fundedWallets(
  connection: NetworkConnection,
  suite: Suite,
  count: number,
  tokens: bigint,
  keys?: string[],
): Promise<Wallet[]> {
  const wallets: Wallet[] = [];
  for (let i = 0; i < count; i++) {
    const base = keys?.[i] ? new ethers.Wallet(keys[i]) : ethers.Wallet.createRandom();
    const wallet = base.connect(connection.ethers.provider) as unknown as Wallet;
    await connection.networkHelpers.setBalance(wallet.address, 10n ** 21n);
    if (tokens > 0n) await (await suite.token.mint(wallet.address, tokens)).wait();
    wallets.push(wallet);
  }
  return wallets.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
}

/** Every unordered pair of `items`. */
export function pairs<T>(items: T[]): [T, T][] {
  const out: [T, T][] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) out.push([items[i], items[j]]);
  }
  return out;
}
