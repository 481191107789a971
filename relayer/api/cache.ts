/**
 * Answers of chain reads reused for a short while, so that API requests (health, message status)
 * cost at most one chain read per key and period however many arrive: concurrent callers share
 * one read, a failed read is not kept, and at most `max` keys are held.
 */
import { Lru } from "../lru.js";

export class TtlCache<K, V> {
  private readonly entries: Lru<K, { at: number; value: Promise<V> }>;

  constructor(
    private readonly ttlMs: number,
    max = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new Lru(max);
  }

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}
