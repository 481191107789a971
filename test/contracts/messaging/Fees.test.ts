/**
 * Delivery fees on three chains (docs/protocol.md 3.9): B publishes its delivery price to A in the
 * reserve report it already sends; A's Outbox quotes from it (a lowering at once, a raise W later
 * and only if the signer of its report is still mirrored: a false price never raises a quote); a
 * sender pays the quote out of its prepaid balance (or with a transfer, through the bank) and the
 * fee travels in the message; B pays, once per batch out of A's reserve, the underwriting premium
 * to the signers in proportion to their coverage charges and the rest to whoever delivered it; a
 * lying checkpoint's fees are value at risk charged to its signers and come only out of the lying
 * side's reserve.
 */
import { expect } from "chai";
import { ethers } from "ethers";

import {
  addressToBytes32,
  buildDelivery,
  encodeMessage,
  encodeReserveReport,
  encodeTransferBody,
  type Hex,
  MerkleTree,
  messageId,
  treeCheckpoint,
} from "../../../relayer/protocol/index.js";
import { suiteAs } from "../../../deploy/suite.js";
import {
  dispatchedMessages,
  publishDeliveryPrice,
  relay,
  type TestChain,
} from "../../helpers/suite.js";
import {
  createMessagingNetwork,
  deliver,
  domainOf,
  signAll,
  type MessagingNetwork,
} from "./network.js";

const ONE = 10n ** 18n;
const PER_GAS = 2_000_000_000_000n; // settlement units per gas of B
const BASE = 10n ** 16n; // 0.01 per message
const HANDLER_GAS = 100_000n;
const RECIPIENT = addressToBytes32("0x000000000000000000000000000000000000bEEF");

