/**
 * The security suite's world: chains A, B and C from the shared fixture (test/helpers/suite.ts:
 * production Ignition suites, timelock-connected, staked attesters, seeded mirrors), funded
 * reserves with credit views, one SecurityRecipient per chain, and a model of what each Outbox
 * dispatched (its log and its Merkle tree, built with relayer/protocol) and what each Inbox
 * delivered.
 *
 * `reset()` rewinds every chain to the baseline snapshot and the model with it, so each
 * property-test run starts from the same state for a few milliseconds: thousands of runs share one
 * deployment. Transactions go straight to each chain's EIP-1193 provider from unlocked (or
 * impersonated) accounts with a fixed gas limit, which is several times cheaper than a contract
 * call through ethers; every receipt is parsed, and its `Dispatch` and `Delivered` events update
 * the model, so dispatches made by contracts (stake reports, reserve reports) are followed too.
 */
import { ethers, type Wallet } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

import {
  addressToBytes32,
  type Checkpoint,
  type CheckpointDomainInput,
  decodeMessage,
  encodeMessage,
  type Hex,
  MerkleTree,
  type MessageFields,
  messageId,
  signCheckpoint,
  treeCheckpoint,
} from "../../relayer/protocol/index.js";
import { suiteAs } from "../../deploy/suite.js";
import {
  SecurityLens__factory,
  SecurityRecipient__factory,
  type SecurityLens,
  type SecurityRecipient,
} from "../../typechain-types/index.js";
import {
  createTestNetwork,
  deliveryArgs,
  dispatchedMessages,
  ONE,
  type Delivery,
  type DispatchedMessage,
  type TestChain,
} from "../helpers/suite.js";

export { deliveryArgs, ONE };
export type { Delivery, DispatchedMessage, Hex };

/** Unbonding delay U on every chain. */
export const U = 3_600n;
/** Exposure window W (8 buckets of 200 s), below U. */
export const W = 1_600n;
/** Gas each recipient handler gets (the production default). */
export const HANDLER_GAS = 500_000n;
/** Stake of each attester and its allocation to each peer (18 decimals). */
export const STAKE = 1_000n * ONE;
export const ALLOCATION = 100n * ONE;
/** Reserve each community posts on each peer at the start. */
export const RESERVE = 300n * ONE;
/** Attesters per chain. */
export const ATTESTERS = 4;
/** Gas limit of every transaction the suite sends (no estimation; ample for any batch here). */
export const GAS = 12_000_000n;

/** SecurityRecipient modes (first byte of a body). */
export const MODE = { honest: 0, reverting: 1, gasBomb: 2, returnBomb: 3, reentrant: 4 } as const;
export type Mode = keyof typeof MODE;
export const MODES = Object.keys(MODE) as Mode[];

/** Inbox failure kinds. */
export const FAILURE = { None: 0n, HandlerReverted: 1n, PayoutPending: 2n } as const;

export interface Chain extends TestChain {
  index: number;
  code: bigint;
  deployer: HardhatEthersSigner;
  /** Accounts with tokens that approved the bank and the hub (users, provers, relayers). */
  users: HardhatEthersSigner[];
  recipient: SecurityRecipient;
  recipientAddress: string;
  /** Reads many views in one call (contracts/test/SecurityLens.sol). */
  lens: SecurityLens;
  recipientWord: Hex;
  domain: CheckpointDomainInput;
}

/** A parsed log, with the contract that emitted it and its block time. */
export interface Event {
  /** Index of the chain whose transaction emitted it (the suites share addresses across chains). */
  chain: number;
  name: string;
  args: ethers.Result;
  address: string;
  timestamp: number;
}

/** A transaction's outcome: its events, or the custom error it reverted with. */
export interface Outcome {
  ok: boolean;
  error?: string;
  args?: ethers.Result;
  events: Event[];
  gasUsed?: bigint;
  timestamp?: number;
  /** The block of a mined transaction. */
  block?: number;
}

