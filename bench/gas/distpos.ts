/**
 * The DistPOS side of the gas benchmark, built on the test network fixture (the production deploy
 * path: Ignition module, timelock, pairwise connect, staked and allocated attesters) and its relay
 * step: dispatches on chain A, deliveries on chain B, all to one no-op recipient.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ethers, type Signer, type TransactionReceipt } from "ethers";

import { governThroughTimelock } from "../../deploy/governance.js";
import { suiteAs } from "../../deploy/suite.js";
import {
  addressToBytes32,
  decodeMessage,
  ZERO_HASHES,
  type MerkleTree,
} from "../../relayer/protocol/index.js";
import {
  createTestNetwork,
  ONE,
  prepareDelivery,
  relay,
  sendDelivery,
  type Delivery,
  type DispatchedMessage,
  type TestChain,
} from "../../test/helpers/suite.js";
import { BenchRecipient__factory } from "../../typechain-types/index.js";
import { loadSourceMapper, StaleArtifactError, type SourceMapper } from "./sourceMap.js";
import type { Sample } from "./stats.js";
import { body, sendMany, toSample } from "./tx.js";

export interface BenchNetwork {
  a: TestChain;
  b: TestChain;
  /** The no-op recipient on B. */
  recipient: string;
  recipientWord: string;
  /** Sender of the dispatches on A (the deployer account). */
  user: Signer;
  /** Contract names per chain (for gas breakdowns; both chains reuse addresses). */
  namesA: Map<string, string>;
  namesB: Map<string, string>;
}

/**
 * Two chains connected by the production path, five attesters each with ample stake (value
 * transfers need coverage), a no-op recipient on B.
 */
export async function createBenchNetwork(): Promise<BenchNetwork> {
  const [a, b] = await createTestNetwork({
    attestersPerChain: 5,
    stake: 1_000_000_000n * ONE,
    allocation: 100_000_000n * ONE,
  });
  const [deployerB] = await b.connection.ethers.getSigners();
  const recipientContract = await new BenchRecipient__factory(deployerB).deploy();
  await recipientContract.waitForDeployment();
  const recipient = await recipientContract.getAddress();
  const [user] = await a.connection.ethers.getSigners();

  const [namesA, namesB] = [a, b].map((chain) => {
    const x = chain.suite.addresses;
    return new Map<string, string>([
      [x.registry.toLowerCase(), "RouteRegistry"],
      [x.outbox.toLowerCase(), "Outbox"],
      [x.inbox.toLowerCase(), "Inbox"],
      [x.stakingHub.toLowerCase(), "StakingHub"],
      [x.bank.toLowerCase(), "CorrespondentBank"],
      [x.settlementToken.toLowerCase(), "settlement token (ERC20)"],
    ]);
  });
  namesB.set(recipient.toLowerCase(), "BenchRecipient (no-op)");
  const recipientWord = addressToBytes32(recipient as `0x${string}`);
  return { a, b, recipient, recipientWord, user, namesA, namesB };
}

/** Dispatches `count` pure messages of `bodySize` bytes to the recipient; returns the samples. */
export async function dispatchPure(
  net: BenchNetwork,
  count: number,
  bodySize: number,
  seed: number,
): Promise<{ samples: Sample[]; receipts: TransactionReceipt[] }> {
  const outbox = suiteAs(net.a.suite, net.user).outbox;
  const receipts = await sendMany(net.user, count, (i, overrides) =>
    outbox.dispatch(net.b.suite.code, net.recipientWord, body(bodySize, seed + i), overrides),
  );
  return { samples: receipts.map(toSample), receipts };
}

/**
 * Prepares value transfers from A to B: the deployer of B funds reserve[A] (its bank reports the
 * reserve to A), then governance raises B's report threshold so that the benchmark's payouts do
 * not each send a report back, and the report is relayed to A so that A's credit view allows sends.
 */