describe("Delivery fees", function () {
  let net: MessagingNetwork;
  let a: TestChain, b: TestChain, c: TestChain;
  /** Ids of the forged leaves delivered so far in a test (they follow A's real leaves). */
  let forged: Hex[] = [];

  before(async function () {
    net = await createMessagingNetwork();
    ({ a, b, c } = net);
  });

  beforeEach(async function () {
    await net.restore();
    forged = [];
  });

  /** Posts `amount` into `origin`'s reserve on `holder` (the holder then reports to `origin`). */
  async function fundReserve(holder: TestChain, origin: TestChain, amount: bigint) {
    const [, funder] = await holder.connection.ethers.getSigners();
    const bank = suiteAs(holder.suite, funder);
    await (await bank.token.mint(funder.address, amount)).wait();
    await (await bank.token.approve(holder.suite.addresses.bank, amount)).wait();
    await (await bank.bank.fund(origin.suite.code, amount)).wait();
  }

  /** `chain`'s bank as its governance (the registry's owner, the timelock) calls it. */
  async function governanceOf(chain: TestChain) {
    const timelock = chain.suite.addresses.timelock;
    await chain.connection.networkHelpers.impersonateAccount(timelock);
    await chain.connection.networkHelpers.setBalance(timelock, 10n ** 20n);
    return chain.suite.bank.connect(await chain.connection.ethers.getSigner(timelock));
  }

  /** B prices A's messages, the price reaching A's Outbox after W (test/helpers/suite.ts). */
  const publishPrice = (perGas = PER_GAS, base = BASE, premiumPpm = 0) =>
    publishDeliveryPrice(b, a, { perGas, base, premiumPpm });

  /** Lets `chain`'s exposure window W pass. */
  async function passWindow(chain: TestChain) {
    const window = await chain.suite.inbox.exposureWindow();
    await chain.connection.networkHelpers.time.increase(window);
  }

  /** A user on A with `amount` of prepaid fees. */
  async function prepaidUser(amount: bigint) {
    const [, , user] = await a.connection.ethers.getSigners();
    const onA = suiteAs(a.suite, user);
    await (await onA.token.mint(user.address, amount)).wait();
    await (await onA.token.approve(a.suite.addresses.bank, amount)).wait();
    await (await onA.bank.prepayFees(amount)).wait();
    return { user, onA };
  }

  /** Events of B's bank in a receipt. */
  function bankEvents(receipt: ethers.TransactionReceipt | null, name: string) {
    const address = b.suite.addresses.bank.toLowerCase();
    return (receipt?.logs ?? [])
      .filter((l) => l.address.toLowerCase() === address)
      .map((l) => b.suite.bank.interface.parseLog(l)!)
      .filter((e) => e.name === name);
  }

  it("publishes B's price to A in B's reserve report, and A quotes from it", async function () {
    expect(await a.suite.outbox.quote(b.suite.code, 10, HANDLER_GAS, 0)).to.equal(0n);
    await publishPrice(PER_GAS, BASE, 500);
    const price = await a.suite.outbox.price(b.suite.code);
    expect([price.perGas, price.base, price.premiumPpm]).to.deep.equal([PER_GAS, BASE, 500n]);
    expect(await a.suite.outbox.quote(b.suite.code, 10, HANDLER_GAS, 1000n * ONE)).to.equal(
      BASE + PER_GAS * (HANDLER_GAS + 160n) + (1000n * ONE * 500n) / 1_000_000n,
    );
    // C never published one: its quote stays zero (self-relay, no fee).
    expect(await a.suite.outbox.quote(c.suite.code, 10, HANDLER_GAS, 0)).to.equal(0n);
  });

  it("takes the price only from a newer report: an older one that lowers the credit view does not roll it back", async function () {
    const governance = await governanceOf(b);
    await (await governance.setDeliveryPrice(a.suite.code, 1n, 1n, 0)).wait(); // report r1: reserve 0
    await fundReserve(b, a, 100n * ONE); // report: reserve 100, price 1
    await (await governance.setDeliveryPrice(a.suite.code, 2n, 2n, 0)).wait(); // r2: 100, price 2
    const reports = (await dispatchedMessages(b))
      .filter((m) => m.message.destination === a.suite.code)
      .slice(-3);
    await relay(b, a, { signers: b.attesters, nonces: [reports[2].nonce] });
    expect(await a.suite.bank.creditView(b.suite.code)).to.equal(100n * ONE);
    // A raise waits W, then applies.
    expect((await a.suite.outbox.price(b.suite.code)).perGas).to.equal(0n);
    await passWindow(a);
    await (await a.suite.bank.applyPendingPrice(b.suite.code)).wait();
    expect((await a.suite.outbox.price(b.suite.code)).perGas).to.equal(2n);
    // r1 is older and lowers A's credit view, so it applies; its price does not.
    await relay(b, a, { signers: b.attesters, nonces: [reports[0].nonce] });
    expect(await a.suite.bank.creditView(b.suite.code)).to.equal(0n);
    expect((await a.suite.outbox.price(b.suite.code)).perGas).to.equal(2n);
  });

  it("applies a lower price at once and a raise only after W, keeping the delay across reports that repeat it", async function () {
    await publishPrice(PER_GAS, BASE, 500);
    const governance = await governanceOf(b);
    // Lower perGas, raise base: the lower part applies at once, the raise waits.
    await (await governance.setDeliveryPrice(a.suite.code, PER_GAS / 2n, 2n * BASE, 500)).wait();
    await relay(b, a, { signers: b.attesters });
    let price = await a.suite.outbox.price(b.suite.code);
    expect([price.perGas, price.base]).to.deep.equal([PER_GAS / 2n, BASE]);
    const [, readyAt] = await a.suite.bank.pendingPrice(b.suite.code);
    await expect(a.suite.bank.applyPendingPrice(b.suite.code))
      .to.be.revertedWithCustomError(a.suite.bank, "PriceNotReady")
      .withArgs(b.suite.code, readyAt);
    // A later report with the same price does not restart the delay; once it has run, the next
    // such report applies it.
    await passWindow(a);
    await fundReserve(b, a, ONE); // B reports again: same price
    await relay(b, a, { signers: b.attesters });
    price = await a.suite.outbox.price(b.suite.code);
    expect([price.perGas, price.base]).to.deep.equal([PER_GAS / 2n, 2n * BASE]);
    await expect(a.suite.bank.applyPendingPrice(b.suite.code)).to.be.revertedWithCustomError(
      a.suite.bank,
      "NoPendingPrice",
    );
  });

  it("refuses a premium above the bound, and a price from anyone but governance", async function () {
    await expect(
      (await governanceOf(b)).setDeliveryPrice(a.suite.code, 1n, 1n, 10_001),
    ).to.be.revertedWithCustomError(b.suite.bank, "PremiumTooHigh");
    const [, other] = await b.connection.ethers.getSigners();
    await expect(
      suiteAs(b.suite, other).bank.setDeliveryPrice(a.suite.code, 1n, 1n, 0),
    ).to.be.revertedWithCustomError(b.suite.bank, "NotGovernance");
  });

  it("pays the relayer the quoted fee out of A's reserve on B, once per batch", async function () {
    await fundReserve(b, a, 100n * ONE);
    await publishPrice();
    const { user, onA } = await prepaidUser(10n * ONE);
    const quote = await a.suite.outbox.quote(b.suite.code, 2, HANDLER_GAS, 0);
    expect(quote).to.be.greaterThan(0n);
    const creditBefore = await a.suite.bank.creditView(b.suite.code);
    for (let i = 0; i < 3; i++) {
      await (
        await onA.outbox.dispatchWithFee(b.suite.code, RECIPIENT, "0xbeef", HANDLER_GAS, quote)
      ).wait();
    }
    expect(await a.suite.outbox.feeBalance(user.address)).to.equal(10n * ONE - 3n * quote);
    // A counts the fees like value it sent: they will be paid out of its reserve on B.
    expect(await a.suite.bank.creditView(b.suite.code)).to.equal(creditBefore - 3n * quote);
    expect(await a.suite.outbox.feesDispatched(b.suite.code)).to.equal(3n * quote);
    const sent = await dispatchedMessages(a);
    expect(sent.slice(-3).map((m) => m.message.fee)).to.deep.equal([quote, quote, quote]);

    const [, , , relayer] = await b.connection.ethers.getSigners();
    const reserveBefore = await b.suite.bank.reserve(a.suite.code);
    const receipt = await relay(a, b, { relayer });
    const paid = bankEvents(receipt!, "FeesPaid");
    expect(paid).to.have.length(1); // one payment for the whole batch
    expect(paid[0].args.deliverer).to.equal(relayer.address);
    expect(await b.suite.bank.earned(relayer.address)).to.equal(3n * quote);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(reserveBefore - 3n * quote);
    // Fee conservation: what B paid for A's messages is what A's senders paid.
    expect(await b.suite.bank.received(a.suite.code)).to.equal(
      (await a.suite.bank.sent(b.suite.code)) + (await a.suite.outbox.feesDispatched(b.suite.code)),
    );

    await expect(suiteAs(b.suite, relayer).bank.withdrawEarned())
      .to.emit(b.suite.bank, "FeesWithdrawn")
      .withArgs(relayer.address, 3n * quote);
    expect(await b.suite.token.balanceOf(relayer.address)).to.equal(3n * quote);
  });

  it("refuses a quote above the maximum fee and a short prepaid balance", async function () {
    await publishPrice();
    const { onA } = await prepaidUser(1n);
    const quote = await a.suite.outbox.quote(b.suite.code, 0, HANDLER_GAS, 0);
    await expect(onA.outbox.dispatchWithFee(b.suite.code, RECIPIENT, "0x", HANDLER_GAS, quote - 1n))
      .to.be.revertedWithCustomError(a.suite.outbox, "FeeAboveMax")
      .withArgs(quote, quote - 1n);
    await expect(onA.outbox.dispatchWithFee(b.suite.code, RECIPIENT, "0x", HANDLER_GAS, quote))
      .to.be.revertedWithCustomError(a.suite.outbox, "FeeBalanceShort")
      .withArgs(quote, 1n);
  });

  it("takes a transfer's fee with its amount, within the credit view", async function () {
    await fundReserve(b, a, 100n * ONE);
    await publishPrice(PER_GAS, BASE, 1_000);
    const [, , user] = await a.connection.ethers.getSigners();
    const onA = suiteAs(a.suite, user);
    await (await onA.token.mint(user.address, 20n * ONE)).wait();
    await (await onA.token.approve(a.suite.addresses.bank, 20n * ONE)).wait();
    const fee = await a.suite.outbox.quote(b.suite.code, 33, HANDLER_GAS, 10n * ONE);
    await (
      await onA.bank.sendWithFee(b.suite.code, RECIPIENT, 10n * ONE, "0x", HANDLER_GAS, fee)
    ).wait();
    expect(await a.suite.token.balanceOf(user.address)).to.equal(10n * ONE - fee);
    const [relayer] = await b.connection.ethers.getSigners();
    await relay(a, b); // signed by A's first attester alone: it takes the whole premium
    const premium = (10n * ONE * 1_000n) / 1_000_000n;
    expect(await b.suite.bank.earned(relayer.address)).to.equal(fee - premium);
    expect(await b.suite.bank.earned(a.attesters[0].address)).to.equal(premium);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(90n * ONE - fee);
    // More than the credit view with the fee is refused before any token moves.
    await relay(b, a, { signers: b.attesters });
    const credit = await a.suite.bank.creditView(b.suite.code);
    await expect(
      onA.bank.sendWithFee(b.suite.code, RECIPIENT, credit, "0x", HANDLER_GAS, ethers.MaxUint256),
    ).to.be.revertedWithCustomError(a.suite.bank, "InsufficientCredit");
  });

  it("books fees the reserve cannot cover as owed, paid once it is funded", async function () {
    await publishPrice();
    const { onA } = await prepaidUser(ONE);
    const quote = await a.suite.outbox.quote(b.suite.code, 0, HANDLER_GAS, 0);
    await (
      await onA.outbox.dispatchWithFee(b.suite.code, RECIPIENT, "0x", HANDLER_GAS, quote)
    ).wait();
    const [, , , relayer] = await b.connection.ethers.getSigners();
    const receipt = await relay(a, b, { relayer }); // reserve[A] on B is empty
    const [paid] = bankEvents(receipt!, "FeesPaid");
    expect([paid.args.paid, paid.args.owed]).to.deep.equal([0n, quote]);
    expect(await b.suite.bank.feesOwed(a.suite.code, relayer.address)).to.equal(quote);
    const asRelayer = suiteAs(b.suite, relayer).bank;
    await expect(asRelayer.claimFees(a.suite.code)).to.be.revertedWithCustomError(
      b.suite.bank,
      "ReserveShort",
    );
    await fundReserve(b, a, ONE);
    await (await asRelayer.claimFees(a.suite.code)).wait();
    expect(await b.suite.bank.earned(relayer.address)).to.equal(quote);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(0n);
  });

  /** Delivers to B a message with `fee` that A's Outbox never held, signed by A's `signers`. */
  async function deliverForged(
    fee: bigint,
    signers = a.attesters,
    fields: Partial<Parameters<typeof encodeMessage>[0]> = {},
  ) {
    const leaves = [...(await dispatchedMessages(a)).map((m) => m.id as Hex), ...forged];
    const message = encodeMessage({
      nonce: leaves.length,
      origin: a.suite.code,
      sender: addressToBytes32("0x0000000000000000000000000000000000001234"),
      destination: b.suite.code,
      recipient: RECIPIENT,
      amount: 0n,
      fee,
      body: "0x",
      ...fields,
    });
    const tree = MerkleTree.from([...leaves, messageId(message)]);
    forged.push(messageId(message));
    const checkpoint = treeCheckpoint(a.suite.code, tree);
    const built = buildDelivery({ tree, count: tree.count, messages: [message] });
    return deliver(b, {
      checkpoint,
      signatures: await signAll(signers, domainOf(a), checkpoint),
      messages: built.messages,
      proof: built.proof,
    });
  }

  it("charges a lying checkpoint's fees to its signers and pays them only out of the liars' reserve", async function () {
    await fundReserve(b, a, 5n * ONE);
    await fundReserve(b, c, 5n * ONE);
    const liar = a.attesters[0];
    const exposureBefore = await b.suite.inbox.exposure(a.suite.code, liar.address);
    const fee = 3n * ONE;
    await (await deliverForged(fee, [liar])).wait();
    // The fee is value at risk: charged to the signer like an amount.
    expect((await b.suite.inbox.exposure(a.suite.code, liar.address)) - exposureBefore).to.equal(
      fee,
    );
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(2n * ONE);
    expect(await b.suite.bank.reserve(c.suite.code)).to.equal(5n * ONE);
    // Fee conservation breaks only on the lying side: B paid more for A than A's senders paid.
    expect(await b.suite.bank.received(a.suite.code)).to.be.greaterThan(
      (await a.suite.bank.sent(b.suite.code)) + (await a.suite.outbox.feesDispatched(b.suite.code)),
    );
    // A fee beyond the signer's free capacity is refused whole.
    const free = await b.suite.inbox.freeCapacity(a.suite.code, liar.address);
    await expect(deliverForged(free + 1n, [liar])).to.be.revertedWithCustomError(
      b.suite.inbox,
      "InsufficientCoverage",
    );
  });

  /**
   * Issue 17, "a false price": B's attester `liar` signs a checkpoint of B that A's Outbox-side
   * never had, holding a made-up reserve report of B's bank that prices A's messages at `price`.
   * Placed 50 nonces beyond B's count (a premature count: provable on B), so B's real later
   * messages keep their nonces.
   */
  async function forgeReport(liar: (typeof b.attesters)[number], perGas: bigint, base: bigint) {
    const leaves = (await dispatchedMessages(b)).map((m) => m.id as Hex);
    const nonce = leaves.length + 50;
    const message = encodeMessage({
      nonce,
      origin: b.suite.code,
      sender: addressToBytes32(b.suite.addresses.bank as Hex),
      destination: a.suite.code,
      recipient: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 0n,
      body: encodeReserveReport({
        reserve: 0n,
        pending: 0n,
        received: 0n,
        suspended: false,
        perGas,
        base,
        premiumPpm: 0,
      }),
    });
    while (leaves.length < nonce) leaves.push(ethers.ZeroHash as Hex);
    const tree = MerkleTree.from([...leaves, messageId(message)]);
    const checkpoint = treeCheckpoint(b.suite.code, tree);
    const built = buildDelivery({ tree, count: tree.count, messages: [message] });
    const [signature] = await signAll([liar], domainOf(b), checkpoint);
    await (
      await deliver(a, {
        checkpoint,
        signatures: [signature],
        messages: built.messages,
        proof: built.proof,
      })
    ).wait();
    return { checkpoint, signature };
  }

  it("a false price cannot raise what A's senders pay: the raise waits W and is dropped once its signer is proven", async function () {
    await fundReserve(b, a, 100n * ONE);
    await publishPrice();
    const honestQuote = await a.suite.outbox.quote(b.suite.code, 2, HANDLER_GAS, 0);
    const { user, onA } = await prepaidUser(100n * ONE);
    // B's liar makes up a report pricing A's messages 1,000 times higher.
    const liar = b.attesters[0];
    const lie = await forgeReport(liar, PER_GAS * 1000n, BASE * 1000n);
    // Before the fix the price applied at once and a sender with a loose maximum paid ~1,000×.
    expect(await a.suite.outbox.quote(b.suite.code, 2, HANDLER_GAS, 0)).to.equal(honestQuote);
    const balance = await a.suite.outbox.feeBalance(user.address);
    await (
      await onA.outbox.dispatchWithFee(b.suite.code, RECIPIENT, "0xbeef", HANDLER_GAS, 10n * ONE)
    ).wait();
    expect(balance - (await a.suite.outbox.feeBalance(user.address))).to.equal(honestQuote);

    // The watcher proves the lie on B; the zero report reaches A with the honest majority.
    const [, , , prover] = await b.connection.ethers.getSigners();
    await (
      await suiteAs(b.suite, prover).stakingHub.proveFraud(lie.checkpoint, lie.signature)
    ).wait();
    await relay(b, a, { signers: b.attesters.slice(1) });
    expect(await a.suite.inbox.mirroredStake(b.suite.code, liar.address)).to.equal(0n);
    // W later the raise is dropped, not applied.
    await passWindow(a);
    await expect(a.suite.bank.applyPendingPrice(b.suite.code))
      .to.emit(a.suite.bank, "PriceRaiseDropped")
      .withArgs(b.suite.code, ethers.encodeBytes32String("signer removed"));
    expect(await a.suite.outbox.quote(b.suite.code, 2, HANDLER_GAS, 0)).to.equal(honestQuote);
  });

  it("pays the underwriting premium to the signers in proportion to their charged coverage, the rest of the fee to the relayer", async function () {
    const PPM = 10_000n; // 1 % of the amount carried
    await fundReserve(b, a, 120n * ONE); // two reports of it must fit what B's attesters vouch for
    await publishPrice(PER_GAS, BASE, Number(PPM));
    await relay(b, a, { signers: b.attesters }); // A's credit view of its reserve on B
    // More than the first signer's free capacity, so the greedy charge spans two signers.
    const signers = [...a.attesters].sort((x, y) =>
      BigInt(x.address) < BigInt(y.address) ? -1 : 1,
    );
    const first = await b.suite.inbox.freeCapacity(a.suite.code, signers[0].address);
    const amount = first + 7n * ONE;
    const [, , user] = await a.connection.ethers.getSigners();
    const onA = suiteAs(a.suite, user);
    await (await onA.token.mint(user.address, 2n * amount)).wait();
    await (await onA.token.approve(a.suite.addresses.bank, 2n * amount)).wait();
    await (
      await onA.bank.sendWithFee(b.suite.code, RECIPIENT, amount, "0x", HANDLER_GAS, amount)
    ).wait();
    const [sent] = (await dispatchedMessages(a)).slice(-1);
    const fee = sent.message.fee;
    const premium = (amount * PPM) / 1_000_000n;
    expect(fee > premium).to.equal(true);

    const [, , , relayer] = await b.connection.ethers.getSigners();
    const receipt = await relay(a, b, { relayer, signers });
    const charged = (receipt?.logs ?? [])
      .filter((l) => l.address.toLowerCase() === b.suite.addresses.inbox.toLowerCase())
      .map((l) => b.suite.inbox.interface.parseLog(l)!)
      .filter((e) => e.name === "CoverageCharged")
      .map((e) => ({ signer: e.args.attester as string, amount: e.args.amount as bigint }));
    expect(charged.length).to.be.greaterThan(1);
    const total = charged.reduce((sum, c) => sum + c.amount, 0n);
    expect(total).to.equal(amount + fee);
    // One PremiumPaid per charged signer, each its share; FeesPaid once, for the rest.
    const paid = bankEvents(receipt!, "PremiumPaid");
    expect(paid.map((e) => e.args.signer)).to.deep.equal(charged.map((c) => c.signer));
    let shared = 0n;
    for (const [i, c] of charged.entries()) {
      const share = (premium * c.amount) / total;
      expect([paid[i].args.paid, paid[i].args.owed]).to.deep.equal([share, 0n]);
      expect(await b.suite.bank.earned(c.signer)).to.equal(share);
      shared += share;
    }
    const [toRelayer] = bankEvents(receipt!, "FeesPaid");
    expect(toRelayer.args.paid).to.equal(fee - shared);
    expect(await b.suite.bank.earned(relayer.address)).to.equal(fee - shared);
    // The whole fee came out of A's reserve, nothing else; each attester's key withdraws its share.
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(120n * ONE - amount - fee);
    const attester = signers.find((s) => s.address === charged[0].signer)!;
    const asAttester = attester.connect(b.connection.ethers.provider);
    await b.connection.networkHelpers.setBalance(attester.address, 10n ** 18n);
    await expect(suiteAs(b.suite, asAttester).bank.withdrawEarned())
      .to.emit(b.suite.bank, "FeesWithdrawn")
      .withArgs(attester.address, (premium * charged[0].amount) / total);
  });

  it("charges a lying checkpoint's transfer, fee and premium to its signer, owed only out of the liars' reserve", async function () {
    await publishPrice(PER_GAS, BASE, 10_000);
    await fundReserve(b, a, 5n * ONE);
    await fundReserve(b, c, 5n * ONE);
    const liar = a.attesters[0];
    const amount = 50n * ONE;
    const fee = 2n * ONE;
    const receipt = await (
      await deliverForged(fee, [liar], {
        sender: addressToBytes32(a.suite.addresses.bank as Hex),
        recipient: addressToBytes32(liar.address as Hex),
        amount,
        body: encodeTransferBody({ sender: addressToBytes32(liar.address as Hex), body: "0x" }),
      })
    ).wait();
    // Transfer and fee are value at risk, charged to the liar.
    const charged = (receipt?.logs ?? [])
      .filter((l) => l.address.toLowerCase() === b.suite.addresses.inbox.toLowerCase())
      .map((l) => b.suite.inbox.interface.parseLog(l)!)
      .filter((e) => e.name === "CoverageCharged");
    expect(charged.map((e) => e.args.amount)).to.deep.equal([amount + fee]);
    // The premium goes to the liar, the rest to the deliverer, all owed against A's short reserve.
    const premium = (amount * 10_000n) / 1_000_000n;
    const [share] = bankEvents(receipt, "PremiumPaid");
    expect([share.args.signer, share.args.paid, share.args.owed]).to.deep.equal([
      liar.address,
      0n,
      premium,
    ]);
    const [rest] = bankEvents(receipt, "FeesPaid");
    expect([rest.args.paid, rest.args.owed]).to.deep.equal([0n, fee - premium]);
    // Everything booked is against A's reserve, within what was charged; C's is untouched.
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(amount + fee);
    expect(await b.suite.bank.reserve(c.suite.code)).to.equal(5n * ONE);
    expect(await b.suite.bank.earned(liar.address)).to.equal(0n);
  });
});
