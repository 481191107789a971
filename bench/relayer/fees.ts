/**
 * The relayer benchmark's fee phase: what a relayer earns against what its deliveries cost, per
 * route. B's governance prices deliveries from A; the price reaches A in B's reserve report (the
 * nodes carry it), waits A's exposure window (the chain's clock is moved past it) and is applied by
 * A's node's attester (relayer/attester/prices.ts); then FEE_MESSAGES messages paying their quote
 * (`Outbox.dispatchWithFee` from a prepaid balance) go A → B, and the nodes' own per-route counters
 * (GET /v1/fees, read before and after) give the fees earned and the gas spent.
 */
import { formatUnits } from "viem";

import { fundedWallets, ONE } from "../../test/helpers/suite.js";
import type { RouteFees } from "../../relayer/api/fees.js";
import { deliverTransactions, type BlockObserver } from "./load.js";
import type { BenchChains, BenchNode } from "./network.js";

/** Fee-paying messages of the phase (one `dispatchWithFee` transaction each). */
export const FEE_MESSAGES = Number(process.env.BENCH_FEE_MESSAGES ?? 200);
/** B's price for A: per gas and per message, settlement units (18 decimals). */
const PRICE = { perGas: 10n ** 10n, base: 10n ** 15n };
/** Gas the recipient's handler is given (the quote charges it). */
const HANDLER_GAS = 50_000n;

export interface FeeRoute {
  origin: string;
  destination: string;
  /** Fees the route's delivered messages carried, settlement tokens. */
  fees_earned_tokens: number;
  /** Gas of the deliver transactions (the destination's receipts, or wei spent / gas price). */
  gas: number;
  /** Native tokens the relayer paid for that gas (its own counter, effective gas prices). */
  gas_native: number;
}

export interface FeeResults {
  messages: number;
  price: { per_gas: string; base: string; handler_gas: number };
  fee_per_message_tokens: number;
  /** The destination's gas price at the end of the phase (gwei). */
  gas_price_gwei: number;
  /** From A's clock passing the window to A's node applying the raise (ms). */
  price_applied_after_ms: number;
  routes: FeeRoute[];
}

const fees = async (node: BenchNode): Promise<RouteFees[]> =>
  ((await (await fetch(`${node.apiUrl}/v1/fees`)).json()) as { routes: RouteFees[] }).routes;

async function until<T>(what: string, check: () => Promise<T | false>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== false) return v;
    if (Date.now() > deadline) throw new Error(`fee phase: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the fee phase on running nodes; `waitDelivered` waits for ids delivered on B. */
export async function feePhase(
  chains: BenchChains,
  nodes: BenchNode[],
  observer: BlockObserver,
  waitDelivered: (ids: Set<string>, fromBlock: number) => Promise<unknown>,
  log: (line: string) => void,
): Promise<FeeResults> {
  const { a, b } = chains;
  log(`fees: B prices deliveries from A, then ${FEE_MESSAGES} messages paying their quote`);
  // B's governance (its timelock) sets the price; its bank reports it to A, where it waits W.
  const timelock = b.suite.addresses.timelock;
  await b.connection.networkHelpers.impersonateAccount(timelock);
  await b.connection.networkHelpers.setBalance(timelock, 10n ** 20n);
  const governance = b.suite.bank.connect(await b.connection.ethers.getSigner(timelock));
  await (await governance.setDeliveryPrice(a.suite.code, PRICE.perGas, PRICE.base, 0)).wait();
  await until(
    "the price pending on A",
    async () => (await a.suite.bank.pendingPrice(b.suite.code)).readyAt !== 0n,
  );
  await a.connection.networkHelpers.time.increase(await a.suite.inbox.exposureWindow());
  const windowPassed = Date.now();
  await until(
    "A's node to apply the price",
    async () => (await a.suite.outbox.quote(b.suite.code, 32, HANDLER_GAS, 0)) > 0n,
  );
  const appliedAfter = Date.now() - windowPassed;
  const quote = await a.suite.outbox.quote(b.suite.code, 32, HANDLER_GAS, 0);

  const [user] = await fundedWallets(a.connection, a.suite, 1, 10n * ONE);
  const prepaid = quote * BigInt(FEE_MESSAGES);
  await (await a.suite.token.connect(user!).approve(a.suite.addresses.bank, prepaid)).wait();
  await (await a.suite.bank.connect(user!).prepayFees(prepaid)).wait();

  const before = await Promise.all(nodes.map(fees));
  const fromBlock = observer.tip + 1;
  const outbox = a.suite.outbox.connect(user!);
  const ids = new Set<string>();
  for (let i = 0; i < FEE_MESSAGES; i++) {
    const body = `0x${i.toString(16).padStart(64, "0")}`;
    const receipt = await (
      await outbox.dispatchWithFee(b.suite.code, chains.recipientWord, body, HANDLER_GAS, quote)
    ).wait();
    for (const l of receipt!.logs) {
      const parsed = a.suite.outbox.interface.parseLog(l);
      if (parsed?.name === "Dispatch") ids.add((parsed.args.id as string).toLowerCase());
    }
  }
  await waitDelivered(ids, fromBlock);
  // The relayer counts a batch's fees once its confirmations are in.
  const expected = Number(formatUnits(quote * BigInt(ids.size), 18));
  const codeA = a.suite.addresses.chainCode;
  const codeB = b.suite.addresses.chainCode;
  const earned = (rows: RouteFees[]) =>
    rows.find((r) => r.origin === codeA && r.destination === codeB)?.feesEarned ?? 0;
  const bIndex = nodes.findIndex((n) => n.chain === b);
  const after = await until("the fees counted", async () => {
    const now = await Promise.all(nodes.map(fees));
    return earned(now[bIndex]!) - earned(before[bIndex]!) >= expected * (1 - 1e-9) && now;
  });
  const receipts = await deliverTransactions(b, fromBlock, observer.tip);
  const gasAB = receipts.reduce((s, t) => s + t.gasUsed, 0);
  const gasPrice = await b.connection.ethers.provider.send("eth_gasPrice", []);
  const routes: FeeRoute[] = [];
  nodes.forEach((n, i) => {
    for (const r of after[i]!) {
      const was = before[i]!.find((x) => x.origin === r.origin && x.destination === r.destination);
      const wei = r.gasSpentWei - (was?.gasSpentWei ?? 0);
      const earnedTokens = r.feesEarned - (was?.feesEarned ?? 0);
      if (wei === 0 && earnedTokens === 0) continue;
      const ab = r.origin === codeA && r.destination === codeB;
      routes.push({
        origin: r.origin,
        destination: r.destination,
        fees_earned_tokens: earnedTokens,
        gas: ab ? gasAB : Math.round(wei / Number(BigInt(gasPrice))),
        gas_native: wei / 1e18,
      });
    }
  });
  const result: FeeResults = {
    messages: ids.size,
    price: { per_gas: PRICE.perGas.toString(), base: PRICE.base.toString(), handler_gas: 50_000 },
    fee_per_message_tokens: Number(formatUnits(quote, 18)),
    gas_price_gwei: Number(formatUnits(BigInt(gasPrice), 9)),
    price_applied_after_ms: appliedAfter,
    routes,
  };
  log(`  fees: ${JSON.stringify(result)}`);
  return result;
}