export async function prepareValueRoute(net: BenchNetwork, reserve: bigint): Promise<void> {
  const { a, b } = net;
  const [funder] = await b.connection.ethers.getSigners();
  const bankB = suiteAs(b.suite, funder);
  await (await bankB.token.mint(await funder.getAddress(), reserve)).wait();
  await (await bankB.token.approve(b.suite.addresses.bank, reserve)).wait();
  await (await bankB.bank.fund(a.suite.code, reserve)).wait();
  const data = b.suite.bank.interface.encodeFunctionData("setThresholds", [
    a.suite.code,
    reserve, // report only after the reserve moved by all of it
    0n,
    0n,
  ]);
  await governThroughTimelock(b.suite, [{ target: b.suite.addresses.bank, data }]);
  // B's pending messages to A include its attesters' allocation reports: a majority signs.
  await relay(b, a, { signers: b.attesters.slice(0, majorityOf(b.attesters.length)) });
  const credit = await a.suite.bank.creditView(b.suite.code);
  if (credit < reserve) throw new Error(`credit view on A is ${credit}, expected ${reserve}`);

  const user = suiteAs(a.suite, net.user);
  await (await user.token.mint(await net.user.getAddress(), reserve)).wait();
  await (await user.token.approve(a.suite.addresses.bank, ethers.MaxUint256)).wait();
}

/** B's delivery price for A's messages in the benchmark (settlement units of 18 decimals). */
export const BENCH_PRICE = { perGas: 1_000_000_000n, base: 10n ** 15n, premiumPpm: 100 };
/** Handler gas the fee-paying dispatches declare (the quote's input). */
export const BENCH_HANDLER_GAS = 50_000n;

/**
 * Prepares fee-paying messages from A to B (docs/protocol.md 3.9): B's governance sets its delivery
 * price for A, B's next reserve report carries it to A (relayed, signed by a majority, applied W
 * later), and A's user prepays `prepaid` of fees. Returns the quote of a pure message with a `bodySize` body.
 */
export async function prepareFees(
  net: BenchNetwork,
  prepaid: bigint,
  bodySize: number,
): Promise<bigint> {
  const { a, b } = net;
  const data = b.suite.bank.interface.encodeFunctionData("setDeliveryPrice", [
    a.suite.code,
    BENCH_PRICE.perGas,
    BENCH_PRICE.base,
    BENCH_PRICE.premiumPpm,
  ]);
  await governThroughTimelock(b.suite, [{ target: b.suite.addresses.bank, data }]);
  await relay(b, a, { signers: b.attesters.slice(0, majorityOf(b.attesters.length)) });
  // A raise waits A's exposure window W before it applies (protocol.md 3.9, "Price delay").
  await a.connection.networkHelpers.time.increase(await a.suite.inbox.exposureWindow());
  await (await a.suite.bank.applyPendingPrice(b.suite.code)).wait();
  const user = suiteAs(a.suite, net.user);
  await (await user.token.mint(await net.user.getAddress(), prepaid)).wait();
  await (await user.bank.prepayFees(prepaid)).wait();
  const quote = await a.suite.outbox.quote(b.suite.code, bodySize, BENCH_HANDLER_GAS, 0);
  if (quote === 0n) throw new Error("A has no delivery price for B");
  return quote;
}

/** Dispatches `count` fee-paying pure messages (`dispatchWithFee`, max fee `maxFee`). */
export async function dispatchWithFee(
  net: BenchNetwork,
  count: number,
  bodySize: number,
  seed: number,
  maxFee: bigint,
): Promise<{ samples: Sample[]; receipts: TransactionReceipt[] }> {
  const outbox = suiteAs(net.a.suite, net.user).outbox;
  const receipts = await sendMany(net.user, count, (i, overrides) =>
    outbox.dispatchWithFee(
      net.b.suite.code,
      net.recipientWord,
      body(bodySize, seed + i),
      BENCH_HANDLER_GAS,
      maxFee,
      overrides,
    ),
  );
  return { samples: receipts.map(toSample), receipts };
}

