/**
 * Issue 13: the eight ways one lying attester key (or any account) could capture a route through
 * the mirror of its chain's attester set, each written as the attacker would run it against the
 * real contracts on three chains (world.ts: chain A has 4 attesters, each 100 allocated to B, so
 * B mirrors T = 400 of A; A's reserve on B is 300). Every test asserts the defended outcome of
 * docs/protocol.md 3.3–3.7 (rules R1–R7 of the issue); docs/security.md ("Mirror capture")
 * lists each attack with its defence and the test's title.
 *
 * The new contract surface (errors, events, views, the registry's `reseedMirror`) is written out
 * in `NEW` below rather than taken from TypeChain, so that this file runs against contracts that
 * lack it and fails on the assertion that names the missing defence.
 */
import { expect } from "chai";
import { ethers, Wallet } from "ethers";

import { governThroughTimelock } from "../../deploy/governance.js";
import { suiteAs } from "../../deploy/suite.js";
import {
  addressToBytes32,
  type Checkpoint,
  encodeMessage,
  encodeNettingReply,
  encodeNettingRequest,
  encodeStakeReport,
  encodeTransferBody,
  MerkleTree,
  type MessageFields,
  messageId,
  treeCheckpoint,
} from "../../relayer/protocol/index.js";
import { DeliverForwarder__factory } from "../../typechain-types/index.js";
import {
  ALLOCATION,
  ONE,
  RESERVE,
  STAKE,
  W,
  World,
  deliveryArgs,
  named,
  type Delivery,
  type Event,
  type Hex,
  type Outcome,
} from "./world.js";

const A = 0;
const B = 1;

/** What issue 13 adds to the contracts' ABI (docs/protocol.md 3.3, 3.5; IInbox, IRouteRegistry). */
const NEW = new ethers.Interface([
  "error StakeReportNeedsQuorum(uint256 signerStake, uint256 totalStake)",
  "error PolicyCoverageExhausted(uint256 requested, uint256 available)",
  "error RouteNotPaused(uint64 code)",
  "error OwnableUnauthorizedAccount(address account)",
  "event CheckpointAccepted(uint64 indexed origin, bytes32 indexed root, uint32 count, bytes32 last, bytes signatures)",
  "event MirrorReseeded(uint64 indexed origin, address[] attesters, uint256[] stakes, uint32 fromNonce)",
  "function totalMirroredStake(uint64 origin) view returns (uint256)",
  "function policyCoverageAvailable(uint64 origin) view returns (uint256)",
  "function reseedMirror(uint64 code, address[] attesters, uint256[] stakes, uint32 fromNonce)",
]);

/** The custom error of a failed outcome, decoded with the suite's ABIs or `NEW`. */
function errorOf(outcome: { ok: boolean; error?: string }): string | undefined {
  if (outcome.ok) return undefined;
  const unknown = /^unknown revert (0x[0-9a-f]{8})/.exec(outcome.error ?? "");
  if (unknown) return NEW.getError(unknown[1])?.name ?? outcome.error;
  return outcome.error;
}

/** Sum of the `CoverageCharged` amounts of an outcome. */
function charged(events: readonly Event[]): bigint {
  return named(events, "CoverageCharged").reduce((sum, e) => sum + (e.args.amount as bigint), 0n);
}

