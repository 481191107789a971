/**
 * The security theorem (docs/protocol.md, issue 13) as an adversarial model-based property on
 * three chains. Each sequence draws a coalition of A's attester keys (one key up to all of them)
 * and interleaves, on the routes A→B and A→C:
 *
 * - lies: the coalition signs false checkpoints of A holding made-up messages of every kind, several
 *   in one batch — stake reports up and down for any key (its own, honest ones, never-staked
 *   sybils, malformed bodies), value transfers to a thief, reserve reports, netting requests and
 *   replies (with `net` called by anyone), squats of in-flight real messages' nonces, and calls to a
 *   recipient whose self-chosen required coverage griefs the attesters' capacity;
 * - honest traffic: real dispatches and sends both ways, real allocation changes, real griefing
 *   (a recipient's policy and a real message delivered with the attesters' public signatures),
 *   honest deliveries signed by the keys outside the coalition;
 * - time passing (buckets, whole windows W, fixed-window edges);
 * - watchers proving lies on A after random delays: `StakingHub.proveFraud` with each signature
 *   the Inbox's `CheckpointAccepted` log recorded on the destination, then honest delivery of the
 *   zero reports.
 *
 * After every step (and once more at the end, when the watchers have proven every lie and the
 * honest keys deliver everything still in flight) it checks, against a model of the honest
 * reports, of who lied and what the lies took:
 *  (a) while the coalition holds less than half of the destination's mirrored total T: the mirror
 *      equals what honest reports say (no made-up change ever applied; sybils never mirrored);
 *      whatever a lie takes (payouts from A's reserve, netting moves of the destination's pool) is
 *      charged to the liars' coverage, each liar's charges within any W stay within its honestly
 *      mirrored stake, what the coalition takes within any W stays within its mirrored stake, in
 *      all within what slashing costs it on A after the bounty (vouching stake), and within its
 *      mirrored stake when every liar was out of the mirror within W of its first lie; a lie changes
 *      none of the destination's other books and moves its pool only through enabled netting;
 *  (b) while honest keys hold more than half: every honest stake report is delivered, other honest
 *      messages too (value within the honest keys' free capacity); a squatted pure call is the one
 *      documented residual;
 *  (c) after a proof on A and the zero report's delivery, the liar's signature is refused
 *      (`UnknownSigner`);
 * A route the coalition held half or more of is outside (a)–(c): at the end of the sequence its
 * governance pauses it, reseeds the mirror from A's true vouching stakes and resumes it (R2), which
 * must move no token and deliver nothing; with the coalition then below half, (a)–(c) hold again.
 *
 * Fees (issue 17): every route is priced from the start; sequences add honest fee-paying traffic
 * both ways (`sendWithFee`, prepaid `dispatchWithFee`, no maximum), true price changes and
 * `applyPendingPrice`, and lies carry fees and false prices in made-up reserve reports. Checked:
 * (a)(v) a route's quoted price stays within the true prices published, and no honest sender pays
 * more than the quote at them (under A2); fee conservation — each honest batch pays out exactly the
 * fees its messages carried (deliverer and signers' premium, paid or owed), a route's honest batches
 * never pay more than its origin's senders paid and, at the end, exactly the fees of the delivered
 * real messages; each bank holds its reserves, pools, locks, earned balances and fee float.
 *
 * Plus: recipients' policies never hold more than T/2 of the signers' capacity at once, beyond the
 * messages' amounts (R6, window edges included), every accepted batch is recorded in a `CheckpointAccepted` log with its signatures (R3), the
 * banks hold exactly what they owe, and at the end of a sequence every token of each chain is where
 * the model accounts for it (fee-independent conservation).
 *
 * Runs: 200 sequences in `npm test`, 10,000 under DISTPOS_DEEP=1 (test/helpers/deep.ts).
 */
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";
import fc from "fast-check";
import { createPublicClient, custom } from "viem";

import {
  addressToBytes32,
  decodeMessage,
  decodeStakeReport,
  encodeMessage,
  encodeNettingReply,
  encodeNettingRequest,
  encodeReserveReport,
  encodeStakeReport,
  encodeTransferBody,
  type Checkpoint,
} from "../../relayer/protocol/index.js";
import { readAcceptedCheckpoints } from "../../relayer/watcher/accepted.js";
import { runs } from "../helpers/deep.js";
import { Counters, one, wad } from "./property.js";
import {
  ATTESTERS,
  STAKE,
  W,
  World,
  forgeBatch,
  named,
  recipientBody,
  type Delivery,
  type DispatchedMessage,
  type Event,
  type ForgedFields,
  type Hex,
  type Outcome,
} from "./world.js";

/** Sequences: 200 in `npm test`, 10,000 under DISTPOS_DEEP=1. */
const RUNS = runs(200, 10_000);
/** Steps per sequence. */
const MAX_STEPS = 10;
const BUCKET = W / 8n;
const A = 0;
const B = 1;
/** The routes the coalition attacks: A→B and A→C. */
const DESTINATIONS = [1, 2] as const;
/** A delivery price (settlement units of 18 decimals; premium in parts per million). */
interface Price {
  perGas: bigint;
  base: bigint;
  premiumPpm: number;
}
/** Prices the communities' governance really publishes (issue 17). */
const TRUE_PRICES: Price[] = [
  { perGas: 1_000_000_000n, base: 10n ** 15n, premiumPpm: 1_000 },
  { perGas: 2_000_000_000n, base: 3n * 10n ** 15n, premiumPpm: 10_000 },
  { perGas: 500_000_000n, base: 10n ** 16n, premiumPpm: 100 },
];
/** What a lie claims: ~10^6 times the true fee, a 100 % premium. */
const FALSE_PRICE: Price = { perGas: 10n ** 15n, base: 10n ** 20n, premiumPpm: 1_000_000 };
const NO_PRICE: Price = { perGas: 0n, base: 0n, premiumPpm: 0 };
/** Priced routes: [the chain whose governance prices, the chain whose Outbox quotes from it]. */
const PRICED: readonly (readonly [number, number])[] = [
  [A, B],
  [A, 2],
  [B, A],
  [2, A],
];
/** Honest fee-paying traffic: [from, to]. */
const FEE_ROUTES: readonly (readonly [number, number])[] = [
  [A, B],
  [A, 2],
  [B, A],
];
/** Handler gas the honest fee-paying messages declare (an input of the quote). */
const FEE_HANDLER_GAS = 200_000n;

/** Keys that were never staked on A (fixed, so their signatures cache across runs). */
const SYBILS = [1, 2].map((i) => new ethers.Wallet(ethers.id(`theorem sybil ${i}`)));

/** Errors a false batch may be refused with (anything else is a broken test or contract). */
const LIE_REFUSALS = [
  "InsufficientCoverage",
  "StakeReportNeedsQuorum",
  "PolicyCoverageExhausted",
  "AlreadyDelivered",
  "UnknownSigner",
  "TooFewSigners",
];

// ---------------------------------------------------------------------------------------------
// Commands

type KeyPick = { who: "coalition" | "honest" | "sybil"; pick: number };
type ForgeItem =
  | { k: "stakeUp"; key: KeyPick; tokens: number }
  | { k: "stakeDown"; key: KeyPick; tokens: number }
  | { k: "stakeMalformed" }
  | { k: "transfer"; tokens: number }
  | { k: "reserveReport"; tokens: number; suspended: boolean; falsePrice: boolean }
  | { k: "nettingRequest"; tokens: number }
  | { k: "nettingReply"; tokens: number }
  | { k: "squat"; pick: number; asTransfer: boolean; tokens: number }
  | { k: "grief"; tokens: number };

type Command =
  | { k: "lie"; d: number; items: ForgeItem[]; gap: number; fee: number }
  | { k: "prove"; pick: number }
  | { k: "dispatch"; d: number }
  | { k: "send"; from: number; to: number; tokens: number }
  | { k: "allocate"; attester: number; d: number; tokens: number }
  | { k: "deliver"; d: number }
  | { k: "net" }
  | { k: "netAttack"; tokens: number; request: number }
  | { k: "grief"; d: number; share: number }
  | { k: "griefEdge"; d: number }
  | { k: "travel"; seconds: number }
  | { k: "feeSend"; route: number; tokens: number }
  | { k: "feeDispatch"; route: number }
  | { k: "price"; route: number; level: number }
  | { k: "applyPrice"; route: number };

