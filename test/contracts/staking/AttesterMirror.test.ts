/**
 * AttesterMirror through a harness: the mirrored attester set, stake reports and bucketed coverage
 * (docs/protocol.md 3.4–3.5), on one simulated chain, without the Inbox around it.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";

import {
  StakingMirrorHarness__factory,
  type StakingMirrorHarness,
} from "../../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create("chainB");

const ONE = 10n ** 18n;
const ORIGIN = 0xa0a1n;
const W = 800; // exposure window: 8 buckets of 100 s
const BUCKET = W / 8;
const STALE = ethers.encodeBytes32String("stale");
const MALFORMED = ethers.encodeBytes32String("malformed");

describe("AttesterMirror", function () {
  let mirror: StakingMirrorHarness;
  let a1: string, a2: string, a3: string;

  async function deploy(): Promise<StakingMirrorHarness> {
    const [deployer] = await ethers.getSigners();
    return new StakingMirrorHarness__factory(deployer).deploy(W);
  }

  /** Three attesters with 100 each, in ascending address order. */
  async function seeded(): Promise<StakingMirrorHarness> {
    const m = await deploy();
    await (
      await m.initializeMirror(ORIGIN, [a1, a2, a3], [100n * ONE, 100n * ONE, 100n * ONE])
    ).wait();
    return m;
  }

  /** Moves the next block to the last second of its bucket. */
  async function alignToBucketEnd(): Promise<number> {
    const now = await networkHelpers.time.latest();
    const end = (Math.floor(now / BUCKET) + 2) * BUCKET - 1;
    await networkHelpers.time.setNextBlockTimestamp(end);
    return end;
  }

  before(async function () {
    const addresses = Array.from({ length: 3 }, () => ethers.Wallet.createRandom().address);
    [a1, a2, a3] = addresses.sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
  });

  beforeEach(async function () {
    mirror = await networkHelpers.loadFixture(seeded);
  });

  describe("construction and seeding", function () {
    it("refuses a window that is zero or not a multiple of 8 seconds", async function () {
      const [deployer] = await ethers.getSigners();
      const factory = new StakingMirrorHarness__factory(deployer);
      await expect(factory.deploy(0))
        .to.be.revertedWithCustomError(mirror, "InvalidExposureWindow")
        .withArgs(0);
      await expect(factory.deploy(801))
        .to.be.revertedWithCustomError(mirror, "InvalidExposureWindow")
        .withArgs(801);
      expect(await (await factory.deploy(8)).exposureWindow()).to.equal(8);
    });

    it("seeds once per origin and emits MirrorInitialized", async function () {
      const m = await deploy();
      expect(await m.isMirrorInitialized(ORIGIN)).to.equal(false);
      await expect(m.initializeMirror(ORIGIN, [a1], [7n]))
        .to.emit(m, "MirrorInitialized")
        .withArgs(ORIGIN, [a1], [7n]);
      expect(await m.isMirrorInitialized(ORIGIN)).to.equal(true);
      expect(await m.mirroredStake(ORIGIN, a1)).to.equal(7n);
      expect(await m.isMirroredAttester(ORIGIN, a1)).to.equal(true);
      expect(await m.isMirroredAttester(ORIGIN, a2)).to.equal(false);
      expect(await m.isMirroredAttester(ORIGIN + 1n, a1)).to.equal(false);
      await expect(m.initializeMirror(ORIGIN, [a2], [7n]))
        .to.be.revertedWithCustomError(m, "MirrorAlreadyInitialized")
        .withArgs(ORIGIN);
      // Another origin is independent.
      await expect(m.initializeMirror(ORIGIN + 1n, [a2], [9n])).to.emit(m, "MirrorInitialized");
    });

    it("refuses mismatched lists, the zero address and duplicates", async function () {
      const m = await deploy();
      await expect(m.initializeMirror(ORIGIN, [a1, a2], [1n]))
        .to.be.revertedWithCustomError(m, "MirrorLengthMismatch")
        .withArgs(2, 1);
      await expect(
        m.initializeMirror(ORIGIN, [ethers.ZeroAddress], [1n]),
      ).to.be.revertedWithCustomError(m, "ZeroAttester");
      await expect(m.initializeMirror(ORIGIN, [a1, a1], [1n, 2n]))
        .to.be.revertedWithCustomError(m, "DuplicateAttester")
        .withArgs(a1);
    });
  });

  describe("coverage (invariant 3)", function () {
    it("lets an attester of 100 vouch for 60 then 40, refuses 1 more, and frees it after the window", async function () {
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 60n * ONE))
        .to.emit(mirror, "CoverageCharged")
        .withArgs(ORIGIN, a1, 60n * ONE);
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 40n * ONE))
        .to.emit(mirror, "CoverageCharged")
        .withArgs(ORIGIN, a1, 40n * ONE);
      expect(await mirror.exposure(ORIGIN, a1)).to.equal(100n * ONE);
      expect(await mirror.freeCapacity(ORIGIN, a1)).to.equal(0n);
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 1n))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(1n, 0n);

      // Charges fall out after at most W + W/8.
      await networkHelpers.time.increase(W + BUCKET);
      expect(await mirror.exposure(ORIGIN, a1)).to.equal(0n);
      expect(await mirror.freeCapacity(ORIGIN, a1)).to.equal(100n * ONE);
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 100n * ONE)).to.emit(
        mirror,
        "CoverageCharged",
      );
    });

    it("still counts a charge W - 1 seconds later even when it fell at the end of a bucket", async function () {
      const chargedAt = await alignToBucketEnd();
      await (await mirror.chargeCoverage(ORIGIN, [a1], 100n * ONE)).wait();
      await networkHelpers.time.setNextBlockTimestamp(chargedAt + W - 1);
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 1n))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(1n, 0n);
    });

    it("refuses 250 with one signer of 100 and charges three signers greedily (100, 100, 50)", async function () {
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 250n * ONE))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(250n * ONE, 100n * ONE);
      await expect(mirror.chargeCoverage(ORIGIN, [a1, a2, a3], 250n * ONE))
        .to.emit(mirror, "CoverageCharged")
        .withArgs(ORIGIN, a1, 100n * ONE)
        .and.to.emit(mirror, "CoverageCharged")
        .withArgs(ORIGIN, a2, 100n * ONE)
        .and.to.emit(mirror, "CoverageCharged")
        .withArgs(ORIGIN, a3, 50n * ONE);
      expect(await mirror.exposure(ORIGIN, a1)).to.equal(100n * ONE);
      expect(await mirror.exposure(ORIGIN, a2)).to.equal(100n * ONE);
      expect(await mirror.exposure(ORIGIN, a3)).to.equal(50n * ONE);
      // The capacity in the error is what the signers had left.
      await expect(mirror.chargeCoverage(ORIGIN, [a1, a2, a3], 51n * ONE))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(51n * ONE, 50n * ONE);
    });

    it("stops charging once covered: later signers are untouched", async function () {
      const receipt = await (await mirror.chargeCoverage(ORIGIN, [a1, a2], 30n * ONE)).wait();
      const charged = receipt!.logs.map((log) => mirror.interface.parseLog(log)?.args);
      expect(charged).to.have.length(1);
      expect(await mirror.exposure(ORIGIN, a2)).to.equal(0n);
    });

    it("gives an unknown signer no capacity", async function () {
      const stranger = ethers.Wallet.createRandom().address;
      await expect(mirror.chargeCoverage(ORIGIN, [stranger], 1n))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(1n, 0n);
    });

    it("writes nothing for a zero value at risk", async function () {
      const receipt = await (await mirror.chargeCoverage(ORIGIN, [a1, a2, a3], 0n)).wait();
      expect(receipt!.logs).to.have.length(0);
      // 21k intrinsic + calldata + a few hundred for the call: no storage access at all.
      expect(receipt!.gasUsed).to.be.lessThan(26_000n);
    });

    it("keeps the value vouched for within any window of W at or below the stake (random schedules)", async function () {
      const runs = process.env.DISTPOS_DEEP === "1" ? 300 : 30;
      const stake = 100n;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              wait: fc.integer({ min: 0, max: 3 * BUCKET }),
              amount: fc.integer({ min: 1, max: 70 }),
            }),
            {
              minLength: 1,
              maxLength: 14,
            },
          ),
          async (steps) => {
            const m = await deploy();
            await (await m.initializeMirror(ORIGIN, [a1], [stake])).wait();
            const accepted: { at: number; amount: bigint }[] = [];
            for (const step of steps) {
              if (step.wait > 0) await networkHelpers.time.increase(step.wait);
              const now = (await networkHelpers.time.latest()) + 1;
              await networkHelpers.time.setNextBlockTimestamp(now);
              const epoch = Math.floor(now / BUCKET);
              // Model: exposure = charges in the current bucket and the 8 before it.
              const live = accepted
                .filter((c) => Math.floor(c.at / BUCKET) >= epoch - 8)
                .reduce((sum, c) => sum + c.amount, 0n);
              const amount = BigInt(step.amount);
              if (live + amount <= stake) {
                await (await m.chargeCoverage(ORIGIN, [a1], amount)).wait();
                accepted.push({ at: now, amount });
              } else {
                await expect(m.chargeCoverage(ORIGIN, [a1], amount))
                  .to.be.revertedWithCustomError(m, "InsufficientCoverage")
                  .withArgs(amount, stake - live);
                // A refused transaction mines no block: mine one at `now` so views read that time.
                await networkHelpers.mine();
              }
              expect(await m.exposure(ORIGIN, a1)).to.equal(
                accepted
                  .filter((c) => Math.floor(c.at / BUCKET) >= epoch - 8)
                  .reduce((s, c) => s + c.amount, 0n),
              );
              // Invariant 3: any window of length W ending now holds at most the stake.
              const inWindow = accepted
                .filter((c) => c.at > now - W)
                .reduce((sum, c) => sum + c.amount, 0n);
              expect(inWindow <= stake).to.equal(true);
            }
          },
        ),
        { numRuns: runs },
      );
    });
  });

  describe("stake reports", function () {
    it("decodes what it encodes and refuses malformed bodies", async function () {
      const body = await mirror.encodeStakeReport(a1, 123n);
      expect(ethers.dataLength(body)).to.equal(53);
      expect(ethers.dataSlice(body, 0, 1)).to.equal("0x01");
      const [attester, allocation] = await mirror.decodeStakeReport(body);
      expect(attester).to.equal(a1);
      expect(allocation).to.equal(123n);
      const wrongKind = ethers.concat(["0x02", ethers.dataSlice(body, 1)]);
      await expect(mirror.decodeStakeReport(wrongKind)).to.be.revertedWithCustomError(
        mirror,
        "MalformedStakeReport",
      );
      await expect(
        mirror.decodeStakeReport(ethers.dataSlice(body, 0, 52)),
      ).to.be.revertedWithCustomError(mirror, "MalformedStakeReport");
    });

    it("applies an increase signed by more than half of the mirrored stake, at no value at risk", async function () {
      const body = await mirror.encodeStakeReport(a1, 150n * ONE);
      // One signer of three (100 of 300) is not a majority, whatever its free capacity.
      await expect(mirror.deliverStakeReport(ORIGIN, [a2], body, 5))
        .to.be.revertedWithCustomError(mirror, "StakeReportNeedsQuorum")
        .withArgs(100n * ONE, 300n * ONE);
      const receipt = await (await mirror.deliverStakeReport(ORIGIN, [a2, a3], body, 5)).wait();
      const names = receipt!.logs.map((l) => mirror.interface.parseLog(l)?.name);
      expect(names).to.deep.equal(["MirrorUpdated"]);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(150n * ONE);
      expect(await mirror.exposure(ORIGIN, a2)).to.equal(0n);
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(350n * ONE);
    });

    it("refuses any report signed by half the mirrored stake or less: no self-pump, no wipe, no new key", async function () {
      const newcomer = ethers.Wallet.createRandom().address;
      const reports = [
        await mirror.encodeStakeReport(a1, 1_000n * ONE), // a1 raising itself
        await mirror.encodeStakeReport(a2, 0n), // a1 wiping a2
        await mirror.encodeStakeReport(newcomer, 1n), // a1 mirroring a key never staked
      ];
      for (const body of reports) {
        await expect(mirror.deliverStakeReport(ORIGIN, [a1], body, 5))
          .to.be.revertedWithCustomError(mirror, "StakeReportNeedsQuorum")
          .withArgs(100n * ONE, 300n * ONE);
      }
      // Exactly half is not more than half.
      await (
        await mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a3, 0n), 1)
      ).wait();
      await expect(mirror.deliverStakeReport(ORIGIN, [a1], reports[0], 5))
        .to.be.revertedWithCustomError(mirror, "StakeReportNeedsQuorum")
        .withArgs(100n * ONE, 200n * ONE);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(100n * ONE);
      expect(await mirror.mirroredStake(ORIGIN, a2)).to.equal(100n * ONE);
      expect(await mirror.mirroredStake(ORIGIN, newcomer)).to.equal(0n);
      // A majority (both remaining attesters) applies it, however large.
      await expect(mirror.deliverStakeReport(ORIGIN, [a1, a2], reports[0], 5))
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 1_000n * ONE, 5);
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(1_100n * ONE);
    });

    it("applies a decrease at once with no value at risk, even below the exposure", async function () {
      await (await mirror.chargeCoverage(ORIGIN, [a1], 80n * ONE)).wait();
      const body = await mirror.encodeStakeReport(a1, 30n * ONE);
      const receipt = await (await mirror.deliverStakeReport(ORIGIN, [a1, a2], body, 1)).wait();
      const names = receipt!.logs.map((l) => mirror.interface.parseLog(l)?.name);
      expect(names).to.deep.equal(["MirrorUpdated"]);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(30n * ONE);
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(230n * ONE);
      expect(await mirror.freeCapacity(ORIGIN, a1)).to.equal(0n);
      await expect(mirror.chargeCoverage(ORIGIN, [a1], 1n))
        .to.be.revertedWithCustomError(mirror, "InsufficientCoverage")
        .withArgs(1n, 0n);
    });

    it("applies report nonce 0 and ignores reports not newer than the last applied", async function () {
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 90n * ONE), 0),
      )
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 90n * ONE, 0);
      await (
        await mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 20n * ONE), 9)
      ).wait();

      const older = await mirror.encodeStakeReport(a1, 500n * ONE);
      await expect(mirror.applyStakeReport(ORIGIN, older, 7))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 7, STALE);
      await expect(mirror.applyStakeReport(ORIGIN, older, 9))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 9, STALE);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(20n * ONE);
      // Nonces are per attester's last report, not per origin: another attester's older nonce applies.
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a2, 5n * ONE), 3),
      ).to.emit(mirror, "MirrorUpdated");
    });

    it("applies an older report that lowers the mirror, keeps the highest nonce, and ignores an older increase", async function () {
      // A report at a high nonce (as a forged one at the last nonce would be) must not make later
      // decreases stale: a decrease never adds risk (docs/protocol.md 3.5, Finding 3).
      await (
        await mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 100n * ONE), 4_000)
      ).wait();
      const lower = await mirror.encodeStakeReport(a1, 30n * ONE);
      await expect(mirror.applyStakeReport(ORIGIN, lower, 7))
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 30n * ONE, 7);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(30n * ONE);
      // The older increase (and an older restatement) stays stale.
      const higher = await mirror.encodeStakeReport(a1, 60n * ONE);
      await expect(mirror.applyStakeReport(ORIGIN, higher, 8))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 8, STALE);
      await expect(mirror.applyStakeReport(ORIGIN, lower, 9))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 9, STALE);
      // The highest applied nonce did not move back: only a report after 4,000 may increase.
      await expect(mirror.applyStakeReport(ORIGIN, higher, 4_000))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 4_000, STALE);
      await expect(mirror.applyStakeReport(ORIGIN, higher, 4_001))
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 60n * ONE, 4_001);
      // The zero report of a slashing applies whatever its nonce.
      await expect(mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 0n), 1))
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 0n, 1);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(0n);
    });

    it("ignores a malformed body without reverting", async function () {
      const body = await mirror.encodeStakeReport(a1, 500n * ONE);
      const truncated = ethers.dataSlice(body, 0, 52);
      await expect(mirror.applyStakeReport(ORIGIN, truncated, 1))
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, ethers.ZeroAddress, 1, MALFORMED);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(100n * ONE);
    });

    it("removes an attester whose stake is reported as zero", async function () {
      await (
        await mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 0n), 2)
      ).wait();
      expect(await mirror.isMirroredAttester(ORIGIN, a1)).to.equal(false);
    });
  });

  describe("mirrored total (the quorum's denominator)", function () {
    it("keeps the total equal to the sum of the entries through seeding, reports and reseeding", async function () {
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(300n * ONE);
      expect(await mirror.totalMirroredStake(ORIGIN + 1n)).to.equal(0n);
      const sum = async () =>
        (await mirror.mirroredStake(ORIGIN, a1)) +
        (await mirror.mirroredStake(ORIGIN, a2)) +
        (await mirror.mirroredStake(ORIGIN, a3));
      const steps: [string, bigint, number][] = [
        [a1, 250n * ONE, 10], // newer increase
        [a2, 40n * ONE, 11], // newer decrease
        [a1, 500n * ONE, 3], // older increase: ignored
        [a1, 20n * ONE, 4], // older decrease: applied
        [a3, 0n, 12], // removal
      ];
      for (const [attester, stake, nonce] of steps) {
        await (
          await mirror.applyStakeReport(
            ORIGIN,
            await mirror.encodeStakeReport(attester, stake),
            nonce,
          )
        ).wait();
        expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(await sum());
      }
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(60n * ONE);
      await (await mirror.reseedMirror(ORIGIN, [a1, a3], [0n, 70n * ONE], 20)).wait();
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(await sum());
      expect(await mirror.totalMirroredStake(ORIGIN)).to.equal(110n * ONE);
    });
  });

  describe("reseeding (governance recovery)", function () {
    it("sets and removes listed entries, keeps the others, and lets no report from before the snapshot raise them", async function () {
      await expect(mirror.reseedMirror(ORIGIN, [a1, a2], [0n, 250n * ONE], 50))
        .to.emit(mirror, "MirrorReseeded")
        .withArgs(ORIGIN, [a1, a2], [0n, 250n * ONE], 50);
      expect(await mirror.mirroredStake(ORIGIN, a1)).to.equal(0n);
      expect(await mirror.isMirroredAttester(ORIGIN, a1)).to.equal(false);
      expect(await mirror.mirroredStake(ORIGIN, a2)).to.equal(250n * ONE);
      expect(await mirror.mirroredStake(ORIGIN, a3)).to.equal(100n * ONE);
      // A report dispatched before the snapshot cannot raise a reseeded entry; a decrease still
      // applies, and a report after the snapshot raises it.
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 90n * ONE), 49),
      )
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 49, STALE);
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a2, 10n * ONE), 3),
      )
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a2, 10n * ONE, 3);
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 90n * ONE), 50),
      )
        .to.emit(mirror, "MirrorUpdated")
        .withArgs(ORIGIN, a1, 90n * ONE, 50);
      // A lower `fromNonce` never moves an entry's nonce back.
      await (await mirror.reseedMirror(ORIGIN, [a1], [5n * ONE], 1)).wait();
      await expect(
        mirror.applyStakeReport(ORIGIN, await mirror.encodeStakeReport(a1, 90n * ONE), 50),
      )
        .to.emit(mirror, "StakeReportIgnored")
        .withArgs(ORIGIN, a1, 50, STALE);
    });

    it("refuses an origin never seeded, mismatched lists and the zero address", async function () {
      await expect(mirror.reseedMirror(ORIGIN + 1n, [a1], [1n], 0))
        .to.be.revertedWithCustomError(mirror, "MirrorNotInitialized")
        .withArgs(ORIGIN + 1n);
      await expect(mirror.reseedMirror(ORIGIN, [a1, a2], [1n], 0))
        .to.be.revertedWithCustomError(mirror, "MirrorLengthMismatch")
        .withArgs(2, 1);
      await expect(
        mirror.reseedMirror(ORIGIN, [ethers.ZeroAddress], [1n], 0),
      ).to.be.revertedWithCustomError(mirror, "ZeroAttester");
    });
  });

  describe("policy coverage (griefing cap)", function () {
    it("lets recipients' own policies hold at most half of the mirrored total at any moment, in the exposure buckets", async function () {
      const at = async (t: number) => {
        await networkHelpers.time.setNextBlockTimestamp(t);
        await networkHelpers.mine();
      };
      // The start of a bucket (epoch e).
      const now = await networkHelpers.time.latest();
      const t0 = (Math.floor(now / BUCKET) + 2) * BUCKET;
      await networkHelpers.time.setNextBlockTimestamp(t0);
      await (await mirror.chargePolicyCoverage(ORIGIN, 100n * ONE)).wait();
      expect(await mirror.policyCoverageAvailable(ORIGIN)).to.equal(50n * ONE);
      await expect(mirror.chargePolicyCoverage(ORIGIN, 50n * ONE + 1n))
        .to.be.revertedWithCustomError(mirror, "PolicyCoverageExhausted")
        .withArgs(50n * ONE + 1n, 50n * ONE);
      // One bucket later (epoch e + 1) the rest goes.
      await networkHelpers.time.setNextBlockTimestamp(t0 + BUCKET);
      await (await mirror.chargePolicyCoverage(ORIGIN, 50n * ONE)).wait();
      await expect(mirror.chargePolicyCoverage(ORIGIN, 1n))
        .to.be.revertedWithCustomError(mirror, "PolicyCoverageExhausted")
        .withArgs(1n, 0n);
      // A charge stays live as long as an exposure would: through epoch e + 8 (W after it, the
      // last second of the window included), out at e + 9. No fixed window restarts the count.
      await at(t0 + W + BUCKET - 1);
      expect(await mirror.policyCoverageAvailable(ORIGIN)).to.equal(0n);
      await at(t0 + W + BUCKET);
      expect(await mirror.policyCoverageAvailable(ORIGIN)).to.equal(100n * ONE);
      await at(t0 + W + 2 * BUCKET);
      expect(await mirror.policyCoverageAvailable(ORIGIN)).to.equal(150n * ONE);
    });
  });
});
