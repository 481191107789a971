import { DelayedError, UnrecoverableError, Worker, type Job, Queue } from "bullmq";
import { encodeFunctionData, parseEventLogs, type Hex, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { IInboxAbi, IRouteRegistryAbi, suiteErrorsAbi } from "../chain/abis.js";
import { walletClientFor } from "../chain/clients.js";
import { isTransient, revertOf } from "../chain/errors.js";
import { TxRevertedError, TxSender } from "../chain/sender.js";
import type { Chain } from "../config/load.js";
import type { StoredSnapshot } from "../indexer/store.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import {
  buildDelivery,
  decodeMessage,
  sortBySigner,
  type MerkleTree,
  type SignerSignature,
} from "../protocol/index.js";
import { bullPrefix, deadLetterName, queueName, type RelayJobData } from "./queue.js";
import { SignatureCollector } from "./signatures.js";

/** deliver() with every suite error, so a simulated revert is decoded by name. */
const deliverAbi = [...IInboxAbi, ...suiteErrorsAbi];

/** What became of one message in a batch attempt. */
type Outcome =
  | { kind: "delivered"; tx: Hex; status: "delivered" | "failed" }
  | { kind: "wait"; reason: string }
  | { kind: "error"; error: Error };

interface Item {
  data: RelayJobData;
  nonce: number;
  valueAtRisk: bigint;
  settle(outcome: Outcome): void;
  /** Renews the job's lock; false when another worker took the job meanwhile. */
  stillOurs(): Promise<boolean>;
}

interface RoutePolicy {
  minSigners: number;
  defaultCoverage: bigint;
  at: number;
}

/**
 * Delivers messages to one destination chain. Jobs come from a BullMQ queue (job id = message id):
 * each job waits in a per-origin batcher; a batch is proven against one signed checkpoint, signed
 * by enough attesters for the destination's coverage rule, simulated, sent, and counted done only
 * once its Delivered (or HandlerFailed) events are `confirmations` deep.
 *
 * Several processes may run this for one destination on one Redis: BullMQ hands each job to one
 * worker at a time, so their batches never overlap. A process that dies mid-batch leaves its jobs
 * to be taken again once their lock expires; every job first asks the Inbox whether its message was
 * delivered (at a confirmed block), so a batch that did land is not sent twice.
 */