const destArb = fc.constantFrom(1, 1, 2);
const keyArb: fc.Arbitrary<KeyPick> = fc.record({
  who: fc.constantFrom<KeyPick["who"]>("coalition", "honest", "honest", "sybil"),
  pick: fc.nat(),
});
const itemArb: fc.Arbitrary<ForgeItem> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(keyArb, fc.integer({ min: 1, max: 1_000 }))
      .map(([key, tokens]) => ({ k: "stakeUp" as const, key, tokens })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(keyArb, fc.constantFrom(0, 0, 1, 50, 99))
      .map(([key, tokens]) => ({ k: "stakeDown" as const, key, tokens })),
  },
  { weight: 1, arbitrary: fc.constant({ k: "stakeMalformed" as const }) },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: 1, max: 150 })
      .map((tokens) => ({ k: "transfer" as const, tokens })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 2_000 }), fc.boolean(), fc.boolean())
      .map(([tokens, suspended, falsePrice]) => ({
        k: "reserveReport" as const,
        tokens,
        suspended,
        falsePrice,
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 1, max: 400 })
      .map((tokens) => ({ k: "nettingRequest" as const, tokens })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(0, 0, 10, 200, 400)
      .map((tokens) => ({ k: "nettingReply" as const, tokens })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 50 }))
      .map(([pick, asTransfer, tokens]) => ({ k: "squat" as const, pick, asTransfer, tokens })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(1, 50, 150, 400, 1_000)
      .map((tokens) => ({ k: "grief" as const, tokens })),
  },
);
/** Netting without coverage (issue 13, mechanism 4): a reply of 0 releases the lock, then a request. */
const nettingComboArb = fc.integer({ min: 50, max: 400 }).map((tokens): ForgeItem[] => [
  { k: "nettingReply", tokens: 0 },
  { k: "nettingRequest", tokens },
]);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        destArb,
        fc.oneof(
          { weight: 6, arbitrary: fc.array(itemArb, { minLength: 1, maxLength: 4 }) },
          { weight: 1, arbitrary: nettingComboArb },
        ),
        fc.integer({ min: 0, max: 2 }),
        // Tokens of delivery fee each made-up message carries (issue 17: fees are value at risk).
        fc.constantFrom(0, 0, 1, 20),
      )
      .map(([d, items, gap, fee]) => ({
        k: "lie" as const,
        d: items.some(isNetting) ? B : d,
        items,
        gap,
        fee,
      })),
  },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ k: "prove" as const, pick })) },
  { weight: 2, arbitrary: destArb.map((d) => ({ k: "dispatch" as const, d })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom([0, 1], [0, 1], [0, 2], [1, 0], [1, 0]),
        fc.integer({ min: 1, max: 150 }),
      )
      .map(([[from, to], tokens]) => ({ k: "send" as const, from, to, tokens })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: ATTESTERS - 1 }),
        destArb,
        fc.constantFrom(0, 50, 100, 150, 300),
      )
      .map(([attester, d, tokens]) => ({ k: "allocate" as const, attester, d, tokens })),
  },
  { weight: 6, arbitrary: destArb.map((d) => ({ k: "deliver" as const, d })) },
  { weight: 1, arbitrary: fc.constant({ k: "net" as const }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 400 }))
      .map(([tokens, request]) => ({ k: "netAttack" as const, tokens, request })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(destArb, fc.constantFrom(4, 2, 1, 0))
      .map(([d, share]) => ({ k: "grief" as const, d, share })),
  },
  { weight: 1, arbitrary: destArb.map((d) => ({ k: "griefEdge" as const, d })) },
  // Honest fee-paying traffic and true price changes (issue 17).
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: FEE_ROUTES.length - 1 }), fc.integer({ min: 1, max: 60 }))
      .map(([route, tokens]) => ({ k: "feeSend" as const, route, tokens })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: FEE_ROUTES.length - 1 })
      .map((route) => ({ k: "feeDispatch" as const, route })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: PRICED.length - 1 }),
        fc.integer({ min: 0, max: TRUE_PRICES.length - 1 }),
      )
      .map(([route, level]) => ({ k: "price" as const, route, level })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: PRICED.length - 1 })
      .map((route) => ({ k: "applyPrice" as const, route })),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.integer({ min: 1, max: Number(BUCKET) * 3 }),
        fc.constantFrom(Number(W), Number(W + BUCKET), -1, -2),
      )
      .map((seconds) => ({ k: "travel" as const, seconds })),
  },
);

function isNetting(item: ForgeItem): boolean {
  return item.k === "nettingReply" || item.k === "nettingRequest";
}

/** A sequence: the coalition (bit mask over A's attesters), netting A↔B on or off, the steps. */
const sequenceArb = fc.record({
  coalition: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: ATTESTERS - 1 }).map((i) => 1 << i) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: (1 << ATTESTERS) - 1 }) },
  ),
  netting: fc.boolean(),
  commands: fc.array(commandArb, { minLength: 2, maxLength: MAX_STEPS }),
});

// ---------------------------------------------------------------------------------------------
// The model

interface Lie {
  d: number;
  checkpoint: Checkpoint;
  /** The 65-byte signatures the watcher read (the Inbox's log; before R3, the calldata). */
  signatures: Hex[];
  proven: boolean;
}

interface Charge {
  t: number;
  amount: bigint;
}

/** What one sequence did and what the honest reports say, per destination. */
class Model {
  /** Coalition keys (addresses) and wallets; sybils sign with them. */
  readonly coalition: Wallet[];
  readonly coalitionSet: Set<string>;
  readonly honest: Wallet[];
  /** Per destination: attester → stake the honest reports delivered there say. */
  readonly mirror = new Map<number, Map<string, bigint>>();
  /** Per destination: attester → the lowest report nonce that may still raise its entry (3.5). */
  readonly nextNonce = new Map<number, Map<string, number>>();
  /** Per destination: attester → highest stake the honest mirror ever held (the bound of its charges). */
  readonly maxMirror = new Map<number, Map<string, bigint>>();
  /** Per destination: whether the coalition held less than half of T at every step so far. */
  readonly minority = new Map<number, boolean>();
  /** Per destination: ids delivered there. */
  readonly delivered = new Map<number, Set<string>>();
  /** Per destination: nonces a made-up message took (a real pure call there is then lost). */
  readonly squatted = new Map<number, Set<number>>();
  /** Per destination: each liar's coverage charges. */
  readonly charges = new Map<number, Map<string, Charge[]>>();
  /** Per destination: what lies took (payouts, netting moves). */
  readonly taken = new Map<number, Charge[]>();
  /** Per destination: policy coverage demanded beyond amounts, when. */
  readonly policyUse = new Map<number, Charge[]>();
  /** Per destination: the griefing recipient's current required coverage. */
  readonly griefPolicy = new Map<number, bigint>();
  /** Per destination: slashed liars whose zero report was delivered there. */
  readonly zeroDelivered = new Map<number, Set<string>>();
  readonly lies: Lie[] = [];
  readonly slashed = new Set<string>();
  /**
   * What slashing costs the coalition on A: its stake less the bounty it could claim back by proving
   * its own lie (theorem (a)(iv)); what it takes in all stays below.
   */
  readonly slashCost: bigint;
  /** Per destination: when each liar's first lie was accepted there, and when its zero report landed. */
  readonly firstUse = new Map<number, Map<string, number>>();
  readonly removedAt = new Map<number, Map<string, number>>();
  /**
   * Per priced route `x>y`: the componentwise maximum of every price x's governance published for
   * y's messages (issue 17, theorem (a)(v): what y's Outbox quotes never exceeds it).
   */
  readonly truePrice = new Map<string, Price>();
  /** Per route `o>d`: fees (18 decimals) paid on d in honest batches of o's real messages. */
  readonly honestFees = new Map<string, bigint>();

