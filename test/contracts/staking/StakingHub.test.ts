/**
 * StakingHub and the mirror it feeds, on two (or three) simulated chains in one process, each with
 * a full suite deployed by the production Ignition module (docs/protocol.md 3.4–3.6).
 */
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";
import fc from "fast-check";

import { governThroughTimelock } from "../../../deploy/governance.js";
import { suiteAs, type Suite } from "../../../deploy/suite.js";
import {
  addressToBytes32,
  decodeStakeReport,
  encodeStakeReport,
  MerkleTree,
  signCheckpoint,
  type Checkpoint,
} from "../../../relayer/protocol/index.js";
import { StakingHub__factory, TestToken__factory } from "../../../typechain-types/index.js";
import {
  createTestNetwork,
  deliveryArgs,
  dispatchedMessages,
  fundedWallets,
  latestCheckpoint,
  ONE,
  prepareDelivery,
  relay,
  type Delivery,
  type TestChain,
} from "../../helpers/suite.js";

const U = 3_600n; // unbonding delay
const W = 1_600n; // exposure window (8 buckets of 200 s), < U
const STAKE = 1_000n * ONE;
const ALLOCATION = 100n * ONE;
const BOUNTY_BPS = 1_000n;
/**
 * What a peer mirrors of an allocation (18 decimals): its vouching stake, the part a liar cannot
 * get back through the bounty (docs/protocol.md 3.8).
 */
function vouching(allocation: bigint, bountyBps = BOUNTY_BPS): bigint {
  return (allocation * (10_000n - bountyBps)) / 10_000n;
}
/** What each attester's seeded allocation mirrors on the peer. */
const M = vouching(ALLOCATION);
const DEEP = process.env.DISTPOS_DEEP === "1";

type Hex = `0x${string}`;

/** Takes a snapshot of every chain; `restore` rewinds them all (reusable). */
async function snapshotAll(chains: TestChain[]) {
  const snapshots = await Promise.all(
    chains.map((c) => c.connection.networkHelpers.takeSnapshot()),
  );
  return { restore: async () => Promise.all(snapshots.map((s) => s.restore())) };
}

function domainOf(chain: TestChain) {
  return { evmChainId: chain.suite.evmChainId, outbox: chain.suite.addresses.outbox as Hex };
}

function hubOf(chain: TestChain, runner: ethers.Signer) {
  return suiteAs(chain.suite, runner).stakingHub;
}

/** Dispatches a pure message from `origin` to `recipient` on `destination`; returns its nonce. */
async function dispatchTo(
  origin: TestChain,
  destination: TestChain,
  recipient: string,
  body = "0x",
  sender?: ethers.Signer,
) {
  const outbox = sender ? suiteAs(origin.suite, sender).outbox : origin.suite.outbox;
  const receipt = await (
    await outbox.dispatch(destination.suite.code, addressToBytes32(recipient as Hex), body)
  ).wait();
  const log = receipt!.logs
    .map((l) => outbox.interface.parseLog(l))
    .find((l) => l?.name === "Dispatch");
  return Number(log!.args.nonce);
}

/** An account on `chain` whose own policy demands `coverage` (18 decimals) per message. */
async function recipientWithPolicy(chain: TestChain, coverage: bigint): Promise<Wallet> {
  const [recipient] = await fundedWallets(chain.connection, chain.suite, 1, 0n);
  await (await suiteAs(chain.suite, recipient).inbox.setRecipientPolicy(0, coverage)).wait();
  return recipient;
}

async function prepared(
  origin: TestChain,
  destination: TestChain,
  signers: Wallet[],
  nonces?: number[],
) {
  const delivery = await prepareDelivery(origin, destination, { signers, nonces });
  if (!delivery) throw new Error("nothing to deliver");
  return delivery;
}

function deliver(destination: TestChain, d: Delivery) {
  return destination.suite.inbox.deliver(...deliveryArgs(d));
}

/** Snapshots `chain`'s Outbox and returns the recorded checkpoint. */
async function snapshotCheckpoint(chain: TestChain): Promise<Checkpoint> {
  await (await chain.suite.outbox.snapshot()).wait();
  return latestCheckpoint(chain);
}

async function governRegistry(suite: Suite, fn: "pauseRoute" | "resumeRoute", peer: bigint) {
  const data =
    fn === "pauseRoute"
      ? suite.registry.interface.encodeFunctionData("pauseRoute", [peer])
      : suite.registry.interface.encodeFunctionData("resumeRoute", [peer]);
  await governThroughTimelock(suite, [{ target: suite.addresses.registry, data }]);
}

