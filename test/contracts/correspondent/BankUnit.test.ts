/**
 * CorrespondentBank on three simulated chains (docs/protocol.md 3.7), with the real RouteRegistry
 * and Outbox on each and a harness in the Inbox's place (see bankFixture.ts): transfers both ways,
 * credit views, pending payouts and claims, thresholds and suspension, what a forged message can
 * reach, netting, and token quirks. Chain C's token has 6 decimals; A's and B's have 18.
 */
import { expect } from "chai";

import {
  createBankChain,
  dispatched,
  enrollAll,
  relay,
  settle,
  snapshotAll,
  wad,
  word,
  type BankChain,
} from "./bankFixture.js";
import {
  decodeTransferBody,
  encodeNettingReply,
  encodeNettingRequest,
  encodeReserveReport,
} from "../../../relayer/protocol/index.js";

const EMPTY = "0x";
const RESERVE = 1_000n; // whole tokens each community posts on each peer

describe("CorrespondentBank (unit, three chains)", function () {
  let A: BankChain, B: BankChain, C: BankChain;
  let chains: BankChain[];
  let restoreFunded: () => Promise<void>;

  /** Posts `tokens` whole tokens for `peer` on `holder` (by a user of the holder chain). */
  async function fund(
    holder: BankChain,
    peer: BankChain,
    tokens: bigint,
    userIndex = 5,
  ): Promise<void> {
    await (
      await holder.bank.connect(holder.users[userIndex]).fund(peer.code, tokens * holder.unit)
    ).wait();
  }

  async function balance(chain: BankChain, who: { address: string } | string): Promise<bigint> {
    return chain.token.balanceOf(typeof who === "string" ? who : who.address);
  }

  async function bankBalance(chain: BankChain): Promise<bigint> {
    return chain.token.balanceOf(await chain.bank.getAddress());
  }

  /** Delivers a message no honest origin dispatched, as an Inbox fooled by lying attesters would. */
  async function forgedPayout(
    holder: BankChain,
    origin: BankChain,
    recipient: string,
    amount: bigint,
    tag: string,
  ): Promise<void> {
    const id = holder.connection.ethers.id(`forged:${tag}`);
    await (
      await holder.inbox.payout(await holder.bank.getAddress(), origin.code, id, recipient, amount)
    ).wait();
  }

  before(async function () {
    A = await createBankChain("chainA");
    B = await createBankChain("chainB");
    C = await createBankChain("chainC", { decimals: 6 });
    chains = [A, B, C];
    await enrollAll(chains);
    // Every community posts RESERVE on every peer; the holders report; the reports are relayed.
    for (const holder of chains) {
      for (const peer of chains) if (peer !== holder) await fund(holder, peer, RESERVE);
    }
    await settle(chains);
    restoreFunded = await snapshotAll(chains);
  });

  beforeEach(async function () {
    await restoreFunded();
  });

  describe("construction and access", function () {
    it("derives the scale from the token's decimals", async function () {
      expect(await A.bank.scale()).to.equal(1n);
      expect(await C.bank.scale()).to.equal(10n ** 12n);
    });

    it("refuses a token with more than 18 decimals", async function () {
      const { ethers } = A.connection;
      const token = await (
        await ethers.getContractFactory("BankQuirkToken", A.deployer)
      ).deploy(19);
      const factory = await ethers.getContractFactory("CorrespondentBank", A.deployer);
      await expect(factory.deploy(await A.registry.getAddress(), await token.getAddress()))
        .to.be.revertedWithCustomError(A.bank, "UnsupportedDecimals")
        .withArgs(19);
    });

    it("lets only the Inbox call payout and onBankMessage", async function () {
      const user = A.users[0];
      await expect(
        A.bank.connect(user).payout(B.code, A.connection.ethers.ZeroHash, user.address, 1n),
      )
        .to.be.revertedWithCustomError(A.bank, "NotInbox")
        .withArgs(user.address);
      const body = encodeNettingReply({ amount: 1n });
      await expect(A.bank.connect(user).onBankMessage(B.code, 0, body, user.address))
        .to.be.revertedWithCustomError(A.bank, "NotInbox")
        .withArgs(user.address);
    });

    it("lets only the registry's owner set thresholds, with floor <= lowWater", async function () {
      const [user, successor] = A.users;
      await expect(A.bank.connect(user).setThresholds(B.code, 0, 10, 5))
        .to.be.revertedWithCustomError(A.bank, "NotGovernance")
        .withArgs(user.address);
      await expect(A.bank.setThresholds(B.code, 0, 5, 10)).to.be.revertedWithCustomError(
        A.bank,
        "InvalidThresholds",
      );
      await expect(A.bank.setThresholds(0xdeadn, 0, 5, 1))
        .to.be.revertedWithCustomError(A.bank, "UnknownPeer")
        .withArgs(0xdeadn);
      await expect(A.bank.setThresholds(B.code, 7, 10, 5))
        .to.emit(A.bank, "ThresholdsSet")
        .withArgs(B.code, 7, 10, 5);
      // Governance follows the registry: a new owner governs the bank too, the old one no more.
      await (await A.registry.transferOwnership(successor.address)).wait();
      expect(await A.bank.governance()).to.equal(successor.address);
      await expect(A.bank.setThresholds(B.code, 0, 0, 0)).to.be.revertedWithCustomError(
        A.bank,
        "NotGovernance",
      );
      await expect(A.bank.connect(successor).setThresholds(B.code, 0, 0, 0)).to.emit(
        A.bank,
        "ThresholdsSet",
      );
    });
  });

  describe("funding and credit views", function () {
    it("starts every credit view at 0 until the first report, then follows the reports", async function () {
      // Fresh chains: nothing funded, nothing reported.
      const [P, Q] = [await createBankChain("chainA"), await createBankChain("chainB")];
      await enrollAll([P, Q]);
      const alice = P.users[0];
      expect(await P.bank.creditView(Q.code)).to.equal(0n);
      await expect(P.bank.connect(alice).send(Q.code, word(Q.users[0].address), wad(1), EMPTY))
        .to.be.revertedWithCustomError(P.bank, "InsufficientCredit")
        .withArgs(wad(1), 0n);

      await expect(Q.bank.connect(Q.users[5]).fund(P.code, 300n * Q.unit))
        .to.emit(Q.bank, "Funded")
        .withArgs(P.code, Q.users[5].address, 300n * Q.unit)
        .and.to.emit(Q.bank, "ReserveReported");
      expect(await Q.bank.reserve(P.code)).to.equal(300n * Q.unit);
      expect(await P.bank.creditView(Q.code)).to.equal(0n); // not relayed yet
      await relay(Q, P);
      expect(await P.bank.creditView(Q.code)).to.equal(wad(300));
    });

    it("refuses funding an unknown peer or zero", async function () {
      await expect(A.bank.connect(A.users[0]).fund(0xdeadn, 1n))
        .to.be.revertedWithCustomError(A.bank, "UnknownPeer")
        .withArgs(0xdeadn);
      await expect(A.bank.connect(A.users[0]).fund(B.code, 0n)).to.be.revertedWithCustomError(
        A.bank,
        "ZeroAmount",
      );
    });

    it("credits a fee-on-transfer token by what arrived, and refuses such a token for sends", async function () {
      await (await B.token.setFeeBps(100)).wait(); // 1%
      const before = await B.bank.reserve(A.code);
      await expect(B.bank.connect(B.users[5]).fund(A.code, 1_000n))
        .to.emit(B.bank, "Funded")
        .withArgs(A.code, B.users[5].address, 990n);
      expect(await B.bank.reserve(A.code)).to.equal(before + 990n);
      await expect(B.bank.connect(B.users[0]).send(A.code, word(A.users[0].address), 1_000n, EMPTY))
        .to.be.revertedWithCustomError(B.bank, "TransferShort")
        .withArgs(1_000n, 990n);
    });

    it("reports on demand (anyone) and refuses reporting an unknown peer", async function () {
      await expect(B.bank.connect(B.users[3]).report(A.code))
        .to.emit(B.bank, "ReserveReported")
        .withArgs(A.code, wad(RESERVE), 0n, 0n, (id: string) => id.length === 66);
      await expect(B.bank.report(0xdeadn)).to.be.revertedWithCustomError(B.bank, "UnknownPeer");
    });

    it("applies only reports newer than the last applied one", async function () {
      // Two reports from B: the first says RESERVE + 50, the second RESERVE + 20 (a payout of 30).
      // The older one would raise the credit view again: it is stale.
      await fund(B, A, 50n);
      await forgedPayout(B, A, B.users[3].address, wad(30), "older-report");
      const reports = (await dispatched(B))
        .filter((m) => m.destination === A.code)
        .map((m) => m.nonce);
      const [older, newer] = reports.slice(-2);
      await relay(B, A, { nonces: [newer] });
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE + 20n));
      const tx = A.inbox.bankMessage(
        await A.bank.getAddress(),
        B.code,
        older,
        (await dispatched(B)).find((m) => m.nonce === older)!.body,
      );
      await expect(tx).to.emit(A.bank, "ReportIgnored").withArgs(B.code, older);
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE + 20n));
      const [latest, hasReport, nonce] = await A.bank.peerReport(B.code);
      expect(hasReport).to.equal(true);
      expect(nonce).to.equal(newer);
      expect(latest.reserve).to.equal(wad(RESERVE + 20n));
    });

    it("applies an older report that lowers the credit view or suspends, never an older increase or resume", async function () {
      // A report at a high nonce (as a forged one at the last nonce would be) must not freeze the
      // view against drops and suspensions (docs/protocol.md 3.7, Finding 3b).
      const bank = await A.bank.getAddress();
      const high = 4_000_000;
      const deliver = (nonce: number, reserve: bigint, suspended = false) =>
        A.inbox.bankMessage(
          bank,
          B.code,
          nonce,
          encodeReserveReport({ reserve, pending: 0n, received: 0n, suspended }),
        );
      await (await deliver(high, wad(RESERVE))).wait();
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE));
      // A drop at an older nonce applies; the highest nonce stays.
      await expect(deliver(5, wad(RESERVE - 300n))).to.emit(A.bank, "ReportReceived");
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 300n));
      expect((await A.bank.peerReport(B.code)).nonce).to.equal(high);
      // An older increase is stale.
      await expect(deliver(6, wad(RESERVE - 100n)))
        .to.emit(A.bank, "ReportIgnored")
        .withArgs(B.code, 6);
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 300n));
      // An older suspension applies; an older resume does not.
      await expect(deliver(7, wad(RESERVE), true)).to.emit(A.bank, "ReportReceived");
      expect(await A.bank.creditView(B.code)).to.equal(0n);
      await expect(deliver(8, wad(RESERVE)))
        .to.emit(A.bank, "ReportIgnored")
        .withArgs(B.code, 8);
      expect((await A.bank.peerReport(B.code)).latest.suspended).to.equal(true);
      // A newer report resumes and may increase.
      await expect(deliver(high + 1, wad(RESERVE))).to.emit(A.bank, "ReportReceived");
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE));
      expect((await A.bank.peerReport(B.code)).nonce).to.equal(high + 1);
    });
  });

  describe("transfers", function () {
    it("moves value A→B and B→A, with balances right on both sides after each step", async function () {
      const alice = A.users[0];
      const bob = B.users[0];
      const aliceA0 = await balance(A, alice);
      const bankA0 = await bankBalance(A);
      const bobB0 = await balance(B, bob);
      const bankB0 = await bankBalance(B);

      // A → B: 100 tokens.
      await expect(A.bank.connect(alice).send(B.code, word(bob.address), wad(100), "0x1234"))
        .to.emit(A.bank, "Sent")
        .withArgs(
          (id: string) => id.length === 66,
          B.code,
          word(bob.address),
          alice.address,
          wad(100),
        );
      expect(await balance(A, alice)).to.equal(aliceA0 - wad(100));
      expect(await bankBalance(A)).to.equal(bankA0 + wad(100));
      expect(await A.bank.pool(B.code)).to.equal(wad(100));
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 100n)); // unreflected send subtracted
      expect(await balance(B, bob)).to.equal(bobB0); // nothing on B before delivery

      const [transfer] = (await dispatched(A)).slice(-1);
      const { sender, body: userBody } = decodeTransferBody(transfer.body as `0x${string}`);
      expect(sender).to.equal(word(alice.address));
      expect(userBody).to.equal("0x1234");

      await relay(A, B);
      expect(await balance(B, bob)).to.equal(bobB0 + wad(100));
      expect(await bankBalance(B)).to.equal(bankB0 - wad(100));
      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE - 100n));
      expect(await B.bank.received(A.code)).to.equal(wad(100));
      expect(await balance(A, alice)).to.equal(aliceA0 - wad(100)); // A unchanged by the delivery
      await relay(B, A); // B's report
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 100n));

      // B → A: 40 tokens back.
      await (await B.bank.connect(bob).send(A.code, word(alice.address), wad(40), EMPTY)).wait();
      expect(await balance(B, bob)).to.equal(bobB0 + wad(60));
      expect(await bankBalance(B)).to.equal(bankB0 - wad(60));
      expect(await B.bank.pool(A.code)).to.equal(wad(40));
      await relay(B, A);
      expect(await balance(A, alice)).to.equal(aliceA0 - wad(60));
      expect(await bankBalance(A)).to.equal(bankA0 + wad(60));
      expect(await A.bank.reserve(B.code)).to.equal(wad(RESERVE - 40n));
      await settle(chains);
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 100n));
      expect(await B.bank.creditView(A.code)).to.equal(wad(RESERVE - 40n));
    });

    it("moves value between 18 and 6 decimals (A→C, C→A) at the same 18-decimal amount", async function () {
      const alice = A.users[0];
      const carol = C.users[0];
      const carol0 = await balance(C, carol);
      const alice0 = await balance(A, alice);
      await (
        await A.bank
          .connect(alice)
          .send(C.code, word(carol.address), wad(25) + 5n * 10n ** 17n, EMPTY)
      ).wait();
      await relay(A, C);
      expect(await balance(C, carol)).to.equal(carol0 + 25_500_000n); // 25.5 tokens of 6 decimals
      expect(await C.bank.reserve(A.code)).to.equal(RESERVE * C.unit - 25_500_000n);

      await (
        await C.bank
          .connect(carol)
          .send(A.code, word(alice.address), 1_250_000_000_000_000_000n, EMPTY)
      ).wait();
      expect(await balance(C, carol)).to.equal(carol0 + 24_250_000n);
      await relay(C, A);
      expect(await balance(A, alice)).to.equal(
        alice0 - wad(25) - 5n * 10n ** 17n + 1_250_000_000_000_000_000n,
      );
    });

    it("refuses amounts that are not whole units of our token or of the peer's", async function () {
      const alice = A.users[0];
      const carol = C.users[0];
      // 18 → 6 decimals: 10^12 + 1 is exact on A but not on C.
      await expect(A.bank.connect(alice).send(C.code, word(carol.address), 10n ** 12n + 1n, EMPTY))
        .to.be.revertedWithCustomError(A.bank, "InexactAmount")
        .withArgs(10n ** 12n + 1n);
      // 6 decimals: less than one unit of C's own token.
      await expect(C.bank.connect(carol).send(A.code, word(alice.address), 10n ** 11n, EMPTY))
        .to.be.revertedWithCustomError(C.bank, "InexactAmount")
        .withArgs(10n ** 11n);
      await expect(
        A.bank.connect(alice).send(C.code, word(carol.address), 10n ** 12n, EMPTY),
      ).to.emit(A.bank, "Sent");
    });

    it("refuses a zero amount, a zero recipient and the peer's bank as recipient", async function () {
      const alice = A.users[0];
      await expect(
        A.bank.connect(alice).send(B.code, word(alice.address), 0n, EMPTY),
      ).to.be.revertedWithCustomError(A.bank, "ZeroAmount");
      const zero = A.connection.ethers.ZeroHash;
      await expect(A.bank.connect(alice).send(B.code, zero, wad(1), EMPTY))
        .to.be.revertedWithCustomError(A.bank, "InvalidRecipient")
        .withArgs(zero);
      const peerBank = word(await B.bank.getAddress());
      await expect(A.bank.connect(alice).send(B.code, peerBank, wad(1), EMPTY))
        .to.be.revertedWithCustomError(A.bank, "InvalidRecipient")
        .withArgs(peerBank);
    });

    it("refuses a send above the credit view on A before any token moves", async function () {
      const alice = A.users[0];
      const bob = B.users[0];
      const alice0 = await balance(A, alice);
      const bank0 = await bankBalance(A);
      const count0 = await A.outbox.count();
      await expect(A.bank.connect(alice).send(B.code, word(bob.address), wad(RESERVE) + 1n, EMPTY))
        .to.be.revertedWithCustomError(A.bank, "InsufficientCredit")
        .withArgs(wad(RESERVE) + 1n, wad(RESERVE));
      // Sends not reflected in a report yet count against the credit.
      await (await A.bank.connect(alice).send(B.code, word(bob.address), wad(600), EMPTY)).wait();
      await expect(A.bank.connect(alice).send(B.code, word(bob.address), wad(401), EMPTY))
        .to.be.revertedWithCustomError(A.bank, "InsufficientCredit")
        .withArgs(wad(401), wad(400));
      expect(await balance(A, alice)).to.equal(alice0 - wad(600));
      expect(await bankBalance(A)).to.equal(bank0 + wad(600));
      expect(await A.outbox.count()).to.equal(count0 + 1n);
      await (await A.bank.connect(alice).send(B.code, word(bob.address), wad(400), EMPTY)).wait();
      expect(await A.bank.creditView(B.code)).to.equal(0n);
    });
  });

  describe("payouts", function () {
    it("books a payout against a short reserve as pending, pays it by claim after a top-up, once", async function () {
      const alice = A.users[0];
      const bob = B.users[0];
      const mallory = B.users[4];
      // Alice sends her whole credit; before it arrives a forged message drains 1 token of A's reserve.
      await (
        await A.bank.connect(alice).send(B.code, word(bob.address), wad(RESERVE), EMPTY)
      ).wait();
      await forgedPayout(B, A, mallory.address, wad(1), "drain");
      const bob0 = await balance(B, bob);
      const [transfer] = (await dispatched(A)).slice(-1);
      await relay(A, B);
      const payout = await B.bank.payoutOf(transfer.id);
      expect(payout.status).to.equal(1n); // Pending
      expect(payout.amount).to.equal(wad(RESERVE));
      expect(await balance(B, bob)).to.equal(bob0);
      expect(await B.bank.pendingPayouts(A.code)).to.equal(wad(RESERVE));
      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE - 1n));

      await expect(B.bank.claim(transfer.id))
        .to.be.revertedWithCustomError(B.bank, "ReserveShort")
        .withArgs(wad(RESERVE), wad(RESERVE - 1n));
      await fund(B, A, 1n);
      await expect(B.bank.connect(B.users[3]).claim(transfer.id))
        .to.emit(B.bank, "Claimed")
        .withArgs(transfer.id, bob.address, wad(RESERVE));
      expect(await balance(B, bob)).to.equal(bob0 + wad(RESERVE));
      expect(await B.bank.reserve(A.code)).to.equal(0n);
      expect(await B.bank.pendingPayouts(A.code)).to.equal(0n);
      await expect(B.bank.claim(transfer.id))
        .to.be.revertedWithCustomError(B.bank, "NotPending")
        .withArgs(transfer.id);
      // A re-delivery of the same message pays nothing more.
      await (
        await B.inbox.payout(
          await B.bank.getAddress(),
          A.code,
          transfer.id,
          bob.address,
          transfer.amount,
        )
      ).wait();
      expect(await balance(B, bob)).to.equal(bob0 + wad(RESERVE));
    });

    it("keeps no record of a transfer paid at delivery, and a record of a pending one until paid", async function () {
      const [bob, dave] = B.users;
      const bank = await B.bank.getAddress();
      const id = B.connection.ethers.id("paid at once");
      const bob0 = await balance(B, bob);
      await expect(B.inbox.payout(bank, A.code, id, bob.address, wad(10)))
        .to.emit(B.bank, "PaidOut")
        .withArgs(id, A.code, bob.address, wad(10));
      // No record: a paid transfer costs no new storage slot. The Inbox never asks again for it
      // (replay bitmap; a retry after a reverted handler does not call payout): protocol.md 3.7.
      const record = await B.bank.payoutOf(id);
      expect([record.status, record.origin, record.recipient, record.amount]).to.deep.equal([
        0n,
        0n,
        B.connection.ethers.ZeroAddress,
        0n,
      ]);
      expect(await balance(B, bob)).to.equal(bob0 + wad(10));
      expect(await B.bank.received(A.code)).to.equal(wad(10));
      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE - 10n));
      await expect(B.bank.claim(id)).to.be.revertedWithCustomError(B.bank, "NotPending");

      // A pending payout has a record, and a second call for it neither pays nor books again.
      const pending = B.connection.ethers.id("pending");
      const dave0 = await balance(B, dave);
      await (await B.inbox.payout(bank, A.code, pending, dave.address, wad(RESERVE))).wait();
      await (await B.inbox.payout(bank, A.code, pending, dave.address, wad(RESERVE))).wait();
      const booked = await B.bank.payoutOf(pending);
      expect([booked.status, booked.origin, booked.recipient, booked.amount]).to.deep.equal([
        1n,
        A.code,
        dave.address,
        wad(RESERVE),
      ]);
      expect(await balance(B, dave)).to.equal(dave0);
      expect(await B.bank.received(A.code)).to.equal(wad(10n + RESERVE));
      expect(await B.bank.pendingPayouts(A.code)).to.equal(wad(RESERVE));
      // Paid by claim once the reserve covers it; afterwards the record says paid and a call for
      // the id returns true without paying.
      await fund(B, A, 10n);
      await (await B.bank.claim(pending)).wait();
      expect((await B.bank.payoutOf(pending)).status).to.equal(2n);
      expect(
        await B.inbox.payout.staticCall(bank, A.code, pending, dave.address, wad(RESERVE)),
      ).to.equal(true);
      await expect(B.inbox.payout(bank, A.code, pending, dave.address, wad(RESERVE))).to.not.emit(
        B.bank,
        "Claimed",
      );
      expect(await balance(B, dave)).to.equal(dave0 + wad(RESERVE));
      expect(await B.bank.received(A.code)).to.equal(wad(10n + RESERVE));
    });

    it("pays a pending payout when the Inbox retries it after a top-up (payout called again)", async function () {
      const bob = B.users[0];
      const bank = await B.bank.getAddress();
      const id = B.connection.ethers.id("retry");
      const bob0 = await balance(B, bob);
      await (await B.inbox.payout(bank, A.code, id, bob.address, wad(RESERVE + 5n))).wait();
      expect((await B.bank.payoutOf(id)).status).to.equal(1n);
      // Still short: stays pending.
      await (await B.inbox.payout(bank, A.code, id, bob.address, wad(RESERVE + 5n))).wait();
      expect(await balance(B, bob)).to.equal(bob0);
      await fund(B, A, 5n);
      await expect(B.inbox.payout(bank, A.code, id, bob.address, wad(RESERVE + 5n)))
        .to.emit(B.bank, "Claimed")
        .withArgs(id, bob.address, wad(RESERVE + 5n));
      expect(await balance(B, bob)).to.equal(bob0 + wad(RESERVE + 5n));
      await expect(B.bank.claim(id)).to.be.revertedWithCustomError(B.bank, "NotPending");
      expect(await B.bank.received(A.code)).to.equal(wad(RESERVE + 5n));
    });

    it("lets booked pending payouts go first: a new payout waits while reserve − pending is short", async function () {
      const bank = await B.bank.getAddress();
      const [bob, dave] = B.users;
      const big = B.connection.ethers.id("big");
      const small = B.connection.ethers.id("small");
      await (await B.inbox.payout(bank, A.code, big, bob.address, wad(RESERVE + 1n))).wait(); // pending
      await (await B.inbox.payout(bank, A.code, small, dave.address, wad(1))).wait(); // reserve covers it, pending doesn't
      expect((await B.bank.payoutOf(small)).status).to.equal(1n);
      expect(await B.bank.pendingPayouts(A.code)).to.equal(wad(RESERVE + 2n));
    });

    it("books an inexact amount pending with the rounded-down local amount, never pays it at delivery", async function () {
      const carol = C.users[0];
      const bank = await C.bank.getAddress();
      const id = C.connection.ethers.id("inexact");
      const amount = 3n * 10n ** 12n + 7n; // 3 units of C's 6-decimal token and a bit
      const carol0 = await balance(C, carol);
      await expect(C.inbox.payout(bank, A.code, id, carol.address, amount))
        .to.emit(C.bank, "PayoutInexact")
        .withArgs(id, A.code, amount, 3n)
        .and.to.emit(C.bank, "PayoutPending")
        .withArgs(id, A.code, carol.address, 3n);
      expect(await balance(C, carol)).to.equal(carol0);
      expect(await C.bank.received(A.code)).to.equal(amount);
      await expect(C.bank.claim(id)).to.emit(C.bank, "Claimed").withArgs(id, carol.address, 3n);
      expect(await balance(C, carol)).to.equal(carol0 + 3n);
    });

    it("books a payout the token refuses to transfer as pending instead of reverting the delivery", async function () {
      const bob = B.users[0];
      await (await B.token.setBlocked(bob.address, true)).wait();
      await (
        await A.bank.connect(A.users[0]).send(B.code, word(bob.address), wad(7), EMPTY)
      ).wait();
      const [transfer] = (await dispatched(A)).slice(-1);
      await relay(A, B);
      expect((await B.bank.payoutOf(transfer.id)).status).to.equal(1n);
      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE));
      expect(await B.bank.pendingPayouts(A.code)).to.equal(wad(7));
      await expect(B.bank.claim(transfer.id)).to.be.revertedWithCustomError(
        B.token,
        "RecipientBlocked",
      );
      await (await B.token.setBlocked(bob.address, false)).wait();
      await expect(B.bank.claim(transfer.id))
        .to.emit(B.bank, "Claimed")
        .withArgs(transfer.id, bob.address, wad(7));
    });

    it("lets a forged A→B transfer drain only A's reserve on B: C's reserve and B's pools are untouched", async function () {
      // B's own users have sent to A and C, so B holds pools of its own community's money.
      await (
        await B.bank.connect(B.users[0]).send(A.code, word(A.users[0].address), wad(30), EMPTY)
      ).wait();
      await (
        await B.bank.connect(B.users[0]).send(C.code, word(C.users[0].address), wad(20), EMPTY)
      ).wait();
      const mallory = B.users[4];
      const mallory0 = await balance(B, mallory);
      const bank0 = await bankBalance(B);
      const reserveC0 = await B.bank.reserve(C.code);
      const poolA0 = await B.bank.pool(A.code);
      const poolC0 = await B.bank.pool(C.code);

      await forgedPayout(B, A, mallory.address, wad(400), "small");
      expect(await balance(B, mallory)).to.equal(mallory0 + wad(400));
      // A learns of the drain: B booked more from A than A ever sent, and that excess must not be
      // mistaken for A's sends being reflected (which would raise the credit back to RESERVE).
      await settle(chains);
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 400n));
      await forgedPayout(B, A, mallory.address, wad(RESERVE), "big"); // more than what is left of A's reserve
      expect(await balance(B, mallory)).to.equal(mallory0 + wad(400)); // pending, not paid from anything else
      await expect(
        B.bank.claim(B.connection.ethers.id("forged:big")),
      ).to.be.revertedWithCustomError(B.bank, "ReserveShort");

      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE - 400n));
      expect(await balance(B, mallory)).to.equal(mallory0 + wad(400));
      expect(await bankBalance(B)).to.equal(bank0 - wad(400));
      expect(await B.bank.reserve(C.code)).to.equal(reserveC0);
      expect(await B.bank.pool(A.code)).to.equal(poolA0);
      expect(await B.bank.pool(C.code)).to.equal(poolC0);
      expect(poolA0).to.equal(wad(30));

      // The pending forgery leaves A's reserve below its pending payouts: A's route is suspended.
      await settle(chains);
      expect(await B.bank.suspended(A.code)).to.equal(true);
      expect(await A.bank.creditView(B.code)).to.equal(0n);
    });
  });

  describe("thresholds and suspension", function () {
    it("requests a top-up below lowWater, suspends below the floor, resumes when topped up", async function () {
      const alice = A.users[0];
      const bob = B.users[0];
      await expect(B.bank.setThresholds(A.code, 0, 500n * B.unit, 200n * B.unit))
        .to.emit(B.bank, "ThresholdsSet")
        .and.not.to.emit(B.bank, "TopUpRequested");
      const send = (tokens: bigint) =>
        A.bank.connect(alice).send(B.code, word(bob.address), wad(tokens), EMPTY);
      const deliver = async () => {
        const [m] = (await dispatched(A)).slice(-1);
        return B.inbox
          .payout(await B.bank.getAddress(), A.code, m.id, bob.address, m.amount)
          .then(async (tx) => {
            B.delivered.add(`${A.code}:${m.nonce}`);
            return tx;
          });
      };

      await (await send(500n)).wait();
      await expect(deliver()).not.to.emit(B.bank, "TopUpRequested"); // net 500 = lowWater
      await (await send(1n)).wait();
      await expect(deliver()).to.emit(B.bank, "TopUpRequested").withArgs(A.code, wad(1));
      await (await send(299n)).wait();
      await expect(deliver())
        .to.emit(B.bank, "TopUpRequested")
        .withArgs(A.code, wad(300))
        .and.not.to.emit(B.bank, "RouteSuspended"); // net 200 = floor
      expect(await B.bank.suspended(A.code)).to.equal(false);
      await (await send(1n)).wait();
      await expect(deliver())
        .to.emit(B.bank, "RouteSuspended")
        .withArgs(A.code)
        .and.to.emit(B.bank, "ReserveReported");
      expect(await B.bank.suspended(A.code)).to.equal(true);

      // The suspension reaches A, which then refuses sends to B.
      await relay(B, A);
      expect(await A.bank.creditView(B.code)).to.equal(0n);
      const alice0 = await balance(A, alice);
      await expect(send(1n))
        .to.be.revertedWithCustomError(A.bank, "PeerSuspended")
        .withArgs(B.code);
      expect(await balance(A, alice)).to.equal(alice0);

      // A top-up to the floor resumes the route and tells A.
      await expect(B.bank.connect(B.users[5]).fund(A.code, 1n * B.unit))
        .to.emit(B.bank, "RouteResumed")
        .withArgs(A.code)
        .and.to.emit(B.bank, "TopUpRequested")
        .withArgs(A.code, wad(300));
      await relay(B, A);
      expect(await A.bank.creditView(B.code)).to.equal(wad(200));
      await expect(send(1n)).to.emit(A.bank, "Sent");
    });

    it("suspends at once when governance raises the floor above the reserve", async function () {
      await expect(B.bank.setThresholds(A.code, 0, wad(RESERVE + 1n), wad(RESERVE + 1n)))
        .to.emit(B.bank, "RouteSuspended")
        .and.to.emit(B.bank, "TopUpRequested")
        .withArgs(A.code, wad(1));
      await relay(B, A);
      await expect(
        A.bank.connect(A.users[0]).send(B.code, word(B.users[0].address), wad(1), EMPTY),
      ).to.be.revertedWithCustomError(A.bank, "PeerSuspended");
    });

    it("reports only when reserve − pending moved by more than the report threshold", async function () {
      await (await B.bank.setThresholds(A.code, wad(10), 0, 0)).wait();
      await expect(B.bank.connect(B.users[5]).fund(A.code, wad(10))).not.to.emit(
        B.bank,
        "ReserveReported",
      );
      await expect(B.bank.connect(B.users[5]).fund(A.code, 1n)).to.emit(B.bank, "ReserveReported");
      await expect(B.bank.connect(B.users[5]).fund(A.code, wad(10))).not.to.emit(
        B.bank,
        "ReserveReported",
      );
    });

    it("skips automatic reports while the route is paused, and catches up after", async function () {
      await (await B.registry.pauseRoute(A.code)).wait();
      await expect(B.bank.connect(B.users[5]).fund(A.code, wad(5))).not.to.emit(
        B.bank,
        "ReserveReported",
      );
      await (await B.registry.resumeRoute(A.code)).wait();
      await expect(B.bank.connect(B.users[5]).fund(A.code, 1n))
        .to.emit(B.bank, "ReserveReported")
        .withArgs(A.code, wad(RESERVE + 5n) + 1n, 0n, 0n, (id: string) => id.length === 66);
    });
  });

  describe("netting", function () {
    beforeEach(async function () {
      // Netting is opt-in per peer by governance (the deployer here): enable it everywhere.
      for (const self of chains) {
        for (const peer of chains) {
          if (peer !== self) await (await self.bank.setNetting(peer.code, true)).wait();
        }
      }
    });

    it("lets only governance enable netting, for an enrolled peer, and refuses net() while disabled", async function () {
      await expect(A.bank.connect(A.users[0]).setNetting(B.code, false))
        .to.be.revertedWithCustomError(A.bank, "NotGovernance")
        .withArgs(A.users[0].address);
      await expect(A.bank.setNetting(0xdeadn, true))
        .to.be.revertedWithCustomError(A.bank, "UnknownPeer")
        .withArgs(0xdeadn);
      await expect(A.bank.setNetting(B.code, false))
        .to.emit(A.bank, "NettingSet")
        .withArgs(B.code, false);
      expect(await A.bank.nettingEnabled(B.code)).to.equal(false);
      await (
        await A.bank.connect(A.users[0]).send(B.code, word(B.users[0].address), wad(30), EMPTY)
      ).wait();
      await expect(A.bank.net(B.code))
        .to.be.revertedWithCustomError(A.bank, "NettingDisabled")
        .withArgs(B.code);
    });

    it("answers a netting request with 0 and moves nothing while netting with its origin is disabled", async function () {
      await sendBothWays();
      const reserveA = await A.bank.reserve(B.code);
      await (await A.bank.net(B.code)).wait();
      await (await B.bank.setNetting(A.code, false)).wait();
      const poolB = await B.bank.pool(A.code);
      const reserveB = await B.bank.reserve(A.code);
      expect(
        await B.bank.bankMessageCoverage(A.code, 0, encodeNettingRequest({ amount: wad(300) })),
      ).to.equal(0n);
      await relay(A, B); // B declines: nothing moves, it replies 0
      expect(await B.bank.pool(A.code)).to.equal(poolB);
      expect(await B.bank.reserve(A.code)).to.equal(reserveB);
      const reply = (await dispatched(B)).filter((m) => m.destination === A.code).at(-1)!;
      expect(reply.body).to.equal(encodeNettingReply({ amount: 0n }));
      await relay(B, A); // the reply of 0 releases A's lock back into its pool
      expect(await A.bank.nettingLocked(B.code)).to.equal(0n);
      expect(await A.bank.pool(B.code)).to.equal(wad(300));
      expect(await A.bank.reserve(B.code)).to.equal(reserveA);
    });

    /** 300 sent from A to B and 200 from B to A, both delivered: pools of 300 on A, 200 on B. */
    async function sendBothWays(): Promise<void> {
      await (
        await A.bank.connect(A.users[0]).send(B.code, word(B.users[0].address), wad(300), EMPTY)
      ).wait();
      await (
        await B.bank.connect(B.users[0]).send(A.code, word(A.users[0].address), wad(200), EMPTY)
      ).wait();
      await settle(chains);
    }

    /** A community's total: its pools on its own chain plus its reserves held elsewhere. */
    async function communityTotal(self: BankChain, peer: BankChain): Promise<bigint> {
      const ownPool =
        (await self.bank.pool(peer.code)) + (await self.bank.nettingLocked(peer.code));
      return (
        ownPool * (await self.bank.scale()) +
        (await peer.bank.reserve(self.code)) * (await peer.bank.scale())
      );
    }

    it("moves min(pools) into each other's reserve and leaves each community's total unchanged", async function () {
      await sendBothWays();
      const totalA = await communityTotal(A, B);
      const totalB = await communityTotal(B, A);
      const bankA = await bankBalance(A);
      const bankB = await bankBalance(B);

      await expect(A.bank.connect(A.users[2]).net(B.code))
        .to.emit(A.bank, "NettingRequested")
        .withArgs(B.code, wad(300), (id: string) => id.length === 66);
      expect(await A.bank.pool(B.code)).to.equal(0n);
      expect(await A.bank.nettingLocked(B.code)).to.equal(wad(300));
      await expect(A.bank.net(B.code))
        .to.be.revertedWithCustomError(A.bank, "NettingInFlight")
        .withArgs(B.code);
      await relay(A, B); // B moves 200 of its pool into reserve[A] and replies 200
      expect(await B.bank.pool(A.code)).to.equal(0n);
      expect(await B.bank.reserve(A.code)).to.equal(wad(RESERVE - 300n + 200n));
      await relay(B, A); // A moves 200 into reserve[B], releases 100 back into its pool
      expect(await A.bank.nettingLocked(B.code)).to.equal(0n);
      expect(await A.bank.pool(B.code)).to.equal(wad(100));
      expect(await A.bank.reserve(B.code)).to.equal(wad(RESERVE - 200n + 200n));
      await settle(chains);

      expect(await communityTotal(A, B)).to.equal(totalA);
      expect(await communityTotal(B, A)).to.equal(totalB);
      expect(await bankBalance(A)).to.equal(bankA);
      expect(await bankBalance(B)).to.equal(bankB);
      // The credit views follow: A's reserve on B grew by 200, and so did B's on A.
      expect(await A.bank.creditView(B.code)).to.equal(wad(RESERVE - 300n + 200n));
      expect(await B.bank.creditView(A.code)).to.equal(wad(RESERVE));
    });

    it("nets across decimals (A 18, C 6) in whole units of both tokens", async function () {
      await (
        await A.bank.connect(A.users[0]).send(C.code, word(C.users[0].address), wad(50), EMPTY)
      ).wait();
      await (
        await C.bank.connect(C.users[0]).send(A.code, word(A.users[0].address), wad(20), EMPTY)
      ).wait();
      await settle(chains);
      const totalA = await communityTotal(A, C);
      const totalC = await communityTotal(C, A);
      await (await C.bank.net(A.code)).wait();
      await settle(chains);
      expect(await C.bank.pool(A.code)).to.equal(0n);
      expect(await A.bank.pool(C.code)).to.equal(wad(30));
      expect(await communityTotal(A, C)).to.equal(totalA);
      expect(await communityTotal(C, A)).to.equal(totalC);
    });

    it("stays value-neutral when both sides ask at once (both answer from their unlocked pool)", async function () {
      await sendBothWays();
      const totalA = await communityTotal(A, B);
      const totalB = await communityTotal(B, A);
      await (await A.bank.net(B.code)).wait();
      await (await B.bank.net(A.code)).wait();
      await settle(chains);
      expect(await A.bank.nettingLocked(B.code)).to.equal(0n);
      expect(await B.bank.nettingLocked(A.code)).to.equal(0n);
      expect(await communityTotal(A, B)).to.equal(totalA);
      expect(await communityTotal(B, A)).to.equal(totalB);
      // Nothing moved this time; a later request nets.
      await (await A.bank.net(B.code)).wait();
      await settle(chains);
      expect(await A.bank.pool(B.code)).to.equal(wad(100));
      expect(await B.bank.pool(A.code)).to.equal(0n);
    });

    it("refuses netting an empty pool and ignores a reply nobody asked for", async function () {
      await expect(A.bank.net(B.code)).to.be.revertedWithCustomError(A.bank, "ZeroAmount");
      const reply = encodeNettingReply({ amount: wad(5) });
      await expect(A.inbox.bankMessage(await A.bank.getAddress(), B.code, 999, reply))
        .to.emit(A.bank, "NettingReplyIgnored")
        .withArgs(B.code, wad(5));
      expect(await A.bank.reserve(B.code)).to.equal(wad(RESERVE));
    });
  });

  describe("bank messages and their value at risk", function () {
    it("values a report by the credit it grants, a request by what we would move, a reply by its amount", async function () {
      const report = (reserve: bigint, pending: bigint, received: bigint, suspended: boolean) =>
        encodeReserveReport({ reserve, pending, received, suspended });
      const newer = async () => (await A.bank.peerReport(B.code)).nonce + 1n;
      // A's credit at B is RESERVE now.
      expect(
        await A.bank.bankMessageCoverage(
          B.code,
          await newer(),
          report(wad(RESERVE + 7n), 0n, 0n, false),
        ),
      ).to.equal(wad(7));
      expect(
        await A.bank.bankMessageCoverage(
          B.code,
          await newer(),
          report(wad(RESERVE - 7n), 0n, 0n, false),
        ),
      ).to.equal(0n);
      expect(
        await A.bank.bankMessageCoverage(
          B.code,
          await newer(),
          report(wad(RESERVE + 7n), 0n, 0n, true),
        ),
      ).to.equal(0n);
      // An older report is never applied as an increase, so it costs nothing.
      expect(
        await A.bank.bankMessageCoverage(
          B.code,
          (await newer()) - 1n,
          report(wad(RESERVE + 7n), 0n, 0n, false),
        ),
      ).to.equal(0n);
      // A suspended route: lifting the suspension grants the whole credit.
      await (await B.bank.setThresholds(A.code, 0, wad(RESERVE + 1n), wad(RESERVE + 1n))).wait();
      await relay(B, A);
      expect(
        await A.bank.bankMessageCoverage(
          B.code,
          await newer(),
          report(wad(RESERVE), 0n, 0n, false),
        ),
      ).to.equal(wad(RESERVE));

      await (
        await A.bank.connect(A.users[0]).send(C.code, word(C.users[0].address), wad(40), EMPTY)
      ).wait();
      // Netting with C is disabled by default: a request moves nothing, so it costs nothing.
      expect(
        await A.bank.bankMessageCoverage(C.code, 0, encodeNettingRequest({ amount: wad(100) })),
      ).to.equal(0n);
      await (await A.bank.setNetting(C.code, true)).wait();
      expect(
        await A.bank.bankMessageCoverage(C.code, 0, encodeNettingRequest({ amount: wad(100) })),
      ).to.equal(wad(40));
      expect(
        await A.bank.bankMessageCoverage(C.code, 0, encodeNettingRequest({ amount: wad(15) })),
      ).to.equal(wad(15));
      expect(
        await A.bank.bankMessageCoverage(C.code, 0, encodeNettingReply({ amount: wad(123) })),
      ).to.equal(wad(123));
      await expect(A.bank.bankMessageCoverage(C.code, 0, "0x09")).to.be.revertedWithCustomError(
        A.bank,
        "UnknownBankMessage",
      );
    });

    it("rejects unknown and malformed bank messages", async function () {
      const bank = await A.bank.getAddress();
      await expect(A.inbox.bankMessage(bank, B.code, 1, "0x01" + "00".repeat(32)))
        .to.be.revertedWithCustomError(A.bank, "UnknownBankMessage")
        .withArgs(1);
      const good = encodeReserveReport({
        reserve: 1n,
        pending: 0n,
        received: 0n,
        suspended: true,
      });
      const badFlag = `${good.slice(0, 2 + 97 * 2)}02${good.slice(2 + 98 * 2)}`; // byte 97: the flag
      await expect(A.inbox.bankMessage(bank, B.code, 1, badFlag)).to.be.revertedWithCustomError(
        A.bank,
        "MalformedBankMessage",
      );
      await expect(A.inbox.bankMessage(bank, B.code, 1, good + "00")).to.be.revertedWithCustomError(
        A.bank,
        "MalformedBankMessage",
      );
    });
  });
});