/** Anything with an address and an ethers interface (a typechain contract). */
interface Target {
  interface: ethers.Interface;
  getAddress(): Promise<string>;
}

const TAG = { counter: 0 };

/** A SecurityRecipient body: mode byte, then a unique tag (every body differs). */
export function recipientBody(mode: Mode): Hex {
  TAG.counter++;
  return ethers.concat([ethers.toBeHex(MODE[mode], 1), ethers.toBeHex(TAG.counter, 8)]) as Hex;
}

/** The mode a SecurityRecipient reads from `body`. */
export function modeOf(body: string): Mode {
  const byte = body.length > 2 ? Number.parseInt(body.slice(2, 4), 16) : 0;
  return MODES[byte] ?? "honest";
}

type Rpc = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

interface RawLog {
  address: string;
  topics: string[];
  data: string;
}

export class World {
  /** Every Dispatch of each chain's Outbox, in nonce order. */
  readonly logs: DispatchedMessage[][];
  /** Each chain's Outbox tree. */
  readonly trees: MerkleTree[];
  /** Per destination chain: `origin:nonce` → number of `Delivered` events seen for it. */
  delivered: Map<string, number>[];
  /**
   * `origin:nonce` of every message the model met (dispatched, or sent in a delivery, forged ones
   * too), by id: `Delivered` names only the id.
   */
  private readonly messageKeys = new Map<string, string>();
  /** Per chain: counts snapshotted on the Outbox. */
  snapshotted: Set<number>[];
  /**
   * Per chain: the bank's earned balances together (fees and premiums paid in, `claimFees`
   * included, less withdrawals; local units), from its events.
   */
  earned: bigint[];
  private readonly baseline: {
    counts: number[];
    delivered: Map<string, number>[];
    snapshotted: Set<number>[];
    earned: bigint[];
  };
  private snapshots: { restore(): Promise<void> }[] = [];
  /** Time (ms) and count per kind of work: where a run's time goes. */
  readonly profile = new Map<string, { ms: number; n: number }>();
  private readonly signatureCache = new Map<string, Hex>();
  private readonly interfaces: ethers.Interface[];
  private readonly addresses = new Map<object, string>();

  private constructor(readonly chains: Chain[]) {
    this.logs = chains.map(() => []);
    this.trees = chains.map(() => new MerkleTree());
    this.delivered = chains.map(() => new Map());
    this.snapshotted = chains.map(() => new Set());
    this.earned = chains.map(() => 0n);
    this.baseline = { counts: [], delivered: [], snapshotted: [], earned: [] };
    const [any] = chains;
    this.interfaces = [
      any.suite.inbox.interface,
      any.suite.outbox.interface,
      any.suite.bank.interface,
      any.suite.stakingHub.interface,
      any.suite.registry.interface,
      any.suite.token.interface,
      any.recipient.interface,
    ];
  }

