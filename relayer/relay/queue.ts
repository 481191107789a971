import { Queue, type ConnectionOptions } from "bullmq";
import type { Hex } from "viem";

import type { LoadedConfig } from "../config/load.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";

/** What a relay job carries: enough to deliver without the origin's node. */
export interface RelayJobData {
  id: Hex;
  origin: string; // chain code hex
  destination: string;
  nonce: number;
  message: Hex;
  /**
   * Who queued it: the indexer, a peer node's hand-over (a message, or a verified bundle), or a
   * re-queue (reorg, operator).
   */
  source: "indexer" | "push" | "bundle" | "requeue";
  /** The stored bundle (handover/inbound.ts) the message is delivered from, when it came in one. */
  bundle?: string;
}

export function queueName(destination: bigint | string): string {
  return `relay-${typeof destination === "bigint" ? destination.toString(16) : destination}`;
}

export function deadLetterName(destination: bigint | string): string {
  return `relay-dead-${typeof destination === "bigint" ? destination.toString(16) : destination}`;
}

export function bullPrefix(cfg: LoadedConfig): string {
  return `${cfg.redis.prefix}:bull`;
}

/** Whether this node carries messages from `origin` to `destination` (the relayer filters). */
export function relays(cfg: LoadedConfig, origin: bigint, destination: bigint): boolean {
  const known = (code: bigint) => cfg.chainList.some((c) => c.code === code);
  if (!known(origin) || !known(destination) || origin === destination) return false;
  const hex = (c: bigint) => c.toString(16);
  if (cfg.relayer.origins && !cfg.relayer.origins.includes(hex(origin))) return false;
  if (cfg.relayer.destinations && !cfg.relayer.destinations.includes(hex(destination)))
    return false;
  return true;
}

/**
 * The relay queues, one per destination, on BullMQ. A job's id is the message id, so a message
 * found again (indexer re-reading after a crash or a reorg, a peer pushing it twice) is one job.
 */
export class RelayQueues {
  private readonly queues = new Map<string, Queue<RelayJobData>>();

  constructor(
    private readonly cfg: LoadedConfig,
    private readonly connection: ConnectionOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  queue(destination: string): Queue<RelayJobData> {
    let q = this.queues.get(destination);
    if (!q) {
      q = new Queue<RelayJobData>(queueName(destination), {
        connection: this.connection,
        prefix: bullPrefix(this.cfg),
        defaultJobOptions: {
          attempts: this.cfg.relayer.attempts,
          backoff: { type: "exponential", delay: this.cfg.relayer.backoffMs },
          removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
          removeOnFail: false,
          // Without a limit BullMQ appends every failed attempt's stack to the job's hash (and
          // reads them all back with the job): the last few say enough.
          stackTraceLimit: 3,
        },
      });
      q.on("error", (e) =>
        this.log.warn({ err: e.message, destination }, "queue connection error"),
      );
      this.queues.set(destination, q);
    }
    return q;
  }

  /**
   * Adds the messages this node relays; returns how many were for a relayed route. One `addBulk`
   * per destination: a batch of thousands of messages is one Redis round trip, not thousands.
   */
  async enqueue(
    messages: Omit<RelayJobData, "source">[],
    source: RelayJobData["source"],
  ): Promise<number> {
    const byDestination = new Map<string, Omit<RelayJobData, "source">[]>();
    for (const m of messages) {
      if (!relays(this.cfg, BigInt(`0x${m.origin}`), BigInt(`0x${m.destination}`))) continue;
      const list = byDestination.get(m.destination) ?? [];
      list.push(m);
      byDestination.set(m.destination, list);
    }
    let n = 0;
    for (const [destination, list] of byDestination) {
      await this.queue(destination).addBulk(
        list.map((m) => ({
          name: "deliver",
          data: { ...m, source },
          opts: { jobId: m.id.toLowerCase() },
        })),
      );
      this.metrics?.messagesQueued.inc({ destination, source }, list.length);
      for (const m of list)
        this.log.debug({ msgId: m.id, destination, source }, "message queued for delivery");
      n += list.length;
    }
    return n;
  }

  /**
   * Queues message `data` again although its job may have completed (its delivery left the chain
   * in a reorg) or failed (dead-lettered): the old job is removed and a new one added under the
   * same id. A job being worked on right now is left to its worker. Returns what was done.
   */
  async requeue(
    data: Omit<RelayJobData, "source">,
    source: RelayJobData["source"],
  ): Promise<"queued" | "active" | "not-relayed"> {
    if (!relays(this.cfg, BigInt(`0x${data.origin}`), BigInt(`0x${data.destination}`)))
      return "not-relayed";
    const queue = this.queue(data.destination);
    const jobId = data.id.toLowerCase();
    const job = await queue.getJob(jobId);
    if (job) {
      if ((await job.getState()) === "active") return "active";
      await job.remove();
    }
    await queue.add("deliver", { ...data, source }, { jobId });
    this.metrics?.messagesQueued.inc({ destination: data.destination, source });
    this.log.info({ msgId: data.id, destination: data.destination }, "message queued again");
    return "queued";
  }

  /** What the job of message `id` to `destination` carries, while BullMQ keeps the job. */
  async jobData(destination: string, id: Hex): Promise<Omit<RelayJobData, "source"> | undefined> {
    const job = await this.queue(destination).getJob(id.toLowerCase());
    if (!job?.data) return undefined;
    const { source: _source, ...data } = job.data;
    return data;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
