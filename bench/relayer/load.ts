/**
 * Load and observation. The load: `BenchLoad.dispatchMany` transactions on A, paced to an offered
 * rate, each mined at once (automining), the wall-clock time noted when the block holding it is
 * mined (`eth_sendTransaction` returns then). The observation: B's block number polled in-process
 * every few milliseconds, the wall-clock time each block was first seen noted; a message's delivery
 * is confirmed when the block `confirmations` above its `Delivered` block exists. Both ends are
 * wall-clock times at observation, on this process's clock.
 */
import { encodeFunctionData, getAbiItem, toEventSelector, type Hex } from "viem";

import { IInboxAbi, IOutboxAbi } from "../../relayer/chain/abis.js";
import type { TestChain } from "../../test/helpers/suite.js";
import { BenchLoad__factory } from "../../typechain-types/index.js";
import type { BenchChains } from "./network.js";

const loadInterface = BenchLoad__factory.createInterface();

export interface DispatchTx {
  hash: Hex;
  /** Wall-clock ms when the transaction's block was mined (eth_sendTransaction returned). */
  minedAt: number;
  messages: number;
}

/** What the load needs of the chains: A with BenchLoad and an account it signs with, B's recipient. */
export type LoadTarget = Pick<BenchChains, "a" | "b" | "load" | "loadSender" | "recipientWord">;

/** Gas limit for a dispatchMany of `n` (≈ 8.6k per dispatch in the loop, with margin). */
const gasFor = (n: number) => 200_000 + n * 15_000;

async function request<T>(chain: TestChain, method: string, params: unknown[] = []): Promise<T> {
  return (await chain.connection.provider.request({ method, params })) as T;
}

/**
 * Dispatches `total` messages in transactions of `perTx`, one transaction every
 * `perTx / ratePerSecond` seconds (sent late when the chain is slower than that). On a chain that
 * mines on an interval (anvil) `minedAt` is only when the transaction was sent: the caller takes
 * the time its block was first seen instead.
 */
export async function paceLoad(
  chains: LoadTarget,
  total: number,
  perTx: number,
  ratePerSecond: number,
  seed: number,
): Promise<DispatchTx[]> {
  const interval = (perTx / ratePerSecond) * 1000;
  const txs: DispatchTx[] = [];
  const start = Date.now();
  for (let sent = 0, k = 0; sent < total; k++) {
    const due = start + k * interval;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const n = Math.min(perTx, total - sent);
    const data = loadInterface.encodeFunctionData("dispatchMany", [
      chains.b.suite.code,
      chains.recipientWord,
      n,
      seed + sent,
    ]);
    const hash = await request<Hex>(chains.a, "eth_sendTransaction", [
      {
        from: chains.loadSender,
        to: chains.load,
        data,
        gas: `0x${gasFor(n).toString(16)}`,
      },
    ]);
    txs.push({ hash, minedAt: Date.now(), messages: n });
    sent += n;
  }
  return txs;
}

/** Waits until the transaction `hash` is mined (a chain mining on an interval, as anvil). */
export async function waitMined(chain: TestChain, hash: Hex): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (await request(chain, "eth_getTransactionReceipt", [hash])) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`load transaction ${hash} not mined in 60 s`);
}

/** Message ids dispatched by `txs` (from their receipts' Dispatch logs), with the tx's time. */
export async function dispatchedIds(
  chain: TestChain,
  txs: DispatchTx[],
): Promise<{ id: Hex; nonce: number; dispatchedAt: number; block: number }[]> {
  const outbox = chain.suite.addresses.outbox.toLowerCase();
  const topic = eventTopic("Dispatch");
  const out: { id: Hex; nonce: number; dispatchedAt: number; block: number }[] = [];
  for (const tx of txs) {
    const receipt = await request<{
      status: string;
      blockNumber: string;
      logs: { address: string; topics: Hex[]; data: Hex }[];
    }>(chain, "eth_getTransactionReceipt", [tx.hash]);
    if (receipt.status !== "0x1") throw new Error(`load transaction ${tx.hash} reverted`);
    const ids = receipt.logs
      .filter((l) => l.address.toLowerCase() === outbox && l.topics[0] === topic)
      .map((l) => ({
        id: l.topics[1]!,
        // data = abi.encode(uint32 nonce, bytes message): the nonce is the first word.
        nonce: Number(BigInt(l.data.slice(0, 66))),
      }));
    if (ids.length !== tx.messages)
      throw new Error(`${tx.hash}: ${ids.length} Dispatch logs, ${tx.messages} expected`);
    for (const x of ids)
      out.push({ ...x, dispatchedAt: tx.minedAt, block: Number(receipt.blockNumber) });
  }
  return out;
}