  /** Builds the world (a few seconds) and takes the baseline snapshot. */
  static async create(): Promise<World> {
    const tests = await createTestNetwork({
      chains: ["chainA", "chainB", "chainC"],
      attestersPerChain: ATTESTERS,
      stake: STAKE,
      allocation: ALLOCATION,
      unbondingDelay: U,
      exposureWindow: W,
      handlerGasLimit: HANDLER_GAS,
    });
    const chains: Chain[] = [];
    for (const [index, test] of tests.entries()) {
      const [deployer, ...others] = await test.connection.ethers.getSigners();
      const users = others.slice(0, 6);
      const recipient = await new SecurityRecipient__factory(deployer).deploy(
        test.suite.addresses.inbox,
      );
      await recipient.waitForDeployment();
      const lens = await new SecurityLens__factory(deployer).deploy();
      await lens.waitForDeployment();
      for (const user of users) {
        const as = suiteAs(test.suite, user);
        await (await test.suite.token.mint(user.address, 1_000_000n * ONE)).wait();
        await (await as.token.approve(test.suite.addresses.bank, ethers.MaxUint256)).wait();
        await (await as.token.approve(test.suite.addresses.stakingHub, ethers.MaxUint256)).wait();
      }
      // Attesters send raw transactions too (stake, allocate, unstake, withdraw).
      for (const attester of test.attesters) {
        await test.connection.networkHelpers.impersonateAccount(attester.address);
      }
      const recipientAddress = await recipient.getAddress();
      chains.push({
        ...test,
        index,
        code: test.suite.code,
        deployer,
        users,
        recipient,
        recipientAddress,
        lens,
        recipientWord: addressToBytes32(recipientAddress as Hex),
        domain: { evmChainId: test.suite.evmChainId, outbox: test.suite.addresses.outbox as Hex },
      });
    }
    // Every community posts a reserve on every peer (each funding dispatches a reserve report).
    for (const holder of chains) {
      for (const peer of chains) {
        if (peer === holder) continue;
        await (await suiteAs(holder.suite, holder.users[5]).bank.fund(peer.code, RESERVE)).wait();
      }
    }
    const world = new World(chains);
    for (const chain of chains) {
      const log = await dispatchedMessages(chain);
      world.logs[chain.index].push(...log);
      for (const m of log) world.trees[chain.index].append(m.id as Hex);
    }
    // Deliver every setup message (stake and reserve reports) with all signers, then let the
    // coverage it used expire, so runs start with every attester's capacity free.
    for (const origin of chains) {
      for (const destination of chains) {
        if (origin === destination) continue;
        const delivery = await world.prepare(origin.index, destination.index, {
          signers: origin.attesters,
        });
        if (!delivery) continue;
        const outcome = await world.deliver(destination.index, delivery);
        if (!outcome.ok) throw new Error(`setup delivery failed: ${outcome.error}`);
      }
    }
    for (const chain of chains) {
      await chain.connection.networkHelpers.time.increase(W + W / 8n + 1n);
      await chain.connection.networkHelpers.mine();
    }
    await world.takeBaseline();
    return world;
  }

  /** Makes the current state the one `reset()` returns to. */
  async takeBaseline(): Promise<void> {
    this.snapshots = await Promise.all(
      this.chains.map((c) => c.connection.networkHelpers.takeSnapshot()),
    );
    this.baseline.counts = this.logs.map((log) => log.length);
    this.baseline.delivered = this.delivered.map((m) => new Map(m));
    this.baseline.snapshotted = this.snapshotted.map((s) => new Set(s));
    this.baseline.earned = [...this.earned];
  }

