/**
 * Who may sign a community's route record, read from the home chain only: for a peer, an attester
 * the home Inbox mirrors for that peer (stake > 0); for the home community, an attester bonded on
 * the home StakingHub and not slashed. Answers are cached for a while (bounded, per signer), so a
 * peer sending records cannot make the node read the chain per record.
 */
import type { Address, PublicClient } from "viem";

import { IInboxAbi, IStakingHubAbi } from "../chain/abis.js";
import type { Chain, ChainEntry } from "../config/load.js";
import { Lru } from "../lru.js";
import { formatChainCode } from "../protocol/index.js";
import { RouteRecordError, verifyRouteRecord, type SignedRouteRecord } from "./record.js";

export interface SignerStake {
  /** Mirrored stake (18 decimals) for a peer; bonded stake (home token units) for home. */
  stake: bigint;
  /** Where the stake was read. */
  source: "home-inbox-mirror" | "home-staking-hub";
}

export const TRUST_CACHE_MS = 60_000;

export class SignerTrust {
  private readonly cache = new Lru<string, { at: number; value: Promise<SignerStake> }>(4_096);

  constructor(
    private readonly home: Chain,
    private readonly client: PublicClient,
    private readonly ttlMs = TRUST_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get homeCode(): bigint {
    return this.home.code;
  }

  /** The stake that lets `signer` speak for chain `code` (0 when it may not). */
  stakeOf(code: bigint, signer: Address): Promise<SignerStake> {
    const key = `${code.toString(16)}:${signer.toLowerCase()}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.read(code, signer);
    this.cache.set(key, { at: this.now(), value });
    value.catch(() => this.cache.delete(key));
    return value;
  }

  private async read(code: bigint, signer: Address): Promise<SignerStake> {
    const c = this.home.contracts;
    if (code === this.home.code) {
      const [bonded, slashed] = await Promise.all([
        this.client.readContract({
          address: c.stakingHub,
          abi: IStakingHubAbi,
          functionName: "bonded",
          args: [signer],
        }),
        this.client.readContract({
          address: c.stakingHub,
          abi: IStakingHubAbi,
          functionName: "slashed",
          args: [signer],
        }),
      ]);
      return { stake: slashed ? 0n : bonded, source: "home-staking-hub" };
    }
    const mirrored = await this.client.readContract({
      address: c.inbox,
      abi: IInboxAbi,
      functionName: "mirroredStake",
      args: [code, signer],
    });
    return { stake: mirrored, source: "home-inbox-mirror" };
  }
}

/**
 * Whether `record` may stand for its community in the routing table of a node whose home is
 * `home` and whose table lists `chains`: signature and expiry (record.ts), a chain the table knows
 * with the same EVM chain id, and a signer with stake by `trust`'s rule. Returns the signer's
 * stake. The one check of both the node (table.ts) and `distpos routes`.
 * @throws RouteRecordError
 */
export async function admitRecord(
  record: SignedRouteRecord,
  chains: readonly ChainEntry[],
  trust: SignerTrust,
  nowSeconds: bigint,
): Promise<SignerStake & { signer: Address }> {
  const code = formatChainCode(record.code);
  const signer = await verifyRouteRecord(record, nowSeconds);
  const chain = chains.find((c) => c.code === record.code);
  if (!chain)
    throw new RouteRecordError("unknown-chain", `chain ${code} is not in this node's table`);
  if (BigInt(chain.chainId) !== record.evmChainId)
    throw new RouteRecordError(
      "wrong-chain-id",
      `chain ${code} has EVM chain id ${chain.chainId}, the record says ${record.evmChainId}`,
    );
  const stake = await trust.stakeOf(record.code, signer);
  if (stake.stake === 0n)
    throw trust.homeCode === record.code
      ? new RouteRecordError(
          "signer-not-staked",
          `${signer} is not bonded on the home StakingHub (or is slashed)`,
        )
      : new RouteRecordError(
          "signer-not-mirrored",
          `${signer} has no stake mirrored for chain ${code} by the home Inbox`,
        );
  return { ...stake, signer };
}
