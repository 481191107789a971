import { randomUUID } from "node:crypto";

import type { Redis } from "ioredis";

const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * A lease in Redis: at most one process holds `key` at a time (e.g. the indexer of one chain), for
 * `ttlMs` after its last renewal. A process that dies loses it when the TTL runs out; a process
 * that stalls past the TTL finds out on its next renewal (and writes guarded by the lease fail).
 */
export class Lease {
  readonly value = randomUUID();

  constructor(
    readonly redis: Redis,
    readonly key: string,
    readonly ttlMs: number,
  ) {}

  /** Takes or renews the lease; true while we hold it. */
  async acquire(): Promise<boolean> {
    const renewed = (await this.redis.eval(
      RENEW,
      1,
      this.key,
      this.value,
      String(this.ttlMs),
    )) as number;
    if (renewed === 1) return true;
    const set = await this.redis.set(this.key, this.value, "PX", this.ttlMs, "NX");
    return set === "OK";
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.value).catch(() => undefined);
  }
}