  /** Rewinds every chain and the model to the baseline. */
  async reset(): Promise<void> {
    const t = performance.now();
    for (const snapshot of this.snapshots) await snapshot.restore();
    this.time("reset", t);
    for (const [i, count] of this.baseline.counts.entries()) {
      this.logs[i].length = count;
      this.trees[i].truncate(count);
      this.delivered[i] = new Map(this.baseline.delivered[i]);
      this.snapshotted[i] = new Set(this.baseline.snapshotted[i]);
    }
    this.earned = [...this.baseline.earned];
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  /** Sends `method(args)` to `target` on `chain` from `from`; a revert is returned, not thrown. */
  async tx(
    chain: number,
    from: string | { address: string },
    target: Target,
    method: string,
    args: readonly unknown[],
    gas: bigint = GAS,
  ): Promise<Outcome> {
    const data = target.interface.encodeFunctionData(method, args);
    return this.raw(
      chain,
      typeof from === "string" ? from : from.address,
      await this.addressOf(target),
      data,
      gas,
    );
  }

  /** Calls `method(args)` without sending; returns the result or the custom error. */
  async call(
    chain: number,
    from: string | { address: string },
    target: Target,
    method: string,
    args: readonly unknown[],
  ): Promise<{ ok: boolean; error?: string; args?: ethers.Result; result?: ethers.Result }> {
    const to = await this.addressOf(target);
    const data = target.interface.encodeFunctionData(method, args);
    const t = performance.now();
    try {
      const out = (await this.rpc(chain).request({
        method: "eth_call",
        params: [
          { from: typeof from === "string" ? from : from.address, to, data, gas: toQuantity(GAS) },
          "latest",
        ],
      })) as string;
      this.time("call", t);
      return { ok: true, result: target.interface.decodeFunctionResult(method, out) };
    } catch (error) {
      this.time("call", t);
      return { ok: false, ...this.decodeError(error) };
    }
  }

  /** Reads a view. */
  async view<T = unknown>(
    chain: number,
    target: Target,
    method: string,
    args: readonly unknown[] = [],
  ): Promise<T> {
    const out = await this.call(chain, this.chains[chain].deployer, target, method, args);
    if (!out.ok) throw new Error(`${method} reverted: ${out.error}`);
    return (out.result!.length === 1 ? out.result![0] : out.result) as T;
  }

  /** Sends raw calldata; parses the receipt into events and updates the model. */
  async raw(
    chain: number,
    from: string,
    to: string,
    data: string,
    gas: bigint = GAS,
  ): Promise<Outcome> {
    const rpc = this.rpc(chain);
    const t = performance.now();
    let hash: string;
    try {
      hash = (await rpc.request({
        method: "eth_sendTransaction",
        params: [{ from, to, data, gas: toQuantity(gas) }],
      })) as string;
    } catch (error) {
      this.time("tx", t);
      return { ok: false, ...this.decodeError(error), events: [] };
    }
    const receipt = (await rpc.request({
      method: "eth_getTransactionReceipt",
      params: [hash],
    })) as {
      status: string;
      logs: RawLog[];
      gasUsed: string;
      blockTimestamp?: string;
      blockNumber: string;
    };
    let timestamp: number;
    if (receipt.blockTimestamp) timestamp = Number(receipt.blockTimestamp);
    else {
      const block = (await rpc.request({
        method: "eth_getBlockByNumber",
        params: [receipt.blockNumber, false],
      })) as { timestamp: string };
      timestamp = Number(block.timestamp);
    }
    if (receipt.status !== "0x1") return { ok: false, error: "reverted without data", events: [] };
    this.time("tx", t);
    const events = this.parseLogs(chain, receipt.logs, timestamp);
    this.track(chain, events);
    return {
      ok: true,
      events,
      gasUsed: BigInt(receipt.gasUsed),
      timestamp,
      block: Number(receipt.blockNumber),
    };
  }

  /** Dispatches a pure message from `from` (default the deployer) on `origin` to `destination`. */
  async dispatch(
    origin: number,
    destination: number,
    recipient: Hex,
    body: Hex,
    from?: string | { address: string },
  ): Promise<DispatchedMessage> {
    const chain = this.chains[origin];
    const outcome = await this.tx(origin, from ?? chain.deployer, chain.suite.outbox, "dispatch", [
      this.chains[destination].code,
      recipient,
      body,
    ]);
    if (!outcome.ok) throw new Error(`dispatch failed: ${outcome.error}`);
    return this.logs[origin].at(-1)!;
  }

  /**
   * Reads `chain`'s `Dispatch` logs the model has not seen: needed after a transaction sent
   * around `tx` (e.g. through ethers with chai's matchers) dispatched something.
   */
  async sync(chain: number): Promise<void> {
    const c = this.chains[chain];
    const logs = await c.suite.outbox.queryFilter(
      c.suite.outbox.filters.Dispatch(),
      c.suite.addresses.deployedAtBlock,
    );
    for (const log of logs) {
      const nonce = Number(log.args.nonce);
      if (nonce < this.logs[chain].length) continue;
      this.track(chain, [
        {
          chain,
          name: "Dispatch",
          args: log.args as unknown as ethers.Result,
          address: log.address,
          timestamp: 0,
        },
      ]);
    }
  }

  /** Snapshots `origin`'s Outbox (when its count moved) and returns the true checkpoint. */
  async snapshot(origin: number): Promise<Checkpoint> {
    const chain = this.chains[origin];
    const count = this.logs[origin].length;
    if (!this.snapshotted[origin].has(count)) {
      const outcome = await this.tx(origin, chain.deployer, chain.suite.outbox, "snapshot", []);
      if (!outcome.ok) throw new Error(`snapshot failed: ${outcome.error}`);
      this.snapshotted[origin].add(count);
    }
    return treeCheckpoint(chain.code, this.trees[origin], count);
  }

  /**
   * Signatures of `checkpoint` by `signers` (each once), ordered by signer address as the Inbox
   * wants. Cached: signing is the costliest step of a run, and runs repeat checkpoints.
   */
  async sign(
    origin: number,
    checkpoint: Checkpoint,
    signers: readonly Wallet[],
    domain: CheckpointDomainInput = this.chains[origin].domain,
  ): Promise<Hex[]> {
    const domainKey =
      "evmChainId" in domain
        ? `${domain.evmChainId}:${domain.outbox}`
        : `${domain.chainId}:${domain.verifyingContract}`;
    const signatures: Hex[] = [];
    for (const signer of sortSigners(signers)) {
      const key = `${signer.address}|${domainKey}|${checkpoint.origin}|${checkpoint.root}|${checkpoint.count}|${checkpoint.last}`;
      let signature = this.signatureCache.get(key);
      if (!signature) {
        const t = performance.now();
        signature = await signCheckpoint(signer.privateKey as Hex, domain, checkpoint);
        this.time("sign", t);
        this.signatureCache.set(key, signature);
      }
      signatures.push(signature);
    }
    return signatures;
  }

  /** Messages dispatched on `origin` for `destination` below `count` that the model has not seen delivered. */
  pending(origin: number, destination: number, count?: number): DispatchedMessage[] {
    const code = this.chains[origin].code;
    const delivered = this.delivered[destination];
    return this.logs[origin]
      .slice(0, count ?? this.logs[origin].length)
      .filter(
        (m) =>
          m.message.destination === this.chains[destination].code &&
          !delivered.has(`${code}:${m.nonce}`),
      );
  }

  /** Messages `chain`'s Outbox held at the baseline. */
  baselineCount(chain: number): number {
    return this.baseline.counts[chain];
  }

  /** Whether the model saw `origin`'s message `nonce` delivered on `destination`. */
  isDelivered(destination: number, origin: number, nonce: number): boolean {
    return this.delivered[destination].has(`${this.chains[origin].code}:${nonce}`);
  }

  /**
   * An honest delivery of `origin`'s pending messages for `destination` (or of `pick` of them):
   * snapshot, the true root at that count, the multiproof from the model's tree, signatures.
   */
  async prepare(
    origin: number,
    destination: number,
    options: {
      signers?: readonly Wallet[];
      pick?: (pending: DispatchedMessage[]) => DispatchedMessage[];
    } = {},
  ): Promise<Delivery | undefined> {
    const checkpoint = await this.snapshot(origin);
    let pending = this.pending(origin, destination, checkpoint.count);
    if (options.pick) pending = options.pick(pending);
    if (pending.length === 0) return undefined;
    return this.build(
      origin,
      checkpoint,
      pending,
      options.signers ?? this.chains[origin].attesters.slice(0, 1),
    );
  }

  /** A delivery of `messages` under `checkpoint`, proved against the model's tree at its count. */
  async build(
    origin: number,
    checkpoint: Checkpoint,
    messages: readonly DispatchedMessage[],
    signers: readonly Wallet[],
  ): Promise<Delivery> {
    const sorted = [...messages].sort((x, y) => x.nonce - y.nonce);
    const proof = this.trees[origin].multiproof(
      sorted.map((m) => m.nonce),
      checkpoint.count,
    );
    return {
      checkpoint,
      signatures: await this.sign(origin, checkpoint, signers),
      messages: sorted.map((m) => m.encoded),
      proof,
    };
  }

  /** Sends `delivery` to `destination`'s Inbox (from the deployer unless a relayer is given). */
  async deliver(
    destination: number,
    delivery: Delivery,
    relayer?: string | { address: string },
    gas?: bigint,
  ): Promise<Outcome> {
    const chain = this.chains[destination];
    for (const m of delivery.messages) this.keyMessage(m as Hex);
    return this.tx(
      destination,
      relayer ?? chain.deployer,
      chain.suite.inbox,
      "deliver",
      deliveryArgs(delivery),
      gas,
    );
  }

  /** Simulates delivering `delivery` on `destination`. */
  async tryDeliver(destination: number, delivery: Delivery) {
    const chain = this.chains[destination];
    return this.call(
      destination,
      chain.deployer,
      chain.suite.inbox,
      "deliver",
      deliveryArgs(delivery),
    );
  }

  /** Advances `chain`'s clock by `seconds` (the next block is that much later). */
  async travel(chain: number, seconds: bigint | number): Promise<void> {
    await this.chains[chain].connection.networkHelpers.time.increase(seconds);
  }

  /** Latest block time of `chain`. */
  async now(chain: number): Promise<number> {
    return this.chains[chain].connection.networkHelpers.time.latest();
  }

  // -------------------------------------------------------------------------------------------
  // Views in one call each (SecurityLens)

  /** `chain`'s bank: token balance and, per chain index, reserve, pool, lock and pending. */
  async books(chain: number) {
    const c = this.chains[chain];
    const peers = this.chains.filter((x) => x !== c);
    const [balance, reserve, pool, locked, pending] = await this.view<
      [bigint, bigint[], bigint[], bigint[], bigint[]]
    >(chain, c.lens, "books", [c.suite.addresses.bank, peers.map((x) => x.code)]);
    const byIndex = (values: bigint[]) => {
      const out = this.chains.map(() => 0n);
      peers.forEach((x, i) => (out[x.index] = values[i]));
      return out;
    };
    return {
      balance,
      reserve: byIndex(reserve),
      pool: byIndex(pool),
      locked: byIndex(locked),
      pending: byIndex(pending),
    };
  }

  /** `chain`'s hub: token balance and each of its attesters' bonded, unbonding and slashed. */
  async stakes(chain: number) {
    const c = this.chains[chain];
    const [balance, bonded, unbonding, slashed] = await this.view<
      [bigint, bigint[], bigint[], boolean[]]
    >(chain, c.lens, "stakes", [c.suite.addresses.stakingHub, c.attesters.map((a) => a.address)]);
    return { balance, bonded: [...bonded], unbonding: [...unbonding], slashed: [...slashed] };
  }

  /** Mirrored stake and exposure on `destination` of each attester of `origin`. */
  async coverage(destination: number, origin: number) {
    const c = this.chains[destination];
    const [mirrored, exposure] = await this.view<[bigint[], bigint[]]>(
      destination,
      c.lens,
      "coverage",
      [
        c.suite.addresses.inbox,
        this.chains[origin].code,
        this.chains[origin].attesters.map((a) => a.address),
      ],
    );
    return { mirrored: [...mirrored], exposure: [...exposure] };
  }

  /** The replay bits on `destination` of `(origin code, nonce)` pairs. */
  async deliveredBits(
    destination: number,
    keys: readonly { origin: bigint; nonce: number }[],
  ): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const c = this.chains[destination];
    const out = await this.view<boolean[]>(destination, c.lens, "delivered", [
      c.suite.addresses.inbox,
      keys.map((k) => k.origin),
      keys.map((k) => k.nonce),
    ]);
    return [...out];
  }