  constructor(
    w: World,
    mask: number,
    readonly netting: boolean,
    baselineMirror: Map<number, Map<string, bigint>>,
    bountyBps: bigint,
    baselinePrices: Map<string, Price>,
  ) {
    for (const [key, price] of baselinePrices) this.truePrice.set(key, price);
    const attesters = w.chains[A].attesters;
    this.coalition = attesters.filter((_, i) => ((mask >> i) & 1) === 1);
    this.coalitionSet = new Set(this.coalition.map((x) => x.address));
    this.honest = attesters.filter((a) => !this.coalitionSet.has(a.address));
    this.slashCost = (BigInt(this.coalition.length) * STAKE * (10_000n - bountyBps)) / 10_000n;
    for (const d of DESTINATIONS) {
      this.mirror.set(d, new Map(baselineMirror.get(d)));
      this.maxMirror.set(d, new Map(baselineMirror.get(d)));
      this.minority.set(d, true);
      this.delivered.set(d, new Set());
      this.squatted.set(d, new Set());
      this.charges.set(d, new Map());
      this.taken.set(d, []);
      this.policyUse.set(d, []);
      this.griefPolicy.set(d, 0n);
      this.zeroDelivered.set(d, new Set());
      this.firstUse.set(d, new Map());
      this.nextNonce.set(d, new Map());
      this.removedAt.set(d, new Map());
    }
    this.updateMinority();
  }

  stake(d: number, attester: string): bigint {
    return this.mirror.get(d)!.get(attester) ?? 0n;
  }

  /** T: the destination's mirrored total as the honest reports say. */
  total(d: number): bigint {
    let sum = 0n;
    for (const v of this.mirror.get(d)!.values()) sum += v;
    return sum;
  }

  coalitionStake(d: number): bigint {
    return this.coalition.reduce((s, k) => s + this.stake(d, k.address), 0n);
  }

  honestStake(d: number): bigint {
    return this.honest.reduce((s, k) => s + this.stake(d, k.address), 0n);
  }

  /** Applies an honest report delivered on `d`. */
  applyReport(d: number, attester: string, allocation: bigint, nonce: number, t: number): void {
    // The ordering rule (3.5): a newer report applies, an older one only when it lowers the entry.
    const next = this.nextNonce.get(d)!;
    if (nonce >= (next.get(attester) ?? 0)) next.set(attester, nonce + 1);
    else if (allocation >= this.stake(d, attester)) return;
    this.mirror.get(d)!.set(attester, allocation);
    const max = this.maxMirror.get(d)!;
    if (allocation > (max.get(attester) ?? 0n)) max.set(attester, allocation);
    if (allocation === 0n && this.slashed.has(attester)) {
      this.zeroDelivered.get(d)!.add(attester);
      if (!this.removedAt.get(d)!.has(attester)) this.removedAt.get(d)!.set(attester, t);
    }
  }

  updateMinority(): void {
    for (const d of DESTINATIONS) {
      if (2n * this.coalitionStake(d) >= this.total(d)) this.minority.set(d, false);
    }
  }

  /** Publishes a true price of `x` for `y`'s messages: the bound grows to include it. */
  publish(x: number, y: number, price: Price): void {
    const key = `${x}>${y}`;
    const old = this.truePrice.get(key) ?? NO_PRICE;
    this.truePrice.set(key, {
      perGas: old.perGas > price.perGas ? old.perGas : price.perGas,
      base: old.base > price.base ? old.base : price.base,
      premiumPpm: Math.max(old.premiumPpm, price.premiumPpm),
    });
  }

  addHonestFees(o: number, d: number, fees: bigint): void {
    const key = `${o}>${d}`;
    this.honestFees.set(key, (this.honestFees.get(key) ?? 0n) + fees);
  }

  /**
   * Assumption A2 so far on `d` at time `t`: every liar there was out of the mirror within W of
   * its first accepted lie, or its first lie is younger than W.
   */
  detectedInTime(d: number, t: number): boolean {
    const removed = this.removedAt.get(d)!;
    for (const [liar, first] of this.firstUse.get(d)!) {
      const at = removed.get(liar);
      if (at !== undefined ? at - first >= Number(W) : t - first >= Number(W)) return false;
    }
    return true;
  }

  /** Honest keys mirrored on `d` (they sign honest deliveries there). */
  honestSigners(d: number): Wallet[] {
    return this.honest.filter((k) => this.stake(d, k.address) > 0n);
  }
}

// ---------------------------------------------------------------------------------------------
// The property