describe("Security: capturing a route through the mirror (issue 13, mechanisms 1–8)", function () {
  let world: World;

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
  });

  /** What B mirrors of each of A's keys at the start (the same for all four), and their total T. */
  let M: bigint;
  let T: bigint;

  beforeEach(async function () {
    await world.reset();
    M = await mirror(a().attesters[0].address);
    T = 4n * M;
    for (const k of a().attesters) expect(await mirror(k.address)).to.equal(M);
  });

  // Helpers ------------------------------------------------------------------------------------

  const a = () => world.chains[A];
  const b = () => world.chains[B];
  const word = (address: string) => addressToBytes32(address as Hex);

  /**
   * A false checkpoint of A signed by `liars`: made-up messages at the given nonces (default: the
   * next free ones), in a tree that holds A's true messages at every other index (zero leaves past
   * A's count). Each message goes to B.
   */
  async function forgeBatch(
    liars: readonly Wallet[],
    list: (Omit<MessageFields, "nonce" | "origin" | "destination"> & { nonce?: number })[],
    destination = B,
  ) {
    let next = world.logs[A].length;
    const forged = list.map((fields) => {
      const nonce = fields.nonce ?? next++;
      const encoded = encodeMessage({
        ...fields,
        nonce,
        origin: a().code,
        destination: world.chains[destination].code,
      });
      return { nonce, encoded, id: messageId(encoded) };
    });
    forged.sort((x, y) => x.nonce - y.nonce);
    const count = forged.at(-1)!.nonce + 1;
    const leaves: Hex[] = [];
    for (let i = 0; i < count; i++) {
      leaves.push((world.logs[A][i]?.id as Hex) ?? (ethers.ZeroHash as Hex));
    }
    for (const f of forged) leaves[f.nonce] = f.id;
    const tree = MerkleTree.from(leaves);
    const checkpoint: Checkpoint = treeCheckpoint(a().code, tree);
    const delivery: Delivery = {
      checkpoint,
      signatures: await world.sign(A, checkpoint, liars),
      messages: forged.map((f) => f.encoded),
      proof: tree.multiproof(
        forged.map((f) => f.nonce),
        count,
      ),
    };
    return { checkpoint, delivery, forged };
  }

  /** A made-up stake report of A's StakingHub to B's Inbox: `attester` has `allocation` on B. */
  function stakeReport(attester: string, allocation: bigint) {
    return {
      sender: word(a().suite.addresses.stakingHub),
      recipient: word(b().suite.addresses.inbox),
      amount: 0n,
      body: encodeStakeReport({ attester: attester as Hex, allocation }),
    };
  }

  /** A made-up value transfer of A's bank paying `amount` to `to` on B. */
  function transfer(to: string, amount: bigint) {
    return {
      sender: word(a().suite.addresses.bank),
      recipient: word(to),
      amount,
      body: encodeTransferBody({ sender: word(to), body: "0x" }),
    };
  }

  /** A real value transfer: `from` (a user of A) sends `amount` to `to` on B through A's bank. */
  async function send(to: string, amount: bigint, from = a().users[0]) {
    const out = await world.tx(A, from, a().suite.bank, "send", [b().code, word(to), amount, "0x"]);
    expect(out.ok, `send: ${out.error}`).to.equal(true);
    return world.logs[A].at(-1)!;
  }

  async function mirror(attester: string): Promise<bigint> {
    return b().suite.inbox.mirroredStake(a().code, attester);
  }

  async function balanceOf(chain: number, account: string): Promise<bigint> {
    return world.chains[chain].suite.token.balanceOf(account);
  }

  /** Proves `checkpoint` false on A with `signature` (from `prover`); returns the outcome. */
  async function prove(checkpoint: Checkpoint, signature: string, prover = a().users[1]) {
    return world.tx(A, prover, a().suite.stakingHub, "proveFraud", [checkpoint, signature]);
  }

  /** What A's StakingHub says `attester` vouches for on B (a reseeding snapshot's entry). */
  async function snapshotStake(attester: string): Promise<bigint> {
    const hub = new ethers.Contract(
      a().suite.addresses.stakingHub,
      ["function vouchingStake(address attester, uint64 peer) view returns (uint256)"],
      a().connection.ethers.provider,
    );
    try {
      return (await hub.vouchingStake(attester, b().code)) as bigint;
    } catch {
      return a().suite.stakingHub.allocation(attester, b().code);
    }
  }

  /** Runs `calls` on B through B's timelock (the registry's and the bank's owner). */
  async function governB(calls: { target: string; data: string }[]) {
    await governThroughTimelock(b().suite, calls);
    await world.sync(B);
  }

  function expectRevert(outcome: Outcome | { ok: boolean; error?: string }, error: string) {
    expect(outcome.ok, `expected a revert ${error}, but it went through`).to.equal(false);
    expect(errorOf(outcome)).to.equal(error);
  }

  // ---------------------------------------------------------------------------------------------

  describe("mechanism 1: mirror wipe", function () {
    it("refuses a single liar's batch of zero reports for every honest attester (StakeReportNeedsQuorum), and the honest majority's real reports still deliver", async function () {
      const [liar, ...honest] = a().attesters;
      // The liar makes up "allocation 0" for each of the three honest attesters, in one batch.
      const wipe = await forgeBatch(
        [liar],
        honest.map((h) => stakeReport(h.address, 0n)),
      );
      const out = await world.deliver(B, wipe.delivery);
      expectRevert(out, "StakeReportNeedsQuorum");
      expect(out.args?.[0]).to.equal(M);
      expect(out.args?.[1]).to.equal(T);
      for (const h of honest) expect(await mirror(h.address)).to.equal(M);

      // The lie is still provable on A (its signature was public in B's mempool): the liar is
      // slashed and its zero report goes to B, carried by the honest majority (300 of 400).
      const slashed = await prove(wipe.checkpoint, wipe.delivery.signatures[0]);
      expect(slashed.ok, slashed.error).to.equal(true);
      // An honest attester also lowers its allocation: a real report of A.
      const lowered = await world.tx(A, honest[0], a().suite.stakingHub, "allocate", [
        b().code,
        60n * ONE,
      ]);
      expect(lowered.ok, lowered.error).to.equal(true);
      const reports = await world.prepare(A, B, { signers: honest });
      const relayed = await world.deliver(B, reports!);
      expect(relayed.ok, relayed.error).to.equal(true);
      expect(charged(relayed.events), "a stake report carries no value at risk").to.equal(0n);
      expect(await mirror(liar.address)).to.equal(0n);
      const lowered60 = await mirror(honest[0].address);
      expect(lowered60).to.equal((60n * ONE * M) / ALLOCATION); // the same share of 60 as of 100
      expect(await mirror(honest[1].address)).to.equal(M);
      expect(
        await world.view(
          B,
          { interface: NEW, getAddress: async () => b().suite.addresses.inbox },
          "totalMirroredStake",
          [a().code],
        ),
      ).to.equal(2n * M + lowered60);
    });
  });

  describe("mechanism 2: self-pump", function () {
    it("never lets a liar (or a coalition of exactly half) raise its own mirrored stake, window after window", async function () {
      const [liar, accomplice] = a().attesters;
      for (let window = 0; window < 3; window++) {
        const current = await mirror(liar.address);
        // Within its capacity: an increase by its free stake (the old rule charged only that).
        const pump = await forgeBatch([liar], [stakeReport(liar.address, current + M)]);
        expectRevert(await world.deliver(B, pump.delivery), "StakeReportNeedsQuorum");
        // Two keys of four hold exactly half: still not a majority.
        const pair = await forgeBatch([liar, accomplice], [stakeReport(liar.address, current + M)]);
        const out = await world.deliver(B, pair.delivery);
        expectRevert(out, "StakeReportNeedsQuorum");
        expect(out.args?.[0]).to.equal(2n * M);
        await world.travel(B, W + W / 8n + 1n);
      }
      expect(await mirror(liar.address)).to.equal(M);
      expect(await mirror(accomplice.address)).to.equal(M);
      // So the most it can take from A's reserve on B in a window stays its real allocation.
      const drain = await forgeBatch([liar], [transfer(b().users[4].address, M + 1n)]);
      expectRevert(await world.deliver(B, drain.delivery), "InsufficientCoverage");
    });
  });

  describe("mechanism 3: sybil signers", function () {
    it("refuses a made-up report mirroring a key never staked on A, so no sybil signs or counts toward a recipient's minimum", async function () {
      const [liar] = a().attesters;
      const sybils = [0, 1].map(() => new Wallet(ethers.hexlify(ethers.randomBytes(32))));
      const made = await forgeBatch(
        [liar],
        sybils.map((s) => stakeReport(s.address, 1n)),
      );
      expectRevert(await world.deliver(B, made.delivery), "StakeReportNeedsQuorum");
      for (const s of sybils) expect(await mirror(s.address)).to.equal(0n);

      // A recipient that wants at least 3 signers: the liar and its two sybils are not 3 signers.
      const victim = b().users[3];
      expect(
        (await world.tx(B, victim, b().suite.inbox, "setRecipientPolicy", [3, 0n])).ok,
      ).to.equal(true);
      const call = await forgeBatch(
        [liar, ...sybils],
        [{ sender: word(liar.address), recipient: word(victim.address), amount: 0n, body: "0x01" }],
      );
      expectRevert(await world.deliver(B, call.delivery), "UnknownSigner");
      // The sybils' signatures prove nothing on A, but none of them ever carried capacity on B.
      const slashed = await prove(made.checkpoint, made.delivery.signatures[0]);
      expect(slashed.ok, slashed.error).to.equal(true);
    });
  });

  describe("mechanism 4: netting without coverage", function () {
    it("charges a forged netting reply + request in one batch after net(A) the pool it moves (InsufficientCoverage beyond the liars' capacity)", async function () {
      const [liar, accomplice] = a().attesters;
      // B's governance enabled netting with A; B's users sent 150 to A (B's pool for A).
      await governB([
        {
          target: b().suite.addresses.bank,
          data: b().suite.bank.interface.encodeFunctionData("setNetting", [a().code, true]),
        },
      ]);
      const sent = await world.tx(B, b().users[0], b().suite.bank, "send", [
        a().code,
        word(a().users[0].address),
        150n * ONE,
        "0x",
      ]);
      expect(sent.ok, sent.error).to.equal(true);
      // Anyone locks B's pool for A: a netting request to A is in flight.
      const locked = await world.tx(B, b().users[2], b().suite.bank, "net", [a().code]);
      expect(locked.ok, locked.error).to.equal(true);
      expect(await b().suite.bank.nettingLocked(a().code)).to.equal(150n * ONE);
      expect(await b().suite.bank.pool(a().code)).to.equal(0n);
      const reserve0 = await b().suite.bank.reserve(a().code);

      // The liar's batch: a made-up reply of 0 (releases the lock into the pool), then a made-up
      // request for all of it (moves B's pool into A's reserve on B).
      const netting = (liars: Wallet[]) =>
        forgeBatch(liars, [
          {
            sender: word(a().suite.addresses.bank),
            recipient: word(b().suite.addresses.bank),
            amount: 0n,
            body: encodeNettingReply({ amount: 0n }),
          },
          {
            sender: word(a().suite.addresses.bank),
            recipient: word(b().suite.addresses.bank),
            amount: 0n,
            body: encodeNettingRequest({ amount: 150n * ONE }),
          },
        ]);
      const alone = await world.deliver(B, (await netting([liar])).delivery);
      expectRevert(alone, "InsufficientCoverage");
      expect(alone.args?.[0]).to.equal(150n * ONE);
      expect(await b().suite.bank.nettingLocked(a().code)).to.equal(150n * ONE);
      expect(await b().suite.bank.reserve(a().code)).to.equal(reserve0);

      // Two liars have the capacity: the pool moves, and exactly that much is charged to them.
      const pair = await world.deliver(B, (await netting([liar, accomplice])).delivery);
      expect(pair.ok, pair.error).to.equal(true);
      const moved = (await b().suite.bank.reserve(a().code)) - reserve0;
      expect(moved).to.equal(150n * ONE);
      expect(charged(pair.events)).to.equal(moved);
    });
  });

  describe("mechanism 5: coverage griefing", function () {
    /** A griefer on B: its own policy demands `coverage`; it sends itself a real message from A. */
    async function grief(coverage: bigint) {
      const griefer = b().users[3];
      const policy = await world.tx(B, griefer, b().suite.inbox, "setRecipientPolicy", [
        1,
        coverage,
      ]);
      expect(policy.ok, policy.error).to.equal(true);
      await world.dispatch(
        A,
        B,
        word(griefer.address),
        ethers.hexlify(ethers.randomBytes(8)) as Hex,
        a().users[3],
      );
      return last();
    }

    /** The honest delivery of A's latest message, signed by every attester of A. */
    async function last() {
      return (await world.prepare(A, B, { signers: a().attesters, pick: (p) => p.slice(-1) }))!;
    }

    /** A real transfer of `amount` from A to B, delivered with every (honest) attester's signature. */
    async function transferDelivery(amount: bigint) {
      const m = await send(b().users[1].address, amount);
      return { m, delivery: await last() };
    }

    it("lets a recipient's self-chosen coverage take at most half of T per window: value transfers still deliver", async function () {
      // All of the attesters' capacity (400) is refused: more than half of T.
      const all = await world.deliver(B, await grief(T));
      expectRevert(all, "PolicyCoverageExhausted");
      // Half of it goes through once; then nothing more this window.
      const first = await world.deliver(B, await grief(T / 2n));
      expect(first.ok, first.error).to.equal(true);
      const again = await world.deliver(B, await grief(1n));
      expectRevert(again, "PolicyCoverageExhausted");
      // The other half is there for value transfers: two of 100 each deliver and pay.
      const user = b().users[1].address;
      const before = await balanceOf(B, user);
      for (let i = 0; i < 2; i++) {
        const { delivery } = await transferDelivery(T / 4n);
        const out = await world.deliver(B, delivery);
        expect(out.ok, out.error).to.equal(true);
      }
      expect(await balanceOf(B, user)).to.equal(before + T / 2n);
    });

    it("keeps half of T for value transfers also when the griefer charges on both sides of a window boundary", async function () {
      const inbox = b().suite.inbox;
      const ahead = await grief(T / 2n);
      const behind = await grief(T / 2n);
      // Just before the end of a policy window, and again at the start of the next one.
      const now = BigInt(await world.now(B));
      const end = (now / W + 2n) * W;
      await b().connection.networkHelpers.time.setNextBlockTimestamp(end - 1n);
      const first = await world.deliver(B, ahead);
      expect(first.ok, first.error).to.equal(true);
      await b().connection.networkHelpers.time.setNextBlockTimestamp(end);
      const second = await world.deliver(B, behind);
      // (Either refused, or the capacity it took still leaves half for transfers.)
      const { delivery } = await transferDelivery(T / 4n);
      const out = await world.deliver(B, delivery);
      expect(
        out.ok,
        `a value transfer after the griefer's ${second.ok ? "second charge" : "refused second charge"}: ${errorOf(out)}`,
      ).to.equal(true);
      let free = 0n;
      for (const x of a().attesters) free += await inbox.freeCapacity(a().code, x.address);
      expect(free >= T / 4n, "capacity left after one transfer").to.equal(true);
    });
  });

  describe("mechanism 6: squatted transfers", function () {
    it("delivers and pays real transfers whose nonces a liar squatted, any number in one batch", async function () {
      const [liar, ...honest] = a().attesters;
      const user = b().users[1].address;
      const transfers = [];
      for (let i = 0; i < 3; i++) transfers.push(await send(user, 10n * ONE));
      // Before any relayer carries them, the liar occupies all three nonces in one batch: made-up
      // pure calls (no value at risk) and a made-up 0-amount message in the bank's name.
      const squat = await forgeBatch(
        [liar],
        [
          {
            nonce: transfers[0].nonce,
            sender: word(liar.address),
            recipient: word(user),
            amount: 0n,
            body: "0x",
          },
          {
            nonce: transfers[1].nonce,
            sender: word(liar.address),
            recipient: word(user),
            amount: 0n,
            body: "0x02",
          },
          { nonce: transfers[2].nonce, ...transfer(user, 0n) },
        ],
      );
      const squatted = await world.deliver(B, squat.delivery);
      expect(squatted.ok, squatted.error).to.equal(true);
      // A relayer asking the Inbox still sees each real transfer as undelivered.
      for (const t of transfers) {
        expect(
          await b().suite.inbox.isMessageDelivered(t.encoded),
          `transfer at nonce ${t.nonce} reads delivered after the squat`,
        ).to.equal(false);
      }

      const before = await balanceOf(B, user);
      const real = await world.build(A, await world.snapshot(A), transfers, honest);
      const out = await world.deliver(B, real);
      expect(out.ok, `the real transfers after the squat: ${errorOf(out)}`).to.equal(true);
      expect(named(out.events, "Delivered")).to.have.length(3);
      expect(await balanceOf(B, user)).to.equal(before + 30n * ONE);
      for (const t of transfers)
        expect(await b().suite.inbox.isMessageDelivered(t.encoded)).to.equal(true);
      // Still exactly once.
      expectRevert(await world.deliver(B, real), "AlreadyDelivered");
    });
  });

  describe("mechanism 7: self-reported fraud", function () {
    it("never lets a lie pay: a liar that takes all its capacity on every peer and proves its own lie loses at least what it took", async function () {
      const [liar, ...honest] = a().attesters;
      const hub = a().suite.stakingHub;
      const C = 2;
      // The liar puts all of its stake behind B (900) and keeps 100 on C; the honest majority
      // carries the (true) report. A's reserve on B is topped up so that the reserve is no limit.
      const free = await hub.freeStake(liar.address);
      const allocated = await world.tx(A, liar, hub, "allocate", [b().code, ALLOCATION + free]);
      expect(allocated.ok, allocated.error).to.equal(true);
      const report = await world.deliver(B, (await world.prepare(A, B, { signers: honest }))!);
      expect(report.ok, report.error).to.equal(true);
      const funded = await world.tx(B, b().users[5], b().suite.bank, "fund", [
        a().code,
        1_000n * ONE,
      ]);
      expect(funded.ok, funded.error).to.equal(true);
      const stake = (await hub.bonded(liar.address)) + (await hub.unbonding(liar.address));
      expect(stake).to.equal(STAKE);
      const onB = await mirror(liar.address);
      const onC = await world.chains[C].suite.inbox.mirroredStake(a().code, liar.address);

      // The liar's own accounts: a thief on B and on C, a prover on A.
      const thiefB = b().users[4].address;
      const thiefC = world.chains[C].users[4].address;
      const prover = a().users[4];
      const took0 = (await balanceOf(B, thiefB)) + (await balanceOf(C, thiefC));
      const prover0 = await balanceOf(A, prover.address);
      const vault = await hub.insuranceVault();
      const vault0 = await balanceOf(A, vault);

      // Everything its capacity allows on each peer (one more wei is refused), in one lie...
      const tooMuch = await forgeBatch([liar], [transfer(thiefB, onB + 1n)]);
      expectRevert(await world.deliver(B, tooMuch.delivery), "InsufficientCoverage");
      const lie = await forgeBatch([liar], [transfer(thiefB, onB)]);
      expect((await world.deliver(B, lie.delivery)).ok).to.equal(true);
      const lieC = await forgeBatch([liar], [transfer(thiefC, onC)], C);
      expect((await world.deliver(C, lieC.delivery)).ok).to.equal(true);
      // ...then it reports itself before any watcher does.
      const proved = await prove(lie.checkpoint, lie.delivery.signatures[0], prover);
      expect(proved.ok, proved.error).to.equal(true);

      const took = (await balanceOf(B, thiefB)) + (await balanceOf(C, thiefC)) - took0;
      const bounty = (await balanceOf(A, prover.address)) - prover0;
      const bps = BigInt(await hub.bountyBps());
      expect(took).to.equal(onB + onC);
      expect(bounty, "the bounty is bountyBps of the whole stake").to.equal(
        (stake * bps) / 10_000n,
      );
      expect((await balanceOf(A, vault)) - vault0).to.equal(stake - bounty);
      // A lie never pays (docs/protocol.md 3.8 (a)(iv)): what it took plus the bounty it got back
      // is at most the stake it lost, and A's vault got at least what A's reserves lost.
      expect(
        took + bounty <= stake,
        `took ${ethers.formatEther(took)} + bounty ${ethers.formatEther(bounty)} > stake ${ethers.formatEther(stake)}`,
      ).to.equal(true);
      expect(stake - bounty >= took).to.equal(true);
    });
  });

  describe("mechanism 8: the watcher's blind spot", function () {
    it("catches a liar that delivers through its own contract: the Inbox's CheckpointAccepted log proves the lie on A", async function () {
      const [liar] = a().attesters;
      const attacker = b().users[4];
      const forwarder = await new DeliverForwarder__factory(attacker).deploy();
      await forwarder.waitForDeployment();
      const lie = await forgeBatch([liar], [transfer(attacker.address, M)]);
      const tx = await forwarder.forward(b().suite.addresses.inbox, ...deliveryArgs(lie.delivery), {
        gasLimit: 12_000_000n,
      });
      const receipt = (await tx.wait())!;
      // The transaction went to the attacker's contract: its calldata is not an Inbox.deliver call.
      expect(receipt.to).to.equal(await forwarder.getAddress());

      // What a watcher reads: the Inbox's log, however deliver was called.
      const accepted = receipt.logs
        .filter((l) => l.address.toLowerCase() === b().suite.addresses.inbox.toLowerCase())
        .map((l) => NEW.parseLog({ topics: [...l.topics], data: l.data }))
        .filter((p) => p?.name === "CheckpointAccepted");
      expect(accepted, "CheckpointAccepted in the Inbox's logs").to.have.length(1);
      const log = accepted[0]!;
      const checkpoint: Checkpoint = {
        origin: log.args.origin as bigint,
        root: log.args.root as Hex,
        count: Number(log.args.count),
        last: log.args.last as Hex,
      };
      expect(checkpoint).to.deep.equal(lie.checkpoint);
      const packed = ethers.getBytes(log.args.signatures as string);
      expect(packed.length).to.equal(65);
      const signature = ethers.hexlify(packed.slice(0, 65));
      expect(signature).to.equal(lie.delivery.signatures[0]);

      const proved = await prove(checkpoint, signature);
      expect(proved.ok, proved.error).to.equal(true);
      expect(named(proved.events, "Slashed")[0].args.attester).to.equal(liar.address);
      expect(await a().suite.stakingHub.slashed(liar.address)).to.equal(true);
    });
  });

  describe("recovery (R2): pause, reseed from a snapshot, resume", function () {
    it("lets only the owner reseed, only while the route is paused; reseeding moves nothing and the honest attester carries the route again", async function () {
      const keys = a().attesters;
      const [honest, ...liars] = [keys[3], keys[0], keys[1], keys[2]];
      const inboxAsNew = { interface: NEW, getAddress: async () => b().suite.addresses.inbox };
      // A coalition above half (300 of 400), outside the theorem's (a): it wipes the honest key.
      const wipe = await forgeBatch(liars, [stakeReport(honest.address, 0n)]);
      const wiped = await world.deliver(B, wipe.delivery);
      expect(wiped.ok, wiped.error).to.equal(true);
      expect(await mirror(honest.address)).to.equal(0n);
      // The lie is proven on A: every liar is slashed there. Their zero reports cannot reach B:
      // the only honest key is no longer mirrored.
      for (const signature of wipe.delivery.signatures) {
        expect((await prove(wipe.checkpoint, signature)).ok).to.equal(true);
      }
      const stuck = await world.prepare(A, B, { signers: [honest] });
      expectRevert(await world.deliver(B, stuck!), "UnknownSigner");

      // The snapshot: what each attester vouches for on B as A's StakingHub holds it now (its
      // `vouchingStake`, or its allocation where the hub has no such view).
      const attesters = keys.map((k) => k.address);
      const stakes: bigint[] = [];
      for (const k of keys) stakes.push(await snapshotStake(k.address));
      expect(stakes.filter((s) => s > 0n)).to.deep.equal([M]);
      const fromNonce = world.logs[A].length;
      const registry = b().suite.addresses.registry;
      const timelock = b().suite.addresses.timelock;
      const reseed = NEW.encodeFunctionData("reseedMirror", [
        a().code,
        attesters,
        stakes,
        fromNonce,
      ]);

      // Not the owner: refused. The owner on an active route: refused.
      expectRevert(
        await world.raw(B, b().users[0].address, registry, reseed),
        "OwnableUnauthorizedAccount",
      );
      await b().connection.networkHelpers.impersonateAccount(timelock);
      await b().connection.networkHelpers.setBalance(timelock, 10n ** 20n);
      expectRevert(await world.raw(B, timelock, registry, reseed), "RouteNotPaused");

      // Governance, through B's timelock: pause; reseed (moves no funds, delivers nothing); resume.
      const books0 = await world.books(B);
      const tokens0 = await balanceOf(B, b().suite.addresses.bank);
      const pause = b().suite.registry.interface.encodeFunctionData("pauseRoute", [a().code]);
      await governB([{ target: registry, data: pause }]);
      expectRevert(await world.deliver(B, stuck!), "OriginNotActive");
      const block0 = await b().connection.ethers.provider.getBlockNumber();
      await governB([{ target: registry, data: reseed }]);
      const logs = await b().connection.ethers.provider.getLogs({
        address: b().suite.addresses.inbox,
        fromBlock: block0 + 1,
      });
      const events = logs.map((l) => NEW.parseLog({ topics: [...l.topics], data: l.data }));
      expect(events.map((e) => e?.name)).to.deep.equal(["MirrorReseeded"]);
      expect(events[0]!.args.fromNonce).to.equal(BigInt(fromNonce));
      expect(await world.books(B)).to.deep.equal(books0);
      expect(await balanceOf(B, b().suite.addresses.bank)).to.equal(tokens0);
      for (const [i, k] of keys.entries()) expect(await mirror(k.address)).to.equal(stakes[i]);
      expect(await world.view(B, inboxAsNew, "totalMirroredStake", [a().code])).to.equal(M);
      // Still paused until governance resumes.
      expectRevert(await world.deliver(B, stuck!), "OriginNotActive");
      await governB([
        {
          target: registry,
          data: b().suite.registry.interface.encodeFunctionData("resumeRoute", [a().code]),
        },
      ]);

      // The honest key alone is the whole mirror: its real reports and transfers deliver; the
      // liars sign nothing on B any more.
      const resumed = await world.deliver(B, stuck!);
      expect(resumed.ok, resumed.error).to.equal(true);
      const m = await send(b().users[1].address, 10n * ONE);
      const paid = await world.deliver(B, (await world.prepare(A, B, { signers: [honest] }))!);
      expect(paid.ok, paid.error).to.equal(true);
      expect(await b().suite.inbox.isMessageDelivered(m.encoded)).to.equal(true);
      const drain = await forgeBatch(liars, [transfer(b().users[4].address, 1n)]);
      expectRevert(await world.deliver(B, drain.delivery), "UnknownSigner");
      expect(await b().suite.bank.reserve(a().code)).to.equal(RESERVE - 10n * ONE);
    });
  });
});