  /** How often `destination`'s SecurityRecipient handled each body hash. */
  async handledCounts(destination: number, bodyHashes: readonly string[]): Promise<bigint[]> {
    if (bodyHashes.length === 0) return [];
    const c = this.chains[destination];
    return [
      ...(await this.view<bigint[]>(destination, c.lens, "handled", [
        c.recipientAddress,
        bodyHashes,
      ])),
    ];
  }

  // -------------------------------------------------------------------------------------------
  // Model and decoding

  /** Appends dispatched messages to the model of `chain`; counts `Delivered` events of its Inbox. */
  private track(chain: number, events: Event[]): void {
    const c = this.chains[chain];
    const outbox = c.suite.addresses.outbox.toLowerCase();
    const inbox = c.suite.addresses.inbox.toLowerCase();
    const bank = c.suite.addresses.bank.toLowerCase();
    for (const e of events) {
      const from = e.address.toLowerCase();
      if (from === bank) {
        if (e.name === "FeesPaid" || e.name === "PremiumPaid") this.earned[chain] += e.args.paid;
        else if (e.name === "FeesWithdrawn") this.earned[chain] -= e.args.amount;
      }
      if (e.name === "Dispatch" && from === outbox) {
        const nonce = Number(e.args.nonce);
        if (nonce !== this.logs[chain].length) {
          throw new Error(`model out of step: nonce ${nonce}, expected ${this.logs[chain].length}`);
        }
        const encoded = e.args.message as Hex;
        this.keyMessage(encoded);
        this.logs[chain].push({ id: e.args.id, nonce, encoded, message: decodeMessage(encoded) });
        this.trees[chain].append(e.args.id as Hex);
      } else if (e.name === "Delivered" && from === inbox) {
        const id = (e.args.id as string).toLowerCase();
        const key = this.messageKeys.get(id) ?? `unknown message ${id}`;
        this.delivered[chain].set(key, (this.delivered[chain].get(key) ?? 0) + 1);
      }
    }
  }