export class DestinationRelay {
  private worker: Worker<RelayJobData> | undefined;
  private deadLetters: Queue | undefined;
  private readonly sender: TxSender;
  private readonly log: Logger;
  private readonly batchers = new Map<bigint, Batcher>();
  private readonly collector: SignatureCollector;
  private readonly policies = new Map<bigint, RoutePolicy>();
  private depthTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: NodeContext,
    readonly destination: Chain,
    key: Hex,
    private readonly options: { lockDurationMs?: number; stalledIntervalMs?: number } = {},
  ) {
    const account = privateKeyToAccount(key);
    this.log = ctx.log.child({ role: "relayer", destination: destination.codeHex });
    this.sender = new TxSender(
      ctx.client(destination.code),
      walletClientFor(destination, account),
      account,
      {
        log: this.log,
        metrics: ctx.metrics,
        chainLabel: destination.codeHex,
      },
    );
    this.collector = new SignatureCollector(ctx.checkpoints, this.log, ctx.metrics);
  }

  start(): void {
    const { cfg } = this.ctx;
    const connection = this.ctx.bullConnection;
    this.deadLetters = new Queue(deadLetterName(this.destination.code), {
      connection,
      prefix: bullPrefix(cfg),
    });
    this.worker = new Worker<RelayJobData>(
      queueName(this.destination.code),
      (job, token) => this.process(job, token),
      {
        connection,
        prefix: bullPrefix(cfg),
        concurrency: cfg.relayer.concurrency,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        stalledInterval: this.options.stalledIntervalMs ?? 30_000,
        maxStalledCount: 1_000,
      },
    );
    this.worker.on("error", (e) => this.log.warn({ err: errorText(e) }, "worker error"));
    this.worker.on("ready", () => this.log.debug("worker ready"));
    this.worker.on("drained", () => this.log.debug("queue drained"));
    this.worker.on("stalled", (id) => this.log.debug({ msgId: id }, "job stalled: taken again"));
    this.worker.on("failed", (job, err) => {
      if (!job) return;
      const final =
        err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
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
    this.depthTimer = setInterval(() => void this.reportDepth(), 5_000);
    this.log.info({ relayer: this.sender.address }, "relayer started");
  }

  async stop(): Promise<void> {
    if (this.depthTimer) clearInterval(this.depthTimer);
    for (const b of this.batchers.values()) b.flush();
    await this.worker?.close();
    await this.deadLetters?.close();
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

  private async process(job: Job<RelayJobData>, token?: string): Promise<unknown> {
    try {
      return await this.attempt(job, token);
    } catch (e) {
      // An unreachable chain or Redis is waited out without spending the message's attempts, so
      // an outage of any length loses nothing.
      if (!(e instanceof DelayedError) && isTransient(e))
        return this.delay(job, token, `unreachable: ${errorText(e)}`);
      throw e;
    }
  }

  private async attempt(job: Job<RelayJobData>, token?: string): Promise<unknown> {
    const d = job.data;
    this.log.debug({ msgId: d.id, attempt: job.attemptsMade + 1 }, "job taken");
    const origin = BigInt(`0x${d.origin}`);
    const state = await this.deliveredState(d.message);
    if (state === "confirmed") {
      this.log.info({ msgId: d.id }, "message already delivered (confirmed on the destination)");
      return { status: "already-delivered" };
    }
    if (state === "unconfirmed")
      return this.delay(job, token, "delivery seen, waiting for confirmations");
    const message = decodeMessage(d.message);
    const policy = await this.policy(origin);
    const valueAtRisk =
      message.amount > policy.defaultCoverage ? message.amount : policy.defaultCoverage;
    const outcome = await new Promise<Outcome>((settle) =>
      this.batcher(origin).add({
        data: d,
        nonce: d.nonce,
        valueAtRisk,
        settle,
        stillOurs: async () =>
          token === undefined ||
          (await job.extendLock(token, this.options.lockDurationMs ?? 30_000).catch(() => 0)) === 1,
      }),
    );
    if (outcome.kind === "delivered") return { status: outcome.status, tx: outcome.tx };
    if (outcome.kind === "wait") return this.delay(job, token, outcome.reason);
    throw outcome.error;
  }

  private async delay(
    job: Job<RelayJobData>,
    token: string | undefined,
    reason: string,
  ): Promise<never> {
    const ms = Math.max(200, Math.min(this.destination.pollIntervalMs, 2_000));
    this.log.debug({ msgId: job.data.id, reason }, "message waits");
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError(reason);
  }

  /**
   * Whether the Inbox holds the message delivered at a confirmed block, only at the tip, or not. Asked
   * by the encoded message: a system message's replay key is its id, not its nonce (protocol.md 3.3).
   */
  private async deliveredState(message: Hex): Promise<"confirmed" | "unconfirmed" | "no"> {
    const client = this.ctx.client(this.destination.code);
    const read = (blockNumber?: bigint) =>
      client.readContract({
        address: this.destination.contracts.inbox,
        abi: IInboxAbi,
        functionName: "isMessageDelivered",
        args: [message],
        blockNumber,
      });
    if (!(await read())) return "no";
    if (this.destination.confirmations === 0) return "confirmed";
    const tip = await client.getBlockNumber();
    const safe = tip - BigInt(this.destination.confirmations);
    return safe >= 0n && (await read(safe)) ? "confirmed" : "unconfirmed";
  }

  /** The route's default policy for messages from `origin` (from our registry, cached a minute). */
  private async policy(origin: bigint): Promise<RoutePolicy> {
    const cached = this.policies.get(origin);
    if (cached && Date.now() - cached.at < 60_000) return cached;
    let policy: RoutePolicy = { minSigners: 1, defaultCoverage: 0n, at: Date.now() };
    const registry = this.destination.contracts.registry;
    if (registry) {
      const route = await this.ctx.client(this.destination.code).readContract({
        address: registry,
        abi: IRouteRegistryAbi,
        functionName: "route",
        args: [origin],
      });
      policy = {
        minSigners: route.minSigners,
        defaultCoverage: route.defaultCoverage,
        at: Date.now(),
      };
    }
    this.policies.set(origin, policy);
    return policy;
  }

  private batcher(origin: bigint): Batcher {
    let b = this.batchers.get(origin);
    if (!b) {
      b = new Batcher(
        this.ctx.cfg.relayer.batchWaitMs,
        this.ctx.cfg.relayer.maxBatchMessages,
        (items) => this.deliverItems(origin, items),
      );
      this.batchers.set(origin, b);
    }
    return b;
  }

  /** Plans and sends the batches for `items` (all from `origin`); settles every item. */
  private async deliverItems(originCode: bigint, items: Item[]): Promise<void> {
    const origin = this.ctx.cfg.chain(originCode);
    const view = this.ctx.view(originCode);
    const { tree } = await view.sync();
    const byNonce = new Map<number, Item>();
    for (const item of items) {
      const twin = byNonce.get(item.nonce);
      if (twin) {
        item.settle({ kind: "wait", reason: "same message twice in one batch" });
        continue;
      }
      if (item.nonce >= tree.count) {
        item.settle({ kind: "wait", reason: `origin indexed up to ${tree.count} messages` });
        continue;
      }
      if (tree.leaf(item.nonce).toLowerCase() !== item.data.id.toLowerCase()) {
        item.settle({
          kind: "error",
          error: new UnrecoverableError(
            `not the message the origin Outbox holds at nonce ${item.nonce}`,
          ),
        });
        continue;
      }
      byNonce.set(item.nonce, item);
    }
    const ready = [...byNonce.values()].sort((a, b) => a.nonce - b.nonce);
    if (!ready.length) return;

    // The newest confirmed snapshot that someone signed and that covers some of these messages.
    const snapshots = (await view.snapshots()).filter((s) => s.count <= tree.count).reverse();
    let chosen: { snap: StoredSnapshot; signatures: SignerSignature[] } | undefined;
    for (const snap of snapshots.slice(0, 8)) {
      if (snap.count <= ready[0]!.nonce) break;
      const signatures = await this.collector.collect(origin, {
        origin: originCode,
        root: snap.root,
        count: snap.count,
      });
      if (signatures.length) {
        chosen = { snap, signatures };
        break;
      }
    }
    if (!chosen) {
      for (const item of ready)
        item.settle({ kind: "wait", reason: "no signed checkpoint covers this message yet" });
      return;
    }
    const covered = ready.filter((i) => i.nonce < chosen.snap.count);
    for (const item of ready)
      if (item.nonce >= chosen.snap.count)
        item.settle({
          kind: "wait",
          reason: `latest signed checkpoint has count ${chosen.snap.count}`,
        });
    const max = this.ctx.cfg.relayer.maxBatchMessages;
    for (let i = 0; i < covered.length; i += max) {
      await this.sendBatch(
        origin,
        tree,
        chosen.snap,
        chosen.signatures,
        covered.slice(i, i + max),
        false,
      );
    }
  }

  /** Chooses signers for the batch's value at risk, simulates, sends, confirms. */
  private async sendBatch(
    origin: Chain,
    tree: MerkleTree,
    snap: StoredSnapshot,
    all: SignerSignature[],
    items: Item[],
    everySigner: boolean,
  ): Promise<void> {
    const dest = this.destination;
    const client = this.ctx.client(dest.code);
    const log = this.log.child({ origin: origin.codeHex, count: snap.count });
    try {
      const policy = await this.policy(origin.code);
      const inbox = dest.contracts.inbox;
      const capacities = await Promise.all(
        all.map(async (s) => ({
          ...s,
          stake: await client.readContract({
            address: inbox,
            abi: IInboxAbi,
            functionName: "mirroredStake",
            args: [origin.code, s.signer],
          }),
          free: await client.readContract({
            address: inbox,
            abi: IInboxAbi,
            functionName: "freeCapacity",
            args: [origin.code, s.signer],
          }),
        })),
      );
      // Only mirrored attesters may sign (others make deliver revert); the freest first.
      const usable = capacities
        .filter((c) => c.stake > 0n)
        .sort((a, b) => (b.free > a.free ? 1 : b.free < a.free ? -1 : 0));
      const totalFree = usable.reduce((s, c) => s + c.free, 0n);
      // Keep the prefix of the batch the signers can cover; the rest waits for capacity.
      let fit = 0;
      let valueAtRisk = 0n;
      while (fit < items.length && valueAtRisk + items[fit]!.valueAtRisk <= totalFree)
        valueAtRisk += items[fit++]!.valueAtRisk;
      if (fit === 0 || usable.length < policy.minSigners) {
        const reason =
          usable.length < policy.minSigners
            ? `${usable.length} signers with free stake, route needs ${policy.minSigners}`
            : `signers' free capacity ${totalFree} below value at risk ${items[0]!.valueAtRisk}`;
        for (const item of items) item.settle({ kind: "wait", reason });
        return;
      }
      for (const item of items.slice(fit))
        item.settle({ kind: "wait", reason: "signers' free capacity used up by earlier messages" });
      items = items.slice(0, fit);
      let signers: SignerSignature[] = usable;
      if (!everySigner) {
        signers = [];
        let sum = 0n;
        for (const c of usable) {
          if (sum >= valueAtRisk && signers.length >= Math.max(1, policy.minSigners)) break;
          signers.push(c);
          sum += c.free;
        }
      }
      const delivery = buildDelivery({
        tree,
        count: snap.count,
        messages: items.map((i) => i.data.message),
      });
      const signatures = sortBySigner(
        signers.map((s) => ({ signer: s.signer, signature: s.signature })),
      ).map((s) => s.signature);
      const args = [
        { origin: origin.code, root: snap.root, count: snap.count },
        signatures,
        delivery.messages,
        delivery.proof,
      ] as const;
      const data = encodeFunctionData({ abi: IInboxAbi, functionName: "deliver", args });

      let gas: bigint;
      try {
        gas = await client.estimateContractGas({
          account: this.sender.account,
          address: dest.contracts.inbox,
          abi: deliverAbi,
          functionName: "deliver",
          args,
        });
      } catch (e) {
        const revert = revertOf(e);
        if (!revert) throw e; // RPC trouble: retried by the jobs
        log.info(
          { error: revert.name, args: revert.args, messages: items.length },
          "deliver simulation reverted",
        );
        if (revert.name === "AlreadyDelivered") {
          const id = String(revert.args[0]).toLowerCase();
          const rest = items.filter((i) => i.data.id.toLowerCase() !== id);
          for (const i of items)
            if (i.data.id.toLowerCase() === id)
              i.settle({ kind: "wait", reason: "delivered by someone else" });
          if (rest.length) await this.sendBatch(origin, tree, snap, all, rest, everySigner);
          return;
        }
        if (
          (revert.name === "InsufficientCoverage" || revert.name === "TooFewSigners") &&
          !everySigner &&
          signers.length < usable.length
        ) {
          await this.sendBatch(origin, tree, snap, all, items, true);
          return;
        }
        if (items.length > 1) {
          const half = Math.ceil(items.length / 2);
          await this.sendBatch(origin, tree, snap, all, items.slice(0, half), everySigner);
          await this.sendBatch(origin, tree, snap, all, items.slice(half), everySigner);
          return;
        }
        if (revert.name === "InsufficientCoverage" || revert.name === "TooFewSigners") {
          items[0]!.settle({ kind: "wait", reason: `${revert.name}: signers cannot cover it yet` });
          return;
        }
        items[0]!.settle({
          kind: "error",
          error: new Error(
            `deliver reverts: ${revert.name}(${revert.args.map(String).join(", ")})`,
          ),
        });
        return;
      }
      if (gas > BigInt(this.ctx.cfg.relayer.maxBatchGas) && items.length > 1) {
        const half = Math.ceil(items.length / 2);
        await this.sendBatch(origin, tree, snap, all, items.slice(0, half), everySigner);
        await this.sendBatch(origin, tree, snap, all, items.slice(half), everySigner);
        return;
      }

      // Fence: a worker that stalled past its lock may have lost these jobs to another process,
      // which may be delivering them now. Send only what is still ours.
      const held = await Promise.all(items.map((i) => i.stillOurs()));
      if (held.some((h) => !h)) {
        const lost = items.filter((_, i) => !held[i]);
        log.warn({ lost: lost.length }, "jobs taken by another worker meanwhile: left to it");
        for (const item of lost)
          item.settle({ kind: "error", error: new Error("job lock lost to another worker") });
        const kept = items.filter((_, i) => held[i]);
        if (kept.length) await this.sendBatch(origin, tree, snap, all, kept, everySigner);
        return;
      }
      log.info(
        {
          messages: items.length,
          signers: signatures.length,
          gas: Number(gas),
          first: items[0]!.nonce,
          last: items[items.length - 1]!.nonce,
        },
        "sending batch",
      );
      let receipt: TransactionReceipt;
      try {
        receipt = await this.sender.send({
          to: dest.contracts.inbox,
          data,
          gas: (gas * 6n) / 5n,
          label: "deliver",
          resendIfDropped: false,
        });
      } catch (e) {
        this.ctx.metrics.batches.inc({
          destination: dest.codeHex,
          outcome: e instanceof TxRevertedError ? "reverted" : "send-error",
        });
        throw e;
      }
      this.ctx.metrics.batches.inc({ destination: dest.codeHex, outcome: "mined" });
      this.ctx.metrics.batchSize.observe({ destination: dest.codeHex }, items.length);
      this.ctx.metrics.batchGas.observe({ destination: dest.codeHex }, Number(receipt.gasUsed));
      const events = parseEventLogs({
        abi: IInboxAbi,
        logs: receipt.logs.filter(
          (l) => l.address.toLowerCase() === dest.contracts.inbox.toLowerCase(),
        ),
        eventName: ["Delivered", "HandlerFailed"],
      });
      const delivered = new Set(
        events
          .filter((e) => e.eventName === "Delivered")
          .map((e) => (e.args as { id: Hex }).id.toLowerCase()),
      );
      const failed = new Set(
        events
          .filter((e) => e.eventName === "HandlerFailed")
          .map((e) => (e.args as { id: Hex }).id.toLowerCase()),
      );
      await this.waitConfirmed(receipt);
      for (const item of items) {
        const id = item.data.id.toLowerCase();
        if (delivered.has(id)) {
          const status = failed.has(id) ? "failed" : "delivered";
          this.ctx.metrics.messagesDelivered.inc({
            origin: origin.codeHex,
            destination: dest.codeHex,
            by: "us",
          });
          this.log.info(
            {
              msgId: item.data.id,
              nonce: item.nonce,
              tx: receipt.transactionHash,
              block: Number(receipt.blockNumber),
              status,
            },
            status === "delivered"
              ? "message delivered"
              : "message delivered, handler failed (retry possible)",
          );
          item.settle({ kind: "delivered", tx: receipt.transactionHash, status });
        } else {
          item.settle({
            kind: "error",
            error: new Error(
              `no Delivered event for ${item.data.id} in ${receipt.transactionHash}`,
            ),
          });
        }
      }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      log.warn({ err: errorText(e), messages: items.length }, "batch failed");
      for (const item of items) item.settle({ kind: "error", error });
    }
  }

  /** Waits until the receipt is `confirmations` deep and still on the chain. */
  private async waitConfirmed(receipt: TransactionReceipt): Promise<void> {
    const conf = BigInt(this.destination.confirmations);
    if (conf === 0n) return;
    const client = this.ctx.client(this.destination.code);
    for (;;) {
      const tip = await client.getBlockNumber();
      if (tip >= receipt.blockNumber + conf) {
        const again = await client
          .getTransactionReceipt({ hash: receipt.transactionHash })
          .catch(() => undefined);
        if (again?.blockHash !== receipt.blockHash)
          throw new Error(`deliver ${receipt.transactionHash} left the chain (reorg)`);
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(this.destination.pollIntervalMs, 1_000)));
    }
  }
}

/**
 * Collects items for one origin and hands them over as a batch when `max` are waiting or `waitMs`
 * after the first one arrived.
 */
class Batcher {
  private pending: Item[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly waitMs: number,
    private readonly max: number,
    private readonly run: (items: Item[]) => Promise<void>,
  ) {}

  add(item: Item): void {
    this.pending.push(item);
    if (this.pending.length >= this.max) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.waitMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.pending;
    this.pending = [];
    if (!items.length) return;
    this.run(items).catch((e: unknown) => {
      const error = e instanceof Error ? e : new Error(String(e));
      for (const item of items) item.settle({ kind: "error", error });
    });
  }
}
