import type { Redis } from "ioredis";
import { getAddress, type Address, type Hex } from "viem";

import {
  checkpointDomain,
  recoverCheckpointSigner,
  sortBySigner,
  type Checkpoint,
  type CheckpointDomain,
  type SignerSignature,
} from "./protocol/index.js";
import type { Chain } from "./config/load.js";

/** A checkpoint with the signatures a node knows for it. */
export interface SignedCheckpoint {
  origin: bigint;
  root: Hex;
  count: number;
  last: Hex;
  signatures: SignerSignature[];
}

/** The EIP-712 domain of a configured chain's checkpoints. */
export function domainOf(chain: Chain): CheckpointDomain {
  return checkpointDomain({ evmChainId: BigInt(chain.chainId), outbox: chain.contracts.outbox });
}

/** Recovers the signer of `signature`; undefined when the signature is malformed. */
export async function signerOf(
  domain: CheckpointDomain,
  checkpoint: Checkpoint,
  signature: Hex,
): Promise<Address | undefined> {
  try {
    return getAddress(recoverCheckpointSigner(domain, checkpoint, signature));
  } catch {
    return undefined;
  }
}

/**
 * Checkpoint signatures known to this node, per origin and count: its own attester's, and valid
 * ones fetched from other nodes. Only signatures whose recovered signer matches are stored.
 *
 *   P:cp:O           hash  count -> root:last
 *   P:sigs:O:COUNT   hash  signer -> signature
 *   P:cpidx:O        zset  count scored by count (the latest without reading every count)
 */
export class CheckpointStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  private cpKey(origin: bigint): string {
    return `${this.prefix}:cp:${origin.toString(16)}`;
  }

  private sigKey(origin: bigint, count: number): string {
    return `${this.prefix}:sigs:${origin.toString(16)}:${count}`;
  }

  /** Adds signatures (already checked by the caller) for `checkpoint`. */
  async add(checkpoint: Checkpoint, signatures: SignerSignature[]): Promise<void> {
    if (signatures.length === 0) return;
    const m = this.redis.multi();
    m.hset(
      this.cpKey(checkpoint.origin),
      String(checkpoint.count),
      `${checkpoint.root}:${checkpoint.last}`,
    );
    m.zadd(this.idxKey(checkpoint.origin), checkpoint.count, String(checkpoint.count));
    for (const s of signatures)
      m.hset(this.sigKey(checkpoint.origin, checkpoint.count), s.signer, s.signature);
    await m.exec();
  }

  async get(origin: bigint, count: number): Promise<SignedCheckpoint | undefined> {
    const stored = await this.redis.hget(this.cpKey(origin), String(count));
    // A root alone was stored before checkpoints carried their last leaf: its signatures are of
    // the old typed data and useless now.
    const [root, last] = stored?.split(":") ?? [];
    if (!root || !last) return undefined;
    const sigs = await this.redis.hgetall(this.sigKey(origin, count));
    const signatures = sortBySigner(
      Object.entries(sigs).map(([signer, signature]) => ({
        signer: signer as Address,
        signature: signature as Hex,
      })),
    );
    return { origin, root: root as Hex, count, last: last as Hex, signatures };
  }

  /** Counts with known signatures, ascending. */
  async counts(origin: bigint): Promise<number[]> {
    return (await this.redis.hkeys(this.cpKey(origin))).map(Number).sort((a, b) => a - b);
  }

  private idxKey(origin: bigint): string {
    return `${this.prefix}:cpidx:${origin.toString(16)}`;
  }

  /** The highest count with signatures, from the count index (completed once for older data). */
  async latest(origin: bigint): Promise<SignedCheckpoint | undefined> {
    const [indexed, stored] = await Promise.all([
      this.redis.zcard(this.idxKey(origin)),
      this.redis.hlen(this.cpKey(origin)),
    ]);
    if (indexed < stored) {
      const m = this.redis.multi();
      for (const c of await this.counts(origin)) m.zadd(this.idxKey(origin), c, String(c));
      await m.exec();
    }
    const [last] = await this.redis.zrevrange(this.idxKey(origin), 0, 0);
    return last === undefined ? undefined : this.get(origin, Number(last));
  }

  /** Whether `signer` already signed `count` of `origin`. */
  async has(origin: bigint, count: number, signer: Address): Promise<boolean> {
    return (await this.redis.hexists(this.sigKey(origin, count), signer)) === 1;
  }
}
