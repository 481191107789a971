import { getAbiItem, getAddress, pad, toHex, type Address, type PublicClient } from "viem";

import { IInboxAbi, IStakingHubAbi } from "../chain/abis.js";
import { EventDecoder } from "../chain/events.js";
import type { Chain } from "../config/load.js";

/**
 * Who may sign an origin's checkpoints for us: the attesters mirrored on the destination (for a
 * relayer) or staked on the home chain (for a watcher). Signatures of anyone else are dropped
 * before they are recovered, stored, served or read about on chain, so an entry node's junk costs
 * a set lookup per signature. Addresses are checksummed.
 */
export interface SignerSource {
  signers(origin: Chain): Promise<ReadonlySet<Address>>;
}

const MIRROR_EVENTS = new EventDecoder([
  getAbiItem({ abi: IInboxAbi, name: "MirrorInitialized" }),
  getAbiItem({ abi: IInboxAbi, name: "MirrorUpdated" }),
  getAbiItem({ abi: IInboxAbi, name: "MirrorReseeded" }),
]);

interface MirrorState {
  /** Next block to read. */
  from: bigint;
  /** Latest mirrored stake per attester (from the logs). */
  stakes: Map<Address, bigint>;
  readAt: number;
  reading?: Promise<void>;
  /** Attesters found mirrored by a direct read (not in the logs read), with when. */
  extra: Map<Address, bigint>;
  extraAt: number;
}

/** How often the fallback (the origin's staked attesters, read on the destination) is redone. */
const FALLBACK_MS = 60_000;

/**
 * The attesters of each origin mirrored on `destination`'s Inbox with a stake above zero, followed
 * from the Inbox's own logs (`MirrorInitialized`, `MirrorUpdated`, `MirrorReseeded`) from the
 * destination's `startBlock`: one `eth_getLogs` per `pollIntervalMs` at most, however many
 * signatures peers serve. The set follows the chain tip; a reorg that undid a mirror change only
 * makes a deliver simulation revert `UnknownSigner`, which the relayer already handles.
 *
 * Where the logs miss an attester (a `startBlock` after the mirror was seeded) and the origin's
 * RPC is at hand, the origin StakingHub's `attesters()` are read once a minute and those not in
 * the logs looked up on the destination (`mirroredStake`): a list only staking can lengthen.
 */
export class MirroredSigners implements SignerSource {
  private readonly state = new Map<bigint, MirrorState>();

  constructor(
    private readonly client: PublicClient,
    private readonly destination: Chain,
    private readonly originClient?: (origin: Chain) => PublicClient | undefined,
  ) {}

  async signers(origin: Chain): Promise<ReadonlySet<Address>> {
    const stakes = await this.stakes(origin);
    const s = this.state.get(origin.code)!;
    if (this.originClient && Date.now() - s.extraAt >= FALLBACK_MS) {
      s.extraAt = Date.now();
      await this.fallback(origin, s).catch(() => undefined); // the logs still count
    }
    return new Set([...stakes.keys(), ...s.extra.keys()]);
  }

  private async fallback(origin: Chain, s: MirrorState): Promise<void> {
    const client = this.originClient?.(origin);
    if (!client) return;
    const staked = await client.readContract({
      address: origin.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "attesters",
    });
    const missing = staked.map((a) => getAddress(a)).filter((a) => !s.stakes.has(a));
    const stakes = await Promise.all(
      missing.map((a) =>
        this.client.readContract({
          address: this.destination.contracts.inbox,
          abi: IInboxAbi,
          functionName: "mirroredStake",
          args: [origin.code, a],
        }),
      ),
    );
    s.extra = new Map(missing.flatMap((a, i) => (stakes[i]! > 0n ? [[a, stakes[i]!]] : [])));
  }

  /** Mirrored stake per attester of `origin` on the destination (stake > 0 only). */
  async stakes(origin: Chain): Promise<ReadonlyMap<Address, bigint>> {
    let s = this.state.get(origin.code);
    if (!s) {
      s = {
        from: BigInt(this.destination.startBlock),
        stakes: new Map(),
        readAt: 0,
        extra: new Map(),
        extraAt: 0,
      };
      this.state.set(origin.code, s);
    }
    if (Date.now() - s.readAt >= Math.max(this.destination.pollIntervalMs, 100)) {
      const state = s;
      state.reading ??= this.read(origin, state).finally(() => (state.reading = undefined));
      await state.reading;
    }
    return s.stakes;
  }

  private async read(origin: Chain, s: MirrorState): Promise<void> {
    const tip = await this.client.getBlockNumber();
    const range = BigInt(this.destination.maxLogRange);
    while (s.from <= tip) {
      const to = s.from + range - 1n < tip ? s.from + range - 1n : tip;
      const logs = await MIRROR_EVENTS.getLogs(
        this.client,
        [this.destination.contracts.inbox],
        s.from,
        to,
        [pad(toHex(origin.code), { size: 32 })],
      );
      for (const log of logs) {
        const a = log.args;
        if (log.eventName === "MirrorUpdated") {
          set(s.stakes, a.attester as Address, a.stake as bigint);
        } else {
          const attesters = a.attesters as readonly Address[];
          const stakes = a.stakes as readonly bigint[];
          attesters.forEach((attester, i) => set(s.stakes, attester, stakes[i] ?? 0n));
        }
      }
      s.from = to + 1n;
    }
    s.readAt = Date.now();
  }
}

function set(stakes: Map<Address, bigint>, attester: Address, stake: bigint): void {
  const a = getAddress(attester);
  if (stake > 0n) stakes.set(a, stake);
  else stakes.delete(a);
}

/**
 * The attesters that ever staked on the home StakingHub (`attesters()`, one read per
 * `refreshMs` at most): everyone whose false signature a watcher can get slashed. Signatures of
 * anyone else cannot be proven (`NothingToSlash`), so a watcher never reads about them.
 */
export class StakedSigners implements SignerSource {
  private cached: { at: number; set: ReadonlySet<Address> } | undefined;
  private reading: Promise<ReadonlySet<Address>> | undefined;

  constructor(
    private readonly client: PublicClient,
    private readonly home: Chain,
    private readonly refreshMs = 2_000,
  ) {}

  async signers(): Promise<ReadonlySet<Address>> {
    if (this.cached && Date.now() - this.cached.at < this.refreshMs) return this.cached.set;
    this.reading ??= this.client
      .readContract({
        address: this.home.contracts.stakingHub,
        abi: IStakingHubAbi,
        functionName: "attesters",
      })
      .then((list) => {
        const set = new Set(list.map((a) => getAddress(a)));
        this.cached = { at: Date.now(), set };
        return set;
      })
      .finally(() => (this.reading = undefined));
    return this.reading;
  }
}