describe("Security theorem: a coalition of attester keys against the mirror, three chains (issue 13)", function () {
  let world: World;
  const counters = new Counters();
  const count = (what: string, n = 1) => counters.count(what, n);
  /** The destinations' mirrors of A at the baseline. */
  const baselineMirror = new Map<number, Map<string, bigint>>();
  /** Whether the Inbox records accepted checkpoints (R3) and exposes T. */
  let hasAcceptedLog = false;
  let hasTotalView = false;
  let bountyBps = 0n;
  /** One local token unit in 18 decimals (every chain's token has the same decimals here). */
  let scale = 1n;
  /** The true prices in force at the baseline, per priced route `x>y`. */
  const baselinePrices = new Map<string, Price>();

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
    await world.reset();
    const iface = world.chains[B].suite.inbox.interface as unknown as ethers.Interface;
    hasAcceptedLog = iface.getEvent("CheckpointAccepted") !== null;
    hasTotalView = iface.getFunction("totalMirroredStake") !== null;
    bountyBps = await world.view<bigint>(A, world.chains[A].suite.stakingHub, "bountyBps");
    for (const d of DESTINATIONS) {
      const view = await world.coverage(d, A);
      baselineMirror.set(
        d,
        new Map(world.chains[A].attesters.map((a, i) => [a.address, view.mirrored[i]])),
      );
    }
    for (const chain of world.chains) {
      const timelock = chain.suite.addresses.timelock;
      await chain.connection.networkHelpers.impersonateAccount(timelock);
      await chain.connection.networkHelpers.setBalance(timelock, 10n ** 20n);
    }
    scale = await world.view<bigint>(A, world.chains[A].suite.bank, "scale");
    // Delivery prices in force from the start (issue 17): each priced route's governance
    // publishes one, the reports are delivered, W passes and the raises are applied; then the
    // coverage the reports used expires, so runs start with every attester's capacity free.
    for (const [i, [x, y]] of PRICED.entries()) {
      const price = TRUE_PRICES[i % TRUE_PRICES.length];
      await setPrice(world, x, y, price);
      baselinePrices.set(`${x}>${y}`, price);
    }
    for (const origin of world.chains) {
      for (const destination of world.chains) {
        if (origin === destination) continue;
        const delivery = await world.prepare(origin.index, destination.index, {
          signers: origin.attesters,
        });
        if (delivery) {
          const out = await world.deliver(destination.index, delivery);
          expect(out.ok, out.error).to.equal(true);
        }
      }
    }
    for (const chain of world.chains) await world.travel(chain.index, W + 1n);
    for (const [x, y] of PRICED) {
      const chain = world.chains[y];
      const code = world.chains[x].code;
      const pending = await world.view<{ readyAt: bigint }>(y, chain.suite.bank, "pendingPrice", [
        code,
      ]);
      if (pending.readyAt !== 0n) {
        const out = await world.tx(y, chain.users[3], chain.suite.bank, "applyPendingPrice", [
          code,
        ]);
        expect(out.ok, out.error).to.equal(true);
      }
      const [perGas, base, premiumPpm] = await world.view<[bigint, bigint, bigint]>(
        y,
        chain.suite.outbox,
        "price",
        [code],
      );
      const published = baselinePrices.get(`${x}>${y}`)!;
      expect([perGas, base, premiumPpm]).to.deep.equal([
        published.perGas,
        published.base,
        BigInt(published.premiumPpm),
      ]);
    }
    for (const chain of world.chains) await world.travel(chain.index, W + W / 8n + 1n);
    await world.takeBaseline();
  });

  /** `x`'s governance (its timelock) prices `y`'s messages; its bank reports the price to `y`. */
  async function setPrice(w: World, x: number, y: number, price: Price): Promise<void> {
    const chain = w.chains[x];
    const out = await w.tx(
      x,
      chain.suite.addresses.timelock,
      chain.suite.bank,
      "setDeliveryPrice",
      [w.chains[y].code, price.perGas, price.base, price.premiumPpm],
    );
    expect(out.ok, out.error).to.equal(true);
  }

  it("theorem: a minority coalition changes no mirror and takes at most its own mirrored stake per window, honest messages always reach the destination, a proven liar is refused", async function () {
    this.timeout(0);
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(sequenceArb, async (seq) => {
        const w = world;
        await w.reset();
        const m = new Model(
          w,
          seq.coalition,
          seq.netting,
          baselineMirror,
          bountyBps,
          baselinePrices,
        );
        count(m.minority.get(B) ? "minority sequences" : "majority sequences");
        if (seq.netting) await enableNetting(w);
        for (const c of seq.commands) {
          await step(w, m, c);
          m.updateMinority();
          await check(w, m);
        }
        await finish(w, m);
      }),
      { numRuns: RUNS },
    );
    counters.report("theorem", world, RUNS, started);
  });

  // -------------------------------------------------------------------------------------------
  // Steps

  async function step(w: World, m: Model, c: Command): Promise<void> {
    switch (c.k) {
      case "lie":
        return lie(w, m, c.d, c.items, c.gap, c.fee);
      case "prove":
        return prove(w, m, c.pick);
      case "dispatch": {
        await w.dispatch(A, c.d, w.chains[c.d].recipientWord, recipientBody("honest"));
        return;
      }
      case "send": {
        const from = w.chains[c.from];
        const out = await w.tx(c.from, from.users[0], from.suite.bank, "send", [
          w.chains[c.to].code,
          addressToBytes32(w.chains[c.to].users[1].address as Hex),
          wad(c.tokens),
          "0x",
        ]);
        count(out.ok ? "sends" : "sends refused");
        if (!out.ok) expect(["InsufficientCredit", "PeerSuspended"]).to.include(out.error);
        return;
      }
      case "allocate": {
        const attester = w.chains[A].attesters[c.attester];
        const out = await w.tx(A, attester, w.chains[A].suite.stakingHub, "allocate", [
          w.chains[c.d].code,
          wad(c.tokens),
        ]);
        if (!out.ok) expect(out.error).to.equal("AttesterSlashed");
        else count("real allocations");
        return;
      }
      case "deliver":
        await deliverHonest(w, m, c.d, "all");
        await deliverReverse(w, m);
        return;
      case "net": {
        const out = await w.tx(B, w.chains[B].users[3], w.chains[B].suite.bank, "net", [
          w.chains[A].code,
        ]);
        count(out.ok ? "nets" : "nets refused");
        if (!out.ok)
          expect(["NettingDisabled", "NettingInFlight", "ZeroAmount"]).to.include(out.error);
        return;
      }
      case "netAttack": {
        // B's users fill B's pool for A, anyone locks it with `net`, then a made-up reply of 0
        // releases the lock ahead of a made-up request in the same batch (mechanism 4).
        await step(w, m, { k: "send", from: B, to: A, tokens: c.tokens });
        await step(w, m, { k: "net" });
        return lie(
          w,
          m,
          B,
          [
            { k: "nettingReply", tokens: 0 },
            { k: "nettingRequest", tokens: c.request },
          ],
          0,
          0,
        );
      }
      case "grief":
        return griefReal(w, m, c.d, c.share);
      case "griefEdge": {
        // T/2 of policy coverage just before a window edge and T/2 again just after it: with a
        // cap per fixed window both would hold the signers' capacity at once.
        const edge = (BigInt(await w.now(c.d)) / W + 1n) * W;
        const before = edge - 60n - BigInt(await w.now(c.d));
        if (before > 0n) for (const chain of w.chains) await w.travel(chain.index, before);
        await griefReal(w, m, c.d, 2);
        await step(w, m, { k: "travel", seconds: -2 });
        await griefReal(w, m, c.d, 2);
        await step(w, m, { k: "send", from: A, to: c.d, tokens: 1 });
        return deliverHonest(w, m, c.d, "all");
      }
      case "feeSend":
        return feeSend(w, m, c.route, c.tokens);
      case "feeDispatch":
        return feeDispatch(w, m, c.route);
      case "price": {
        const [x, y] = PRICED[c.route];
        await setPrice(w, x, y, TRUE_PRICES[c.level]);
        m.publish(x, y, TRUE_PRICES[c.level]);
        count("true price changes");
        return;
      }
      case "applyPrice": {
        const [x, y] = PRICED[c.route];
        const chain = w.chains[y];
        const out = await w.tx(y, chain.users[3], chain.suite.bank, "applyPendingPrice", [
          w.chains[x].code,
        ]);
        if (out.ok) {
          const dropped = named(out.events, "PriceRaiseDropped").length > 0;
          count(dropped ? "price raises dropped (signer removed)" : "price raises applied");
        } else {
          expect(["NoPendingPrice", "PriceNotReady", "PeerNotActive"]).to.include(out.error);
        }
        return;
      }
      case "travel": {
        let seconds: bigint;
        if (c.seconds > 0) seconds = BigInt(c.seconds);
        else {
          // To just before (−1) or just after (−2) the next multiple of W (a window edge).
          const now = BigInt(await w.now(B));
          const edge = (now / W + 1n) * W;
          seconds = edge - now + (c.seconds === -1 ? -2n : 1n);
          if (seconds <= 0n) seconds = 1n;
        }
        for (const chain of w.chains) await w.travel(chain.index, seconds);
        return;
      }
    }
  }

  /**
   * (a)(v): what an honest sender pays is at most the quote at the true price. Checked while the
   * route's coalition is a minority and every liar so far was detected within W (A2).
   */
  async function expectFeeWithinTruePrice(
    w: World,
    m: Model,
    from: number,
    to: number,
    fee: bigint,
    bodySize: number,
    amount: bigint,
  ): Promise<void> {
    if (from !== A && !m.minority.get(from)) return;
    if (from !== A && !m.detectedInTime(from, await w.now(from))) return;
    const price = m.truePrice.get(`${to}>${from}`) ?? NO_PRICE;
    let bound =
      price.base +
      price.perGas * (FEE_HANDLER_GAS + 16n * BigInt(bodySize)) +
      (amount * BigInt(price.premiumPpm)) / 1_000_000n;
    bound = ((bound + scale - 1n) / scale) * scale;
    expect(fee <= bound, `an honest sender paid ${fee}; the true price quotes ${bound}`).to.equal(
      true,
    );
  }

  /** An honest user sends value with its fee (`sendWithFee`, no maximum: the worst case). */
  async function feeSend(w: World, m: Model, route: number, tokens: number): Promise<void> {
    const [from, to] = FEE_ROUTES[route];
    const chain = w.chains[from];
    const out = await w.tx(from, chain.users[0], chain.suite.bank, "sendWithFee", [
      w.chains[to].code,
      addressToBytes32(w.chains[to].users[1].address as Hex),
      wad(tokens),
      "0x",
      FEE_HANDLER_GAS,
      ethers.MaxUint256,
    ]);
    count(out.ok ? "fee-paying sends" : "fee-paying sends refused");
    if (!out.ok) {
      expect(["InsufficientCredit", "PeerSuspended"]).to.include(out.error);
      return;
    }
    const sent = w.logs[from].at(-1)!;
    await expectFeeWithinTruePrice(w, m, from, to, sent.message.fee, 33, wad(tokens));
  }

  /** An honest user prepays and dispatches a pure call with its fee (`dispatchWithFee`). */
  async function feeDispatch(w: World, m: Model, route: number): Promise<void> {
    const [from, to] = FEE_ROUTES[route];
    const chain = w.chains[from];
    const user = chain.users[3];
    const prepaid = await w.tx(from, user, chain.suite.bank, "prepayFees", [wad(1) / scale]);
    expect(prepaid.ok, prepaid.error).to.equal(true);
    const body = recipientBody("honest");
    const out = await w.tx(from, user, chain.suite.outbox, "dispatchWithFee", [
      w.chains[to].code,
      w.chains[to].recipientWord,
      body,
      FEE_HANDLER_GAS,
      ethers.MaxUint256,
    ]);
    count(out.ok ? "fee-paying dispatches" : `fee-paying dispatches refused (${out.error})`);
    if (!out.ok) {
      // A false price may have made the quote larger than anything prepaid (before the fix).
      expect(["FeeBalanceShort"]).to.include(out.error);
      await expectFeeWithinTruePrice(w, m, from, to, wad(1) + 1n, (body.length - 2) / 2, 0n);
      return;
    }
    const sent = w.logs[from].at(-1)!;
    await expectFeeWithinTruePrice(w, m, from, to, sent.message.fee, (body.length - 2) / 2, 0n);
  }

  /**
   * Fee conservation of one honest batch from `o` on `d`: what `d` paid (deliverer and signers,
   * paid or owed) is exactly the fees its real messages carried, rounded down to local units.
   */
  function honestBatchFees(m: Model, o: number, d: number, delivery: Delivery, out: Outcome) {
    const carried = delivery.messages.reduce((sum, x) => sum + decodeMessage(x as Hex).fee, 0n);
    const paid = feesPaid(out.events) * scale;
    expect(paid, "an honest batch's fees paid on the destination").to.equal(
      (carried / scale) * scale,
    );
    if (paid > 0n) count("honest batches paying fees");
    if (named(out.events, "PremiumPaid").length) count("honest batches paying premiums");
    m.addHonestFees(o, d, carried);
  }

  /** Netting between A and B enabled by both communities' governance (their timelocks). */
  async function enableNetting(w: World): Promise<void> {
    for (const [x, y] of [
      [A, B],
      [B, A],
    ]) {
      const chain = w.chains[x];
      const out = await w.tx(x, chain.suite.addresses.timelock, chain.suite.bank, "setNetting", [
        w.chains[y].code,
        true,
      ]);
      expect(out.ok, out.error).to.equal(true);
    }
  }

  /** Real messages of A for `d` not delivered there (by id), in nonce order. */
  function pendingReal(w: World, m: Model, d: number, count?: number): DispatchedMessage[] {
    const code = w.chains[d].code;
    const delivered = m.delivered.get(d)!;
    // The baseline's messages were all delivered when the world was built.
    return w.logs[A].slice(w.baselineCount(A), count ?? w.logs[A].length).filter(
      (x) => x.message.destination === code && !delivered.has(x.id),
    );
  }

  type Kind = "report" | "value" | "pure" | "grief";
  function kindOf(w: World, d: number, x: DispatchedMessage): Kind {
    const a = w.chains[A].suite.addresses;
    const sender = x.message.sender.toLowerCase();
    if (sender === word(a.stakingHub)) return "report";
    if (sender === word(a.bank)) return "value";
    if (x.message.recipient.toLowerCase() === word(w.chains[d].users[2].address)) return "grief";
    return "pure";
  }

  /**
   * (b): the honest keys deliver A's pending messages for `d`: stake reports (always, while they
   * hold more than half), then value transfers and bank messages (within their free capacity), then
   * pure calls (whose nonce no lie took).
   */
  async function deliverHonest(
    w: World,
    m: Model,
    d: number,
    which: "all" | "reports",
  ): Promise<void> {
    if (m.honestSigners(d).length === 0) return;
    const checkpoint = await w.snapshot(A);
    const pending = pendingReal(w, m, d, checkpoint.count);
    const squatted = m.squatted.get(d)!;
    const groups: [Kind, DispatchedMessage[]][] = [
      ["report", pending.filter((x) => kindOf(w, d, x) === "report")],
    ];
    if (which === "all") {
      groups.push(["value", pending.filter((x) => kindOf(w, d, x) === "value")]);
      groups.push([
        "pure",
        pending.filter((x) => kindOf(w, d, x) === "pure" && !squatted.has(x.nonce)),
      ]);
    }
    for (const [kind, messages] of groups) {
      if (messages.length === 0) continue;
      // The reports just delivered may have changed who is mirrored.
      const signers = m.honestSigners(d);
      if (signers.length === 0) return;
      // The theorem's (b) holds while honest keys hold more than half: with the coalition below
      // half at every step so far, the mirror is the honest one, so they do.
      const bound = m.minority.get(d)!;
      const delivery = await w.build(A, checkpoint, messages, signers);
      // Fees are value at risk (issue 17): a batch of fee-paying pure calls needs capacity too.
      const valued = kind === "value" || messages.some((x) => x.message.fee > 0n);
      let free = 0n;
      if (valued) free = await freeCapacity(w, d, signers);
      const out = await w.deliver(d, delivery);
      count(out.ok ? `honest ${kind} batches` : `honest ${kind} batches refused (${out.error})`);
      if (!out.ok) {
        if (bound && valued) {
          expect(out.error, "an honest value batch within the honest keys' capacity").to.equal(
            "InsufficientCoverage",
          );
          expect((out.args![0] as bigint) > free).to.equal(true);
        } else if (bound) {
          expect.fail(
            `an honest ${kind} batch was refused while honest keys hold > 1/2: ${out.error}`,
          );
        }
        continue;
      }
      await accepted(w, m, d, delivery, out);
      honestBatchFees(m, A, d, delivery, out);
      const ids = deliveredIds(out.events);
      for (const x of messages) {
        expect(ids.has(x.id), `honest message ${x.nonce} not delivered`).to.equal(true);
        if (kind === "report") {
          const report = decodeStakeReport(x.message.body as Hex);
          m.applyReport(
            d,
            ethers.getAddress(report.attester),
            report.allocation,
            x.nonce,
            out.timestamp!,
          );
        }
      }
    }
  }

  /** B's (honest) messages for A, signed by all of B's attesters: netting requests, reserve reports, sends. */
  async function deliverReverse(w: World, m: Model): Promise<void> {
    const delivery = await w.prepare(B, A, { signers: w.chains[B].attesters });
    if (!delivery) return;
    const out = await w.deliver(A, delivery);
    count(out.ok ? "B→A batches" : `B→A batches refused (${out.error})`);
    if (out.ok) honestBatchFees(m, B, A, delivery, out);
  }

  /** Real griefing: a recipient on `d` asks T/share coverage, gets a real message, delivered with every mirrored key's public signature. */
  async function griefReal(w: World, m: Model, d: number, share: number): Promise<void> {
    const t = m.total(d);
    const coverage = share === 0 ? t / 2n + wad(1) : t / BigInt(share);
    await setGriefPolicy(w, m, d, coverage);
    await w.dispatch(A, d, addressToBytes32(w.chains[d].users[2].address as Hex), "0x");
    const checkpoint = await w.snapshot(A);
    const messages = pendingReal(w, m, d, checkpoint.count).filter(
      (x) => kindOf(w, d, x) === "grief" && !m.squatted.get(d)!.has(x.nonce),
    );
    if (messages.length === 0) return;
    const view = await w.coverage(d, A);
    const signers = w.chains[A].attesters.filter((_, i) => view.mirrored[i] > 0n);
    if (signers.length === 0) return;
    const delivery = await w.build(A, checkpoint, messages, signers);
    const out = await w.deliver(d, delivery, w.chains[d].users[2]);
    count(out.ok ? "griefing batches" : `griefing batches refused (${out.error})`);
    if (!out.ok) {
      expect(["InsufficientCoverage", "PolicyCoverageExhausted"]).to.include(out.error);
      return;
    }
    await accepted(w, m, d, delivery, out);
    honestBatchFees(m, A, d, delivery, out);
    await usePolicy(w, m, d, BigInt(messages.length) * m.griefPolicy.get(d)!, out);
  }

  async function setGriefPolicy(w: World, m: Model, d: number, coverage: bigint) {
    const chain = w.chains[d];
    const out = await w.tx(d, chain.users[2], chain.suite.inbox, "setRecipientPolicy", [
      0,
      coverage,
    ]);
    expect(out.ok, out.error).to.equal(true);
    m.griefPolicy.set(d, coverage);
  }

  /**
   * R6: what recipients' own policies demand beyond the messages' amounts, still live in the
   * signers' exposure (charged in the current bucket or the 8 before it), never exceeds T/2 — so
   * at no moment, window edges included, can it hold the capacity value and reports need.
   */
  async function usePolicy(w: World, m: Model, d: number, beyond: bigint, out: Outcome) {
    if (beyond === 0n) return;
    const t = out.timestamp!;
    const uses = m.policyUse.get(d)!;
    uses.push({ t, amount: beyond });
    const epoch = BigInt(t) / BUCKET;
    const live = uses
      .filter((x) => BigInt(x.t) / BUCKET + 8n >= epoch)
      .reduce((sum, x) => sum + x.amount, 0n);
    if (m.minority.get(d)) {
      expect(
        2n * live <= m.total(d),
        `policies hold ${live} of the signers' capacity at once, T = ${m.total(d)}`,
      ).to.equal(true);
    }
  }

  /**
   * The coalition's false checkpoint on `d`: the made-up messages of `items` in one batch, signed
   * by every coalition or sybil key the destination mirrors (the attacker reads the chain).
   */
  async function lie(w: World, m: Model, d: number, items: ForgeItem[], gap: number, fee: number) {
    const dest = w.chains[d];
    const a = w.chains[A];
    const view = await w.coverage(d, A);
    const sybilView = await w.view<[bigint[], bigint[]]>(d, dest.lens, "coverage", [
      dest.suite.addresses.inbox,
      a.code,
      SYBILS.map((s) => s.address),
    ]);
    const liars = [
      ...a.attesters.filter((k, i) => m.coalitionSet.has(k.address) && view.mirrored[i] > 0n),
      ...SYBILS.filter((_, i) => sybilView[0][i] > 0n),
    ] as Wallet[];
    if (liars.length === 0) {
      count("lies without a mirrored liar");
      return;
    }
    const hub = word(a.suite.addresses.stakingHub);
    const bank = word(a.suite.addresses.bank);
    const thief = word(dest.users[4].address);
    const inbox = word(dest.suite.addresses.inbox);
    const destBank = word(dest.suite.addresses.bank);
    const keyOf = (key: KeyPick): string => {
      const pool = key.who === "coalition" ? m.coalition : key.who === "honest" ? m.honest : SYBILS;
      return (one(pool, key.pick) ?? SYBILS[key.pick % SYBILS.length]).address;
    };
    let next = w.logs[A].length + gap;
    const taken = new Set<number>();
    const fields: ForgedFields[] = [];
    let griefCoverage: bigint | undefined;
    const base = { destination: dest.code, amount: 0n, fee: wad(fee) };
    for (const item of items) {
      let nonce: number | undefined;
      let f: Omit<ForgedFields, "nonce">;
      switch (item.k) {
        case "stakeUp":
        case "stakeDown": {
          const attester = keyOf(item.key);
          const allocation =
            item.k === "stakeUp" ? m.stake(d, attester) + wad(item.tokens) : wad(item.tokens);
          f = {
            ...base,
            sender: hub,
            recipient: inbox,
            body: encodeStakeReport({ attester: attester as Hex, allocation }),
          };
          count(`forged ${item.k} (${item.key.who})`);
          break;
        }
        case "stakeMalformed":
          f = { ...base, sender: hub, recipient: inbox, body: "0x01deadbeef" };
          break;
        case "transfer":
          f = {
            ...base,
            sender: bank,
            recipient: thief,
            amount: wad(item.tokens),
            body: encodeTransferBody({ sender: thief, body: "0x" }),
          };
          break;
        case "reserveReport":
          f = {
            ...base,
            sender: bank,
            recipient: destBank,
            body: encodeReserveReport({
              reserve: wad(item.tokens),
              pending: 0n,
              received: 0n,
              suspended: item.suspended,
              // A false price (issue 17): far above any true one, or a drop to nothing.
              ...(item.falsePrice ? FALSE_PRICE : NO_PRICE),
            }),
          };
          if (item.falsePrice) count("forged price raises");
          break;
        case "nettingRequest":
          f = {
            ...base,
            sender: bank,
            recipient: destBank,
            body: encodeNettingRequest({ amount: wad(item.tokens) }),
          };
          break;
        case "nettingReply":
          f = {
            ...base,
            sender: bank,
            recipient: destBank,
            body: encodeNettingReply({ amount: wad(item.tokens) }),
          };
          break;
        case "squat": {
          // At the nonce of a real message still in flight to `d`: a transfer or a call.
          const target = one(pendingReal(w, m, d), item.pick);
          if (target && !taken.has(target.nonce)) nonce = target.nonce;
          f = item.asTransfer
            ? {
                ...base,
                sender: bank,
                recipient: thief,
                amount: wad(item.tokens),
                body: encodeTransferBody({ sender: thief, body: "0x" }),
              }
            : {
                ...base,
                sender: word(w.chains[A].users[0].address),
                recipient: dest.recipientWord,
                body: recipientBody("honest"),
              };
          count(target ? "squats of in-flight messages" : "squats with nothing in flight");
          break;
        }
        case "grief": {
          griefCoverage = wad(item.tokens);
          f = {
            ...base,
            sender: word(w.chains[A].users[0].address),
            recipient: word(dest.users[2].address),
            body: ethers.toBeHex(next, 8) as Hex,
          };
          break;
        }
      }
      if (nonce === undefined) nonce = next++;
      taken.add(nonce);
      fields.push({ ...f, nonce });
    }
    if (griefCoverage !== undefined) await setGriefPolicy(w, m, d, griefCoverage);
    const { delivery, forged } = await forgeBatch(w, A, liars, fields);
    const before = await w.books(d);
    const out = await w.deliver(d, delivery, dest.users[4]);
    count(out.ok ? "lies accepted" : `lies refused (${out.error})`);
    if (!out.ok) {
      expect(LIE_REFUSALS, `a false batch failed oddly: ${out.error}`).to.include(out.error);
      return;
    }
    const signatures = await accepted(w, m, d, delivery, out);
    for (const liar of liars) {
      const first = m.firstUse.get(d)!;
      if (!first.has(liar.address)) first.set(liar.address, out.timestamp!);
    }
    m.lies.push({ d, checkpoint: delivery.checkpoint, signatures, proven: false });
    for (const f of forged) m.squatted.get(d)!.add(f.nonce);
    const ids = new Set(forged.map((f) => f.id));
    const t = out.timestamp!;

    // What the lie took: payouts of made-up transfers, netting moves on the destination's bank.
    const bankAddress = dest.suite.addresses.bank.toLowerCase();
    let took = 0n;
    for (const e of out.events) {
      if (e.address.toLowerCase() !== bankAddress) continue;
      if (e.name === "PaidOut" && ids.has(e.args.id)) took += e.args.amount as bigint;
      if (e.name === "Netted") took += e.args.amount as bigint;
      // Fees paid to the deliverer, and premiums to the signers (the liars), now or booked owed
      // out of A's reserve (issue 17).
      if (e.name === "FeesPaid" || e.name === "PremiumPaid") {
        took += ((e.args.paid as bigint) + (e.args.owed as bigint)) * scale;
      }
    }
    const charged = named(out.events, "CoverageCharged").reduce(
      (s, e) => s + (e.args.amount as bigint),
      0n,
    );
    if (took > 0n) count("lies that took value");
    if (named(out.events, "FeesPaid").length) count("lies that made the destination pay fees");
    // (a) Whatever a lie takes is charged to the liars' coverage (netting included, R5).
    expect(took <= charged, `a lie took ${took} with ${charged} charged to its signers`).to.equal(
      true,
    );
    m.taken.get(d)!.push({ t, amount: took });

    // Griefing by lie: the liars' own capacity, still within R6's cap.
    const griefWord = word(dest.users[2].address);
    const griefs = forged.filter((f) => f.message.recipient.toLowerCase() === griefWord).length;
    await usePolicy(w, m, d, BigInt(griefs) * m.griefPolicy.get(d)!, out);

    // The destination's books: a lie moves nothing but A's reserve, and B's pool only by netting.
    const after = await w.books(d);
    for (const peer of w.chains) {
      if (peer.index === d) continue;
      const p = peer.index;
      if (p !== A) {
        expect(after.reserve[p], `a lie of A moved reserve[${peer.name}]`).to.equal(
          before.reserve[p],
        );
        expect(after.pool[p], `a lie of A moved pool[${peer.name}]`).to.equal(before.pool[p]);
      }
    }
    if (!(m.netting && d === B)) {
      expect(after.pool[A], "a lie moved the destination's pool without netting").to.equal(
        before.pool[A],
      );
      expect(after.locked[A]).to.equal(before.locked[A]);
    }

    if (!m.minority.get(d)) return;
    // (a) Each liar's charges within any W stay within the stake honest reports gave it.
    const charges = m.charges.get(d)!;
    for (const e of named(out.events, "CoverageCharged")) {
      const liar = ethers.getAddress(e.args.attester as string);
      const list = charges.get(liar) ?? [];
      list.push({ t, amount: e.args.amount as bigint });
      charges.set(liar, list);
      const inWindow = list
        .filter((x) => BigInt(x.t) > BigInt(t) - W)
        .reduce((s, x) => s + x.amount, 0n);
      const bound = m.maxMirror.get(d)!.get(liar) ?? 0n;
      expect(
        inWindow <= bound,
        `liar ${liar} vouched ${inWindow} within W; honest reports gave it ${bound}`,
      ).to.equal(true);
    }
    // (a) What the coalition took within W: at most its mirrored stake; in all, its slashable stake.
    const coalitionBound = m.coalition.reduce(
      (s, k) => s + (m.maxMirror.get(d)!.get(k.address) ?? 0n),
      0n,
    );
    const list = m.taken.get(d)!;
    const inWindow = list
      .filter((x) => BigInt(x.t) > BigInt(t) - W)
      .reduce((s, x) => s + x.amount, 0n);
    expect(
      inWindow <= coalitionBound,
      `the coalition took ${inWindow} within W, mirrored ${coalitionBound}`,
    ).to.equal(true);
    let total = 0n;
    for (const dd of DESTINATIONS) total += m.taken.get(dd)!.reduce((s, x) => s + x.amount, 0n);
    expect(
      total <= m.slashCost,
      `the coalition took ${total} in all; slashing costs it ${m.slashCost}`,
    ).to.equal(true);
  }

  /**
   * An accepted batch on `d`: marks its messages delivered, and checks R3 — the Inbox logged the
   * checkpoint and every signature it accepted. Returns the signatures a watcher reads.
   */
  async function accepted(
    w: World,
    m: Model,
    d: number,
    delivery: Delivery,
    out: Outcome,
  ): Promise<Hex[]> {
    for (const id of deliveredIds(out.events)) m.delivered.get(d)!.add(id);
    const signatures = delivery.signatures as Hex[];
    expect(hasAcceptedLog, "the Inbox has no CheckpointAccepted log (R3)").to.equal(true);
    const logs = named(out.events, "CheckpointAccepted");
    expect(logs, "no CheckpointAccepted log for an accepted batch").to.have.length(1);
    const [log] = logs;
    expect(log.args.origin).to.equal(delivery.checkpoint.origin);
    expect(log.args.root).to.equal(delivery.checkpoint.root);
    expect(Number(log.args.count)).to.equal(delivery.checkpoint.count);
    expect(log.args.last).to.equal(delivery.checkpoint.last);
    // What the watcher's one reader makes of the record: the logged signatures, or the
    // transaction's input when the Inbox left them there (a direct call, protocol.md 3.5).
    const client = createPublicClient({ transport: custom(w.rpc(d)) });
    const records = await readAcceptedCheckpoints(
      client,
      w.chains[d].suite.addresses.inbox as Hex,
      delivery.checkpoint.origin,
      out.block!,
      out.block!,
    );
    expect(records, "the watcher's reading of the record").to.have.length(1);
    const split = records[0]!.signatures.map((s) => s.toLowerCase() as Hex);
    expect(split, "the log's signatures").to.deep.equal(signatures.map((s) => s.toLowerCase()));
    return split;
  }

  /**
   * A watcher proves a lie on A (after whatever delay the sequence gave it): each signature the
   * destination's log recorded, then the honest keys deliver the zero reports to both peers.
   */
  async function prove(w: World, m: Model, pick: number): Promise<void> {
    const open = m.lies.filter((l) => !l.proven);
    const lie = one(open, pick);
    if (!lie) return;
    lie.proven = true;
    const a = w.chains[A];
    for (const signature of lie.signatures) {
      const out = await w.tx(A, a.users[1], a.suite.stakingHub, "proveFraud", [
        lie.checkpoint,
        signature,
      ]);
      count(out.ok ? "liars slashed" : `proofs refused (${out.error})`);
      if (out.ok) {
        const [slash] = named(out.events, "Slashed");
        const liar = ethers.getAddress(slash.args.attester as string);
        expect(m.coalitionSet.has(liar), "an honest key was slashed").to.equal(true);
        m.slashed.add(liar);
      } else {
        // Slashed already (an earlier lie), or a key never staked here.
        expect(out.error).to.equal("NothingToSlash");
      }
    }
    for (const d of DESTINATIONS) {
      await deliverHonest(w, m, d, "reports");
      if (!m.minority.get(d)) continue;
      // (c) once its zero report is in, a slashed liar's signature is refused.
      for (const liar of m.zeroDelivered.get(d)!) await expectRefused(w, d, liar);
    }
  }

  /** (c) A delivery signed by `signer` alone is refused on `d` before anything else: UnknownSigner. */
  async function expectRefused(w: World, d: number, signer: string): Promise<void> {
    const wallet =
      w.chains[A].attesters.find((k) => k.address === signer) ??
      SYBILS.find((s) => s.address === signer)!;
    const checkpoint: Checkpoint = {
      origin: w.chains[A].code,
      root: ethers.id("theorem probe") as Hex,
      count: 1,
      last: ethers.id("theorem probe, last") as Hex,
    };
    const message = encodeMessage({
      nonce: 0,
      origin: w.chains[A].code,
      sender: word(w.chains[A].users[0].address),
      destination: w.chains[d].code,
      recipient: w.chains[d].recipientWord,
      amount: 0n,
      body: "0x",
    });
    const probe: Delivery = {
      checkpoint,
      signatures: await w.sign(A, checkpoint, [wallet as Wallet]),
      messages: [message],
      proof: [],
    };
    const out = await w.tryDeliver(d, probe);
    expect(out.ok).to.equal(false);
    expect(out.error, `${signer} still signs on ${w.chains[d].name}`).to.equal("UnknownSigner");
  }

  // -------------------------------------------------------------------------------------------
  // Checks after every step, and at the end of a sequence

  async function check(w: World, m: Model): Promise<void> {
    for (const d of DESTINATIONS) {
      const chain = w.chains[d];
      const keys = [
        ...w.chains[A].attesters.map((k) => k.address),
        ...SYBILS.map((s) => s.address),
      ];
      const [mirrored] = await w.view<[bigint[], bigint[]]>(d, chain.lens, "coverage", [
        chain.suite.addresses.inbox,
        w.chains[A].code,
        keys,
      ]);
      if (m.minority.get(d)) {
        // (a) The mirror is what honest reports say: no made-up change applied, no sybil mirrored.
        keys.forEach((key, i) =>
          expect(mirrored[i], `mirrored stake of ${key} on ${chain.name}`).to.equal(
            m.stake(d, key),
          ),
        );
        if (hasTotalView) {
          expect(
            await w.view<bigint>(d, chain.suite.inbox, "totalMirroredStake", [w.chains[A].code]),
            "T",
          ).to.equal(m.total(d));
        }
      }
    }
    for (const chain of w.chains) {
      const d = chain.index;
      // Banks hold what they owe: reserves, pools, locks, the earned balances of deliverers and
      // attesters (issue 17), and the fee float — prepaid balances not yet spent and the fees
      // the Outbox carried, which stay here until netted.
      const books = await w.books(d);
      let owed = w.earned[d];
      let float = await w.view<bigint>(d, chain.suite.outbox, "feeBalance", [
        chain.users[3].address,
      ]);
      for (const p of w.chains) {
        if (p.index === d) continue;
        owed += books.reserve[p.index] + books.pool[p.index] + books.locked[p.index];
        const dispatched = await w.view<bigint>(d, chain.suite.outbox, "feesDispatched", [p.code]);
        float += dispatched;
        // Fee conservation: the honest batches of d's messages on p paid no more than d's
        // senders paid for them (what lies made p pay is charged to the liars, above).
        expect(
          m.honestFees.get(`${d}>${p.index}`) ?? 0n,
          `${p.name} paid more fees for ${chain.name}'s messages than its senders paid`,
        ).to.be.at.most(dispatched);
      }
      owed += float / scale;
      expect(books.balance, `${chain.name}'s bank holds what it owes`).to.equal(owed);
    }
    // (a)(v) A false price never raises what a route quotes: each component stays within the
    // true prices the pricing side published, while A2 holds (every liar out within W).
    for (const [x, y] of PRICED) {
      if (x === A && (!m.minority.get(y) || !m.detectedInTime(y, await w.now(y)))) continue;
      const [perGas, base, premiumPpm] = await w.view<[bigint, bigint, bigint]>(
        y,
        w.chains[y].suite.outbox,
        "price",
        [w.chains[x].code],
      );
      const bound = m.truePrice.get(`${x}>${y}`) ?? NO_PRICE;
      const route = `${w.chains[x].name}'s price on ${w.chains[y].name}`;
      expect(perGas, `${route}: perGas`).to.be.at.most(bound.perGas);
      expect(base, `${route}: base`).to.be.at.most(bound.base);
      expect(premiumPpm, `${route}: premium`).to.be.at.most(BigInt(bound.premiumPpm));
    }
  }

  /**
   * Governance recovery of a route a majority coalition held (R2): B's timelock pauses A's route
   * (nothing is delivered while paused), reseeds the mirror from A's true vouching stakes (liars,
   * all proven by now, at 0; sybils removed) from A's current nonce, and resumes. It moves no token.
   * When the coalition is then below half, the theorem holds again from there: the mirror is the
   * snapshot, honest traffic is delivered, liars and sybils are refused.
   */
  async function recover(w: World, m: Model, d: number): Promise<void> {
    const chain = w.chains[d];
    const governance = chain.suite.addresses.timelock;
    const registry = chain.suite.registry;
    const code = w.chains[A].code;
    const before = await w.books(d);
    const paused = await w.tx(d, governance, registry, "pauseRoute", [code]);
    expect(paused.ok, paused.error).to.equal(true);
    const probe = await w.tryDeliver(d, {
      checkpoint: await w.snapshot(A),
      signatures: [],
      messages: [w.logs[A][0].encoded],
      proof: [],
    });
    expect(probe.error, "a delivery on a paused route").to.equal("OriginNotActive");
    const keys = [...w.chains[A].attesters.map((k) => k.address), ...SYBILS.map((s) => s.address)];
    const stakes: bigint[] = [];
    for (const key of keys) {
      stakes.push(
        await w.view<bigint>(A, w.chains[A].suite.stakingHub, "vouchingStake", [key, chain.code]),
      );
    }
    const fromNonce = w.logs[A].length;
    const reseeded = await w.tx(d, governance, registry, "reseedMirror", [
      code,
      keys,
      stakes,
      fromNonce,
    ]);
    expect(reseeded.ok, reseeded.error).to.equal(true);
    expect(named(reseeded.events, "Delivered"), "a reseed delivered something").to.have.length(0);
    const resumed = await w.tx(d, governance, registry, "resumeRoute", [code]);
    expect(resumed.ok, resumed.error).to.equal(true);
    expect(await w.books(d), "governance recovery moved tokens").to.deep.equal(before);
    count("majority routes reseeded by governance");
    const mirror = m.mirror.get(d)!;
    const next = m.nextNonce.get(d)!;
    keys.forEach((key, i) => {
      mirror.set(key, stakes[i]);
      if ((next.get(key) ?? 0) < fromNonce) next.set(key, fromNonce);
    });
    m.minority.set(d, 2n * m.coalitionStake(d) < m.total(d));
    if (!m.minority.get(d)) return;
    count("majority routes back to an honest majority");
    await check(w, m);
    await deliverHonest(w, m, d, "all");
    await check(w, m);
    for (const key of keys) if (m.stake(d, key) === 0n) await expectRefused(w, d, key);
  }

  /**
   * End of a sequence: the watchers prove every open lie and the honest keys deliver the zero
   * reports ((c) for every liar, and sybils are refused everywhere while the coalition is a
   * minority); then every token of each chain is where the model says (conservation).
   */
  async function finish(w: World, m: Model): Promise<void> {
    while (m.lies.some((l) => !l.proven)) await prove(w, m, 0);
    // (b) Whatever honest traffic is still in flight is delivered now.
    for (const d of DESTINATIONS) await deliverHonest(w, m, d, "all");
    m.updateMinority();
    await check(w, m);
    // Outside (a): a coalition that held half or more; its route recovers by governance.
    for (const d of DESTINATIONS) if (!m.minority.get(d)) await recover(w, m, d);
    for (const d of DESTINATIONS) {
      if (!m.minority.get(d)) continue;
      for (const sybil of SYBILS) await expectRefused(w, d, sybil.address);
      for (const liar of m.zeroDelivered.get(d)!) await expectRefused(w, d, liar);
      // Every lie proven and its zero report delivered: the route is back to honest keys only.
      for (const liar of m.slashed) expect(m.stake(d, liar)).to.equal(0n);
      // (a)(iii) When every liar was out of the mirror within W of its first accepted lie, the
      // coalition took at most its mirrored stake over the whole sequence, not per window.
      const first = m.firstUse.get(d)!;
      const removed = m.removedAt.get(d)!;
      const quick = [...first].every(
        ([liar, t]) => (removed.get(liar) ?? Infinity) - t < Number(W),
      );
      if (first.size > 0 && quick) {
        count("routes whose liars were all out within W");
        const sC = m.coalition.reduce((s, k) => s + (m.maxMirror.get(d)!.get(k.address) ?? 0n), 0n);
        const took = m.taken.get(d)!.reduce((s, x) => s + x.amount, 0n);
        expect(
          took <= sC,
          `the coalition took ${took} in all on ${w.chains[d].name}, s_C = ${sC}`,
        ).to.equal(true);
      }
    }
    // Fee conservation at the end: every real A→d message delivered had its fee paid on d in an
    // honest batch, and nothing else was (a squatted pure call, never delivered, is the residual).
    for (const d of DESTINATIONS) {
      const delivered = m.delivered.get(d)!;
      const carried = w.logs[A].slice(w.baselineCount(A))
        .filter((x) => x.message.destination === w.chains[d].code && delivered.has(x.id))
        .reduce((sum, x) => sum + x.message.fee, 0n);
      expect(m.honestFees.get(`${A}>${d}`) ?? 0n, "fees paid for A's delivered messages").to.equal(
        carried,
      );
    }
    for (const chain of w.chains) {
      const token = chain.suite.token;
      const holders = new Set<string>([
        chain.deployer.address,
        ...chain.users.map((u) => u.address),
        ...chain.attesters.map((k) => k.address),
        chain.suite.addresses.bank,
        chain.suite.addresses.stakingHub,
        chain.suite.addresses.timelock,
        chain.suite.addresses.inbox,
        chain.recipientAddress,
      ]);
      let held = 0n;
      for (const h of holders) held += await w.view<bigint>(chain.index, token, "balanceOf", [h]);
      expect(held, `${chain.name}: tokens are conserved`).to.equal(
        await w.view<bigint>(chain.index, token, "totalSupply"),
      );
    }
  }
});

/** An address as a message's 32-byte account word (lower case, as the model compares them). */
function word(address: string): Hex {
  return addressToBytes32(address as Hex).toLowerCase() as Hex;
}

/** The summed free capacity of `signers` on `d` for A (mirrored minus exposure, floored at 0). */
async function freeCapacity(w: World, d: number, signers: readonly Wallet[]): Promise<bigint> {
  const view = await w.coverage(d, A);
  return w.chains[A].attesters.reduce((sum, k, i) => {
    if (!signers.some((s) => s.address === k.address)) return sum;
    const free = view.mirrored[i] - view.exposure[i];
    return free > 0n ? sum + free : sum;
  }, 0n);
}

function deliveredIds(events: readonly Event[]): Set<string> {
  return new Set(named(events, "Delivered").map((e) => e.args.id as string));
}

/** Fees a batch paid (local units): to its deliverer and, as premium, to its signers, paid or owed. */
function feesPaid(events: readonly Event[]): bigint {
  return [...named(events, "FeesPaid"), ...named(events, "PremiumPaid")].reduce(
    (sum, e) => sum + (e.args.paid as bigint) + (e.args.owed as bigint),
    0n,
  );
}
