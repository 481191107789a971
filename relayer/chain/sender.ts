import {
  BaseError,
  Eip1559FeesNotSupportedError,
  TransactionNotFoundError,
  type Account,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";

import { errorText, silentLogger, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { senderPolicyOf } from "./clients.js";

/** The fee cap of a sender whose wallet carries no chain policy (500 gwei, the config default). */
export const DEFAULT_MAX_FEE_PER_GAS = 500n * 10n ** 9n;

/** The fee fields of one signed transaction: EIP-1559, or legacy on chains without a base fee. */
export type Fees =
  | { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gasPrice?: undefined }
  | { gasPrice: bigint; maxFeePerGas?: undefined; maxPriorityFeePerGas?: undefined };

/** A transaction the node wants mined. */
export interface TxRequest {
  to: Address;
  data: Hex;
  /** Gas limit; estimated (with 25% margin) when absent. */
  gas?: bigint;
  /** Short name for logs and metrics (`deliver`, `snapshot`, `proveFraud`). */
  label: string;
  /** Extra fields for every log line about this transaction (e.g. message ids). */
  logContext?: Record<string, unknown>;
  /**
   * Send the same request again when the transaction was dropped (default true). Off for requests
   * whose caller must decide again (the relayer re-checks what was delivered meanwhile).
   */
  resendIfDropped?: boolean;
}

/** The transaction left the mempool without being mined, and the request asked not to resend. */
export class TxDroppedError extends Error {
  override name = "TxDroppedError";
  constructor(readonly hash: Hex) {
    super(`transaction ${hash} was dropped before being mined`);
  }
}

export class TxRevertedError extends Error {
  override name = "TxRevertedError";
  constructor(
    readonly hash: Hex,
    readonly receipt: TransactionReceipt,
  ) {
    super(`transaction ${hash} reverted in block ${receipt.blockNumber}`);
  }
}

/** The node is stopping: the transaction may still be mined; the next start re-reads the nonce. */
export class ShutdownError extends Error {
  override name = "ShutdownError";
  constructor(readonly hash?: Hex) {
    super(`node stopping${hash ? `: not waiting for ${hash}` : ""}`);
  }
}

export interface SenderOptions {
  /**
   * Aborted when the node stops: sends and receipt waits end at once with ShutdownError (a
   * transaction already sent stays in the mempool; its nonce is read back from the chain next time).
   */
  signal?: AbortSignal;
  /**
   * How long a transaction may stay pending before it is replaced with higher fees; default the
   * chain's `txTimeoutMs` (carried by a wallet from walletClientFor), else 60 s.
   */
  receiptTimeoutMs?: number;
  /**
   * The most per gas any transaction may pay, in wei; default the chain's `maxFeePerGasGwei`
   * (carried by a wallet from walletClientFor), else DEFAULT_MAX_FEE_PER_GAS.
   */
  maxFeePerGas?: bigint;
  /** How often a transaction not mined yet is looked up in the node (a dropped one is sent again). */
  dropCheckMs?: number;
  /** How many times one request is re-sent after nonce errors or a drop. */
  maxAttempts?: number;
  chainLabel?: string;
  log?: Logger;
  metrics?: Metrics;
}

type NonceErrorKind = "too-low" | "too-high" | "underpriced" | "known";

/** Classifies the node-specific wording of nonce problems (geth, EDR/Hardhat, anvil, erigon). */
export function nonceErrorKind(e: unknown): NonceErrorKind | undefined {
  const text = [e instanceof BaseError ? e.details : "", e instanceof Error ? e.message : String(e)]
    .join(" ")
    .toLowerCase();
  if (
    /replacement (transaction )?underpriced|replacement_underpriced|fee too low to replace/.test(
      text,
    )
  )
    return "underpriced";
  if (/already known|known transaction|already imported/.test(text)) return "known";
  if (
    /nonce too low|nonce.*(is )?too low|nonce has already been used|nonce_expired|invalid nonce/.test(
      text,
    )
  )
    return "too-low";
  if (/nonce too high|nonce.*too high|can't be queued/.test(text)) return "too-high";
  return undefined;
}

/**
 * Sends one key's transactions on one chain in nonce order, surviving what goes wrong with nonces:
 * - "nonce too low" / "already known" (another process used the key, or a resend was mined): the
 *   nonce is re-read from the chain and the request sent again;
 * - "replacement underpriced" (a pending transaction holds this nonce): the next nonce is tried;
 * - "nonce too high" (a gap, e.g. after a dropped transaction): re-read from the chain;
 * - a nonce gap: a transaction of ours still pending while a lower nonce is neither mined nor held
 *   by a transaction the node knows (a reorg removed our mined transaction and the client did not
 *   put it back in its pool, or a fallback RPC never saw it) would wait forever: every
 *   `dropCheckMs` the chain's nonce is compared with the pending one, and each hole is filled with
 *   a zero-value transfer to ourselves (counted in `distpos_nonce_gaps_total`, logged as
 *   `nonce gap: refilling`); the caller of the lost transaction already had its receipt and
 *   re-checks its effect itself (the relayer's confirmed-delivery check, the attester's next
 *   snapshot round);
 * - a transaction that is neither mined nor known to the node (looked up every `dropCheckMs`, e.g.
 *   after a reorg removed the block that held it) was dropped: the nonce is re-read and the request
 *   sent again (callers make their requests idempotent, e.g. the relayer re-checks isDelivered, so
 *   a late duplicate reverts harmlessly); one still pending after `receiptTimeoutMs` is replaced
 *   with higher fees.
 * Sends are serialized within the process; several processes with one key resolve through the
 * "too low" path.
 *
 * The RPC is not trusted with the key's balance: every transaction (replacements and gap fillers
 * included) is signed with fees the sender sets itself, at most the chain's cap
 * (`chains.<code>.maxFeePerGasGwei`): the RPC's fee estimate is cut to the cap (counted in
 * `distpos_fee_capped_total{reason="estimate"}`, logged naming the field), and a replacement raises
 * the fee the node itself last signed at that nonce, never a figure the RPC reports; at the cap it
 * is not replaced (`reason="bump"`) and the key waits (stuck, see `distpos_sender_stuck`).
 */
export class TxSender {
  private next: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly receiptTimeoutMs: number;
  private readonly dropCheckMs: number;
  private readonly maxAttempts: number;
  private readonly chainLabel: string;
  /** The hash we last sent at each recent nonce: what tells a nonce gap from a held nonce. */
  private readonly sentAt = new Map<number, Hex>();
  /** Nonces whose transaction is pending past receiptTimeoutMs or waits behind a gap. */
  private readonly stuck = new Set<number>();
  /** The fees we last signed at each recent nonce: what a replacement raises. */
  private readonly feesAt = new Map<number, Fees>();
  private readonly maxFeePerGas: bigint;
  private readonly maxFeeField: string;

  constructor(
    readonly publicClient: PublicClient,
    readonly wallet: WalletClient,
    readonly account: Account,
    private readonly options: SenderOptions = {},
  ) {
    this.log = (options.log ?? silentLogger).child({ sender: account.address });
    const policy = senderPolicyOf(wallet);
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? policy?.receiptTimeoutMs ?? 60_000;
    this.maxFeePerGas = options.maxFeePerGas ?? policy?.maxFeePerGas ?? DEFAULT_MAX_FEE_PER_GAS;
    this.maxFeeField = policy?.maxFeeField ?? "maxFeePerGas (sender option)";
    this.dropCheckMs = Math.min(options.dropCheckMs ?? 5_000, this.receiptTimeoutMs);
    this.maxAttempts = options.maxAttempts ?? 6;
    this.chainLabel = options.chainLabel ?? String(publicClient.chain?.id ?? "?");
  }

  /**
   * Fees for a new transaction: the RPC's estimate (base fee and tip, or gas price), cut to the
   * cap. The estimate may be a lie; the cap is what bounds what the key can lose.
   */
  private async estimateFees(log: Logger): Promise<Fees> {
    const cap = this.maxFeePerGas;
    const est = await this.publicClient
      .estimateFeesPerGas({ chain: undefined, type: "eip1559" })
      .catch(async (e: unknown) => {
        // A chain without a base fee (pre-London): legacy gas price.
        if (!(e instanceof Eip1559FeesNotSupportedError)) throw e;
        return undefined;
      });
    if (!est) {
      const { gasPrice } = await this.publicClient.estimateFeesPerGas({
        chain: undefined,
        type: "legacy",
      });
      if (gasPrice <= cap) return { gasPrice };
      this.capped("estimate", log, { rpcGasPrice: gasPrice.toString() });
      return { gasPrice: cap };
    }
    let maxFeePerGas = est.maxFeePerGas;
    if (maxFeePerGas > cap) {
      this.capped("estimate", log, { rpcMaxFeePerGas: maxFeePerGas.toString() });
      maxFeePerGas = cap;
    }
    const tip = est.maxPriorityFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
  }

  /**
   * Fees to replace the transaction we signed at `nonce` with: ours raised by a quarter, up to the
   * cap; undefined when ours are at the cap already (the transaction is not replaced).
   */
  private bumpedFees(nonce: number, log: Logger): Fees | undefined {
    const own = this.feesAt.get(nonce);
    if (!own) return undefined;
    const cap = this.maxFeePerGas;
    const bump = (v: bigint) => {
      const up = (v * 5n) / 4n + 1n;
      return up < cap ? up : cap;
    };
    const current = own.gasPrice ?? own.maxFeePerGas;
    if (current >= cap) {
      this.capped("bump", log, { nonce, signedMaxFee: current.toString() });
      return undefined;
    }
    if (own.gasPrice !== undefined) return { gasPrice: bump(own.gasPrice) };
    const maxFeePerGas = bump(own.maxFeePerGas);
    const tip = bump(own.maxPriorityFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
  }

  private capped(reason: "estimate" | "bump", log: Logger, detail: Record<string, unknown>): void {
    this.options.metrics?.feeCapped.inc({ chain: this.chainLabel, reason });
    log.warn(
      {
        chain: this.chainLabel,
        field: this.maxFeeField,
        capWei: this.maxFeePerGas.toString(),
        ...detail,
      },
      reason === "estimate"
        ? `fee above ${this.maxFeeField}: signing at the cap, not at the RPC's figure`
        : `fee at ${this.maxFeeField}: not replacing the pending transaction with a higher fee`,
    );
  }

  get address(): Address {
    return this.account.address;
  }

  /** Sends `req` and waits for its receipt; throws TxRevertedError when it reverted. */
  send(req: TxRequest): Promise<TransactionReceipt> {
    return this.sendAttempt(req, 1);
  }

  /** Forgets the local nonce so that the next send reads it from the chain. */
  resync(reason: string): void {
    this.next = undefined;
    this.options.metrics?.nonceResyncs.inc({ chain: this.chainLabel, reason });
  }

  private sendAttempt(req: TxRequest, attempt: number): Promise<TransactionReceipt> {
    const run = this.queue.then(
      () => this.submit(req, attempt),
      () => this.submit(req, attempt),
    );
    // The queue orders submissions only: the next send waits for this hash, not for its receipt.
    this.queue = run.catch(() => undefined);
    return run.then((s) => this.awaitReceipt(req, s, attempt));
  }

  private async chainNonce(): Promise<number> {
    return this.publicClient.getTransactionCount({
      address: this.account.address,
      blockTag: "pending",
    });
  }

  private async submit(req: TxRequest, firstAttempt: number): Promise<Submitted> {
    if (this.options.signal?.aborted) throw new ShutdownError();
    const log = this.log.child({ label: req.label, ...req.logContext });
    const gas =
      req.gas ??
      ((await this.publicClient.estimateGas({
        account: this.account,
        to: req.to,
        data: req.data,
      })) *
        5n) /
        4n;
    for (let attempt = firstAttempt; ; attempt++) {
      if (this.next === undefined) this.next = await this.chainNonce();
      const nonce = this.next;
      try {
        const fees = await this.estimateFees(log);
        const hash = await this.wallet.sendTransaction({
          account: this.account,
          chain: this.wallet.chain,
          to: req.to,
          data: req.data,
          gas,
          nonce,
          ...fees,
        });
        this.next = nonce + 1;
        this.remember(nonce, hash, fees);
        log.debug({ nonce, hash }, "transaction sent");
        return { hash, nonce, gas, log };
      } catch (e) {
        const kind = nonceErrorKind(e);
        // Each nonce error means another transaction of this key got the nonce: progress was made,
        // so these retries are bounded generously; drops and transport errors are not.
        if (!kind || attempt >= this.maxAttempts * 8) {
          this.options.metrics?.txs.inc({
            chain: this.chainLabel,
            label: req.label,
            outcome: "send-error",
          });
          // A transport failure leaves the nonce state unknown: read it again next time.
          if (!kind) this.next = undefined;
          throw e;
        }
        log.warn({ nonce, kind, attempt, err: errorText(e) }, "nonce problem, retrying");
        if (kind === "underpriced") this.next = nonce + 1;
        else this.resync(kind);
      }
    }
  }

  /** `p`, or ShutdownError as soon as the node stops. */
  private untilStopped<T>(p: Promise<T>, hash?: Hex): Promise<T> {
    const signal = this.options.signal;
    if (!signal) return p;
    if (signal.aborted) return Promise.reject(new ShutdownError(hash));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new ShutdownError(hash));
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private remember(nonce: number, hash: Hex, fees: Fees): void {
    this.sentAt.set(nonce, hash);
    this.feesAt.set(nonce, fees);
    if (this.sentAt.size > 4_096) {
      const oldest = Math.min(...this.sentAt.keys());
      this.sentAt.delete(oldest);
      this.feesAt.delete(oldest);
    }
  }

  private setStuck(nonce: number, stuck: boolean): void {
    if (stuck) this.stuck.add(nonce);
    else this.stuck.delete(nonce);
    this.options.metrics?.senderStuck.set(
      { chain: this.chainLabel, sender: this.account.address },
      this.stuck.size > 0 ? 1 : 0,
    );
  }

  /**
   * Fills every nonce below `pendingNonce` (one of ours, still pending) that the chain has not
   * mined and no transaction the node knows holds: without this the pending one, and every later
   * one of this key, would wait forever.
   */
  private async fillGaps(pendingNonce: number, log: Logger): Promise<void> {
    let mined: number;
    try {
      mined = await this.publicClient.getTransactionCount({
        address: this.account.address,
        blockTag: "latest",
      });
    } catch {
      return; // no answer: look again on the next check
    }
    for (let nonce = mined; nonce < pendingNonce; nonce++) {
      const hash = this.sentAt.get(nonce);
      if (hash) {
        const held = await this.publicClient
          .getTransaction({ hash })
          .catch((err: unknown) => (err instanceof TransactionNotFoundError ? undefined : null));
        if (held !== undefined) continue; // known to the node, or no answer: not a gap (yet)
      }
      this.setStuck(pendingNonce, true);
      this.options.metrics?.nonceGaps.inc({ chain: this.chainLabel });
      log.warn({ nonce, pendingNonce, chainNonce: mined, lost: hash }, "nonce gap: refilling");
      try {
        const fees = await this.estimateFees(log);
        const filler = await this.wallet.sendTransaction({
          account: this.account,
          chain: this.wallet.chain,
          to: this.account.address,
          value: 0n,
          gas: 21_000n,
          nonce,
          ...fees,
        });
        this.remember(nonce, filler, fees);
      } catch (e) {
        // Another transaction took the nonce meanwhile (ours, or another process's with this key).
        if (!nonceErrorKind(e))
          log.warn({ nonce, err: errorText(e) }, "nonce gap: refill failed, trying again");
      }
    }
  }

  private async awaitReceipt(
    req: TxRequest,
    sent: Submitted,
    attempt: number,
  ): Promise<TransactionReceipt> {
    const { log } = sent;
    let hash = sent.hash;
    let receipt: TransactionReceipt | undefined;
    let pendingSince = Date.now();
    for (let round = 1; !receipt;) {
      try {
        receipt = await this.untilStopped(
          this.publicClient.waitForTransactionReceipt({
            hash,
            timeout: this.dropCheckMs,
            retryCount: 1_000_000,
          }),
          hash,
        );
        break;
      } catch (e) {
        if (e instanceof ShutdownError) {
          this.setStuck(sent.nonce, false);
          throw e;
        }
        // Looked up every dropCheckMs, not only after receiptTimeoutMs: a transaction a reorg or
        // the mempool dropped would otherwise hold up this key's work for the whole timeout.
        const pending = await this.publicClient
          .getTransaction({ hash })
          .catch((err: unknown) => (err instanceof TransactionNotFoundError ? undefined : null));
        if (pending === null) continue; // the node did not answer: neither dropped nor stuck
        if (pending) await this.fillGaps(sent.nonce, log);
        if (!pending) {
          // Dropped: the node forgot it. Re-read the nonce and send the request again; callers
          // make requests idempotent (the relayer re-checks isDelivered), so a late twin is harmless.
          log.warn(
            { hash, nonce: sent.nonce, err: errorText(e) },
            "transaction dropped, sending again",
          );
          this.resync("dropped");
          this.setStuck(sent.nonce, false);
          if (req.resendIfDropped === false) throw new TxDroppedError(hash);
          if (attempt >= this.maxAttempts) throw e;
          return this.sendAttempt(req, attempt + 1);
        }
        if (Date.now() - pendingSince < this.receiptTimeoutMs) continue;
        pendingSince = Date.now();
        this.setStuck(sent.nonce, true);
        log.warn(
          { hash, nonce: sent.nonce, pendingMs: this.receiptTimeoutMs },
          "transaction stuck: pending past the receipt timeout",
        );
        if (round++ >= this.maxAttempts) {
          this.setStuck(sent.nonce, false);
          throw e;
        }
        // Stuck in the mempool: replace it at the same nonce with the fees we signed raised by a
        // quarter (never the RPC's figure for them), up to the cap.
        const fees = this.bumpedFees(sent.nonce, log);
        if (!fees) continue;
        try {
          hash = await this.wallet.sendTransaction({
            account: this.account,
            chain: this.wallet.chain,
            to: req.to,
            data: req.data,
            gas: sent.gas,
            nonce: sent.nonce,
            ...fees,
          });
          this.remember(sent.nonce, hash, fees);
          log.warn(
            { old: pending.hash, hash, nonce: sent.nonce },
            "transaction stuck, replaced with higher fees",
          );
        } catch (err) {
          // "nonce too low" / "already known": the original was mined meanwhile; keep waiting on it.
          if (!nonceErrorKind(err)) throw err;
        }
      }
    }
    this.setStuck(sent.nonce, false);
    const outcome = receipt.status === "success" ? "success" : "reverted";
    this.options.metrics?.txs.inc({ chain: this.chainLabel, label: req.label, outcome });
    if (receipt.status !== "success") {
      log.warn({ hash, block: Number(receipt.blockNumber) }, "transaction reverted");
      throw new TxRevertedError(hash, receipt);
    }
    log.debug(
      { hash, block: Number(receipt.blockNumber), gasUsed: Number(receipt.gasUsed) },
      "transaction mined",
    );
    return receipt;
  }
}

interface Submitted {
  hash: Hex;
  nonce: number;
  gas: bigint;
  log: Logger;
}
