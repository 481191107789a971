/**
 * The relay's job intake: BullMQ workers on one destination's queue (job id = message id), each
 * job handed to the relay (`take`). A message that waits goes back to the queue as a delayed job
 * without spending an attempt (`delay`, `backOff`), as does one whose chain or Redis is
 * unreachable; a failed attempt is counted, and a job's last one dead-lettered.
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";

import { isTransient } from "../chain/errors.js";
import type { Chain } from "../config/load.js";
import { errorText, type Logger } from "../log.js";
import { Lru } from "../lru.js";
import type { NodeContext } from "../node.js";
import { bullPrefix, deadLetterName, queueName, type RelayJobData } from "./queue.js";
import { waitBackoffMs } from "./reverts.js";

/** Jobs per BullMQ worker: `relayer.concurrency` is shared by this many-job workers. */
const JOBS_PER_WORKER = 250;

/**
 * The error a job fails with: the original's name (the failure metric's label) and first line.
 * BullMQ keeps a failed attempt's message and stack in the job's hash and reads them back with the
 * job on every later attempt, and viem's errors carry the whole request: a failed `deliver` of a
 * batch put its calldata (hundreds of KB) into every job of the batch, attempt after attempt.
 */
export function jobError(e: unknown): Error {
  if (e instanceof DelayedError || e instanceof UnrecoverableError) return e;
  const short = new Error(errorText(e));
  short.name = e instanceof Error ? e.name : "Error";
  return short;
}

/** Whether a failed attempt was the job's last (it is dead-lettered). */
export function isFinalAttempt(err: Error, attemptsMade: number, attempts = 1): boolean {
  return err instanceof UnrecoverableError || attemptsMade >= attempts;
}

/** How many BullMQ workers share `concurrency` jobs, and how many jobs each takes at once. */
export function workerShares(concurrency: number): { workers: number; each: number } {
  const workers = Math.max(1, Math.ceil(concurrency / JOBS_PER_WORKER));
  return { workers, each: Math.ceil(concurrency / workers) };
}

export class RelayWorkers {
  private readonly workers: Worker<RelayJobData>[] = [];
  private deadLetters: Queue | undefined;
  private depthTimer: NodeJS.Timeout | undefined;
  /** Waits for signers or a window per message (and bundle): tries so far and the last reason. */
  private readonly backoffs = new Lru<string, { tries: number; reason: string }>(10_000);
  /** How long a taken job stays ours without its lock renewed. */
  readonly lockDurationMs: number;

  constructor(
    private readonly ctx: NodeContext,
    private readonly destination: Chain,
    private readonly log: Logger,
    private readonly options: { lockDurationMs?: number; stalledIntervalMs?: number },
    /** Handles one job: its result completes it; DelayedError or another error ends the attempt. */
    private readonly take: (job: Job<RelayJobData>, token?: string) => Promise<unknown>,
  ) {
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
  }

  start(): void {
    const { cfg } = this.ctx;
    const connection = this.ctx.bullConnection;
    this.deadLetters = new Queue(deadLetterName(this.destination.code), {
      connection,
      prefix: bullPrefix(cfg),
    });
    // A BullMQ worker takes its jobs one Redis round trip after the other; several workers take
    // them in parallel, so a burst of thousands of jobs reaches the batcher in a fraction of the
    // time (one worker took 2-3 s for 2,000 jobs on a busy machine).
    const { workers, each } = workerShares(cfg.relayer.concurrency);
    for (let w = 0; w < workers; w++) {
      const worker = new Worker<RelayJobData>(
        queueName(this.destination.code),
        (job, token) => this.process(job, token),
        {
          connection,
          prefix: bullPrefix(cfg),
          concurrency: each,
          lockDuration: this.lockDurationMs,
          stalledInterval: this.options.stalledIntervalMs ?? 30_000,
          maxStalledCount: 1_000,
        },
      );
      this.watch(worker);
      this.workers.push(worker);
    }
    this.depthTimer = setInterval(() => void this.reportDepth(), 5_000);
  }

  async stop(): Promise<void> {
    if (this.depthTimer) clearInterval(this.depthTimer);
    await Promise.all(this.workers.map((w) => w.close()));
    await this.deadLetters?.close();
  }

  /** Delays a message only signers or time can cure, longer each time; logs each new reason once. */
  async backOff(job: Job<RelayJobData>, token: string | undefined, reason: string): Promise<never> {
    const key = `${job.data.id.toLowerCase()}:${job.data.bundle ?? ""}`;
    const was = this.backoffs.get(key);
    const tries = was ? was.tries + 1 : 0;
    this.backoffs.set(key, { tries, reason });
    if (was?.reason !== reason) this.log.info({ msgId: job.data.id, reason }, "message waits");
    await job.moveToDelayed(Date.now() + waitBackoffMs(tries), token);
    throw new DelayedError(reason);
  }

  /** Delays a message by one poll of its destination (200 ms to 2 s); no attempt spent. */
  async delay(job: Job<RelayJobData>, token: string | undefined, reason: string): Promise<never> {
    const ms = Math.max(200, Math.min(this.destination.pollIntervalMs, 2_000));
    this.log.debug({ msgId: job.data.id, reason }, "message waits");
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError(reason);
  }

  private async process(job: Job<RelayJobData>, token?: string): Promise<unknown> {
    try {
      return await this.take(job, token);
    } catch (e) {
      // An unreachable chain or Redis is waited out without spending the message's attempts, so
      // an outage of any length loses nothing.
      if (!(e instanceof DelayedError) && isTransient(e))
        return this.delay(job, token, `unreachable: ${errorText(e)}`);
      throw jobError(e);
    }
  }

  private watch(worker: Worker<RelayJobData>): void {
    worker.on("error", (e) => this.log.warn({ err: errorText(e) }, "worker error"));
    worker.on("ready", () => this.log.debug("worker ready"));
    worker.on("drained", () => this.log.debug("queue drained"));
    worker.on("stalled", (id) => this.log.debug({ msgId: id }, "job stalled: taken again"));
    worker.on("failed", (job, err) => {
      if (!job) return;
      const final = isFinalAttempt(err, job.attemptsMade, job.opts.attempts);
      this.ctx.metrics.relayFailures.inc({
        destination: this.destination.codeHex,
        reason: err.name,
      });
      this.log.warn(
        { msgId: job.data.id, attempt: job.attemptsMade, final, err: errorText(err) },
        final ? "delivery failed for good: dead-lettered" : "delivery attempt failed, will retry",
      );
      if (final) {
        this.ctx.metrics.deadLetters.inc({ destination: this.destination.codeHex });
        void this.deadLetters
          ?.add(
            "dead",
            { ...job.data, error: errorText(err), failedAt: new Date().toISOString() },
            { jobId: job.data.id.toLowerCase() },
          )
          .catch((e: unknown) =>
            this.log.error({ msgId: job.data.id, err: errorText(e) }, "could not dead-letter"),
          );
      }
    });
  }

  private async reportDepth(): Promise<void> {
    try {
      const counts = await this.ctx.queues
        .queue(this.destination.codeHex)
        .getJobCounts("waiting", "delayed", "active", "failed");
      for (const [state, n] of Object.entries(counts))
        this.ctx.metrics.queueDepth.set({ destination: this.destination.codeHex, state }, n);
    } catch {
      // Redis away: the next round reports.
    }
  }
}