/** Sends `count` value transfers of `amount` with a `bodySize`-byte user body through A's bank. */
export async function sendValue(
  net: BenchNetwork,
  count: number,
  amount: bigint,
  bodySize: number,
  seed: number,
): Promise<{ samples: Sample[]; receipts: TransactionReceipt[] }> {
  const bank = suiteAs(net.a.suite, net.user).bank;
  const receipts = await sendMany(net.user, count, (i, overrides) =>
    bank.send(net.b.suite.code, net.recipientWord, amount, body(bodySize, seed + i), overrides),
  );
  return { samples: receipts.map(toSample), receipts };
}

/** Nonces of the messages A's Outbox dispatched in `receipts`, in order. */
export function noncesOf(net: BenchNetwork, receipts: TransactionReceipt[]): number[] {
  return dispatchedIn(net, receipts).map((m) => m.nonce);
}

/** The messages dispatched in `receipts` (as the relay step reads them from the logs). */
export function dispatchedIn(
  net: BenchNetwork,
  receipts: TransactionReceipt[],
): DispatchedMessage[] {
  const outbox = net.a.suite.outbox;
  const out: DispatchedMessage[] = [];
  for (const receipt of receipts) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== net.a.suite.addresses.outbox.toLowerCase()) continue;
      const parsed = outbox.interface.parseLog(log);
      if (parsed?.name !== "Dispatch") continue;
      out.push({
        id: parsed.args.id,
        nonce: Number(parsed.args.nonce),
        encoded: parsed.args.message,
        message: decodeMessage(parsed.args.message as `0x${string}`),
      });
    }
  }
  return out;
}

/**
 * How many of `attesters` equal mirrored stakes are a majority of the mirrored total: a batch that
 * carries a stake report needs signers holding more than half of it (protocol.md 3.5).
 */
export function majorityOf(attesters: number): number {
  return Math.floor(attesters / 2) + 1;
}

/** Whether any of `nonces` is a stake report (sender: A's StakingHub). */
export function carriesStakeReport(
  net: BenchNetwork,
  nonces: number[],
  dispatched: DispatchedMessage[],
): boolean {
  const hub = addressToBytes32(net.a.suite.addresses.stakingHub as `0x${string}`).toLowerCase();
  const wanted = new Set(nonces);
  return dispatched.some((m) => wanted.has(m.nonce) && m.message.sender.toLowerCase() === hub);
}

/**
 * Stake reports from A to B in a steady state: each of the first `count` attesters of A raises its
 * allocation to B by one token (StakingHub.allocate dispatches the report). Returns the receipts.
 */
export async function raiseAllocations(
  net: BenchNetwork,
  count: number,
): Promise<TransactionReceipt[]> {
  const receipts: TransactionReceipt[] = [];
  for (const attester of net.a.attesters.slice(0, count)) {
    const hub = suiteAs(net.a.suite, attester).stakingHub;
    const current = await hub.allocation(attester.address, net.b.suite.code);
    const receipt = await (await hub.allocate(net.b.suite.code, current + ONE)).wait();
    if (!receipt || receipt.status !== 1) throw new Error("allocate failed");
    receipts.push(receipt);
  }
  return receipts;
}

/** Prepares the delivery of `nonces` from A to B in one batch signed by the first `signers` attesters. */
export async function prepareBatch(
  net: BenchNetwork,
  nonces: number[],
  signers: number,
  source: { dispatched: DispatchedMessage[]; tree: MerkleTree },
): Promise<Delivery> {
  const delivery = await prepareDelivery(net.a, net.b, {
    signers: net.a.attesters.slice(0, signers),
    nonces,
    dispatched: source.dispatched,
    tree: source.tree,
  });
  if (!delivery || delivery.messages.length !== nonces.length) {
    throw new Error(
      `expected ${nonces.length} undelivered messages, got ${delivery?.messages.length}`,
    );
  }
  return delivery;
}

/**
 * Delivers the messages of `nonces` from A to B in one batch signed by the first `signers`
 * attesters (`delivery`: the batch already prepared for them).
 */