  /** Remembers `encoded`'s `origin:nonce` by its id (bytes that are no message are never delivered). */
  private keyMessage(encoded: Hex): void {
    let key: string;
    try {
      const { origin, nonce } = decodeMessage(encoded);
      key = `${origin}:${nonce}`;
    } catch {
      return;
    }
    this.messageKeys.set(messageId(encoded).toLowerCase(), key);
  }

  /** Parses raw logs with every interface the suite knows (unknown logs are dropped). */
  parseLogs(chain: number, logs: readonly RawLog[], timestamp = 0): Event[] {
    const out: Event[] = [];
    for (const log of logs) {
      for (const iface of this.interfaces) {
        let parsed: ethers.LogDescription | null;
        try {
          parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
        } catch {
          parsed = null; // same topic, other layout: another contract's event
        }
        if (parsed) {
          out.push({
            chain,
            name: parsed.name,
            args: parsed.args,
            address: log.address,
            timestamp,
          });
          break;
        }
      }
    }
    return out;
  }

  /** The custom error name and arguments of a revert, as far as the suite's ABIs know it. */
  decodeError(error: unknown): { error: string; args?: ethers.Result } {
    const data = revertData(error);
    if (!data || data === "0x") return { error: `no revert data: ${String(error).slice(0, 160)}` };
    for (const iface of this.interfaces) {
      const parsed = iface.parseError(data);
      if (parsed) return { error: parsed.name, args: parsed.args };
    }
    return { error: `unknown revert ${data.slice(0, 10)}` };
  }

