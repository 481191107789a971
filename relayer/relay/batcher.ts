/**
 * Collects items for one origin and hands them over as a batch when `max()` are waiting or `waitMs`
 * after the first one arrived. A `max` function is asked on every item: the relayer sizes batches by the gas
 * the last delivery showed per message, which changes as deliveries are mined. The run is not
 * awaited: the next batch is built while earlier ones are in flight. A batch whose run throws is handed to `failed` (no item is left
 * unsettled by a crash of the run).
 */
export class Batcher<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly waitMs: number,
    private readonly max: number | (() => number),
    private readonly run: (items: T[]) => Promise<void>,
    private readonly failed: (items: T[], error: Error) => void,
  ) {}

  /** Items waiting for the next batch. */
  get size(): number {
    return this.pending.length;
  }

  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= (typeof this.max === "number" ? this.max : this.max())) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.waitMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.pending;
    this.pending = [];
    if (!items.length) return;
    this.run(items).catch((e: unknown) =>
      this.failed(items, e instanceof Error ? e : new Error(String(e))),
    );
  }
}