export async function deliverBatch(
  net: BenchNetwork,
  nonces: number[],
  signers: number,
  source: { dispatched: DispatchedMessage[]; tree: MerkleTree },
  prepared?: Delivery,
): Promise<Sample> {
  const delivery = prepared ?? (await prepareBatch(net, nonces, signers, source));
  const receipt = await sendDelivery(net.b, delivery);
  if (receipt.status !== 1) throw new Error(`delivery ${receipt.hash} failed`);
  // A handler failure would be recorded, not reverted: make sure none happened.
  const inbox = net.b.suite.inbox;
  for (const log of receipt.logs) {
    const parsed =
      log.address === net.b.suite.addresses.inbox ? inbox.interface.parseLog(log) : null;
    if (parsed?.name === "HandlerFailed") throw new Error(`handler failed in ${receipt.hash}`);
    if (parsed?.name === "StakeReportIgnored")
      throw new Error(`stake report ignored in ${receipt.hash}`);
  }
  // Siblings the sparse multiproof leaves out (roots of empty subtrees the verifier supplies).
  const omitted = omittedSiblings(
    delivery.messages.map((m) => decodeMessage(m as `0x${string}`).nonce),
    delivery.checkpoint.count,
  );
  return {
    ...toSample(receipt),
    proofSiblings: delivery.proof.length,
    omittedSiblings: omitted.length,
    omittedCalldataGas: omitted.reduce((sum, node) => sum + calldataGas(node), 0),
  };
}

/**
 * The empty-subtree siblings (`Z[level]`) that the sparse multiproof of `nonces` at `count` leaves
 * out (docs/protocol.md 2.5): what a full multiproof would carry beyond the sparse one.
 */
export function omittedSiblings(nonces: readonly number[], count: number): string[] {
  const omitted: string[] = [];
  let positions = [...nonces];
  for (let level = 0; level < 32; level++) {
    const next: number[] = [];
    for (let i = 0; i < positions.length;) {
      const position = positions[i];
      if (position % 2 === 0 && positions[i + 1] === position + 1) {
        i += 2;
      } else {
        if (position % 2 === 0 && (position + 1) * 2 ** level >= count) {
          omitted.push(ZERO_HASHES[level]);
        }
        i += 1;
      }
      next.push(Math.floor(position / 2));
    }
    positions = next;
  }
  return omitted;
}

/** Calldata gas of the bytes of `hex` (4 per zero byte, 16 per other byte). */
export function calldataGas(hex: string): number {
  let gas = 0;
  for (let i = 2; i < hex.length; i += 2) gas += hex.slice(i, i + 2) === "00" ? 4 : 16;
  return gas;
}

/**
 * Source mappers of the suite's contracts on `chain` (and the bench recipient), by address. Load
 * them right after deployment: a contract whose artifact was rebuilt since (other helpers' work in
 * progress) is left out, and its gas is then shown by contract only.
 */
export async function sourceMappers(
  net: BenchNetwork,
  chain: TestChain,
): Promise<{ mappers: Map<string, SourceMapper>; stale: string[] }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const x = chain.suite.addresses;
  const contracts: [string, string, string][] = [
    [x.outbox, "contracts/messaging/Outbox.sol", "Outbox"],
    [x.inbox, "contracts/messaging/Inbox.sol", "Inbox"],
    [x.registry, "contracts/messaging/RouteRegistry.sol", "RouteRegistry"],
    [x.bank, "contracts/correspondent/CorrespondentBank.sol", "CorrespondentBank"],
    [x.stakingHub, "contracts/staking/StakingHub.sol", "StakingHub"],
    [x.settlementToken, "contracts/test/TestToken.sol", "TestToken"],
  ];
  if (chain === net.b) {
    contracts.push([net.recipient, "contracts/test/BenchRecipient.sol", "BenchRecipient"]);
  }
  const mappers = new Map<string, SourceMapper>();
  const stale: string[] = [];
  for (const [address, file, name] of contracts) {
    const code = await chain.connection.ethers.provider.getCode(address);
    try {
      mappers.set(address.toLowerCase(), await loadSourceMapper(root, file, name, code));
    } catch (error) {
      if (!(error instanceof StaleArtifactError)) throw error;
      stale.push(name);
    }
  }
  return { mappers, stale };
}
