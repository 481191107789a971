import { UnrecoverableError, type Job } from "bullmq";
import {
  encodeFunctionData,
  getAddress,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { IInboxAbi } from "../chain/abis.js";
import { readRoute } from "../chain/routeRegistry.js";
import { publicClientFor, walletClientFor } from "../chain/clients.js";
import { describeRevert, isTransient, revertOf } from "../chain/errors.js";
import { TxRevertedError, TxSender } from "../chain/sender.js";
import type { Chain } from "../config/load.js";
import { ChainStore, type StoredSnapshot } from "../indexer/store.js";

/**
 * A snapshot with the last leaf its checkpoint names (`Checkpoint.last`): from the origin's own
 * tree on the direct path, from the bundle's signed checkpoint on the hand-over (a bundle's proven
 * tree holds only its own messages, so it cannot say).
 */
type SignedSnapshot = StoredSnapshot & { last: Hex };
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import {
  addressToBytes32,
  buildDelivery,
  decodeMessage,
  deliverArgs,
  messageId,
  sortBySigner,
  type ProvingTree,
  type SignerSignature,
} from "../protocol/index.js";
import type { Bundle } from "../handover/bundle.js";
import { loadBundle, markSignerShortfall } from "../handover/inbound.js";
import { peerChain } from "../handover/peers.js";
import { bundleTree } from "../handover/provenTree.js";
import type { RelayJobData } from "./queue.js";
import { Lru } from "../lru.js";
import { batchSigners, readSignerCapacities, type SignerNeeds } from "./signerChoice.js";
import { planBatches, type MessageKind, type RecipientPolicy } from "./plan.js";
import { Batcher } from "./batcher.js";
import { type Outcome } from "./settle.js";
import { ConfirmationStalled } from "./confirm.js";
import { settleMinedBatch } from "./settleMined.js";
import { feeNeeded, judgeFees, messageCost, topUpTarget, type FeeGroup } from "./fees.js";
import { clearUnderpaid, markUnderpaid } from "./underpaid.js";
import { DeliverGas, type BatchGas } from "./deliverGas.js";
import { BATCH_FIXED_GAS } from "./gas.js";
import { replanMinedRevert, replanSimulationRevert, type ReplanEffects } from "./replan.js";
import { SignatureCollector } from "./signatures.js";
import { RelayWorkers } from "./worker.js";
import { MirroredSigners } from "./signers.js";

/** Whether `message` is a stake report from `origin`'s StakingHub to `dest`'s Inbox. */
function isStakeReportFrom(origin: Chain, dest: Chain, message: Hex): boolean {
  const m = decodeMessage(message);
  return (
    m.sender.toLowerCase() === addressToBytes32(origin.contracts.stakingHub).toLowerCase() &&
    m.recipient.toLowerCase() === addressToBytes32(dest.contracts.inbox).toLowerCase()
  );
}

interface Item {
  data: RelayJobData;
  nonce: number;
  valueAtRisk: bigint;
  /** When the job was taken (ms). */
  takenAt: number;
  /** When the item was first held back waiting for its origin (see `hold`). */
  heldSince?: number;
  settle(outcome: Outcome): void;
  /** Renews the job's lock; false when another worker took the job meanwhile. */
  stillOurs(): Promise<boolean>;
}

/**
 * How long a job may stay active, held in memory, waiting for its origin to be indexed far enough
 * and a checkpoint covering it to be signed, before it goes back to the queue as a delayed job.
 */
const HOLD_MS = 30_000;

/** Which messages one fee judgement (applyFeePolicy) may pair: those one checkpoint proves. */
interface FeeScope {
  /** Whether an item held for its fees is proven by this checkpoint (it may join the batch). */
  covers(item: Item): boolean;
  /**
   * Whether a top-up's target is a message of the origin's tree to this destination: a target it
   * lacks was made up (Outbox.topUp cannot prove the leaf); another destination's is not ours.
   */
  pairable(target: Hex): Promise<boolean>;
  /** Bundle flow: the stored bundle the items come from, which a joining message is delivered from. */
  bundle?: string;
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
 * to be taken again once their lock expires. Every job first looks for its delivery in the index of
 * the destination (confirmed blocks only); a delivery the index has not seen yet makes the batch's
 * simulation revert `AlreadyDelivered`, and then every message of the batch is checked against the
 * Inbox (at a confirmed block), so a batch that did land is not sent twice. Asking the Inbox for
 * every message up front instead costs one `eth_call` per message, the largest load a busy relayer
 * put on its RPC endpoint.
 *
 * Each stage of the pipeline is a module of its own, which this class wires for one destination:
 * jobs (worker.ts), batching (batcher.ts, plan.ts), signer choice (signerChoice.ts), gas
 * (deliverGas.ts), revert handling (reverts.ts, replan.ts) and confirmation (confirm.ts,
 * settleMined.ts). What stays here is the per-origin state and the order of the stages.
 */
export class DestinationRelay {
  private readonly jobs: RelayWorkers;
  private readonly sender: TxSender;
  private readonly log: Logger;
  private readonly batchers = new Map<bigint, Batcher<Item>>();
  private readonly collector: SignatureCollector;
  private readonly mirror: MirroredSigners;
  private readonly policies = new Map<bigint, RoutePolicy>();
  /** Recipients' own policies (read from the Inbox), cached for `RECIPIENT_POLICY_TTL_MS`. */
  private readonly recipientPolicies = new Lru<Address, RecipientPolicy & { at: number }>(10_000);
  private readonly held = new Map<Item, NodeJS.Timeout>();
  /** Per origin, the simulation revert logged last (cleared by a mined batch). */
  private readonly lastRevert = new Map<bigint, string>();
  /**
   * Items held for their fees (fees.ts): an underpaid message, and a top-up waiting for its
   * message, by id (lower case), with the id of the message a top-up is for.
   */
  private readonly feeHeld = new Map<string, { item: Item; target?: string }>();
  /**
   * Bundle flow: a message whose top-up came in a later bundle is delivered from that bundle (which
   * proves both, the origin adds the message to it): stored bundle key by message id (lower case).
   */
  private readonly rebundled = new Lru<string, string>(10_000);
  /** A client of chains.<destination>.witnessRpc (null: none configured), made on first use. */
  private witnessClient: PublicClient | null | undefined;
  /** The gas a batch is sent with, and how many messages a batch holds (deliverGas.ts). */
  private readonly gas: DeliverGas;
  private stopping = false;

  constructor(
    private readonly ctx: NodeContext,
    readonly destination: Chain,
    key: Hex,
    options: { lockDurationMs?: number; stalledIntervalMs?: number } = {},
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
        signal: ctx.shutdown.signal,
        chainLabel: destination.codeHex,
      },
    );
    this.gas = new DeliverGas(
      ctx.client(destination.code),
      destination.contracts.inbox,
      this.sender.account,
      ctx.cfg.relayer,
    );
    // The origin's RPC, where configured, only helps find attesters the logs read missed.
    this.mirror = new MirroredSigners(ctx.client(destination.code), destination, (origin) => {
      try {
        return ctx.client(origin.code);
      } catch {
        return undefined;
      }
    });
    this.collector = new SignatureCollector(ctx.checkpoints, this.mirror, this.log, ctx.metrics);
    this.jobs = new RelayWorkers(ctx, destination, this.log, options, (job, token) =>
      this.attempt(job, token),
    );
  }

  start(): void {
    this.jobs.start();
    this.log.info({ relayer: this.sender.address }, "relayer started");
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const [item, timer] of this.held) {
      clearTimeout(timer);
      item.settle({ kind: "wait", reason: "relayer stopping" });
    }
    this.held.clear();
    for (const b of this.batchers.values()) b.flush();
    await this.jobs.stop();
  }

  private async attempt(job: Job<RelayJobData>, token?: string): Promise<unknown> {
    const d = job.data;
    this.log.debug({ msgId: d.id, attempt: job.attemptsMade + 1 }, "job taken");
    const origin = BigInt(`0x${d.origin}`);
    const indexed = await ChainStore.delivery(this.ctx.redis, this.ctx.cfg.redis.prefix, d.id);
    if (indexed?.chain === this.destination.code) {
      this.log.info({ msgId: d.id }, "message already delivered (confirmed on the destination)");
      return { status: "already-delivered" };
    }
    const message = decodeMessage(d.message);
    const policy = await this.policy(origin);
    const valueAtRisk =
      (message.amount > policy.defaultCoverage ? message.amount : policy.defaultCoverage) +
      message.fee;
    const outcome = await new Promise<Outcome>((settle) =>
      this.batcher(origin).add({
        data: d,
        nonce: d.nonce,
        takenAt: Date.now(),
        valueAtRisk,
        settle,
        stillOurs: async () =>
          token === undefined ||
          (await job.extendLock(token, this.jobs.lockDurationMs).catch(() => 0)) === 1,
      }),
    );
    // Noted as relayed with its batch (sendBatch) before it was settled.
    if (outcome.kind === "delivered") return { status: outcome.status, tx: outcome.tx };
    if (outcome.kind === "done") {
      this.log.info({ msgId: d.id }, outcome.reason);
      return { status: "already-delivered" };
    }
    if (outcome.kind === "wait" && outcome.backoff)
      return this.jobs.backOff(job, token, outcome.reason);
    if (outcome.kind === "wait") return this.jobs.delay(job, token, outcome.reason);
    throw outcome.error;
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
      const route = await readRoute(this.ctx.client(this.destination.code), registry, origin);
      policy = {
        minSigners: route.minSigners,
        defaultCoverage: route.defaultCoverage,
        at: Date.now(),
      };
    }
    this.policies.set(origin, policy);
    return policy;
  }

  /**
   * Keeps an item whose origin is not indexed far enough, or not covered by a signed checkpoint
   * yet, in this process: its job stays active (BullMQ renews the lock) and the item joins the
   * origin's next batch after one poll interval. Sending such jobs back to the queue's delayed set
   * instead costs every one of them a full attempt (queue round trips, an Inbox read) per poll
   * interval, which under load starves the work that would cover them. After HOLD_MS it goes back
   * to the queue like any other wait.
   */
  private hold(origin: Chain, item: Item, reason: string): void {
    item.heldSince ??= Date.now();
    if (this.stopping || Date.now() - item.heldSince > HOLD_MS) {
      item.settle({ kind: "wait", reason });
      return;
    }
    const timer = setTimeout(
      () => {
        this.held.delete(item);
        this.batcher(origin.code).add(item);
      },
      Math.max(20, Math.min(origin.pollIntervalMs, 1_000)),
    );
    this.held.set(item, timer);
  }

  private batcher(origin: bigint): Batcher<Item> {
    let b = this.batchers.get(origin);
    if (!b) {
      b = new Batcher<Item>(
        this.ctx.cfg.relayer.batchWaitMs,
        () => this.gas.batchSize(origin),
        (items) => this.deliverItems(origin, items),
        (items, error) => {
          for (const item of items) item.settle({ kind: "error", error });
        },
      );
      this.batchers.set(origin, b);
    }
    return b;
  }

  /** Plans and sends the batches for `items` (all from `origin`); settles every item. */
  private async deliverItems(originCode: bigint, items: Item[]): Promise<void> {
    // The first round from an origin is a probe: until it knows the gas per message, later rounds
    // wait for it (their batcher gathers meanwhile) and are then sized by its figure.
    const probe = await this.gas.startRound(originCode);
    try {
      await this.deliverRound(originCode, items);
    } finally {
      if (probe) this.gas.endProbe(originCode);
    }
  }

  /** One round of `deliverItems`. */
  private async deliverRound(originCode: bigint, items: Item[]): Promise<void> {
    await this.gas.refresh();
    const fromBundles = items.filter((i) => i.data.bundle !== undefined);
    if (fromBundles.length) {
      await this.deliverFromBundles(originCode, fromBundles);
      items = items.filter((i) => i.data.bundle === undefined);
      if (!items.length) return;
    }
    const origin = this.ctx.cfg.chainWithContracts(originCode);
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
        this.hold(origin, item, `origin indexed up to ${tree.count} messages`);
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
    let chosen: { snap: SignedSnapshot; signatures: SignerSignature[] } | undefined;
    const collectStart = performance.now();
    for (const snap of snapshots.slice(0, 8)) {
      if (snap.count <= ready[0]!.nonce) break;
      const last = tree.leaf(snap.count - 1);
      const signatures = await this.collector.collect(origin, {
        origin: originCode,
        root: snap.root,
        count: snap.count,
        last,
      });
      if (signatures.length) {
        chosen = { snap: { ...snap, last }, signatures };
        break;
      }
    }
    this.log.debug(
      {
        origin: origin.codeHex,
        items: items.length,
        ready: ready.length,
        count: chosen?.snap.count,
        collectMs: Math.round(performance.now() - collectStart),
      },
      "batch planned",
    );
    if (!chosen) {
      for (const item of ready)
        this.hold(origin, item, "no signed checkpoint covers this message yet");
      return;
    }
    const covered = ready.filter((i) => i.nonce < chosen.snap.count);
    for (const item of ready)
      if (item.nonce >= chosen.snap.count)
        this.hold(origin, item, `latest signed checkpoint has count ${chosen.snap.count}`);
    if (!covered.length) return;
    const count = chosen.snap.count;
    const paying = await this.applyFeePolicy(origin, covered, {
      covers: (i) => i.data.bundle === undefined && i.nonce < count,
      pairable: async (target) =>
        (await ChainStore.message(this.ctx.redis, this.ctx.cfg.redis.prefix, target))
          ?.destination === this.destination.code,
    });
    if (!paying.length) return;
    // Planned by the recipients' policies (plan.ts): a message no signer set can carry, or whose
    // policy coverage this window cannot take, waits alone; system messages go apart.
    const plan = await this.plan(origin, paying, chosen.signatures.length);
    for (const w of plan.waiting) w.item.settle({ kind: "wait", reason: w.reason });
    // Sent back to back (the sender keeps their nonces in order) and confirmed together: waiting
    // for each batch's confirmations before sending the next would cost blocks per batch.
    await Promise.all(
      plan.batches.map((b) =>
        this.sendBatch(origin, tree, chosen.snap, chosen.signatures, b.items, b.everySigner),
      ),
    );
  }

  /**
   * The fee policy (fees.ts) on `items`, all proven by one checkpoint (`scope`): returns the items
   * that pay, a message with its top-ups next to each other. A message held earlier for its fees
   * and a top-up for it meet here, whichever comes second pulling the other out of its hold; an
   * underpaid group is held again (status `underpaid`), so it is re-judged every poll and goes back
   * to the queue after HOLD_MS, never failed. A top-up whose message is neither here nor held waits
   * for it (the message's delayed job is promoted) unless that message was delivered already.
   */
  private async applyFeePolicy(origin: Chain, items: Item[], scope: FeeScope): Promise<Item[]> {
    const cfg = this.ctx.cfg;
    const fees = cfg.relayer.fees;
    const dest = this.destination;
    const outbox = addressToBytes32(dest.contracts.outbox).toLowerCase() as Hex;
    // Pull in the partners held for their fees.
    const ids = new Set(items.map((i) => i.data.id.toLowerCase()));
    const targets = new Set<string>();
    for (const item of items) {
      const m = decodeMessage(item.data.message);
      if (m.recipient.toLowerCase() === outbox && m.body.length === 66)
        targets.add(m.body.toLowerCase());
    }
    for (const [id, held] of this.feeHeld) {
      if (!this.held.has(held.item) || held.item.data.origin !== items[0]!.data.origin) {
        if (!this.held.has(held.item)) this.feeHeld.delete(id);
        continue;
      }
      // Only what the chosen checkpoint proves can join.
      if (ids.has(id) || !scope.covers(held.item)) continue;
      if (targets.has(id) || (held.target !== undefined && ids.has(held.target))) {
        clearTimeout(this.held.get(held.item));
        this.held.delete(held.item);
        this.feeHeld.delete(id);
        if (scope.bundle !== undefined) {
          held.item.data.bundle = scope.bundle;
          this.rebundled.set(id, scope.bundle);
        }
        items.push(held.item);
        ids.add(id);
      }
    }
    items.sort((a, b) => a.nonce - b.nonce);

    const system = new Set(
      [origin.contracts.stakingHub, origin.contracts.bank].map((a) =>
        addressToBytes32(a).toLowerCase(),
      ),
    );
    const nativePrice = fees.nativePrice[dest.codeHex];
    const gas =
      BigInt(Math.ceil(this.gas.perMessage(origin.code) ?? fees.gasPerMessage)) +
      BigInt(Math.ceil(BATCH_FIXED_GAS / items.length));
    const gasPrice =
      nativePrice === undefined ? 0n : await this.ctx.client(dest.code).getGasPrice();
    const cost = messageCost(gas, gasPrice, nativePrice);
    const judged = judgeFees(
      items,
      (i) => ({
        id: i.data.id,
        message: i.data.message,
        system: system.has(decodeMessage(i.data.message).sender.toLowerCase()),
      }),
      { destinationOutbox: outbox, cost, config: fees },
    );
    const paying: Item[] = judged.pay.flatMap((g) => g.items);
    for (const { item, target } of judged.orphans) {
      const [delivered, pairable] = await Promise.all([
        ChainStore.delivery(this.ctx.redis, cfg.redis.prefix, target as Hex),
        scope.pairable(target as Hex),
      ]);
      if (delivered || !pairable) {
        // Nothing to deliver it with: the top-up is a message like any other.
        const fee = decodeMessage(item.data.message).fee;
        if (fee >= feeNeeded(1, cost, fees.minMarginPct)) paying.push(item);
        else this.holdForFees(origin, item, undefined, "top-up below its own delivery cost");
        continue;
      }
      this.holdForFees(origin, item, target, "top-up waits for its message to be delivered with");
      const job = await this.ctx.queues.queue(dest.codeHex).getJob(target);
      // Bundle flow: the message comes back to be delivered from the top-up's bundle.
      if (scope.bundle !== undefined) this.rebundled.set(target, scope.bundle);
      if (job && scope.bundle !== undefined)
        await job.updateData({ ...job.data, bundle: scope.bundle }).catch(() => undefined);
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
    }
    for (const g of judged.underpaid) await this.underpaid(origin, g);
    await clearUnderpaid(
      this.ctx.redis,
      cfg.redis.prefix,
      judged.pay.filter((g) => g.fee > 0n).map((g) => g.id),
    );
    return paying.sort((a, b) => a.nonce - b.nonce);
  }

  /** Holds an underpaid group (status `underpaid`) until a top-up for it comes. */
  private async underpaid(origin: Chain, g: FeeGroup<Item>): Promise<void> {
    const reason = `underpaid: fees ${g.fee} (top-ups ${g.topUps}) below ${g.needed}`;
    await markUnderpaid(this.ctx.redis, this.ctx.cfg.redis.prefix, g.id, {
      fee: g.fee.toString(),
      topUps: g.topUps.toString(),
      needed: g.needed.toString(),
    });
    this.ctx.metrics.underpaid.inc({
      origin: origin.codeHex,
      destination: this.destination.codeHex,
    });
    const id = g.id.toLowerCase();
    for (const item of g.items) {
      const own = item.data.id.toLowerCase();
      this.holdForFees(origin, item, own === id ? undefined : id, reason);
    }
  }

  private holdForFees(origin: Chain, item: Item, target: string | undefined, reason: string) {
    this.log.debug({ msgId: item.data.id, reason }, "message waits for its fees");
    this.feeHeld.set(item.data.id.toLowerCase(), { item, target });
    this.hold(origin, item, reason);
  }

  /**
   * Delivers items that came in verified bundles (handover/inbound.ts): each bundle carries its
   * checkpoint, its signatures and the proof of its messages, so no index of the origin is read.
   * The bundle's proven part of the origin tree proves any subset of its messages, so batches are
   * planned and split as for indexed messages.
   */
  private async deliverFromBundles(originCode: bigint, items: Item[]): Promise<void> {
    const origin = await peerChain(this.ctx, originCode);
    const bundles = new Map<string, Bundle | undefined>();
    for (const item of items) {
      const key = this.rebundled.get(item.data.id.toLowerCase()) ?? item.data.bundle!;
      item.data.bundle = key;
      if (!bundles.has(key)) bundles.set(key, await loadBundle(this.ctx, key));
    }
    this.pairAcrossBundles(items, bundles);
    const byBundle = new Map<string, Item[]>();
    for (const item of items) {
      const list = byBundle.get(item.data.bundle!) ?? [];
      list.push(item);
      byBundle.set(item.data.bundle!, list);
    }
    await Promise.all(
      [...byBundle].map(async ([key, list]) => {
        const bundle = bundles.get(key) ?? (await loadBundle(this.ctx, key));
        if (!bundle) {
          for (const item of list)
            item.settle({
              kind: "error",
              error: new UnrecoverableError(`bundle ${key} is gone: the origin must hand it again`),
            });
          return;
        }
        const cp = bundle.checkpoint;
        const tree = bundleTree(key, bundle);
        const seen = new Set<number>();
        const ready: Item[] = [];
        for (const item of list.sort((a, b) => a.nonce - b.nonce)) {
          if (seen.has(item.nonce)) {
            item.settle({ kind: "wait", reason: "same message twice in one batch" });
            continue;
          }
          if (tree.leaf(item.nonce).toLowerCase() !== item.data.id.toLowerCase()) {
            item.settle({
              kind: "error",
              error: new UnrecoverableError(`message ${item.data.id} is not in its bundle`),
            });
            continue;
          }
          seen.add(item.nonce);
          ready.push(item);
        }
        if (!ready.length) return;
        const snap: SignedSnapshot = { count: cp.count, root: cp.root, block: 0, last: cp.last };
        const dest = this.destination.code;
        const paying = await this.applyFeePolicy(origin, ready, {
          covers: (i) => tree.leaf(i.nonce).toLowerCase() === i.data.id.toLowerCase(),
          // The bundle proves the topped-up message of the origin's tree (the origin adds it).
          pairable: async (target) =>
            bundle.messages.some(
              (m) => messageId(m).toLowerCase() === target && decodeMessage(m).destination === dest,
            ),
          bundle: key,
        });
        if (!paying.length) return;
        const plan = await this.plan(origin, paying, bundle.signatures.length);
        for (const w of plan.waiting) w.item.settle({ kind: "wait", reason: w.reason });
        await Promise.all(
          plan.batches.map((b) =>
            this.sendBatch(origin, tree, snap, bundle.signatures, b.items, b.everySigner),
          ),
        );
      }),
    );
  }

  /**
   * A message and its top-ups taken in one round from different bundles: all are delivered from the
   * one bundle that proves most of them (the newest on a tie: the latest top-up's, where the origin
   * puts the message and every earlier undelivered top-up, fees.ts `withTopUpTargets`), so they go
   * in one batch and are paid together. A top-up left in an older bundle would wait alone after its
   * message was delivered, underpaid for good.
   */
  private pairAcrossBundles(items: Item[], bundles: Map<string, Bundle | undefined>): void {
    const outbox = addressToBytes32(this.destination.contracts.outbox).toLowerCase() as Hex;
    const byId = new Map(items.map((i) => [i.data.id.toLowerCase(), i]));
    const groups = new Map<string, Item[]>();
    for (const item of items) {
      const target = topUpTarget(item.data.message, outbox);
      if (target === undefined || !byId.has(target)) continue;
      groups.set(target, [...(groups.get(target) ?? [byId.get(target)!]), item]);
    }
    const proves = (key: string, item: Item) => {
      const bundle = bundles.get(key);
      return (
        bundle !== undefined &&
        bundleTree(key, bundle).leaf(item.nonce).toLowerCase() === item.data.id.toLowerCase()
      );
    };
    for (const members of groups.values()) {
      let best: { key: string; proven: number; count: number } | undefined;
      for (const key of new Set(members.map((m) => m.data.bundle!))) {
        const proven = members.filter((m) => proves(key, m)).length;
        const count = bundles.get(key)?.checkpoint.count ?? 0;
        if (!best || proven > best.proven || (proven === best.proven && count > best.count))
          best = { key, proven, count };
      }
      if (!best) continue;
      for (const m of members) {
        if (m.data.bundle === best.key || !proves(best.key, m)) continue;
        m.data.bundle = best.key;
        this.rebundled.set(m.data.id.toLowerCase(), best.key);
      }
    }
  }

  /** Plans `items` (covered by one checkpoint, nonce order) into batches; see plan.ts. */
  private async plan(origin: Chain, items: Item[], signers: number) {
    const route = await this.policy(origin.code);
    const dest = this.destination;
    const bank = addressToBytes32(origin.contracts.bank).toLowerCase();
    const messages = new Map<Item, { kind: MessageKind; recipient?: Address; amount: bigint }>();
    for (const item of items) {
      const m = decodeMessage(item.data.message);
      const kind: MessageKind = isStakeReportFrom(origin, dest, item.data.message)
        ? "stakeReport"
        : m.sender.toLowerCase() === bank
          ? "bank"
          : "call";
      const evm = BigInt(m.recipient) >> 160n === 0n;
      messages.set(item, {
        kind,
        recipient:
          evm && kind !== "stakeReport" ? getAddress(`0x${m.recipient.slice(26)}`) : undefined,
        amount: m.amount,
      });
    }
    const recipients = [
      ...new Set([...messages.values()].flatMap((m) => (m.recipient ? [m.recipient] : []))),
    ];
    const policies = new Map(
      await Promise.all(recipients.map(async (r) => [r, await this.recipientPolicy(r)] as const)),
    );
    const none: RecipientPolicy = { minSigners: 0, requiredCoverage: 0n };
    const describe = (item: Item) => {
      const m = messages.get(item)!;
      return {
        kind: m.kind,
        amount: m.amount,
        policy: (m.recipient && policies.get(m.recipient)) || none,
      };
    };
    const demandsPolicyCoverage = items.some((i) => {
      const d = describe(i);
      const required = d.policy.requiredCoverage;
      return required > d.amount && required > route.defaultCoverage;
    });
    const policyCoverageAvailable = demandsPolicyCoverage
      ? await this.ctx.client(dest.code).readContract({
          address: dest.contracts.inbox,
          abi: IInboxAbi,
          functionName: "policyCoverageAvailable",
          args: [origin.code],
        })
      : undefined;
    const plan = planBatches({
      items,
      message: describe,
      route,
      signers,
      policyCoverageAvailable,
      maxMessages: this.gas.batchSize(origin.code),
    });
    // The value each message puts at risk, by its recipient's policy (the signers' choice and
    // the capacity fit use it).
    for (const b of plan.batches)
      for (const item of b.items) {
        const d = describe(item);
        const required =
          d.policy.requiredCoverage !== 0n ? d.policy.requiredCoverage : route.defaultCoverage;
        // A fee is value at risk too (the Inbox adds it, protocol.md 3.4): a top-up's fee as well.
        item.valueAtRisk =
          d.kind === "stakeReport"
            ? 0n
            : (d.amount > required ? d.amount : required) + decodeMessage(item.data.message).fee;
      }
    return plan;
  }

  /** A recipient's own policy on the destination Inbox (cached for a minute). */
  private async recipientPolicy(recipient: Address): Promise<RecipientPolicy> {
    const cached = this.recipientPolicies.get(recipient);
    if (cached && Date.now() - cached.at < 60_000) return cached;
    const p = await this.ctx.client(this.destination.code).readContract({
      address: this.destination.contracts.inbox,
      abi: IInboxAbi,
      functionName: "recipientPolicy",
      args: [recipient],
    });
    const policy = {
      minSigners: p.minSigners,
      requiredCoverage: p.requiredCoverage,
      at: Date.now(),
    };
    this.recipientPolicies.set(recipient, policy);
    return policy;
  }

  /** Chooses signers for the batch's value at risk, simulates, sends, confirms. */
  private async sendBatch(
    origin: Chain,
    tree: ProvingTree,
    snap: SignedSnapshot,
    all: SignerSignature[],
    items: Item[],
    everySigner: boolean,
    minedReverts = 0,
  ): Promise<void> {
    const dest = this.destination;
    const client = this.ctx.client(dest.code);
    const log = this.log.child({ origin: origin.codeHex, count: snap.count });
    // Where a batch's time goes, logged with it (ms since the previous stage).
    const ms: Record<string, number> = {};
    let mark = performance.now();
    const stage = (name: string) => {
      const now = performance.now();
      ms[name] = Math.round(now - mark);
      mark = now;
    };
    try {
      const policy = await this.policy(origin.code);
      const capacities = await readSignerCapacities(client, dest.contracts.inbox, origin.code, all);
      stage("capacity");
      const choice = batchSigners({
        capacities,
        messages: items.map((i) => this.signerNeeds(origin, i)),
        routeMinSigners: policy.minSigners,
        everySigner,
      });
      if (choice.kind === "wait") {
        for (const item of items) item.settle({ kind: "wait", reason: choice.reason });
        return;
      }
      // The messages left out wait for capacity rather than holding back every message after them.
      const kept = new Set(choice.kept);
      items.forEach((item, k) => {
        if (!kept.has(k))
          item.settle({ kind: "wait", reason: "signers' free capacity used up by other messages" });
      });
      items = items.filter((_, k) => kept.has(k));
      const signers = choice.signers;
      const delivery = buildDelivery({
        tree,
        count: snap.count,
        messages: items.map((i) => i.data.message),
      });
      const signatures = sortBySigner(
        signers.map((s) => ({ signer: s.signer, signature: s.signature })),
      ).map((s) => s.signature);
      const args = deliverArgs(
        {
          origin: origin.code,
          root: snap.root,
          count: snap.count,
          last: snap.last,
        },
        signatures,
        delivery,
      );
      const data = encodeFunctionData({ abi: IInboxAbi, functionName: "deliver", args });
      // Geth-based clients drop transactions over 128 KB from their pool: a batch whose calldata
      // passes relayer.maxBatchBytes goes as two.
      if ((data.length - 2) / 2 > this.ctx.cfg.relayer.maxBatchBytes && items.length > 1) {
        await this.sendHalves(origin, tree, snap, all, items, everySigner, minedReverts);
        return;
      }

      stage("build");
      let gas: BatchGas;
      try {
        gas = await this.gas.forBatch(origin.code, items.length, data);
      } catch (e) {
        if (isTransient(e)) throw e; // RPC trouble: waited out by the jobs
        // Any other failure of the simulation or the estimate (a revert, or an estimate that
        // fails outright, e.g. handlers burning their whole gas) is the batch's: it is split to
        // isolate the message(s) behind it, and only a message that fails alone spends attempts.
        const revert = revertOf(e) ?? { name: "EstimateFailed", args: [errorText(e)] };
        this.noteSimulationRevert(origin, revert, items.length);
        await replanSimulationRevert(
          { items, everySigner, minedReverts },
          revert,
          choice.moreSigners,
          this.replanEffects(origin, tree, snap, all),
        );
        return;
      }
      stage("simulate");
      // The round's first simulation is all a probe waits for (its estimate sized the rest).
      this.gas.endProbe(origin.code);
      if (gas.expected > BigInt(this.ctx.cfg.relayer.maxBatchGas) && items.length > 1) {
        await this.sendHalves(origin, tree, snap, all, items, everySigner, minedReverts);
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
        if (kept.length)
          await this.sendBatch(origin, tree, snap, all, kept, everySigner, minedReverts);
        return;
      }
      stage("fence");
      log.info(
        {
          messages: items.length,
          signers: signatures.length,
          gas: Number(gas.expected),
          gasFrom: gas.from,
          first: items[0]!.nonce,
          last: items[items.length - 1]!.nonce,
          ms,
          oldestTakenMsAgo: Date.now() - Math.min(...items.map((i) => i.takenAt)),
        },
        "sending batch",
      );
      let receipt: TransactionReceipt;
      try {
        receipt = await this.sender.send({
          to: dest.contracts.inbox,
          data,
          gas: gas.limit,
          label: "deliver",
          resendIfDropped: false,
        });
      } catch (e) {
        this.ctx.metrics.batches.inc({
          destination: dest.codeHex,
          outcome: e instanceof TxRevertedError ? "reverted" : "send-error",
        });
        if (!(e instanceof TxRevertedError)) throw e;
        // Simulated fine, reverted once mined: the chain moved in between (reverts.ts).
        const reverted = e;
        await replanMinedRevert(
          { items, everySigner, minedReverts },
          this.replanEffects(origin, tree, snap, all),
          (action) =>
            log.warn(
              {
                tx: reverted.hash,
                block: Number(reverted.receipt.blockNumber),
                messages: items.length,
                minedReverts: minedReverts + 1,
              },
              `chain ${dest.codeHex}: deliver ${reverted.hash} reverted on chain; ` +
                (action === "resimulate"
                  ? "simulating the batch again"
                  : action === "split"
                    ? "reverted again: splitting the batch"
                    : "reverted again: the message spends this attempt"),
            ),
          async () => {
            const why = await this.minedRevertReason(data, gas.limit, reverted.receipt);
            return new Error(
              `chain ${dest.codeHex}: deliver ${reverted.hash} of message ${items[0]!.data.id} reverted ` +
                `on chain ${minedReverts + 1} times though its simulation passed (${why}); ` +
                `attempt spent — if it keeps failing, compare what chains.${dest.codeHex}.rpc ` +
                `simulates with the chain`,
            );
          },
        );
        return;
      }
      stage("mined");
      this.ctx.metrics.batches.inc({ destination: dest.codeHex, outcome: "mined" });
      this.lastRevert.delete(origin.code);
      this.ctx.metrics.batchSize.observe({ destination: dest.codeHex }, items.length);
      this.ctx.metrics.batchGas.observe({ destination: dest.codeHex }, Number(receipt.gasUsed));
      // Small batches say little about the per-message gas (their fixed part dominates).
      this.gas.learn(origin.code, receipt.gasUsed, items.length);
      await settleMinedBatch(
        {
          ctx: this.ctx,
          destination: dest,
          log,
          readers: this.deliveryReaders(),
        },
        origin,
        items,
        receipt,
        { stage, ms },
      );
    } catch (e) {
      if (e instanceof ConfirmationStalled) {
        // Mined, maybe delivered: each message is looked at again after a growing pause (the Inbox
        // is asked then), spending no attempt.
        log.warn(
          { err: e.message, messages: items.length },
          "batch unconfirmed: the chain stalled",
        );
        for (const item of items) item.settle({ kind: "wait", reason: e.message, backoff: true });
        return;
      }
      const error = e instanceof Error ? e : new Error(String(e));
      log.warn({ err: errorText(e), messages: items.length }, "batch failed");
      for (const item of items) item.settle({ kind: "error", error });
    }
  }

  /** What signer choice needs of `item` (signerChoice.ts). */
  private signerNeeds(origin: Chain, item: Item): SignerNeeds {
    const m = decodeMessage(item.data.message);
    // The recipient's minimum of signers, as the planner cached it (none for a non-EVM recipient).
    const policy =
      BigInt(m.recipient) >> 160n === 0n
        ? this.recipientPolicies.get(getAddress(`0x${m.recipient.slice(26)}`))
        : undefined;
    return {
      valueAtRisk: item.valueAtRisk,
      stakeReport: isStakeReportFrom(origin, this.destination, item.data.message),
      minSigners: policy?.minSigners ?? 0,
    };
  }

  /** Replanning's effects for batches proven by `snap` of `origin` with signatures `all`. */
  private replanEffects(
    origin: Chain,
    tree: ProvingTree,
    snap: SignedSnapshot,
    all: SignerSignature[],
  ): ReplanEffects<Item> {
    return {
      send: (b) => this.sendBatch(origin, tree, snap, all, b.items, b.everySigner, b.minedReverts),
      halves: (b) =>
        this.sendHalves(origin, tree, snap, all, b.items, b.everySigner, b.minedReverts),
      deliveredState: (i) => this.deliveredState(i.data.message),
      signerShortfall: (i) =>
        markSignerShortfall(this.ctx, i.data.id, { signers: all.length, count: snap.count }),
    };
  }

  /**
   * Why a mined deliver reverted, where the node can tell: the same call re-simulated on the state
   * after its block (a transaction's own revert data is not in its receipt).
   */
  private async minedRevertReason(
    data: Hex,
    gas: bigint,
    receipt: TransactionReceipt,
  ): Promise<string> {
    const at = receipt.blockNumber;
    try {
      await this.ctx.client(this.destination.code).call({
        account: this.sender.account,
        to: this.destination.contracts.inbox,
        data,
        gas,
        blockNumber: at,
      });
      return `the same call passes after block ${at}`;
    } catch (e) {
      const revert = revertOf(e);
      return revert
        ? `${revert.name}(${revert.args.map(String).join(", ")}) re-simulated after block ${at}`
        : `revert not decoded: ${errorText(e)}`;
    }
  }

  /** Sends `items` as two batches, first half then second (to isolate, or to fit a limit). */
  private async sendHalves(...args: Parameters<DestinationRelay["sendBatch"]>): Promise<void> {
    const [origin, tree, snap, all, items, everySigner, minedReverts] = args;
    const half = Math.ceil(items.length / 2);
    await this.sendBatch(origin, tree, snap, all, items.slice(0, half), everySigner, minedReverts);
    await this.sendBatch(origin, tree, snap, all, items.slice(half), everySigner, minedReverts);
  }

  /**
   * Counts a reverted simulation and logs it at info once per change of revert for its origin,
   * amounts in tokens; the same revert again (a batch waiting for signers or a window is
   * re-simulated with backoff) goes to debug, so a wait fills no log.
   */
  private noteSimulationRevert(
    origin: Chain,
    revert: { name: string; args: readonly unknown[] },
    messages: number,
  ): void {
    const error = revert.name.startsWith("unknown(") ? "unknown" : revert.name;
    this.ctx.metrics.simulationReverts.inc({ destination: this.destination.codeHex, error });
    const described = describeRevert(revert);
    const fields = { origin: origin.codeHex, error: revert.name, revert: described, messages };
    if (this.lastRevert.get(origin.code) === described) {
      this.log.debug(fields, "deliver simulation reverted");
      return;
    }
    this.lastRevert.set(origin.code, described);
    this.log.info(fields, "deliver simulation reverted");
  }

  /** Who must agree a message is delivered: the destination's own RPC and its witness, if any. */
  private deliveryReaders(): { url: string; client: PublicClient }[] {
    const dest = this.destination;
    this.witnessClient ??= dest.witnessRpc.length
      ? publicClientFor({ ...dest, rpc: dest.witnessRpc })
      : null;
    const readers = [{ url: dest.rpc.join(","), client: this.ctx.client(dest.code) }];
    if (this.witnessClient)
      readers.push({ url: dest.witnessRpc.join(","), client: this.witnessClient });
    return readers;
  }
}
