/**
 * The gas of a relayer's deliver transactions to one destination: the limit a batch is sent with
 * (a model from the last delivery, proven by one call, else an estimate) and how many messages a
 * batch holds (the gas per message against the batch and block gas limits). An origin's first
 * round is a probe: later rounds wait for the gas per message it finds (gas.ts has the figures).
 */
import type { Account, Address, Hex, PublicClient } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import { isTransient, revertOf } from "../chain/errors.js";
import type { LoadedConfig } from "../config/load.js";
import {
  MAX_BATCH_MESSAGES,
  batchMessages,
  ceilingGas,
  estimatedLimit,
  gasPerMessage,
  limitMayBeShort,
  modeledGas,
} from "./gas.js";

/** How long the destination's block gas limit is believed before it is read again. */
const BLOCK_GAS_TTL_MS = 60_000;

/** The gas a batch is expected to use, the limit it is sent with, and where they came from. */
export interface BatchGas {
  expected: bigint;
  limit: bigint;
  from: "model" | "estimate";
}

export class DeliverGas {
  /** Gas per message of our last delivery from each origin (beyond BATCH_FIXED_GAS). */
  private readonly perMessageGas = new Map<bigint, number>();
  /** Rounds finding out an origin's gas per message; others wait for them. */
  private readonly probes = new Map<bigint, { done: Promise<void>; release: () => void }>();
  private handlerGas: bigint | undefined;
  /** The destination's block gas limit (read at start, again every BLOCK_GAS_TTL_MS). */
  private blockGas: { limit: bigint; at: number } | undefined;

  constructor(
    private readonly client: PublicClient,
    private readonly inbox: Address,
    private readonly account: Account,
    private readonly relayer: Pick<LoadedConfig["relayer"], "maxBatchGas" | "maxBatchMessages">,
  ) {}

  /** The gas per message of our last delivery from `origin`, if known. */
  perMessage(origin: bigint): number | undefined {
    return this.perMessageGas.get(origin);
  }

  /** Learns the gas per message from a mined batch (small batches say little: their fixed part dominates). */
  learn(origin: bigint, gasUsed: bigint, messages: number): void {
    const perMessage = gasPerMessage(gasUsed, messages);
    if (perMessage !== undefined) this.perMessageGas.set(origin, perMessage);
  }

  /**
   * Waits for a probe of `origin` in flight; when the gas per message is still unknown, this round
   * is the probe: returns true, and the caller ends it (`endProbe`) once its first simulation ran.
   */
  async startRound(origin: bigint): Promise<boolean> {
    for (let p = this.probes.get(origin); p; p = this.probes.get(origin)) await p.done;
    if (this.perMessageGas.has(origin)) return false;
    let release = () => {};
    const done = new Promise<void>((r) => (release = r));
    this.probes.set(origin, { done, release });
    return true;
  }

  /** Ends the probe of `origin` (its gas per message is known, or its round is over). */
  endProbe(origin: bigint): void {
    this.probes.get(origin)?.release();
    this.probes.delete(origin);
  }

  /** The Inbox's gas limit per handler call (read once). */
  private async handlerGasLimit(): Promise<bigint> {
    this.handlerGas ??= BigInt(
      await this.client.readContract({
        address: this.inbox,
        abi: IInboxAbi,
        functionName: "handlerGasLimit",
      }),
    );
    return this.handlerGas;
  }

  /**
   * Simulates `deliver` (calldata `data`, `messages` messages) and returns the gas it is expected
   * to use and the limit to send it with; throws what the simulation threw (a revert, RPC
   * trouble). The limit comes from our last delivery from the same origin (gas per message) with a
   * margin, and is proven by one `eth_call` with exactly that limit: the call succeeding shows the
   * transaction fits it, as `eth_estimateGas` would. Only without such a figure, or when the call
   * runs out of gas (costlier messages than last time), is the gas estimated: `eth_estimateGas`
   * searches for the limit with many executions (a batch of 1,000 took 2–7 s on a Hardhat chain,
   * against 0.2 s for the call).
   */
  async forBatch(origin: bigint, messages: number, data: Hex): Promise<BatchGas> {
    const client = this.client;
    const request = { account: this.account, to: this.inbox, data };
    const perMessage = this.perMessageGas.get(origin);
    if (perMessage !== undefined) {
      const { expected, limit } = modeledGas(perMessage, messages, await this.handlerGasLimit());
      if (expected > BigInt(this.relayer.maxBatchGas) && messages > 1)
        return { expected, limit, from: "model" }; // the caller splits it first
      try {
        await client.call({ ...request, gas: limit });
        return { expected, limit, from: "model" };
      } catch (e) {
        // A revert of the suite's own (other than a handler starved of gas) is the batch's
        // problem, not the limit's: the caller deals with it. Anything else: estimate.
        if (isTransient(e) || !limitMayBeShort(revertOf(e))) throw e;
      }
    }
    try {
      const estimated = await client.estimateGas(request);
      // No delivery has shown the gas per message yet: the estimate sizes the next batches.
      if (perMessage === undefined) {
        const estimatedPerMessage = gasPerMessage(estimated, messages);
        if (estimatedPerMessage !== undefined) this.perMessageGas.set(origin, estimatedPerMessage);
      }
      return { expected: estimated, limit: estimatedLimit(estimated), from: "estimate" };
    } catch (e) {
      if (isTransient(e) || revertOf(e)) throw e;
      // The estimate failed outright (seen on a handler that burns all the gas it is given: the
      // node's search gives up). Try the most the batch can need instead: every handler with its
      // whole gas limit. The call succeeding proves the limit; otherwise the caller splits.
      const ceiling = ceilingGas(messages, await this.handlerGasLimit());
      if (ceiling > BigInt(this.relayer.maxBatchGas) && messages > 1) throw e;
      await client.call({ ...request, gas: ceiling });
      return { expected: ceiling, limit: ceiling, from: "estimate" };
    }
  }

  /**
   * The most messages of a batch from `origin`: as many as keep its gas limit within the smaller
   * of `relayer.maxBatchGas` and the destination's block gas limit, by the gas per message of our
   * last delivery from that origin (gas.ts, batchMessages), at most `relayer.maxBatchMessages`
   * where set. Several such batches go out back to back, each sent without waiting for the
   * previous one's receipt (the sender numbers them with consecutive nonces).
   */
  batchSize(origin: bigint): number {
    const { maxBatchGas, maxBatchMessages } = this.relayer;
    // While a probe finds the gas per message, gather: the batch is cut once it is known.
    if (this.probes.has(origin) && !this.perMessageGas.has(origin))
      return maxBatchMessages ?? MAX_BATCH_MESSAGES;
    let budget = BigInt(maxBatchGas);
    if (this.blockGas && this.blockGas.limit < budget) budget = this.blockGas.limit;
    return batchMessages(
      this.perMessageGas.get(origin),
      budget,
      this.handlerGas ?? 0n,
      maxBatchMessages,
    );
  }

  /** Reads the destination's block gas limit and the Inbox's handler gas when they are stale. */
  async refresh(): Promise<void> {
    if (this.blockGas && Date.now() - this.blockGas.at < BLOCK_GAS_TTL_MS) return;
    const block = await this.client.getBlock({ blockTag: "latest" });
    this.blockGas = { limit: block.gasLimit, at: Date.now() };
    await this.handlerGasLimit();
  }
}