  /** Adds the time since `start` to `kind`. */
  time(kind: string, start: number): void {
    const entry = this.profile.get(kind) ?? { ms: 0, n: 0 };
    entry.ms += performance.now() - start;
    entry.n++;
    this.profile.set(kind, entry);
  }

  /** One line: ms and count per kind of work since the last call (then cleared). */
  takeProfile(): string {
    const line = [...this.profile.entries()]
      .map(([k, v]) => `${k} ${Math.round(v.ms)}ms/${v.n}`)
      .join(", ");
    this.profile.clear();
    return line;
  }

  /** The chain's EIP-1193 provider (a viem client's `custom` transport takes it). */
  rpc(chain: number): Rpc {
    return this.chains[chain].connection.provider as unknown as Rpc;
  }

  private async addressOf(target: Target): Promise<string> {
    let cached = this.addresses.get(target);
    if (!cached) {
      cached = await target.getAddress();
      this.addresses.set(target, cached);
    }
    return cached;
  }
}

/** Wallets ordered by address, each once. */
export function sortSigners<T extends { address: string }>(signers: readonly T[]): T[] {
  return [...new Map(signers.map((s) => [BigInt(s.address), s])).entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([, s]) => s);
}

/** Revert data of a failed call or transaction, as ethers and Hardhat report it. */
export function revertData(error: unknown): string | undefined {
  const e = error as {
    data?: string;
    info?: { error?: { data?: string } };
    error?: { data?: string };
  };
  return e.data ?? e.error?.data ?? e.info?.error?.data;
}