function eventTopic(name: "Dispatch" | "Delivered"): Hex {
  return name === "Dispatch"
    ? toEventSelector(getAbiItem({ abi: IOutboxAbi, name: "Dispatch" }))
    : toEventSelector(getAbiItem({ abi: IInboxAbi, name: "Delivered" }));
}

/** Notes the wall-clock time at which each block of `chain` was first seen. */
export class BlockObserver {
  readonly firstSeen = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private last = -1;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly chain: TestChain,
    private readonly everyMs = 5,
  ) {}

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.everyMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const tip = Number(BigInt(await request<Hex>(this.chain, "eth_blockNumber")));
      const now = Date.now();
      for (let b = this.last + 1; b <= tip; b++)
        if (!this.firstSeen.has(b)) this.firstSeen.set(b, now);
      if (tip > this.last) this.last = tip;
    } catch (e) {
      // A poll in flight when the observer stopped may meet the chain closed after it.
      if (!this.stopped) throw e;
    } finally {
      this.busy = false;
    }
  }

  get tip(): number {
    return this.last;
  }
}

/** Every Delivered event on `chain`'s Inbox from `fromBlock`: id → blocks (one per delivery). */
export async function deliveredOn(
  chain: TestChain,
  fromBlock: number,
): Promise<Map<string, number[]>> {
  const logs = await request<{ topics: Hex[]; blockNumber: Hex }[]>(chain, "eth_getLogs", [
    {
      address: chain.suite.addresses.inbox,
      topics: [eventTopic("Delivered")],
      fromBlock: `0x${fromBlock.toString(16)}`,
      toBlock: "latest",
    },
  ]);
  const out = new Map<string, number[]>();
  for (const l of logs) {
    const id = l.topics[1]!.toLowerCase();
    out.set(id, [...(out.get(id) ?? []), Number(BigInt(l.blockNumber))]);
  }
  return out;
}

/** Every transaction sent to `chain`'s Inbox in blocks [from, to]: status and batch size. */
export async function deliverTransactions(
  chain: TestChain,
  from: number,
  to: number,
): Promise<{ hash: Hex; block: number; ok: boolean; messages: number; gasUsed: number }[]> {
  const inbox = chain.suite.addresses.inbox.toLowerCase();
  const out: { hash: Hex; block: number; ok: boolean; messages: number; gasUsed: number }[] = [];
  for (let b = from; b <= to; b++) {
    const block = await request<{ transactions: { hash: Hex; to: string | null; input: Hex }[] }>(
      chain,
      "eth_getBlockByNumber",
      [`0x${b.toString(16)}`, true],
    );
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== inbox) continue;
      const receipt = await request<{ status: string; gasUsed: Hex }>(
        chain,
        "eth_getTransactionReceipt",
        [tx.hash],
      );
      let messages = 0;
      if (tx.input.startsWith(deliverSelector)) {
        // deliver(checkpoint, signatures, messages, proof): the messages array's length word.
        const word = (i: number) => BigInt(`0x${tx.input.slice(10 + 64 * i, 10 + 64 * (i + 1))}`);
        const offset = Number(word(4)) / 32; // head: origin, root, count, sigs offset, msgs offset
        messages = Number(word(offset));
      }
      out.push({
        hash: tx.hash,
        block: b,
        ok: receipt.status === "0x1",
        messages,
        gasUsed: Number(BigInt(receipt.gasUsed)),
      });
    }
  }
  return out;
}

const deliverSelector = encodeFunctionData({
  abi: IInboxAbi,
  functionName: "deliver",
  args: [
    { origin: 1n, root: `0x${"11".repeat(32)}`, count: 1, last: `0x${"22".repeat(32)}` },
    "0x",
    "0x",
    [],
  ],
}).slice(0, 10);

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}