describe("StakingHub", function () {
  let chains: TestChain[];
  let A: TestChain, B: TestChain;
  let rewind: () => Promise<unknown>;

  before(async function () {
    chains = await createTestNetwork({
      unbondingDelay: U,
      exposureWindow: W,
      bountyBps: BOUNTY_BPS,
      stake: STAKE,
      allocation: ALLOCATION,
    });
    [A, B] = chains;
    rewind = (await snapshotAll(chains)).restore;
  });

  afterEach(async function () {
    await rewind();
  });

  describe("construction", function () {
    it("refuses a zero delay, a bounty above 100%, a zero vault and tokens above 18 decimals", async function () {
      const [deployer] = await A.connection.ethers.getSigners();
      const factory = new StakingHub__factory(deployer);
      const { registry, settlementToken: token, timelock } = A.suite.addresses;
      const cases: [unknown[], string][] = [
        [[registry, token, 0, 1_000, timelock], "unbonding delay is zero"],
        [[registry, token, U, 10_001, timelock], "bounty above 10000 bps"],
        [[registry, token, U, 1_000, ethers.ZeroAddress], "insurance vault is zero"],
      ];
      for (const [args, reason] of cases) {
        await expect(factory.deploy(...(args as Parameters<typeof factory.deploy>)))
          .to.be.revertedWithCustomError(A.suite.stakingHub, "InvalidParameters")
          .withArgs(reason);
      }
      const token19 = await new TestToken__factory(deployer).deploy("T", "T", 19);
      await expect(factory.deploy(registry, token19, U, 1_000, timelock))
        .to.be.revertedWithCustomError(A.suite.stakingHub, "InvalidParameters")
        .withArgs("token decimals above 18");
      const hub = await factory.deploy(registry, token, U, 10_000, timelock);
      expect(await hub.unbondingDelay()).to.equal(U);
      expect(await hub.token()).to.equal(token);
      expect(await hub.reportScale()).to.equal(1n);
    });
  });

  describe("coverage on the peer (invariant 3, end to end)", function () {
    it("lets an attester vouch for 60 % then 40 % of its mirrored stake, refuses 1 more, and frees it after the window", async function () {
      const [signer] = A.attesters;
      const inbox = B.suite.inbox;
      // (Only these messages: the setup's stake reports would need a majority of signers.)
      let n = await dispatchTo(A, B, (await recipientWithPolicy(B, (M * 6n) / 10n)).address);
      await relay(A, B, { signers: [signer], nonces: [n] });
      n = await dispatchTo(A, B, (await recipientWithPolicy(B, (M * 4n) / 10n)).address);
      await relay(A, B, { signers: [signer], nonces: [n] });
      expect(await inbox.exposure(A.suite.code, signer.address)).to.equal(M);
      expect(await inbox.freeCapacity(A.suite.code, signer.address)).to.equal(0n);

      n = await dispatchTo(A, B, (await recipientWithPolicy(B, 1n)).address);
      const one = await prepared(A, B, [signer], [n]);
      await expect(deliver(B, one))
        .to.be.revertedWithCustomError(inbox, "InsufficientCoverage")
        .withArgs(1n, 0n);

      await B.connection.networkHelpers.time.increase(W + W / 8n);
      expect(await inbox.freeCapacity(A.suite.code, signer.address)).to.equal(M);
      await expect(deliver(B, one))
        .to.emit(inbox, "CoverageCharged")
        .withArgs(A.suite.code, signer.address, 1n);
    });

    it("refuses 2.5 M under one signer of M and charges three signers greedily (M, M, M/2)", async function () {
      const inbox = B.suite.inbox;
      const [s1, s2, s3] = A.attesters;
      // The route's default coverage (a recipient's own policy may demand at most half of the
      // mirrored 300 per window: protocol.md 3.5).
      await governThroughTimelock(B.suite, [
        {
          target: B.suite.addresses.registry,
          data: B.suite.registry.interface.encodeFunctionData("setRoutePolicy", [
            A.suite.code,
            1,
            (5n * M) / 2n,
          ]),
        },
      ]);
      const n = await dispatchTo(A, B, (await recipientWithPolicy(B, 0n)).address);
      await expect(deliver(B, await prepared(A, B, [s1], [n])))
        .to.be.revertedWithCustomError(inbox, "InsufficientCoverage")
        .withArgs((5n * M) / 2n, M);
      const all = await prepared(A, B, [s1, s2, s3], [n]);
      await expect(deliver(B, all))
        .to.emit(inbox, "CoverageCharged")
        .withArgs(A.suite.code, s1.address, M)
        .and.to.emit(inbox, "CoverageCharged")
        .withArgs(A.suite.code, s2.address, M)
        .and.to.emit(inbox, "CoverageCharged")
        .withArgs(A.suite.code, s3.address, M / 2n);
      expect(await inbox.exposure(A.suite.code, s3.address)).to.equal(M / 2n);
    });
  });

  describe("fraud proofs (invariant 5)", function () {
    let prover: Wallet;

    beforeEach(async function () {
      [prover] = await fundedWallets(A.connection, A.suite, 1, 0n);
    });

    it("slashes a signer of a root A's Outbox never had: bounty to the prover, the rest to the vault, zero reported to the peer", async function () {
      const [liar, honest] = A.attesters;
      const hub = A.suite.stakingHub;
      // Stake in every state: allocated (70), locked deallocation (30), unbonding (200), free.
      await (await hubOf(A, liar).allocate(B.suite.code, 70n * ONE)).wait();
      await (await hubOf(A, liar).requestUnstake(200n * ONE)).wait();
      expect(await hub.bonded(liar.address)).to.equal(800n * ONE);

      const real = await snapshotCheckpoint(A);
      const forged: Checkpoint = { ...real, root: ethers.id("a root A never had") as Hex };
      const signature = await signCheckpoint(liar.privateKey as Hex, domainOf(A), forged);
      expect(await hub.isFraudulent(forged)).to.equal(true);

      const bounty = (STAKE * BOUNTY_BPS) / 10_000n;
      const tx = hubOf(A, prover).proveFraud(forged, signature);
      await expect(tx)
        .to.emit(hub, "Slashed")
        .withArgs(liar.address, prover.address, STAKE, bounty, forged.root, forged.count)
        .and.to.emit(hub, "Allocated")
        .withArgs(liar.address, B.suite.code, 0n, anyValue);
      await expect(tx).to.changeTokenBalances(
        A.connection.ethers,
        A.suite.token,
        [prover.address, A.suite.addresses.timelock, A.suite.addresses.stakingHub],
        [bounty, STAKE - bounty, -STAKE],
      );
      expect(await hub.slashed(liar.address)).to.equal(true);
      expect(await hub.bonded(liar.address)).to.equal(0n);
      expect(await hub.unbonding(liar.address)).to.equal(0n);
      expect(await hub.locked(liar.address)).to.equal(0n);
      expect(await hub.allocation(liar.address, B.suite.code)).to.equal(0n);
      expect(await hub.freeStake(liar.address)).to.equal(0n);

      // The peer's mirror drops to zero when the zero report is delivered, signed by the honest
      // attesters (a stake report needs more than half of the mirrored stake).
      expect(await B.suite.inbox.mirroredStake(A.suite.code, liar.address)).to.equal(M);
      await expect(relay(A, B, { signers: A.attesters.slice(1) }))
        .to.emit(B.suite.inbox, "MirrorUpdated")
        .withArgs(A.suite.code, liar.address, 0n, anyValue);
      expect(await B.suite.inbox.mirroredStake(A.suite.code, liar.address)).to.equal(0n);

      // A second proof finds nothing and pays nothing; the slashed attester can never stake again.
      await expect(hubOf(A, prover).proveFraud(forged, signature))
        .to.be.revertedWithCustomError(hub, "NothingToSlash")
        .withArgs(liar.address);
      await expect(hubOf(A, liar).stake(1n)).to.be.revertedWithCustomError(hub, "AttesterSlashed");
      await expect(hubOf(A, liar).allocate(B.suite.code, 0n)).to.be.revertedWithCustomError(
        hub,
        "AttesterSlashed",
      );
      await expect(hubOf(A, liar).requestUnstake(1n)).to.be.revertedWithCustomError(
        hub,
        "AttesterSlashed",
      );
      await expect(hubOf(A, liar).withdraw(liar.address)).to.be.revertedWithCustomError(
        hub,
        "NothingToWithdraw",
      );
    });

    it("slashes a true root signed with another last leaf, by the true leaf and its proof (proveLastLeafFraud)", async function () {
      const [liar] = A.attesters;
      const hub = A.suite.stakingHub;
      const recipient = ethers.Wallet.createRandom().address;
      await dispatchTo(A, B, recipient, "0x01");
      await dispatchTo(A, B, recipient, "0x02");
      const real = await snapshotCheckpoint(A);
      const tree = MerkleTree.from((await dispatchedMessages(A)).map((m) => m.id as Hex));
      const n = real.count;
      const leaf = tree.leaf(n - 1);
      const proof = tree.multiproof([n - 1], n);
      expect(real.last).to.equal(leaf);
      // The root is true: proveFraud cannot touch it. Its last leaf is another message's id.
      const lie: Checkpoint = { ...real, last: tree.leaf(n - 2) };
      const signature = await signCheckpoint(liar.privateKey as Hex, domainOf(A), lie);
      expect(await hub.isFraudulent(lie)).to.equal(false);
      await expect(hubOf(A, prover).proveFraud(lie, signature)).to.be.revertedWithCustomError(
        hub,
        "NotFraud",
      );
      // Neither the signed leaf itself, nor a proof that does not hold, proves anything.
      expect(await hub.isLastLeafFalse(lie, lie.last, tree.multiproof([n - 2], n))).to.equal(false);
      await expect(
        hubOf(A, prover).proveLastLeafFraud(lie, signature, lie.last, tree.multiproof([n - 2], n)),
      ).to.be.revertedWithCustomError(hub, "NotFraud");
      const bad = [ethers.id("not a sibling") as Hex, ...proof.slice(1)];
      expect(await hub.isLastLeafFalse(lie, leaf, bad)).to.equal(false);
      await expect(
        hubOf(A, prover).proveLastLeafFraud(lie, signature, leaf, bad),
      ).to.be.revertedWithCustomError(hub, "NotFraud");
      // An honest checkpoint's last leaf is the true one: nothing to prove.
      const honest = await signCheckpoint(liar.privateKey as Hex, domainOf(A), real);
      expect(await hub.isLastLeafFalse(real, leaf, proof)).to.equal(false);
      await expect(
        hubOf(A, prover).proveLastLeafFraud(real, honest, leaf, proof),
      ).to.be.revertedWithCustomError(hub, "NotFraud");
      // The true leaf with its proof slashes the liar like any false checkpoint.
      expect(await hub.isLastLeafFalse(lie, leaf, proof)).to.equal(true);
      const bounty = (STAKE * BOUNTY_BPS) / 10_000n;
      await expect(hubOf(A, prover).proveLastLeafFraud(lie, signature, leaf, proof))
        .to.emit(hub, "Slashed")
        .withArgs(liar.address, prover.address, STAKE, bounty, lie.root, lie.count);
      expect(await hub.slashed(liar.address)).to.equal(true);
      // Another chain's checkpoint is not this hub's to judge.
      await expect(
        hubOf(A, prover).proveLastLeafFraud(
          { ...lie, origin: B.suite.code },
          signature,
          leaf,
          proof,
        ),
      ).to.be.revertedWithCustomError(hub, "WrongOriginChain");
    });

    it("reverts NotFraud for a true checkpoint and leaves the stake alone", async function () {
      const [attester] = A.attesters;
      const real = await snapshotCheckpoint(A);
      const signature = await signCheckpoint(attester.privateKey as Hex, domainOf(A), real);
      expect(await A.suite.stakingHub.isFraudulent(real)).to.equal(false);
      await expect(hubOf(A, prover).proveFraud(real, signature)).to.be.revertedWithCustomError(
        A.suite.stakingHub,
        "NotFraud",
      );
      expect(await A.suite.stakingHub.bonded(attester.address)).to.equal(STAKE);
    });

    it("refuses another chain's checkpoint (WrongOriginChain)", async function () {
      const [attester] = A.attesters;
      const forged: Checkpoint = {
        origin: B.suite.code,
        root: ethers.id("x") as Hex,
        count: 1,
        last: ethers.id("y") as Hex,
      };
      const signature = await signCheckpoint(attester.privateKey as Hex, domainOf(B), forged);
      expect(await A.suite.stakingHub.isFraudulent(forged)).to.equal(false);
      await expect(hubOf(A, prover).proveFraud(forged, signature))
        .to.be.revertedWithCustomError(A.suite.stakingHub, "WrongOriginChain")
        .withArgs(B.suite.code);
    });

    it("finds nothing to slash for a signature bound to another Outbox or chain", async function () {
      const [attester] = A.attesters;
      const real = await snapshotCheckpoint(A);
      const forged: Checkpoint = { ...real, root: ethers.id("forged") as Hex };
      const otherDomains = [
        // Another deployment's Outbox on A (the suites share addresses across chains, so not B's).
        { evmChainId: A.suite.evmChainId, outbox: ethers.Wallet.createRandom().address as Hex },
        { evmChainId: B.suite.evmChainId, outbox: A.suite.addresses.outbox as Hex }, // other chain
      ];
      for (const domain of otherDomains) {
        const signature = await signCheckpoint(attester.privateKey as Hex, domain, forged);
        await expect(hubOf(A, prover).proveFraud(forged, signature))
          .to.be.revertedWithCustomError(A.suite.stakingHub, "NothingToSlash")
          .withArgs(anyValue);
      }
      expect(await A.suite.stakingHub.bonded(attester.address)).to.equal(STAKE);
      expect(await A.suite.stakingHub.slashed(attester.address)).to.equal(false);
    });

    it("refuses malformed signatures without slashing", async function () {
      const [attester] = A.attesters;
      const hub = A.suite.stakingHub;
      const real = await snapshotCheckpoint(A);
      const forged: Checkpoint = { ...real, root: ethers.id("forged") as Hex };
      const signature = await signCheckpoint(attester.privateKey as Hex, domainOf(A), forged);
      const sig = ethers.Signature.from(signature);
      const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = ethers.concat([
        sig.r,
        ethers.toBeHex(N - BigInt(sig.s), 32),
        sig.v === 27 ? "0x1c" : "0x1b",
      ]);

      await expect(hubOf(A, prover).proveFraud(forged, ethers.dataSlice(signature, 0, 64)))
        .to.be.revertedWithCustomError(hub, "ECDSAInvalidSignatureLength")
        .withArgs(64);
      await expect(hubOf(A, prover).proveFraud(forged, highS)).to.be.revertedWithCustomError(
        hub,
        "ECDSAInvalidSignatureS",
      );
      await expect(
        hubOf(A, prover).proveFraud(
          forged,
          ethers.concat([ethers.ZeroHash, ethers.ZeroHash, "0x1b"]),
        ),
      ).to.be.revertedWithCustomError(hub, "ECDSAInvalidSignature");
      expect(await hub.bonded(attester.address)).to.equal(STAKE);
      // The well-formed one slashes: the refusals above were about the signature alone.
      await expect(hubOf(A, prover).proveFraud(forged, signature)).to.emit(hub, "Slashed");
    });

    it("slashes a premature count beyond the Outbox tip, even with the current root", async function () {
      const [attester] = A.attesters;
      const real = await snapshotCheckpoint(A);
      const premature: Checkpoint = { ...real, count: real.count + 1 };
      const signature = await signCheckpoint(attester.privateKey as Hex, domainOf(A), premature);
      expect(await A.suite.stakingHub.isFraudulent(premature)).to.equal(true);
      await expect(hubOf(A, prover).proveFraud(premature, signature)).to.emit(
        A.suite.stakingHub,
        "Slashed",
      );
    });

    it("slashes a signed count that was never snapshotted, even with its true root", async function () {
      const [attester] = A.attesters;
      const recipient = ethers.Wallet.createRandom().address;
      await dispatchTo(A, B, recipient, "0x01");
      const unsnapshotted = Number(await A.suite.outbox.count());
      await dispatchTo(A, B, recipient, "0x02");
      await snapshotCheckpoint(A);
      expect(await A.suite.outbox.rootAt(unsnapshotted)).to.equal(ethers.ZeroHash);

      const leaves = (await dispatchedMessages(A)).map((m) => m.id as Hex);
      const trueRoot = MerkleTree.from(leaves.slice(0, unsnapshotted)).root();
      const checkpoint: Checkpoint = {
        origin: A.suite.code,
        root: trueRoot,
        count: unsnapshotted,
        last: leaves[unsnapshotted - 1]!,
      };
      const signature = await signCheckpoint(attester.privateKey as Hex, domainOf(A), checkpoint);
      expect(await A.suite.stakingHub.isFraudulent(checkpoint)).to.equal(true);
      // A zero root there is no alibi either (it equals what rootAt returns, yet nothing was recorded).
      const zeroRoot = { ...checkpoint, root: ethers.ZeroHash as Hex };
      expect(await A.suite.stakingHub.isFraudulent(zeroRoot)).to.equal(true);
      await expect(hubOf(A, prover).proveFraud(checkpoint, signature)).to.emit(
        A.suite.stakingHub,
        "Slashed",
      );
    });

    it("defers the zero report to a paused peer and lets anyone send it once the route resumes", async function () {
      const [liar, honest] = A.attesters;
      const hub = A.suite.stakingHub;
      await governRegistry(A.suite, "pauseRoute", B.suite.code);
      const real = await snapshotCheckpoint(A);
      const forged: Checkpoint = { ...real, root: ethers.id("forged") as Hex };
      const signature = await signCheckpoint(liar.privateKey as Hex, domainOf(A), forged);
      await expect(hubOf(A, prover).proveFraud(forged, signature))
        .to.emit(hub, "ReportDeferred")
        .withArgs(liar.address, B.suite.code);
      await expect(hubOf(A, prover).syncReport(liar.address, B.suite.code))
        .to.be.revertedWithCustomError(hub, "UnknownPeer")
        .withArgs(B.suite.code);

      await governRegistry(A.suite, "resumeRoute", B.suite.code);
      await expect(hubOf(A, prover).syncReport(liar.address, B.suite.code))
        .to.emit(hub, "Allocated")
        .withArgs(liar.address, B.suite.code, 0n, anyValue);
      await relay(A, B, { signers: A.attesters.slice(1) });
      expect(await B.suite.inbox.mirroredStake(A.suite.code, liar.address)).to.equal(0n);
    });

    it("never slashes an honest attester for a snapshotted checkpoint (random histories)", async function () {
      const [honest] = A.attesters;
      const hub = A.suite.stakingHub;
      const recorded: Checkpoint[] = [];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          async (bodies, pick) => {
            for (const body of bodies) await dispatchTo(A, B, honest.address, ethers.hexlify(body));
            recorded.push(await snapshotCheckpoint(A));
            const checkpoint = recorded[pick % recorded.length];
            const signature = await signCheckpoint(
              honest.privateKey as Hex,
              domainOf(A),
              checkpoint,
            );
            expect(await hub.isFraudulent(checkpoint)).to.equal(false);
            await expect(
              hubOf(A, prover).proveFraud(checkpoint, signature),
            ).to.be.revertedWithCustomError(hub, "NotFraud");
            expect(await hub.bonded(honest.address)).to.equal(STAKE);
            expect(await hub.slashed(honest.address)).to.equal(false);
          },
        ),
        { numRuns: DEEP ? 200 : 20 },
      );
    });
  });

  describe("stake, allocation and unbonding", function () {
    it("cannot withdraw before the unbonding delay", async function () {
      const [attester] = A.attesters;
      const hub = hubOf(A, attester);
      const tx = hub.requestUnstake(100n * ONE);
      await expect(tx)
        .to.emit(hub, "UnstakeRequested")
        .withArgs(attester.address, 100n * ONE, anyValue);
      const releaseAt = (await A.connection.networkHelpers.time.latest()) + Number(U);
      expect(await hub.bonded(attester.address)).to.equal(STAKE - 100n * ONE);
      await expect(hub.withdraw(attester.address)).to.be.revertedWithCustomError(
        hub,
        "NothingToWithdraw",
      );
      await A.connection.networkHelpers.time.setNextBlockTimestamp(releaseAt - 1);
      await expect(hub.withdraw(attester.address)).to.be.revertedWithCustomError(
        hub,
        "NothingToWithdraw",
      );
      expect(await hub.withdrawable(attester.address)).to.equal(0n);
      await A.connection.networkHelpers.time.setNextBlockTimestamp(releaseAt);
      const withdrawal = hub.withdraw(attester.address);
      await expect(withdrawal)
        .to.emit(hub, "Withdrawn")
        .withArgs(attester.address, attester.address, 100n * ONE);
      await expect(withdrawal).to.changeTokenBalance(
        A.connection.ethers,
        A.suite.token,
        attester.address,
        100n * ONE,
      );
      await expect(hub.withdraw(attester.address)).to.be.revertedWithCustomError(
        hub,
        "NothingToWithdraw",
      );
      await expect(hub.withdraw(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        hub,
        "ZeroRecipient",
      );
    });

    it("keeps deallocated stake locked for the unbonding delay", async function () {
      const [attester] = A.attesters;
      const hub = hubOf(A, attester);
      const free = STAKE - ALLOCATION;
      expect(await hub.freeStake(attester.address)).to.equal(free);
      await expect(hub.allocate(B.suite.code, 40n * ONE))
        .to.emit(hub, "DeallocationQueued")
        .withArgs(attester.address, B.suite.code, 60n * ONE, anyValue);
      expect(await hub.locked(attester.address)).to.equal(60n * ONE);
      expect(await hub.freeStake(attester.address)).to.equal(free);
      await expect(hub.requestUnstake(free + 1n))
        .to.be.revertedWithCustomError(hub, "InsufficientFreeStake")
        .withArgs(free + 1n, free);
      await expect(hub.allocate(B.suite.code, 40n * ONE + free + 1n))
        .to.be.revertedWithCustomError(hub, "InsufficientFreeStake")
        .withArgs(free + 1n, free);

      await A.connection.networkHelpers.time.increase(U);
      expect(await hub.locked(attester.address)).to.equal(0n);
      expect(await hub.freeStake(attester.address)).to.equal(free + 60n * ONE);
      await expect(hub.requestUnstake(free + 60n * ONE)).to.emit(hub, "UnstakeRequested");
      expect(await hub.freeStake(attester.address)).to.equal(0n);
    });

    it("reports a decrease to the peer at once, which applies it with no coverage", async function () {
      const [attester, other, third] = A.attesters;
      await (await hubOf(A, attester).allocate(B.suite.code, 40n * ONE)).wait();
      await expect(relay(A, B, { signers: [other, third] }))
        .to.emit(B.suite.inbox, "MirrorUpdated")
        .withArgs(A.suite.code, attester.address, vouching(40n * ONE), anyValue);
      expect(await B.suite.inbox.exposure(A.suite.code, other.address)).to.equal(0n);
    });

    it("refuses zero amounts and allocations to peers that are not active routes", async function () {
      const [attester] = A.attesters;
      const hub = hubOf(A, attester);
      await expect(hub.stake(0n)).to.be.revertedWithCustomError(hub, "ZeroAmount");
      await expect(hub.requestUnstake(0n)).to.be.revertedWithCustomError(hub, "ZeroAmount");
      await expect(hub.allocate(0x1234n, 1n))
        .to.be.revertedWithCustomError(hub, "UnknownPeer")
        .withArgs(0x1234n);
      await expect(hub.allocate(A.suite.code, 1n))
        .to.be.revertedWithCustomError(hub, "UnknownPeer")
        .withArgs(A.suite.code);
      await governRegistry(A.suite, "pauseRoute", B.suite.code);
      await expect(hub.allocate(B.suite.code, 1n))
        .to.be.revertedWithCustomError(hub, "UnknownPeer")
        .withArgs(B.suite.code);
    });

    it("mirrors a stake increase only when its signers hold more than half of the mirrored stake, at no value at risk; a later report makes an older one stale", async function () {
      const [attester, s2, s3] = A.attesters;
      const inbox = B.suite.inbox;
      const hub = hubOf(A, attester);
      const big = await (await hub.allocate(B.suite.code, 1_000n * ONE)).wait();
      const bigNonce = Number((await dispatchedMessages(A)).at(-1)!.nonce);
      expect(big!.status).to.equal(1);
      // Its own signature (100 of 300) is not a majority: nobody vouches for its own increase alone.
      await expect(deliver(B, await prepared(A, B, [attester], [bigNonce])))
        .to.be.revertedWithCustomError(inbox, "StakeReportNeedsQuorum")
        .withArgs(M, 3n * M);
      expect(await inbox.mirroredStake(A.suite.code, attester.address)).to.equal(M);

      // A later report (250, mirrored as its vouching stake) signed by the two others is applied first, charging nothing...
      await (await hub.allocate(B.suite.code, 250n * ONE)).wait();
      const laterNonce = Number((await dispatchedMessages(A)).at(-1)!.nonce);
      await expect(deliver(B, await prepared(A, B, [s2, s3], [laterNonce])))
        .to.emit(inbox, "MirrorUpdated")
        .withArgs(A.suite.code, attester.address, vouching(250n * ONE), laterNonce)
        .and.not.to.emit(inbox, "CoverageCharged");
      expect(await inbox.totalMirroredStake(A.suite.code)).to.equal(2n * M + vouching(250n * ONE));
      // ...so the older report is stale: ignored, no mirror change. (The two others now hold 2 M
      // of 2 M + 225: not a majority any more; all three sign.)
      await expect(deliver(B, await prepared(A, B, [s2, s3], [bigNonce])))
        .to.be.revertedWithCustomError(inbox, "StakeReportNeedsQuorum")
        .withArgs(2n * M, 2n * M + vouching(250n * ONE));
      await expect(deliver(B, await prepared(A, B, [attester, s2, s3], [bigNonce])))
        .to.emit(inbox, "StakeReportIgnored")
        .withArgs(A.suite.code, attester.address, bigNonce, ethers.encodeBytes32String("stale"))
        .and.not.to.emit(inbox, "CoverageCharged");
      expect(await inbox.mirroredStake(A.suite.code, attester.address)).to.equal(
        vouching(250n * ONE),
      );
    });

    it("ignores a stake report that does not come from the origin's StakingHub", async function () {
      const [attester, s2] = A.attesters;
      const inbox = B.suite.inbox;
      const [forger] = await fundedWallets(A.connection, A.suite, 1, 0n);
      const forgedRaise = encodeStakeReport({
        attester: forger.address as Hex,
        allocation: 10n ** 30n,
      });
      const forgedDrop = encodeStakeReport({ attester: attester.address as Hex, allocation: 0n });
      const nonces: number[] = [];
      for (const body of [forgedRaise, forgedDrop]) {
        nonces.push(await dispatchTo(A, B, B.suite.addresses.inbox, body, forger));
      }
      await expect(deliver(B, await prepared(A, B, [s2], nonces)))
        .to.emit(inbox, "Delivered")
        .and.not.to.emit(inbox, "MirrorUpdated");
      expect(await inbox.mirroredStake(A.suite.code, forger.address)).to.equal(0n);
      expect(await inbox.mirroredStake(A.suite.code, attester.address)).to.equal(M);
    });

    it("sends stake reports of the vouching stake, whose body the TypeScript codec reads back", async function () {
      const [attester] = A.attesters;
      await (await hubOf(A, attester).allocate(B.suite.code, 123n * ONE)).wait();
      // (1 − bounty) of the allocation: 110.7 of 123 with a 10 % bounty.
      const vouched = vouching(123n * ONE);
      expect(vouched).to.equal(1107n * 10n ** 17n);
      expect(await A.suite.stakingHub.vouchingStake(attester.address, B.suite.code)).to.equal(
        vouched,
      );
      const report = (await dispatchedMessages(A)).at(-1)!;
      expect(report.message.sender).to.equal(addressToBytes32(A.suite.addresses.stakingHub as Hex));
      expect(report.message.recipient).to.equal(addressToBytes32(B.suite.addresses.inbox as Hex));
      expect(decodeStakeReport(report.message.body)).to.deep.equal({
        attester: attester.address,
        allocation: vouched,
      });
      expect(report.message.body).to.equal(
        encodeStakeReport({ attester: attester.address as Hex, allocation: vouched }),
      );
    });
  });
});

