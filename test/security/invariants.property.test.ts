/**
 * Property tests of the protocol's invariants (docs/protocol.md section 5, 1–8) against the real
 * contracts on three chains: random sequences of dispatches, sends, honest and forged deliveries,
 * retries, stake changes, fraud proofs and claims, each invariant checked after every step against
 * a model and the on-chain state. (Invariant 9 is the node's: test/relayer.)
 *
 * Every run starts from the same baseline (a snapshot of all three chains, see world.ts), so a run
 * costs milliseconds, not a deployment. Runs per invariant come from test/helpers/deep.ts: a few in
 * `npm test`, 10,000 each under `DISTPOS_DEEP=1` (`npm run test:deep`).
 */
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";
import fc from "fast-check";

import {
  addressToBytes32,
  type Checkpoint,
  type CheckpointDomainInput,
  EMPTY_ROOT,
  encodeTransferBody,
  isLastAlone,
  MerkleTree,
  treeCheckpoint,
} from "../../relayer/protocol/index.js";
import { DEEP, runs } from "../helpers/deep.js";
import { Counters, one, signersOf, subset, wad } from "./property.js";
import {
  ATTESTERS,
  FAILURE,
  HANDLER_GAS,
  MODES,
  ONE,
  STAKE,
  U,
  W,
  World,
  deliveryArgs,
  forgeDelivery,
  modeOf,
  named,
  recipientBody,
  type Delivery,
  type DispatchedMessage,
  type Event,
  type Hex,
  type Mode,
  type Outcome,
} from "./world.js";

/** Runs per invariant: quick in `npm test`, 10,000 under DISTPOS_DEEP=1. */
const RUNS = runs(50, 10_000);
/** Steps per run. */
const MAX_STEPS = 6;
const BOUNTY_BPS = 1_000n;
const BUCKET = W / 8n;

// ---------------------------------------------------------------------------------------------
// Arbitraries shared by the properties

/** An ordered pair of distinct chains (origin, destination). */
const pairArb = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }))
  .map(([o, k]) => ({ o, d: (o + k) % 3 }));
/** A non-empty subset of the attesters, as a bit mask. */
const signersArb = fc.integer({ min: 1, max: (1 << ATTESTERS) - 1 });
/** A seed that picks a non-empty subset of a list. */
const pickArb = fc.integer({ min: 0, max: 0x7fffffff });

/** A pair (origin, destination) with messages waiting, picked by `seed`; else the given pair. */
function busyPair(w: World, seed: number, fallback: { o: number; d: number }) {
  const pairs: { o: number; d: number }[] = [];
  for (let o = 0; o < 3; o++)
    for (let d = 0; d < 3; d++) if (o !== d && w.pending(o, d).length > 0) pairs.push({ o, d });
  return one(pairs, seed) ?? fallback;
}

function runProperty<C>(
  world: () => World,
  command: fc.Arbitrary<C>,
  step: (world: World, command: C, run: Run) => Promise<void>,
  finish?: (world: World, run: Run) => Promise<void>,
  maxSteps = MAX_STEPS,
) {
  return fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: maxSteps }), async (commands) => {
      const w = world();
      await w.reset();
      const run = new Run();
      // Steps get a copy: a step may retarget its command (e.g. to a pair with messages waiting).
      for (const c of commands) await step(w, { ...c }, run);
      if (finish) await finish(w, run);
    }),
    { numRuns: RUNS },
  );
}

/** What the properties exercised, printed after each one (how many deliveries, forgeries, …). */
const counters = new Counters();
function count(what: string, n = 1) {
  counters.count(what, n);
}
function report(title: string, world: World, started: number) {
  counters.report(title, world, RUNS, started);
}

/** What a run has seen (events by destination) and done. */
class Run {
  readonly events: Event[] = [];
  readonly deliveries: { destination: number; delivery: Delivery }[] = [];
  /** Bodies the run dispatched to a SecurityRecipient, per destination, with their ids. */
  readonly bodies: { destination: number; origin: number; body: Hex; id?: string }[] = [];
  readonly failed = new Map<
    string,
    { destination: number; origin: number; encoded: Hex; mode: Mode }
  >();
  record(outcome: Outcome) {
    this.events.push(...outcome.events);
  }
}

/** Delivered messages of a receipt, by id. */
function deliveredIds(events: readonly Event[]): Set<string> {
  return new Set(named(events, "Delivered").map((e) => e.args.id as string));
}