/** Events named `name`. */
export function named(events: readonly Event[], name: string): Event[] {
  return events.filter((e) => e.name === name);
}

function toQuantity(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** A message made up by an attacker, with its encoding, id and nonce. */
export type Forged = DispatchedMessage;

/** One made-up message of a false batch: its fields and the nonce it claims (default: next free). */
export type ForgedFields = Omit<MessageFields, "nonce" | "origin"> & { nonce?: number };

/**
 * What lying attesters can do: make up `fields` as message `nonce` of `origin` (default: the next
 * free nonce), put it in a tree that is the true tree below that nonce, and sign that tree's root
 * at `nonce + 1`. The checkpoint is false (the Outbox never had it), so it is provable fraud.
 */
export async function forgeDelivery(
  world: World,
  origin: number,
  liars: readonly Wallet[],
  fields: ForgedFields,
): Promise<{ delivery: Delivery; forged: Forged; checkpoint: Checkpoint }> {
  const { delivery, forged, checkpoint } = await forgeBatch(world, origin, liars, [fields]);
  return { delivery, forged: forged[0], checkpoint };
}

/**
 * Several made-up messages in one false checkpoint of `origin`, signed by `liars`: each at its own
 * nonce (default: the next free ones, in order), which may be the nonce of a real message (a
 * squat: the made-up leaf replaces the real one) or lie beyond the Outbox's count. The tree is the
 * true tree with those leaves replaced (zero leaves fill any gap past the count), and the
 * checkpoint names its root at the highest nonce + 1. Nonces must differ.
 */
export async function forgeBatch(
  world: World,
  origin: number,
  liars: readonly Wallet[],
  items: readonly ForgedFields[],
): Promise<{ delivery: Delivery; forged: Forged[]; checkpoint: Checkpoint }> {
  let next = world.logs[origin].length;
  const forged = items
    .map((fields) => {
      const nonce = fields.nonce ?? next++;
      const encoded = encodeMessage({ ...fields, nonce, origin: world.chains[origin].code });
      return { id: messageId(encoded), nonce, encoded, message: decodeMessage(encoded) };
    })
    .sort((x, y) => x.nonce - y.nonce);
  const count = forged.at(-1)!.nonce + 1;
  // The true leaves below the count (filler beyond the Outbox's count: the tree is made up anyway).
  const leaves = world.logs[origin].slice(0, count).map((m) => m.id as Hex);
  while (leaves.length < count) leaves.push(ethers.ZeroHash as Hex);
  for (const f of forged) leaves[f.nonce] = f.id;
  const tree = MerkleTree.from(leaves);
  const checkpoint: Checkpoint = treeCheckpoint(world.chains[origin].code, tree);
  return {
    checkpoint,
    forged,
    delivery: {
      checkpoint,
      signatures: await world.sign(origin, checkpoint, liars),
      messages: forged.map((f) => f.encoded),
      proof: tree.multiproof(
        forged.map((f) => f.nonce),
        count,
      ),
    },
  };
}