describe("StakingHub across three chains", function () {
  it("never lets allocations across peers exceed the stake", async function () {
    const [A, B, C] = await createTestNetwork({
      chains: ["chainA", "chainB", "chainC"],
      unbondingDelay: U,
      exposureWindow: W,
      stake: STAKE,
      allocation: 0n,
      seed: false,
    });
    const [attester] = A.attesters;
    const hub = hubOf(A, attester);
    await (await hub.allocate(B.suite.code, 600n * ONE)).wait();
    await expect(hub.allocate(C.suite.code, 401n * ONE))
      .to.be.revertedWithCustomError(hub, "InsufficientFreeStake")
      .withArgs(401n * ONE, 400n * ONE);
    await (await hub.allocate(C.suite.code, 400n * ONE)).wait();
    expect(await hub.freeStake(attester.address)).to.equal(0n);
    expect(await hub.allocated(attester.address)).to.equal(STAKE);
    await expect(hub.requestUnstake(1n))
      .to.be.revertedWithCustomError(hub, "InsufficientFreeStake")
      .withArgs(1n, 0n);
  });
});

describe("StakingHub with a 6-decimal settlement token", function () {
  it("reports allocations in 18 decimals", async function () {
    const UNIT = 10n ** 6n;
    const [A, B] = await createTestNetwork({
      unbondingDelay: U,
      exposureWindow: W,
      tokenDecimals: 6,
      stake: 1_000n * UNIT,
      allocation: 100n * UNIT,
    });
    const [attester, s2] = A.attesters;
    expect(await A.suite.stakingHub.reportScale()).to.equal(10n ** 12n);
    const bps = BigInt(await A.suite.stakingHub.bountyBps());
    expect(await B.suite.inbox.mirroredStake(A.suite.code, attester.address)).to.equal(
      vouching(100n * ONE, bps),
    );
    await (await hubOf(A, attester).allocate(B.suite.code, 150n * UNIT)).wait();
    const report = (await dispatchedMessages(A)).at(-1)!;
    expect(decodeStakeReport(report.message.body).allocation).to.equal(vouching(150n * ONE, bps));
    await relay(A, B, { signers: A.attesters.slice(1) });
    expect(await B.suite.inbox.mirroredStake(A.suite.code, attester.address)).to.equal(
      vouching(150n * ONE, bps),
    );
  });
});