describe("Security properties: invariants of docs/protocol.md section 5 on three chains", function () {
  let world: World;

  let started = 0;

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
  });

  beforeEach(function () {
    world.takeProfile();
    counters.clear();
    started = performance.now();
  });

  afterEach(function () {
    report(this.currentTest!.title.split(":")[0], world, started);
  });

  // -------------------------------------------------------------------------------------------
  // Invariant 1
  // -------------------------------------------------------------------------------------------

  type OnceCommand =
    | { k: "dispatch"; o: number; d: number; mode: Mode }
    | { k: "send"; o: number; d: number; tokens: number; mode: Mode }
    | { k: "deliver"; o: number; d: number; signers: number; pick: number; reenter: boolean }
    | { k: "replay"; pick: number; twice: boolean }
    | { k: "reprove"; pick: number; signers: number }
    | { k: "retry"; pick: number }
    | { k: "repair"; d: number };

  const onceArb: fc.Arbitrary<OnceCommand> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(pairArb, fc.constantFrom<Mode>("honest", "reverting", "reentrant"))
        .map(([p, mode]) => ({ k: "dispatch" as const, ...p, mode })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          pairArb,
          fc.integer({ min: 1, max: 20 }),
          fc.constantFrom<Mode>("honest", "reverting"),
        )
        .map(([p, tokens, mode]) => ({ k: "send" as const, ...p, tokens, mode })),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(pairArb, signersArb, pickArb, fc.boolean())
        .map(([p, signers, pick, reenter]) => ({
          k: "deliver" as const,
          ...p,
          signers,
          pick,
          reenter,
        })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(pickArb, fc.boolean())
        .map(([pick, twice]) => ({ k: "replay" as const, pick, twice })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pickArb, signersArb)
        .map(([pick, signers]) => ({ k: "reprove" as const, pick, signers })),
    },
    { weight: 4, arbitrary: pickArb.map((pick) => ({ k: "retry" as const, pick })) },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: 2 }).map((d) => ({ k: "repair" as const, d })),
    },
  );

  it("invariant 1: a message executes at most once on its destination", async function () {
    this.timeout(0);
    await runProperty(
      () => world,
      onceArb,
      async (w, c, run) => {
        switch (c.k) {
          case "dispatch": {
            const body = recipientBody(c.mode);
            const m = await w.dispatch(c.o, c.d, w.chains[c.d].recipientWord, body);
            run.bodies.push({ destination: c.d, origin: c.o, body, id: m.id });
            break;
          }
          case "send": {
            const body = recipientBody(c.mode);
            const bank = w.chains[c.o].suite.bank;
            const out = await w.tx(c.o, w.chains[c.o].users[0], bank, "send", [
              w.chains[c.d].code,
              w.chains[c.d].recipientWord,
              wad(c.tokens),
              body,
            ]);
            expect(out.ok, out.error).to.equal(true);
            run.bodies.push({
              destination: c.d,
              origin: c.o,
              body,
              id: named(out.events, "Sent")[0].args.id,
            });
            break;
          }
          case "deliver": {
            ({ o: c.o, d: c.d } = busyPair(w, c.pick, c));
            const delivery = await w.prepare(c.o, c.d, {
              signers: signersOf(w, c.o, c.signers),
              pick: (pending) => subset(pending, c.pick >>> 4),
            });
            if (!delivery) break;
            if (c.reenter) {
              // A re-entrant recipient in the batch tries to deliver the very same batch again.
              const recipient = w.chains[c.d].recipient;
              await w.tx(c.d, w.chains[c.d].deployer, recipient, "arm", [
                w.chains[c.d].suite.inbox.interface.encodeFunctionData(
                  "deliver",
                  deliveryArgs(delivery),
                ),
              ]);
            }
            const out = await w.deliver(c.d, delivery);
            run.record(out);
            count(out.ok ? "batches delivered" : "batches short of coverage");
            if (out.ok) {
              count("messages delivered", delivery.messages.length);
              run.deliveries.push({ destination: c.d, delivery });
              for (const f of named(out.events, "HandlerFailed")) {
                const encoded = delivery.messages.find(
                  (m) => ethers.keccak256(m) === f.args.id,
                )! as Hex;
                run.failed.set(f.args.id, {
                  destination: c.d,
                  origin: c.o,
                  encoded,
                  mode: "reverting",
                });
              }
            } else {
              expect(["InsufficientCoverage", "TooFewSigners"]).to.include(out.error);
            }
            break;
          }
          case "replay": {
            // The same batch again, as a second relayer (front-runner or replayer) would send it.
            const past = one(run.deliveries, c.pick);
            if (!past) break;
            const relayer = w.chains[past.destination].users[c.twice ? 1 : 2];
            const out = await w.deliver(past.destination, past.delivery, relayer);
            expect(out.ok, "a replayed batch was accepted").to.equal(false);
            expect(out.error).to.equal("AlreadyDelivered");
            count("replays refused");
            break;
          }
          case "reprove": {
            // A delivered message slipped into a batch under a newer checkpoint of its origin.
            const past = one(run.deliveries, c.pick);
            if (!past) break;
            const o = w.chains.findIndex((x) => x.code === past.delivery.checkpoint.origin);
            const old = w.logs[o].find((m) => m.encoded === past.delivery.messages[0])!;
            const checkpoint = await w.snapshot(o);
            const fresh = w.pending(o, past.destination, checkpoint.count);
            const delivery = await w.build(
              o,
              checkpoint,
              [old, ...fresh],
              signersOf(w, o, c.signers),
            );
            const out = await w.tryDeliver(past.destination, delivery);
            expect(out.ok, "an old message under a new root was accepted").to.equal(false);
            expect(out.error).to.equal("AlreadyDelivered");
            count("re-proved old messages refused");
            break;
          }
          case "retry": {
            const entries = [...run.failed.entries()];
            const chosen = one(entries, c.pick);
            if (!chosen) break;
            const [id, failed] = chosen;
            const chain = w.chains[failed.destination];
            // Half the time the recipient is fixed first, as its owner would before retrying.
            if (c.pick % 2 === 0)
              await w.tx(failed.destination, chain.deployer, chain.recipient, "repair", []);
            const before = await w.view<bigint>(failed.destination, chain.suite.inbox, "failure", [
              id,
            ]);
            const out = await w.tx(failed.destination, chain.users[3], chain.suite.inbox, "retry", [
              failed.encoded,
            ]);
            run.record(out);
            count(out.ok ? "retries run" : "retries refused");
            if (before === FAILURE.None) {
              expect(out.ok, "a retry re-ran a message that had not failed").to.equal(false);
              expect(out.error).to.equal("NotFailed");
            } else if (out.ok) {
              expect(
                await w.view<bigint>(failed.destination, chain.suite.inbox, "failure", [id]),
              ).to.equal(FAILURE.None);
            }
            break;
          }
          case "repair": {
            // Fix the recipient where something failed (if anything did).
            const d = one([...run.failed.values()], c.d)?.destination ?? c.d;
            await w.tx(d, w.chains[d].deployer, w.chains[d].recipient, "repair", []);
            break;
          }
        }
        checkOnce(w, run);
      },
      async (w, run) => {
        // On-chain cross-check: no body ran twice, no re-entry got through, and the replay bits
        // agree with the model for every message of the run.
        for (const d of [0, 1, 2]) {
          const bodies = run.bodies
            .filter((b) => b.destination === d)
            .map((b) => ethers.keccak256(b.body));
          for (const n of await w.handledCounts(d, bodies))
            expect(n <= 1n, `body handled ${n} times`).to.equal(true);
          const keys: { origin: bigint; nonce: number; o: number }[] = [];
          for (const [o, log] of w.logs.entries()) {
            for (const m of log.slice(w.baselineCount(o))) {
              if (m.message.destination === w.chains[d].code)
                keys.push({ origin: m.message.origin, nonce: m.nonce, o });
            }
          }
          const bits = await w.deliveredBits(d, keys);
          keys.forEach((k, i) =>
            expect(bits[i], `replay bit of ${k.origin}:${k.nonce}`).to.equal(
              w.isDelivered(d, k.o, k.nonce),
            ),
          );
        }
        for (const chain of w.chains) {
          expect(await w.view<bigint>(chain.index, chain.recipient, "reentrySuccesses")).to.equal(
            0n,
          );
        }
      },
      8,
    );
  });

  /** Invariant 1 over everything the run saw. */
  function checkOnce(w: World, run: Run) {
    for (const delivered of w.delivered) {
      for (const [key, count] of delivered)
        expect(count, `Delivered ${key} ${count} times`).to.equal(1);
    }
    const handled = new Map<string, number>();
    for (const e of named(run.events, "Handled")) {
      const key = `${e.chain}:${e.args.bodyHash}`;
      handled.set(key, (handled.get(key) ?? 0) + 1);
    }
    for (const [key, count] of handled)
      expect(count, `handler ran ${count} times for ${key}`).to.equal(1);
    const paid = new Map<string, number>();
    for (const e of [...named(run.events, "PaidOut"), ...named(run.events, "Claimed")]) {
      const key = `${e.chain}:${e.args.id}`;
      paid.set(key, (paid.get(key) ?? 0) + 1);
    }
    for (const [key, count] of paid) expect(count, `payout ${key} paid ${count} times`).to.equal(1);
    const failedIds = new Set(named(run.events, "HandlerFailed").map((e) => e.args.id as string));
    for (const e of named(run.events, "Retried")) expect(failedIds.has(e.args.id)).to.equal(true);
  }

  // -------------------------------------------------------------------------------------------
  // Invariant 2
  // -------------------------------------------------------------------------------------------

  type ForgeKind =
    | "flipByte"
    | "truncate"
    | "proofElement"
    | "proofLength"
    | "lastLeaf"
    | "strangerKey"
    | "otherChainAttester"
    | "droppedAttester"
    | "fakeTreeStranger"
    | "fakeTreeRealRoot"
    | "otherOrigin"
    | "laterMessageOldCount";

  type ProofCommand =
    | { k: "dispatch"; o: number; d: number; valueTokens: number }
    | { k: "deliver"; o: number; d: number; signers: number; pick: number }
    | { k: "drop"; o: number; d: number; attester: number }
    | { k: "forge"; o: number; d: number; kind: ForgeKind; seed: number; signers: number };

  const forgeKinds: ForgeKind[] = [
    "flipByte",
    "truncate",
    "proofElement",
    "proofLength",
    "lastLeaf",
    "strangerKey",
    "otherChainAttester",
    "droppedAttester",
    "fakeTreeStranger",
    "fakeTreeRealRoot",
    "otherOrigin",
    "laterMessageOldCount",
  ];

  const proofArb: fc.Arbitrary<ProofCommand> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 0, max: 3 }))
        .map(([p, v]) => ({ k: "dispatch" as const, ...p, valueTokens: v === 0 ? 5 : 0 })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(pairArb, signersArb, pickArb)
        .map(([p, signers, pick]) => ({ k: "deliver" as const, ...p, signers, pick })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 0, max: ATTESTERS - 1 }))
        .map(([p, attester]) => ({ k: "drop" as const, ...p, attester })),
    },
    {
      weight: 6,
      arbitrary: fc
        .tuple(pairArb, fc.constantFrom(...forgeKinds), pickArb, signersArb)
        .map(([p, kind, seed, signers]) => ({ k: "forge" as const, ...p, kind, seed, signers })),
    },
  );

  it("invariant 2: no message is accepted without a valid proof against a root, or as the last leaf, signed by mirrored attesters", async function () {
    this.timeout(0);
    const strangers = Array.from(
      { length: 3 },
      () => ethers.Wallet.createRandom() as unknown as Wallet,
    );
    await runProperty(
      () => world,
      proofArb,
      async (w, c, run) => {
        switch (c.k) {
          case "dispatch": {
            if (c.valueTokens > 0) {
              const out = await w.tx(
                c.o,
                w.chains[c.o].users[0],
                w.chains[c.o].suite.bank,
                "send",
                [
                  w.chains[c.d].code,
                  addressToBytes32(w.chains[c.d].users[0].address as Hex),
                  wad(c.valueTokens),
                  "0x",
                ],
              );
              expect(out.ok, out.error).to.equal(true);
            } else {
              await w.dispatch(c.o, c.d, w.chains[c.d].recipientWord, recipientBody("honest"));
            }
            break;
          }
          case "deliver": {
            ({ o: c.o, d: c.d } = busyPair(w, c.pick, c));
            const signers = signersOf(w, c.o, c.signers).filter(
              (s) => !droppedOf(run, c.o, c.d).has(s.address),
            );
            if (signers.length === 0) break;
            const delivery = await w.prepare(c.o, c.d, {
              signers,
              pick: (p) => subset(p, c.pick >>> 4),
            });
            if (!delivery) break;
            const out = await w.deliver(c.d, delivery);
            run.record(out);
            count(out.ok ? "honest batches delivered" : "honest batches short of coverage");
            // A batch carrying a stake report needs signers holding more than half of the mirror.
            if (!out.ok)
              expect([
                "InsufficientCoverage",
                "TooFewSigners",
                "StakeReportNeedsQuorum",
              ]).to.include(out.error);
            break;
          }
          case "drop": {
            // The attester takes its whole allocation to `d` away; the report is relayed at once by
            // the other attesters, so `d` stops mirroring it.
            const attester = w.chains[c.o].attesters[c.attester];
            const out = await w.tx(c.o, attester, w.chains[c.o].suite.stakingHub, "allocate", [
              w.chains[c.d].code,
              0n,
            ]);
            expect(out.ok, out.error).to.equal(true);
            const others = w.chains[c.o].attesters.filter(
              (a) => a !== attester && !droppedOf(run, c.o, c.d).has(a.address),
            );
            if (others.length === 0) break;
            const delivery = await w.prepare(c.o, c.d, {
              signers: others,
              pick: (p) =>
                p.filter(
                  (m) =>
                    m.message.sender ===
                    addressToBytes32(w.chains[c.o].suite.addresses.stakingHub as Hex),
                ),
            });
            if (!delivery) break;
            const relayed = await w.deliver(c.d, delivery);
            run.record(relayed);
            if (relayed.ok) droppedOf(run, c.o, c.d).add(attester.address);
            if (relayed.ok) count("attesters unmirrored");
            break;
          }
          case "forge": {
            if (c.seed % 4 !== 0) ({ o: c.o, d: c.d } = busyPair(w, c.seed, c));
            const attempt = await forgeAttempt(w, run, c, strangers);
            if (!attempt) break;
            const out = await w.tryDeliver(c.d, attempt);
            expect(out.ok, `forged delivery (${c.kind}) accepted`).to.equal(false);
            count(`${c.kind} refused`);
            break;
          }
        }
        checkProven(w, run);
      },
    );
  });

  const DROPPED = new WeakMap<Run, Map<string, Set<string>>>();
  function droppedOf(run: Run, o: number, d: number): Set<string> {
    let byPair = DROPPED.get(run);
    if (!byPair) DROPPED.set(run, (byPair = new Map()));
    let set = byPair.get(`${o}:${d}`);
    if (!set) byPair.set(`${o}:${d}`, (set = new Set()));
    return set;
  }

  /** A delivery that no mirrored attester signed as it stands; undefined when nothing to forge. */
  async function forgeAttempt(
    w: World,
    run: Run,
    c: { o: number; d: number; kind: ForgeKind; seed: number; signers: number },
    strangers: Wallet[],
  ): Promise<Delivery | undefined> {
    const live = signersOf(w, c.o, c.signers).filter(
      (s) => !droppedOf(run, c.o, c.d).has(s.address),
    );
    const honest = live.length > 0 ? live : undefined;
    const base = honest
      ? await w.prepare(c.o, c.d, { signers: honest, pick: (p) => subset(p, c.seed) })
      : undefined;
    const rnd = (n: number) => ((c.seed * 2654435761) % n) >>> 0;
    switch (c.kind) {
      case "flipByte": {
        if (!base) return undefined;
        const i = rnd(base.messages.length);
        const bytes = ethers.getBytes(base.messages[i]);
        const at = (c.seed >>> 3) % bytes.length;
        bytes[at] ^= 1 << (c.seed % 8);
        const messages = [...base.messages];
        messages[i] = ethers.hexlify(bytes) as Hex;
        return { ...base, messages };
      }
      case "truncate": {
        if (!base) return undefined;
        const i = rnd(base.messages.length);
        const messages = [...base.messages];
        const m = messages[i];
        messages[i] = (
          c.seed % 2 === 0 ? m.slice(0, Math.max(2, m.length - 2 * (1 + (c.seed % 40)))) : m + "00"
        ) as Hex;
        return { ...base, messages };
      }
      case "proofElement": {
        // The checkpoint's last message alone is sent without its proof: nothing to mutate.
        if (
          !base ||
          base.proof.length === 0 ||
          isLastAlone(base.checkpoint, base.messages as Hex[])
        )
          return undefined;
        const proof = [...base.proof];
        const i = rnd(proof.length);
        // Zero it, or hash it when it is zero already (the mutation must change the proof).
        proof[i] =
          c.seed % 3 === 0 && proof[i] !== ethers.ZeroHash
            ? (ethers.ZeroHash as Hex)
            : (ethers.keccak256(proof[i]) as Hex);
        return { ...base, proof };
      }
      case "proofLength": {
        if (!base || isLastAlone(base.checkpoint, base.messages as Hex[])) return undefined;
        const proof =
          c.seed % 2 === 0 ? base.proof.slice(0, -1) : [...base.proof, ethers.ZeroHash as Hex];
        return { ...base, proof };
      }
      case "lastLeaf": {
        if (!base) return undefined;
        // The last message alone under another `last` than the signed one; any other batch
        // without its proof (only the signed last leaf alone goes without one).
        if (isLastAlone(base.checkpoint, base.messages as Hex[]))
          return {
            ...base,
            checkpoint: { ...base.checkpoint, last: ethers.keccak256(base.checkpoint.last) as Hex },
            proof: [],
          };
        return { ...base, proof: [] };
      }
      case "strangerKey":
      case "otherChainAttester":
      case "droppedAttester": {
        if (!base) return undefined;
        let keys: Wallet[];
        if (c.kind === "strangerKey") keys = [strangers[c.seed % strangers.length]];
        else if (c.kind === "otherChainAttester")
          keys = [w.chains[c.d].attesters[c.seed % ATTESTERS]];
        else {
          const dropped = w.chains[c.o].attesters.filter((a) =>
            droppedOf(run, c.o, c.d).has(a.address),
          );
          if (dropped.length === 0) return undefined;
          keys = [dropped[c.seed % dropped.length]];
        }
        // With or without a real signer beside it: the foreign key must be refused either way.
        const signers = c.seed % 2 === 0 ? keys : [...keys, ...(honest ?? [])];
        return { ...base, signatures: await w.sign(c.o, base.checkpoint, signers) };
      }
      case "fakeTreeStranger":
      case "fakeTreeRealRoot": {
        // A made-up transfer from the origin's bank to a thief, in a tree of the attacker's own.
        const thief = addressToBytes32(w.chains[c.d].users[4].address as Hex);
        const forged = await forgeDelivery(w, c.o, [strangers[c.seed % strangers.length]], {
          sender: addressToBytes32(w.chains[c.o].suite.addresses.bank as Hex),
          destination: w.chains[c.d].code,
          recipient: thief,
          amount: wad(1 + (c.seed % 50)),
          body: encodeTransferBody({ sender: thief, body: "0x" }),
        });
        if (c.kind === "fakeTreeStranger") return forged.delivery;
        // The true root, signed by real attesters, with the fake tree's proof.
        if (!honest) return undefined;
        const real = await w.snapshot(c.o);
        if (real.count === 0) return undefined;
        return {
          ...forged.delivery,
          checkpoint: real,
          signatures: await w.sign(c.o, real, honest),
        };
      }
      case "otherOrigin": {
        // Real messages of `o`, presented as a checkpoint of a third chain signed by its attesters.
        if (!base) return undefined;
        const x = 3 - c.o - c.d;
        const checkpoint: Checkpoint = { ...base.checkpoint, origin: w.chains[x].code };
        const signatures = await w.sign(x, checkpoint, w.chains[x].attesters.slice(0, 2));
        return { ...base, checkpoint, signatures };
      }
      case "laterMessageOldCount": {
        // A real message dispatched after the count the attesters signed.
        const checkpoint = await w.snapshot(c.o);
        if (!honest) return undefined;
        const later = await w.dispatch(
          c.o,
          c.d,
          w.chains[c.d].recipientWord,
          recipientBody("honest"),
        );
        const tree = MerkleTree.from(w.logs[c.o].map((m) => m.id as Hex));
        return {
          checkpoint,
          signatures: await w.sign(c.o, checkpoint, honest),
          messages: [later.encoded],
          proof: tree.multiproof([later.nonce], later.nonce + 1),
        };
      }
    }
  }

  /** Invariant 2: everything delivered is a message its origin's Outbox really dispatched to us. */
  function checkProven(w: World, run: Run) {
    // `Delivered` names the message by its id (its keccak256): it is real when some Outbox logged
    // a message with that id, to this chain.
    const dispatched = new Map(w.logs.flat().map((m) => [m.id.toLowerCase(), m]));
    for (const e of named(run.events, "Delivered")) {
      const d = e.chain;
      const real = dispatched.get((e.args.id as string).toLowerCase());
      expect(real, `delivered ${e.args.id}, which no origin dispatched`).to.not.equal(undefined);
      expect(real!.message.destination).to.equal(w.chains[d].code);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Invariant 3
  // -------------------------------------------------------------------------------------------

  type CoverageCommand =
    | { k: "policy"; d: number; user: number; coverage: number }
    | { k: "dispatch"; o: number; d: number; user: number }
    | { k: "send"; o: number; d: number; user: number; tokens: number }
    | { k: "deliver"; o: number; d: number; signers: number; pick: number }
    | { k: "allocate"; o: number; d: number; attester: number; tokens: number }
    | { k: "travel"; chain: number; buckets: number; jitter: number }
    | { k: "edge"; buckets: number; jitter: number };

  const coverageArb: fc.Arbitrary<CoverageCommand> = fc.oneof(
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 0, max: 160 }),
        )
        .map(([d, user, coverage]) => ({ k: "policy" as const, d, user, coverage })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 0, max: 2 }))
        .map(([p, user]) => ({ k: "dispatch" as const, ...p, user })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 150 }))
        .map(([p, user, tokens]) => ({ k: "send" as const, ...p, user, tokens })),
    },
    {
      weight: 5,
      arbitrary: fc
        .tuple(pairArb, signersArb, pickArb)
        .map(([p, signers, pick]) => ({ k: "deliver" as const, ...p, signers, pick })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          pairArb,
          fc.integer({ min: 0, max: ATTESTERS - 1 }),
          fc.integer({ min: 0, max: 300 }),
        )
        .map(([p, attester, tokens]) => ({ k: "allocate" as const, ...p, attester, tokens })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 0, max: 5 }),
          // Any number of buckets, most often around the window's edge (8 and 9 buckets).
          fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom(7, 8, 8, 9)),
          fc.integer({ min: 0, max: Number(BUCKET) - 1 }),
        )
        .map(([chain, buckets, jitter]) => ({ k: "travel" as const, chain, buckets, jitter })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(7, 8, 9), fc.integer({ min: 0, max: Number(BUCKET) - 1 }))
        .map(([buckets, jitter]) => ({ k: "edge" as const, buckets, jitter })),
    },
  );

  interface Charge {
    amount: bigint;
    timestamp: number;
  }

  it("invariant 3: the value an attester vouches for inside any window W never exceeds its mirrored stake", async function () {
    this.timeout(0);
    await runProperty(
      () => world,
      coverageArb,
      async (w, c, run) => {
        const charges = chargesOf(run);
        switch (c.k) {
          case "policy": {
            const user = w.chains[c.d].users[c.user];
            await w.tx(c.d, user, w.chains[c.d].suite.inbox, "setRecipientPolicy", [
              0,
              wad(c.coverage),
            ]);
            break;
          }
          case "dispatch": {
            await w.dispatch(
              c.o,
              c.d,
              addressToBytes32(w.chains[c.d].users[c.user].address as Hex),
              "0x",
            );
            break;
          }
          case "send": {
            await w.tx(c.o, w.chains[c.o].users[3], w.chains[c.o].suite.bank, "send", [
              w.chains[c.d].code,
              addressToBytes32(w.chains[c.d].users[c.user].address as Hex),
              wad(c.tokens),
              "0x",
            ]);
            break;
          }
          case "allocate": {
            const attester = w.chains[c.o].attesters[c.attester];
            await w.tx(c.o, attester, w.chains[c.o].suite.stakingHub, "allocate", [
              w.chains[c.d].code,
              wad(c.tokens),
            ]);
            break;
          }
          case "travel": {
            // Whole buckets and a bit, mostly on the chain that last charged coverage: the
            // window's edges are where a bucket bug would show.
            const last = named(run.events, "CoverageCharged").at(-1);
            const chain = c.chain > 2 && last ? last.chain : c.chain % 3;
            await w.travel(chain, BigInt(c.buckets) * BUCKET + BigInt(c.jitter) + 1n);
            break;
          }
          case "edge": {
            // To a moment `buckets` buckets after the last charge's bucket: where the charge must
            // still count (up to 8) or may have expired (9), the edge of the window.
            const last = named(run.events, "CoverageCharged").at(-1);
            if (!last) break;
            const target =
              (BigInt(last.timestamp) / BUCKET + BigInt(c.buckets)) * BUCKET + BigInt(c.jitter);
            const now = BigInt(await w.now(last.chain));
            if (target > now)
              await w.chains[last.chain].connection.networkHelpers.time.increaseTo(target);
            break;
          }
          case "deliver": {
            ({ o: c.o, d: c.d } = busyPair(w, c.pick, c));
            const signers = signersOf(w, c.o, c.signers);
            const origin = w.chains[c.o].code;
            const view = await w.coverage(c.d, c.o);
            const mirrored = new Map(
              w.chains[c.o].attesters.map((a, i) => [a.address, view.mirrored[i]]),
            );
            const live = signers.filter((s) => mirrored.get(s.address)! > 0n);
            if (live.length === 0) break;
            const delivery = await w.prepare(c.o, c.d, {
              signers: live,
              pick: (p) => subset(p, c.pick >>> 4),
            });
            if (!delivery) break;
            // Free capacity the model expects of each signer at the next block's time.
            const out = await w.deliver(c.d, delivery);
            run.record(out);
            const now = out.timestamp ?? (await w.now(c.d));
            count(out.ok ? "batches delivered" : `batches refused (${out.error})`);
            if (!out.ok) {
              expect(
                [
                  "InsufficientCoverage",
                  "TooFewSigners",
                  // A batch carrying a stake report signed by half the mirrored stake or less, and
                  // recipients' own policies beyond half of it per window (protocol.md 3.5).
                  "StakeReportNeedsQuorum",
                  "PolicyCoverageExhausted",
                ],
                out.error,
              ).to.include(out.error);
              if (out.error === "InsufficientCoverage") {
                const [valueAtRisk, capacity] = out.args as unknown as [bigint, bigint];
                expect(valueAtRisk > capacity).to.equal(true);
              } else if (out.error === "StakeReportNeedsQuorum") {
                const [signerStake, total] = out.args as unknown as [bigint, bigint];
                const held = live.reduce((sum, x) => sum + mirrored.get(x.address)!, 0n);
                expect(signerStake).to.equal(held);
                expect(total).to.equal(view.mirrored.reduce((sum, x) => sum + x, 0n));
                expect(2n * signerStake <= total).to.equal(true);
              } else if (out.error === "PolicyCoverageExhausted") {
                const [requested, available] = out.args as unknown as [bigint, bigint];
                expect(requested > available).to.equal(true);
              }
              break;
            }
            const events = named(out.events, "CoverageCharged");
            // Greedy, in signature order: charged signers ascend.
            let previous = 0n;
            for (const e of events) {
              expect(BigInt(e.args.attester) > previous, "charged out of signature order").to.equal(
                true,
              );
              previous = BigInt(e.args.attester);
            }
            for (const e of events) {
              const key = `${c.d}:${origin}:${e.args.attester}`;
              const list = charges.get(key) ?? [];
              list.push({ amount: e.args.amount, timestamp: now });
              charges.set(key, list);
              // The invariant: within (now − W, now], the charges never exceed the mirrored stake.
              const inWindow = list
                .filter((x) => BigInt(x.timestamp) > BigInt(now) - W)
                .reduce((sum, x) => sum + x.amount, 0n);
              const stake = mirrored.get(e.args.attester)!;
              expect(
                inWindow <= stake,
                `vouched ${inWindow} within W with a stake of ${stake}`,
              ).to.equal(true);
              count("charges checked");
              if (inWindow === stake) count("signers charged to their full stake");
            }
            break;
          }
        }
        await checkExposure(w, charges);
      },
    );
  });

  const CHARGES = new WeakMap<Run, Map<string, Charge[]>>();
  function chargesOf(run: Run): Map<string, Charge[]> {
    let m = CHARGES.get(run);
    if (!m) CHARGES.set(run, (m = new Map()));
    return m;
  }

  /**
   * The Inbox's exposure view equals the model's sum of the live buckets (the current one and the
   * 8 before it), which always holds every charge of the last W seconds.
   */
  async function checkExposure(w: World, charges: Map<string, Charge[]>) {
    const pairs = new Set([...charges.keys()].map((key) => key.split(":").slice(0, 2).join(":")));
    for (const pair of pairs) {
      const [d, originCode] = pair.split(":");
      const o = w.chains.findIndex((x) => x.code === BigInt(originCode));
      const now = BigInt(await w.now(Number(d)));
      const epoch = now / BUCKET;
      const view = await w.coverage(Number(d), o);
      for (const [i, attester] of w.chains[o].attesters.entries()) {
        const list = charges.get(`${pair}:${attester.address}`) ?? [];
        const live = list
          .filter((x) => BigInt(x.timestamp) / BUCKET + 8n >= epoch)
          .reduce((s, x) => s + x.amount, 0n);
        const withinW = list
          .filter((x) => BigInt(x.timestamp) > now - W)
          .reduce((s, x) => s + x.amount, 0n);
        expect(view.exposure[i], `exposure of ${attester.address}`).to.equal(live);
        expect(view.exposure[i] >= withinW).to.equal(true);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Invariant 4
  // -------------------------------------------------------------------------------------------

  type BookCommand =
    | { k: "fund"; holder: number; peer: number; tokens: number }
    | { k: "send"; o: number; d: number; user: number; tokens: number }
    | { k: "deliver"; o: number; d: number; pick: number }
    | { k: "claim"; holder: number; pick: number }
    | { k: "retry"; pick: number }
    | { k: "lie"; o: number; d: number; liars: number; tokens: number };

  const bookArb: fc.Arbitrary<BookCommand> = fc.oneof(
    {
      weight: 1,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 1, max: 200 }))
        .map(([p, tokens]) => ({ k: "fund" as const, holder: p.o, peer: p.d, tokens })),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 250 }))
        .map(([p, user, tokens]) => ({ k: "send" as const, ...p, user, tokens })),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(pairArb, pickArb)
        .map(([p, pick]) => ({ k: "deliver" as const, ...p, pick })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 2 }), pickArb)
        .map(([holder, pick]) => ({ k: "claim" as const, holder, pick })),
    },
    { weight: 1, arbitrary: pickArb.map((pick) => ({ k: "retry" as const, pick })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          pairArb,
          fc.oneof(signersArb, fc.constant((1 << ATTESTERS) - 1)),
          fc.integer({ min: 1, max: 420 }),
        )
        .map(([p, liars, tokens]) => ({ k: "lie" as const, ...p, liars, tokens })),
    },
  );

  /** Token books of every bank: reserve, pool, pending per peer, and the bank's balance. */
  interface Books {
    reserve: bigint[][];
    pool: bigint[][];
    pending: bigint[][];
  }

  function readBooks(w: World, chain: number) {
    return w.books(chain);
  }

  it("invariant 4: reserves never go negative, payouts come only from the origin's reserve, shortfalls stay pending", async function () {
    this.timeout(0);
    // The model starts from the baseline books.
    const start: Books = { reserve: [], pool: [], pending: [] };
    await world.reset();
    for (const c of world.chains) {
      const b = await readBooks(world, c.index);
      start.reserve.push(b.reserve);
      start.pool.push(b.pool);
      start.pending.push(b.pending);
    }
    await runProperty(
      () => world,
      bookArb,
      async (w, c, run) => {
        const books = booksOf(run, start);
        const payoutOrigin = payoutOriginsOf(run);
        let touched: number[] = [];
        let outcome: Outcome | undefined;
        switch (c.k) {
          case "fund": {
            touched = [c.holder];
            outcome = await w.tx(
              c.holder,
              w.chains[c.holder].users[5],
              w.chains[c.holder].suite.bank,
              "fund",
              [w.chains[c.peer].code, wad(c.tokens)],
            );
            expect(outcome.ok, outcome.error).to.equal(true);
            break;
          }
          case "send": {
            touched = [c.o];
            outcome = await w.tx(
              c.o,
              w.chains[c.o].users[c.user],
              w.chains[c.o].suite.bank,
              "send",
              [
                w.chains[c.d].code,
                addressToBytes32(w.chains[c.d].users[c.user].address as Hex),
                wad(c.tokens),
                "0x",
              ],
            );
            count(outcome.ok ? "sends" : `sends refused (${outcome.error})`);
            if (!outcome.ok)
              expect(["InsufficientCredit", "PeerSuspended"]).to.include(outcome.error);
            else books.pool[c.o][c.d] += wad(c.tokens);
            break;
          }
          case "deliver": {
            ({ o: c.o, d: c.d } = busyPair(w, c.pick, c));
            touched = [c.d];
            const delivery = await w.prepare(c.o, c.d, {
              signers: w.chains[c.o].attesters,
              pick: (p) => subset(p, c.pick >>> 4),
            });
            if (!delivery) break;
            outcome = await w.deliver(c.d, delivery);
            if (!outcome.ok) expect(["InsufficientCoverage"]).to.include(outcome.error);
            break;
          }
          case "claim": {
            touched = [c.holder];
            const pending = named(run.events, "PayoutPending").filter((e) => e.chain === c.holder);
            const chosen = one(pending, c.pick);
            const id = chosen ? (chosen.args.id as string) : ethers.id(`nothing ${c.pick}`);
            outcome = await w.tx(
              c.holder,
              w.chains[c.holder].users[3],
              w.chains[c.holder].suite.bank,
              "claim",
              [id],
            );
            count(outcome.ok ? "claims paid" : `claims refused (${outcome.error})`);
            if (!outcome.ok) expect(["ReserveShort", "NotPending"]).to.include(outcome.error);
            break;
          }
          case "retry": {
            const failures = named(run.events, "HandlerFailed").filter(
              (e) => e.args.kind === FAILURE.PayoutPending,
            );
            const chosen = one(failures, c.pick);
            if (!chosen) break;
            const d = chosen.chain;
            touched = [d];
            const message =
              w.logs.flat().find((m) => m.id === chosen.args.id) ??
              forgedOf(run).get(chosen.args.id);
            if (!message) break;
            outcome = await w.tx(d, w.chains[d].users[3], w.chains[d].suite.inbox, "retry", [
              message.encoded,
            ]);
            if (!outcome.ok) expect(["PayoutStillPending", "NotFailed"]).to.include(outcome.error);
            break;
          }
          case "lie": {
            // Lying attesters of `o` make up a transfer from o's bank to a thief on `d`.
            touched = [c.d];
            const liars = signersOf(w, c.o, c.liars);
            const thief = w.chains[c.d].users[4];
            const { delivery, forged } = await forgeDelivery(w, c.o, liars, {
              sender: addressToBytes32(w.chains[c.o].suite.addresses.bank as Hex),
              destination: w.chains[c.d].code,
              recipient: addressToBytes32(thief.address as Hex),
              amount: wad(c.tokens),
              body: encodeTransferBody({
                sender: addressToBytes32(thief.address as Hex),
                body: "0x",
              }),
            });
            forgedOf(run).set(forged.id, forged);
            let capacity = 0n;
            for (const liar of liars) {
              capacity += await w.view<bigint>(c.d, w.chains[c.d].suite.inbox, "freeCapacity", [
                w.chains[c.o].code,
                liar.address,
              ]);
            }
            outcome = await w.deliver(c.d, delivery);
            count(
              outcome.ok ? "lies accepted (within coverage)" : `lies refused (${outcome.error})`,
            );
            if (outcome.ok) {
              // Coverage bounds what a lie can move: at most the liars' free capacity.
              expect(
                wad(c.tokens) <= capacity,
                "a lie moved more than the liars' free stake",
              ).to.equal(true);
            } else {
              expect(["InsufficientCoverage", "AlreadyDelivered"]).to.include(outcome.error);
            }
            break;
          }
        }
        if (outcome) {
          count("payouts paid", named(outcome.events, "PaidOut").length);
          count("payouts pending", named(outcome.events, "PayoutPending").length);
          run.record(outcome);
          applyBookEvents(w, books, payoutOrigin, outcome.events);
        }
        for (const chain of touched) await checkBooks(w, chain, books);
      },
      async (w, run) => {
        // Nothing pending is lost: top every reserve up and claim every pending payout.
        const books = booksOf(run, start);
        const payoutOrigin = payoutOriginsOf(run);
        for (const holder of w.chains) {
          const pending = named(run.events, "PayoutPending").filter(
            (e) => e.chain === holder.index,
          );
          const paid = new Set(
            [...named(run.events, "PaidOut"), ...named(run.events, "Claimed")]
              .filter((e) => e.chain === holder.index)
              .map((e) => e.args.id as string),
          );
          for (const p of pending) {
            if (paid.has(p.args.id)) continue;
            const fund = await w.tx(holder.index, holder.users[5], holder.suite.bank, "fund", [
              p.args.origin,
              p.args.amount,
            ]);
            applyBookEvents(w, books, payoutOrigin, fund.events);
            const before = await w.view<bigint>(holder.index, holder.suite.token, "balanceOf", [
              p.args.recipient,
            ]);
            const claim = await w.tx(holder.index, holder.users[3], holder.suite.bank, "claim", [
              p.args.id,
            ]);
            expect(
              claim.ok,
              `pending payout ${p.args.id} could not be claimed: ${claim.error}`,
            ).to.equal(true);
            count("pending payouts claimed at the end");
            applyBookEvents(w, books, payoutOrigin, claim.events);
            const after = await w.view<bigint>(holder.index, holder.suite.token, "balanceOf", [
              p.args.recipient,
            ]);
            expect(after - before).to.equal(p.args.amount);
          }
          await checkBooks(w, holder.index, books);
          const after = await w.books(holder.index);
          for (const peer of w.chains)
            if (peer !== holder) expect(after.pending[peer.index]).to.equal(0n);
        }
      },
    );
  });

  const BOOKS = new WeakMap<Run, Books>();
  function booksOf(run: Run, start: Books): Books {
    let b = BOOKS.get(run);
    if (!b) {
      b = {
        reserve: start.reserve.map((r) => [...r]),
        pool: start.pool.map((r) => [...r]),
        pending: start.pending.map((r) => [...r]),
      };
      BOOKS.set(run, b);
    }
    return b;
  }
  const PAYOUT_ORIGINS = new WeakMap<Run, Map<string, number>>();
  function payoutOriginsOf(run: Run): Map<string, number> {
    let m = PAYOUT_ORIGINS.get(run);
    if (!m) PAYOUT_ORIGINS.set(run, (m = new Map()));
    return m;
  }
  const FORGED = new WeakMap<Run, Map<string, DispatchedMessage>>();
  function forgedOf(run: Run): Map<string, DispatchedMessage> {
    let m = FORGED.get(run);
    if (!m) FORGED.set(run, (m = new Map()));
    return m;
  }

  /** Moves the model's books by a transaction's bank events. */
  function applyBookEvents(
    w: World,
    books: Books,
    payoutOrigin: Map<string, number>,
    events: readonly Event[],
  ) {
    for (const e of events) {
      if (e.address.toLowerCase() !== w.chains[e.chain].suite.addresses.bank.toLowerCase())
        continue;
      const holder = e.chain;
      const indexOf = (code: bigint) => w.chains.findIndex((x) => x.code === code);
      switch (e.name) {
        case "Funded":
          books.reserve[holder][indexOf(e.args.peer)] += e.args.amount;
          break;
        case "PaidOut":
          books.reserve[holder][indexOf(e.args.origin)] -= e.args.amount;
          break;
        case "PayoutPending": {
          const o = indexOf(e.args.origin);
          payoutOrigin.set(`${holder}:${e.args.id}`, o);
          books.pending[holder][o] += e.args.amount;
          break;
        }
        case "Claimed": {
          const o = payoutOrigin.get(`${holder}:${e.args.id}`);
          expect(o, "a claim paid a payout that was never pending").to.not.equal(undefined);
          books.reserve[holder][o!] -= e.args.amount;
          books.pending[holder][o!] -= e.args.amount;
          break;
        }
      }
    }
  }

  /** Invariant 4 on one chain: the books equal the model and the bank holds every token it owes. */
  async function checkBooks(w: World, chain: number, books: Books) {
    const c = w.chains[chain];
    const actual = await readBooks(w, chain);
    let owed = 0n;
    for (const peer of w.chains) {
      if (peer === c) continue;
      const p = peer.index;
      expect(actual.reserve[p], `reserve[${peer.name}] on ${c.name}`).to.equal(
        books.reserve[chain][p],
      );
      expect(actual.pool[p], `pool[${peer.name}] on ${c.name}`).to.equal(books.pool[chain][p]);
      expect(actual.pending[p], `pending[${peer.name}] on ${c.name}`).to.equal(
        books.pending[chain][p],
      );
      expect(books.reserve[chain][p] >= 0n).to.equal(true);
      owed += actual.reserve[p] + actual.pool[p] + actual.locked[p];
    }
    expect(actual.balance, `${c.name} bank holds what it owes`).to.equal(owed);
  }

  // -------------------------------------------------------------------------------------------
  // Invariant 5
  // -------------------------------------------------------------------------------------------

  type FalseKind = "wrongRoot" | "premature" | "unsnapshotted" | "zeroRoot" | "wrongLast";
  type SlashCommand =
    | { k: "dispatch"; d: number; snapshot: boolean }
    | { k: "signTrue"; attester: number; pick: number }
    | { k: "signFalse"; attester: number; kind: FalseKind; seed: number; runAway: number }
    | { k: "prove"; pick: number; prover: number; elsewhere: boolean }
    | { k: "stake"; attester: number; tokens: number }
    | { k: "allocate"; attester: number; peer: number; tokens: number }
    | { k: "unstake"; attester: number; tokens: number }
    | { k: "withdraw"; attester: number }
    | { k: "travel"; seconds: number };

  const attesterArb = fc.integer({ min: 0, max: ATTESTERS - 1 });
  const slashArb = fc.tuple(
    fc.integer({ min: 0, max: 2 }),
    fc.array(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .tuple(fc.integer({ min: 1, max: 2 }), fc.boolean())
            .map(([k, snapshot]) => ({ k: "dispatch" as const, d: k, snapshot })),
        },
        {
          weight: 3,
          arbitrary: fc
            .tuple(attesterArb, pickArb)
            .map(([attester, pick]) => ({ k: "signTrue" as const, attester, pick })),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              attesterArb,
              fc.constantFrom<FalseKind>(
                "wrongRoot",
                "premature",
                "unsnapshotted",
                "zeroRoot",
                "wrongLast",
              ),
              pickArb,
              fc.integer({ min: 0, max: 700 }),
            )
            .map(([attester, kind, seed, runAway]) => ({
              k: "signFalse" as const,
              attester,
              kind,
              seed,
              runAway,
            })),
        },
        {
          weight: 4,
          arbitrary: fc
            .tuple(pickArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 9 }))
            .map(([pick, prover, e]) => ({
              k: "prove" as const,
              pick,
              prover,
              elsewhere: e === 0,
            })),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(attesterArb, fc.integer({ min: 1, max: 200 }))
            .map(([attester, tokens]) => ({ k: "stake" as const, attester, tokens })),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(attesterArb, fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 400 }))
            .map(([attester, peer, tokens]) => ({
              k: "allocate" as const,
              attester,
              peer,
              tokens,
            })),
        },
        {
          weight: 3,
          arbitrary: fc
            .tuple(attesterArb, fc.integer({ min: 1, max: 700 }))
            .map(([attester, tokens]) => ({ k: "unstake" as const, attester, tokens })),
        },
        {
          weight: 1,
          arbitrary: attesterArb.map((attester) => ({ k: "withdraw" as const, attester })),
        },
        {
          weight: 1,
          arbitrary: fc
            .integer({ min: 1, max: Number(U) + 200 })
            .map((seconds) => ({ k: "travel" as const, seconds })),
        },
      ),
      { minLength: 1, maxLength: MAX_STEPS + 2 },
    ),
  );

  it("invariant 5: a false checkpoint loses the stake to a valid proof; an honest attester is never slashed", async function () {
    this.timeout(0);
    await fc.assert(
      fc.asyncProperty(slashArb, async ([home, commands]) => {
        const w = world;
        await w.reset();
        const chain = w.chains[home];
        const hub = chain.suite.stakingHub;
        const vault = chain.suite.addresses.timelock;
        const signed: {
          attester: number;
          checkpoint: Checkpoint;
          signature: Hex;
          false: boolean;
          /** The lie is the last leaf under a true root: `proveLastLeafFraud` proves it. */
          lastLie?: boolean;
        }[] = [];
        const liars = new Set<number>();
        const slashed = new Set<number>();
        // Each attester's wealth in the hub: bonded + unbonding; plus what it withdrew.
        const staked = chain.attesters.map(() => STAKE);
        const withdrawn = chain.attesters.map(() => 0n);
        for (const c of commands) {
          switch (c.k) {
            case "dispatch": {
              await w.dispatch(
                home,
                (home + c.d) % 3,
                w.chains[(home + c.d) % 3].recipientWord,
                recipientBody("honest"),
              );
              if (c.snapshot) await w.snapshot(home);
              break;
            }
            case "signTrue": {
              const counts = [...w.snapshotted[home]].filter((n) => n > 0);
              const count = one(counts, c.pick);
              if (count === undefined) break;
              const checkpoint = treeCheckpoint(chain.code, w.trees[home], count);
              const [signature] = await w.sign(home, checkpoint, [chain.attesters[c.attester]]);
              signed.push({ attester: c.attester, checkpoint, signature, false: false });
              break;
            }
            case "signFalse": {
              const tip = w.logs[home].length;
              const counts = [...w.snapshotted[home]];
              let checkpoint: Checkpoint;
              if (c.kind === "wrongRoot") {
                const count = one(counts, c.seed) ?? tip;
                checkpoint = {
                  origin: chain.code,
                  root: ethers.id(`lie ${c.seed}`) as Hex,
                  count,
                  last: ethers.id(`lie's last ${c.seed}`) as Hex,
                };
              } else if (c.kind === "premature") {
                const count = tip + 1 + (c.seed % 5);
                // The current root at a count the Outbox has not reached (or a made-up one).
                const root =
                  c.seed % 2 === 0
                    ? w.trees[home].rootAt(tip)
                    : (ethers.id(`ahead ${c.seed}`) as Hex);
                checkpoint = { origin: chain.code, root, count, last: ethers.ZeroHash as Hex };
              } else if (c.kind === "unsnapshotted") {
                const free = Array.from({ length: tip }, (_, i) => i + 1).filter(
                  (n) => !w.snapshotted[home].has(n),
                );
                const count = one(free, c.seed);
                if (count === undefined) break;
                // The true root at a count nobody snapshotted: still not a checkpoint of the Outbox.
                checkpoint = treeCheckpoint(chain.code, w.trees[home], count);
              } else if (c.kind === "wrongLast") {
                const count = one(
                  counts.filter((n) => n > 0),
                  c.seed,
                );
                if (count === undefined) break;
                // The true snapshotted root, with another leaf named its last.
                checkpoint = {
                  ...treeCheckpoint(chain.code, w.trees[home], count),
                  last: ethers.id(`last ${c.seed}`) as Hex,
                };
              } else {
                const count =
                  one(
                    counts.filter((n) => n > 0),
                    c.seed,
                  ) ?? tip + 1;
                checkpoint = {
                  origin: chain.code,
                  root: ethers.ZeroHash as Hex,
                  count,
                  last: ethers.ZeroHash as Hex,
                };
              }
              const [signature] = await w.sign(home, checkpoint, [chain.attesters[c.attester]]);
              signed.push({
                attester: c.attester,
                checkpoint,
                signature,
                false: true,
                lastLie: c.kind === "wrongLast",
              });
              liars.add(c.attester);
              if (c.runAway > 0) {
                // The liar tries to take its stake out before anyone proves the lie.
                const liar = chain.attesters[c.attester];
                const free = await w.view<bigint>(home, hub, "freeStake", [liar.address]);
                const amount = wad(c.runAway) < free ? wad(c.runAway) : free;
                if (amount > 0n) {
                  const out = await w.tx(home, liar, hub, "requestUnstake", [amount]);
                  if (!out.ok) expect(out.error).to.equal("AttesterSlashed");
                }
              }
              break;
            }
            case "prove": {
              // Mostly a lie (what a watcher submits), sometimes a true checkpoint.
              const lies = signed.filter((x) => x.false);
              const s =
                c.pick % 3 !== 0 && lies.length > 0 ? one(lies, c.pick) : one(signed, c.pick);
              if (!s) break;
              const prover = chain.users[c.prover];
              if (c.elsewhere) {
                // The same proof on another chain's hub: not its checkpoint to judge.
                const other = w.chains[(home + 1) % 3];
                const out = await w.tx(
                  other.index,
                  other.users[c.prover],
                  other.suite.stakingHub,
                  "proveFraud",
                  [s.checkpoint, s.signature],
                );
                expect(out.ok).to.equal(false);
                expect(out.error).to.equal("WrongOriginChain");
                count("proofs on another chain's hub refused");
                break;
              }
              const attester = chain.attesters[s.attester].address;
              const stakes = await w.stakes(home);
              const wealth = stakes.bonded[s.attester] + stakes.unbonding[s.attester];
              const proverBefore = await w.view<bigint>(home, chain.suite.token, "balanceOf", [
                prover.address,
              ]);
              const vaultBefore = await w.view<bigint>(home, chain.suite.token, "balanceOf", [
                vault,
              ]);
              // A last-leaf lie is proven with the true leaf and its proof; a true checkpoint is
              // sometimes "proven" that way too (its last is that leaf: NotFraud).
              const byLastLeaf = s.lastLie === true || (!s.false && c.pick % 2 === 0);
              const n = s.checkpoint.count;
              const out = byLastLeaf
                ? await w.tx(home, prover, hub, "proveLastLeafFraud", [
                    s.checkpoint,
                    s.signature,
                    w.trees[home].leaf(n - 1),
                    w.trees[home].multiproof([n - 1], n),
                  ])
                : await w.tx(home, prover, hub, "proveFraud", [s.checkpoint, s.signature]);
              count(out.ok ? "slashed" : `proofs refused (${out.error})`);
              if (!s.false) {
                expect(out.ok, "a true checkpoint was slashed").to.equal(false);
                expect(out.error).to.equal("NotFraud");
              } else if (wealth === 0n) {
                expect(out.ok).to.equal(false);
                expect(out.error).to.equal("NothingToSlash");
              } else {
                expect(out.ok, `a false checkpoint was not slashed: ${out.error}`).to.equal(true);
                const [e] = named(out.events, "Slashed");
                expect(e.args.attester).to.equal(attester);
                expect(e.args.amount).to.equal(wealth);
                const bounty = (wealth * BOUNTY_BPS) / 10_000n;
                expect(
                  await w.view<bigint>(home, chain.suite.token, "balanceOf", [prover.address]),
                ).to.equal(proverBefore + bounty);
                expect(
                  await w.view<bigint>(home, chain.suite.token, "balanceOf", [vault]),
                ).to.equal(vaultBefore + wealth - bounty);
                slashed.add(s.attester);
                // Every peer is told the allocation is gone.
                for (const e2 of named(out.events, "Allocated"))
                  expect(e2.args.allocation).to.equal(0n);
              }
              break;
            }
            case "stake": {
              const out = await w.tx(home, chain.attesters[c.attester], hub, "stake", [
                wad(c.tokens),
              ]);
              if (out.ok) staked[c.attester] += wad(c.tokens);
              else expect(out.error).to.be.oneOf(["AttesterSlashed", "ERC20InsufficientBalance"]);
              break;
            }
            case "allocate": {
              const out = await w.tx(home, chain.attesters[c.attester], hub, "allocate", [
                w.chains[(home + c.peer) % 3].code,
                wad(c.tokens),
              ]);
              if (!out.ok)
                expect(out.error).to.be.oneOf(["AttesterSlashed", "InsufficientFreeStake"]);
              break;
            }
            case "unstake": {
              const out = await w.tx(home, chain.attesters[c.attester], hub, "requestUnstake", [
                wad(c.tokens),
              ]);
              if (!out.ok)
                expect(out.error).to.be.oneOf(["AttesterSlashed", "InsufficientFreeStake"]);
              break;
            }
            case "withdraw": {
              const a = chain.attesters[c.attester];
              const out = await w.tx(home, a, hub, "withdraw", [a.address]);
              if (out.ok) withdrawn[c.attester] += named(out.events, "Withdrawn")[0].args.amount;
              else expect(out.error).to.equal("NothingToWithdraw");
              break;
            }
            case "travel": {
              await w.travel(home, c.seconds);
              break;
            }
          }
          // After every step: the hub holds exactly the stakes; honest attesters keep all of theirs.
          let total = 0n;
          const view = await w.stakes(home);
          for (const i of chain.attesters.keys()) {
            const [bonded, unbonding, isSlashed] = [
              view.bonded[i],
              view.unbonding[i],
              view.slashed[i],
            ];
            total += bonded + unbonding;
            expect(isSlashed, `attester ${i} slashed`).to.equal(slashed.has(i));
            if (!liars.has(i)) {
              expect(bonded + unbonding + withdrawn[i], `honest attester ${i} lost stake`).to.equal(
                staked[i],
              );
            }
            if (isSlashed) expect(bonded + unbonding).to.equal(0n);
          }
          expect(view.balance, "the hub holds exactly the stakes").to.equal(total);
        }
      }),
      { numRuns: RUNS },
    );
  });

  // -------------------------------------------------------------------------------------------
  // Invariants 6 and 7: checkpoints and signatures (cheap cases: simulated calls on one state)
  // -------------------------------------------------------------------------------------------

  /** Pending messages on every pair, snapshotted; the checkpoint of each origin. */
  async function preparePendingState(w: World, perPair = 3) {
    await w.reset();
    for (let o = 0; o < 3; o++) {
      for (let d = 0; d < 3; d++) {
        if (o === d) continue;
        for (let i = 0; i < perPair; i++) {
          await w.dispatch(o, d, w.chains[d].recipientWord, recipientBody("honest"));
        }
      }
    }
    return Promise.all([0, 1, 2].map((o) => w.snapshot(o)));
  }

  it("invariant 6: an empty, zero or default root, or count 0, is never accepted", async function () {
    this.timeout(0);
    const checkpoints = await preparePendingState(world);
    const caseArb = fc.record({
      pair: pairArb,
      root: fc.constantFrom("zero", "emptyTree", "true", "random"),
      count: fc.constantFrom("zero", "true", "random"),
      signers: signersArb,
      pick: pickArb,
      randomCount: fc.integer({ min: 1, max: 0xffffffff }),
      fabricate: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { o, d } = c.pair;
        const real = checkpoints[o];
        const messages = subset(world.pending(o, d, real.count), c.pick);
        const root =
          c.root === "zero"
            ? (ethers.ZeroHash as Hex)
            : c.root === "emptyTree"
              ? EMPTY_ROOT
              : c.root === "true"
                ? real.root
                : (ethers.id(`root ${c.pick}`) as Hex);
        const signedCount =
          c.count === "zero" ? 0 : c.count === "true" ? real.count : c.randomCount;
        const checkpoint: Checkpoint = {
          origin: real.origin,
          root,
          count: signedCount,
          last: real.last,
        };
        // The strongest attacker: every mirrored key signs whatever checkpoint it is asked to.
        const signers = signersOf(world, o, c.signers);
        let delivery: Delivery = await world.build(o, real, messages, signers);
        if (c.fabricate && c.root === "emptyTree") {
          // Leaves of an empty tree are zero: a "message" is proved only as the zero leaf.
          delivery = { ...delivery, proof: delivery.proof.map(() => ethers.ZeroHash as Hex) };
        }
        delivery = {
          ...delivery,
          checkpoint,
          signatures: await world.sign(o, checkpoint, signers),
        };
        const out = await world.tryDeliver(d, delivery);
        count(
          root === ethers.ZeroHash || signedCount === 0
            ? "empty checkpoints"
            : root === EMPTY_ROOT
              ? "default roots"
              : "others",
        );
        if (root === ethers.ZeroHash || signedCount === 0) {
          expect(out.ok, "an empty checkpoint was accepted").to.equal(false);
          expect(out.error).to.equal("EmptyCheckpoint");
        } else if (root === EMPTY_ROOT) {
          // Refused as empty before anything else, the checkpoint's (true) last leaf included.
          expect(out.ok, "the default (empty tree) root was accepted").to.equal(false);
          expect(out.error).to.equal("EmptyCheckpoint");
        } else if (root === real.root && signedCount === real.count && !c.fabricate) {
          // Control: the same delivery at the true checkpoint goes through.
          expect(out.ok, `the true checkpoint was refused: ${out.error}`).to.equal(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("invariant 7: a signature is valid for one origin chain, one Outbox, one root and count only", async function () {
    this.timeout(0);
    const checkpoints = await preparePendingState(world);
    // Older true checkpoints of each origin (a signature for one must not serve another).
    const older = [0, 1, 2].map((o) => ({
      ...checkpoints[o],
      count: checkpoints[o].count - 1,
      root: world.trees[o].rootAt(checkpoints[o].count - 1),
    }));
    const strangerOutbox = ethers.Wallet.createRandom().address as Hex;
    type Mutation =
      | "none"
      | "chainId"
      | "outbox"
      | "chainIdAndOutbox"
      | "root"
      | "count"
      | "origin"
      | "olderCheckpoint"
      | "presentedAsOtherOrigin";
    const caseArb = fc.record({
      pair: pairArb,
      mutation: fc.constantFrom<Mutation>(
        "none",
        "chainId",
        "outbox",
        "chainIdAndOutbox",
        "root",
        "count",
        "origin",
        "olderCheckpoint",
        "presentedAsOtherOrigin",
      ),
      signers: signersArb,
      pick: pickArb,
      seed: fc.integer({ min: 1, max: 0xfffffff }),
      proveOnHub: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { o, d } = c.pair;
        const x = 3 - o - d; // the third chain
        const real = checkpoints[o];
        const messages = subset(world.pending(o, d, real.count), c.pick);
        const signers = signersOf(world, o, c.signers);
        const honest = await world.build(o, real, messages, signers);
        const own = world.chains[o].domain as { evmChainId: bigint; outbox: Hex };
        let domain: CheckpointDomainInput = own;
        let signedCheckpoint: Checkpoint = real;
        let presented: Delivery = honest;
        switch (c.mutation) {
          case "chainId":
            domain = {
              ...own,
              evmChainId:
                c.seed % 2 === 0 || BigInt(c.seed) === own.evmChainId
                  ? world.chains[x].suite.evmChainId
                  : BigInt(c.seed),
            };
            break;
          case "outbox":
            domain = {
              ...own,
              outbox:
                c.seed % 2 === 0 ? strangerOutbox : (world.chains[o].suite.addresses.inbox as Hex),
            };
            break;
          case "chainIdAndOutbox":
            domain = world.chains[x].domain;
            break;
          case "root":
            signedCheckpoint = { ...real, root: ethers.id(`other ${c.seed}`) as Hex };
            break;
          case "count":
            signedCheckpoint = { ...real, count: real.count + 1 + (c.seed % 7) };
            break;
          case "origin":
            signedCheckpoint = { ...real, origin: world.chains[x].code };
            break;
          case "olderCheckpoint":
            signedCheckpoint = older[o];
            break;
          case "presentedAsOtherOrigin":
            // Valid signatures of o's attesters, presented under the third chain's route.
            presented = { ...honest, checkpoint: { ...real, origin: world.chains[x].code } };
            break;
        }
        if (c.mutation !== "presentedAsOtherOrigin" && c.mutation !== "none") {
          presented = {
            ...honest,
            signatures: await world.sign(o, signedCheckpoint, signers, domain),
          };
        }
        const out = await world.tryDeliver(d, presented);
        count(c.mutation);
        if (c.mutation === "none") {
          expect(out.ok, `the honest delivery was refused: ${out.error}`).to.equal(true);
        } else {
          expect(out.ok, `a signature for another ${c.mutation} was accepted`).to.equal(false);
        }
        if (c.proveOnHub && c.mutation !== "none" && c.mutation !== "presentedAsOtherOrigin") {
          // The checkpoint the signature is shown with is false? Then a signature made for
          // another domain must still never slash the real attester on its home hub.
          const fake: Checkpoint = { ...real, root: ethers.id(`fraud ${c.seed}`) as Hex };
          const [signature] = await world.sign(o, fake, signers.slice(0, 1), domain);
          const proof = await world.call(
            o,
            world.chains[o].users[0],
            world.chains[o].suite.stakingHub,
            "proveFraud",
            [fake, signature],
          );
          if (domain !== own) {
            expect(proof.ok, "a signature from another domain slashed a real attester").to.equal(
              false,
            );
            expect(proof.error).to.be.oneOf(["NothingToSlash"]);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  // -------------------------------------------------------------------------------------------
  // Invariant 8
  // -------------------------------------------------------------------------------------------

  type BlockCommand =
    | { k: "dispatch"; o: number; d: number; mode: Mode | "nonEvm" | "eoa" }
    | { k: "send"; o: number; d: number; tokens: number; mode: Mode }
    | { k: "deliver"; o: number; d: number; pick: number; reenter: boolean }
    | { k: "repair"; d: number }
    | { k: "retry"; pick: number };

  const blockArb: fc.Arbitrary<BlockCommand> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          pairArb,
          // Reverting recipients most often: they are the ones a repair and a retry can bring back.
          fc.constantFrom<Mode | "nonEvm" | "eoa">(
            ...MODES,
            "reverting",
            "reverting",
            "honest",
            "nonEvm",
            "eoa",
          ),
        )
        .map(([p, mode]) => ({ k: "dispatch" as const, ...p, mode })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(pairArb, fc.integer({ min: 1, max: 10 }), fc.constantFrom<Mode>(...MODES))
        .map(([p, tokens, mode]) => ({ k: "send" as const, ...p, tokens, mode })),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(pairArb, pickArb, fc.boolean())
        .map(([p, pick, reenter]) => ({ k: "deliver" as const, ...p, pick, reenter })),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: 2 }).map((d) => ({ k: "repair" as const, d })),
    },
    { weight: 4, arbitrary: pickArb.map((pick) => ({ k: "retry" as const, pick })) },
  );

  it("invariant 8: a failing or malicious recipient never blocks other messages", async function () {
    this.timeout(0);
    const nonEvm = `0x${"ee".repeat(32)}` as Hex;
    await runProperty(
      () => world,
      blockArb,
      async (w, c, run) => {
        switch (c.k) {
          case "dispatch": {
            if (c.mode === "nonEvm") await w.dispatch(c.o, c.d, nonEvm, "0x");
            else if (c.mode === "eoa")
              await w.dispatch(
                c.o,
                c.d,
                addressToBytes32(w.chains[c.d].users[2].address as Hex),
                "0x01",
              );
            else await w.dispatch(c.o, c.d, w.chains[c.d].recipientWord, recipientBody(c.mode));
            break;
          }
          case "send": {
            const out = await w.tx(c.o, w.chains[c.o].users[0], w.chains[c.o].suite.bank, "send", [
              w.chains[c.d].code,
              w.chains[c.d].recipientWord,
              wad(c.tokens),
              recipientBody(c.mode),
            ]);
            expect(out.ok, out.error).to.equal(true);
            break;
          }
          case "deliver": {
            ({ o: c.o, d: c.d } = busyPair(w, c.pick, c));
            const delivery = await w.prepare(c.o, c.d, {
              signers: w.chains[c.o].attesters.slice(0, 2),
              pick: (p) => subset(p, c.pick >>> 4),
            });
            if (!delivery) break;
            if (c.reenter) {
              await w.tx(c.d, w.chains[c.d].deployer, w.chains[c.d].recipient, "arm", [
                w.chains[c.d].suite.inbox.interface.encodeFunctionData(
                  "deliver",
                  deliveryArgs(delivery),
                ),
              ]);
            }
            const repaired = await w.view<boolean>(c.d, w.chains[c.d].recipient, "repaired");
            const out = await w.deliver(c.d, delivery);
            run.record(out);
            // Never blocked: the batch goes through whatever its recipients do.
            expect(out.ok, `a batch was blocked: ${out.error}`).to.equal(true);
            count("batches");
            count("failures recorded", named(out.events, "HandlerFailed").length);
            count("handlers run", named(out.events, "Handled").length);
            const handled = new Set(
              named(out.events, "Handled").map((e) => e.args.bodyHash as string),
            );
            const failed = new Map(
              named(out.events, "HandlerFailed").map((e) => [e.args.id as string, e]),
            );
            const delivered = deliveredIds(out.events);
            // Gas stays bounded by the handlers' limits, whatever they try.
            const bound = 600_000n + BigInt(delivery.messages.length) * (HANDLER_GAS + 90_000n);
            expect(out.gasUsed! <= bound, `batch used ${out.gasUsed} gas`).to.equal(true);
            for (const encoded of delivery.messages) {
              const m = w.logs.flat().find((x) => x.encoded === encoded)!;
              expect(delivered.has(m.id), "a message of the batch was not delivered").to.equal(
                true,
              );
              const f = failed.get(m.id);
              if (f) expect(ethers.dataLength(f.args.reason) <= 256).to.equal(true);
              if (m.message.recipient !== w.chains[c.d].recipientWord) {
                // EOA: nothing to run; non-EVM: recorded as failed.
                if (m.message.recipient === nonEvm)
                  expect(f, "non-EVM recipient not recorded").to.not.equal(undefined);
                continue;
              }
              const userBody =
                m.message.amount > 0n ? "0x" + m.message.body.slice(68) : m.message.body;
              const mode = modeOf(userBody);
              const expectFail =
                mode === "gasBomb" || mode === "returnBomb" || (mode === "reverting" && !repaired);
              if (expectFail) {
                expect(f, `a ${mode} recipient was not recorded`).to.not.equal(undefined);
                expect(f!.args.kind).to.equal(FAILURE.HandlerReverted);
                run.failed.set(m.id, {
                  destination: c.d,
                  origin: w.chains.findIndex((x) => x.code === m.message.origin),
                  encoded: m.encoded as Hex,
                  mode,
                });
              } else {
                expect(f, `a ${mode} message failed`).to.equal(undefined);
                expect(
                  handled.has(ethers.keccak256(userBody)),
                  `a ${mode} message was not handled`,
                ).to.equal(true);
              }
            }
            break;
          }
          case "repair": {
            // Fix the recipient where something failed (if anything did).
            const d = one([...run.failed.values()], c.d)?.destination ?? c.d;
            await w.tx(d, w.chains[d].deployer, w.chains[d].recipient, "repair", []);
            break;
          }
          case "retry": {
            const chosen = one([...run.failed.entries()], c.pick);
            if (!chosen) break;
            const [id, f] = chosen;
            const chain = w.chains[f.destination];
            // Half the time the recipient is fixed first, as its owner would before retrying.
            if (c.pick % 2 === 0)
              await w.tx(f.destination, chain.deployer, chain.recipient, "repair", []);
            const repaired = await w.view<boolean>(f.destination, chain.recipient, "repaired");
            // Bombs get a modest gas limit: a retry is the caller's own gas.
            const out = await w.tx(
              f.destination,
              chain.users[3],
              chain.suite.inbox,
              "retry",
              [f.encoded],
              1_000_000n,
            );
            run.record(out);
            count(out.ok ? "retries run" : "retries failing again");
            if (f.mode === "reverting" && repaired) {
              expect(out.ok, `retry of a repaired recipient failed: ${out.error}`).to.equal(true);
              run.failed.delete(id);
            } else {
              expect(out.ok, `a ${f.mode} retry succeeded`).to.equal(false);
              expect(
                await w.view<bigint>(f.destination, chain.suite.inbox, "failure", [id]),
              ).to.equal(FAILURE.HandlerReverted);
            }
            break;
          }
        }
      },
      undefined,
      8,
    );
  });
});
