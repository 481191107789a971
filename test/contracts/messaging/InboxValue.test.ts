/**
 * The Inbox's value path (docs/protocol.md 3.3–3.4) with the real CorrespondentBank: a transfer from
 * A's bank is paid from reserve[A] on B, then the recipient's handler sees the original sender; a
 * short reserve holds the payout (and the handler) pending until a retry; an amount from any other
 * sender moves nothing. The forged messages below are what lying attesters could sign: the Inbox
 * must still pay only from the liars' community's reserve.
 */
import { expect } from "chai";
import { ethers } from "ethers";

import {
  addressToBytes32,
  buildDelivery,
  encodeMessage,
  encodeTransferBody,
  type Hex,
  MerkleTree,
  messageId,
  treeCheckpoint,
} from "../../../relayer/protocol/index.js";
import {
  MessagingRecipient__factory,
  type MessagingRecipient,
} from "../../../typechain-types/index.js";
import { suiteAs } from "../../../deploy/suite.js";
import { dispatchedMessages, relay, type TestChain } from "../../helpers/suite.js";
import {
  createMessagingNetwork,
  deliver,
  domainOf,
  signAll,
  type MessagingNetwork,
} from "./network.js";

const ONE = 10n ** 18n;
const FAILURE = { None: 0n, HandlerReverted: 1n, PayoutPending: 2n, PayoutReverted: 3n } as const;
const PAYOUT = { None: 0n, Pending: 1n, Paid: 2n } as const;
/** Storage slot of the Outbox's leaf count (`_tree.count`, after the 32 branch slots). */
const OUTBOX_COUNT_SLOT = 32;

describe("Inbox value path", function () {
  let net: MessagingNetwork;
  let a: TestChain, b: TestChain;
  let recipient: MessagingRecipient;
  let recipientAddress: string;

  before(async function () {
    net = await createMessagingNetwork();
    ({ a, b } = net);
  });

  beforeEach(async function () {
    await net.restore();
    const [deployer] = await b.connection.ethers.getSigners();
    recipient = await new MessagingRecipient__factory(deployer).deploy();
    recipientAddress = await recipient.getAddress();
  });

  /** Posts `amount` into reserve[A] on B (B then reports it to A's bank). */
  async function fundReserveOfA(amount: bigint) {
    const [, funder] = await b.connection.ethers.getSigners();
    const bank = suiteAs(b.suite, funder);
    await (await bank.token.mint(funder.address, amount)).wait();
    await (await bank.token.approve(b.suite.addresses.bank, amount)).wait();
    await (await bank.bank.fund(a.suite.code, amount)).wait();
  }

  /**
   * Delivers to B a message A's Outbox never held, signed by all of A's attesters (a fraud they
   * would be slashed for on A): the next free nonce of A, in a tree of A's real leaves plus it.
   */
  async function deliverForged(fields: {
    sender: Hex;
    amount: bigint;
    body: Hex;
    recipient?: Hex;
  }) {
    const leaves = (await dispatchedMessages(a)).map((m) => m.id as Hex);
    const message = encodeMessage({
      nonce: leaves.length,
      origin: a.suite.code,
      sender: fields.sender,
      destination: b.suite.code,
      recipient: fields.recipient ?? addressToBytes32(recipientAddress as Hex),
      amount: fields.amount,
      body: fields.body,
    });
    const tree = MerkleTree.from([...leaves, messageId(message)]);
    const checkpoint = treeCheckpoint(a.suite.code, tree);
    const built = buildDelivery({ tree, count: tree.count, messages: [message] });
    const delivery = {
      checkpoint,
      signatures: await signAll(a.attesters, domainOf(a), checkpoint),
      messages: built.messages,
      proof: built.proof,
    };
    const receipt = await (await deliver(b, delivery)).wait();
    return { id: messageId(message), message, receipt: receipt! };
  }

  it("pays a transfer from A's bank out of reserve[A] and hands the original sender to the handler", async function () {
    await fundReserveOfA(200n * ONE);
    await relay(b, a, { signers: b.attesters }); // B's reserve report gives A credit
    expect(await a.suite.bank.creditView(b.suite.code)).to.equal(200n * ONE);

    const [, user] = await a.connection.ethers.getSigners();
    const bankOnA = suiteAs(a.suite, user);
    await (await bankOnA.token.mint(user.address, 50n * ONE)).wait();
    await (await bankOnA.token.approve(a.suite.addresses.bank, 50n * ONE)).wait();
    await (
      await bankOnA.bank.send(
        b.suite.code,
        addressToBytes32(recipientAddress as Hex),
        50n * ONE,
        "0xbeef",
      )
    ).wait();

    const receipt = await relay(a, b);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(50n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(150n * ONE);
    // Paid at delivery: no payout record.
    const paid = eventsOf(receipt!, "bank").find((e) => e.name === "PaidOut")!;
    expect((await b.suite.bank.payoutOf(paid.args.id)).status).to.equal(PAYOUT.None);
    expect(await recipient.handled()).to.equal(1n);
    expect(await recipient.lastSender()).to.equal(addressToBytes32(user.address as Hex));
    expect(await recipient.lastAmount()).to.equal(50n * ONE);
    expect(await recipient.lastBody()).to.equal("0xbeef");
  });

  /** Names of the events of `contract` (Inbox or bank on B) in `receipt`. */
  function eventsOf(
    receipt: ethers.TransactionReceipt | null,
    contract: "inbox" | "bank",
  ): { name: string; args: ethers.Result }[] {
    const iface = b.suite[contract].interface;
    const address = b.suite.addresses[contract].toLowerCase();
    return (receipt?.logs ?? [])
      .filter((l) => l.address.toLowerCase() === address)
      .map((l) => iface.parseLog(l)!)
      .map((e) => ({ name: e.name, args: e.args }));
  }

  /** A transfer from A's bank, forged (see deliverForged), to the test recipient with a body. */
  function transfer(amount: bigint, originalSender?: Hex) {
    return deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount,
      body: encodeTransferBody({
        sender: originalSender ?? addressToBytes32(ethers.Wallet.createRandom().address as Hex),
        body: "0x77",
      }),
    });
  }

  it("pays at delivery without a bank record; a reverted handler is retried alone, never paid again", async function () {
    await fundReserveOfA(100n * ONE);
    await (await recipient.setFailing(true)).wait();
    const { id, message, receipt } = await transfer(30n * ONE);
    expect(eventsOf(receipt, "bank").map((e) => e.name)).to.include("PaidOut");
    // The paid transfer left no record: it cost no new storage slot in the bank.
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.None);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.HandlerReverted);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(30n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(70n * ONE);
    expect(await b.suite.bank.received(a.suite.code)).to.equal(30n * ONE);

    // Still failing: the retry reverts and nothing moves.
    await expect(b.suite.inbox.retry(message)).to.be.revertedWithCustomError(recipient, "Refused");
    await (await recipient.setFailing(false)).wait();
    const retried = await (await b.suite.inbox.retry(message)).wait();
    // The retry ran the handler only: no bank event, no token moved, nothing booked again.
    expect(eventsOf(retried, "bank")).to.deep.equal([]);
    expect(eventsOf(retried, "inbox").map((e) => e.name)).to.deep.equal(["Retried"]);
    expect(await recipient.handled()).to.equal(1n);
    expect(await recipient.lastAmount()).to.equal(30n * ONE);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(30n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(70n * ONE);
    expect(await b.suite.bank.received(a.suite.code)).to.equal(30n * ONE);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.None);
    await expect(b.suite.inbox.retry(message)).to.be.revertedWithCustomError(
      b.suite.inbox,
      "NotFailed",
    );
    // A second delivery of the same message is refused by the replay bitmap before any payout.
    const count = (await dispatchedMessages(a)).length + 1;
    const leaves = [...(await dispatchedMessages(a)).map((m) => m.id as Hex), id];
    const tree = MerkleTree.from(leaves);
    const checkpoint = treeCheckpoint(a.suite.code, tree, count);
    const again = buildDelivery({ tree, count, messages: [message] });
    await expect(
      deliver(b, {
        checkpoint,
        signatures: await signAll(a.attesters, domainOf(a), checkpoint),
        messages: again.messages,
        proof: again.proof,
      }),
    )
      .to.be.revertedWithCustomError(b.suite.inbox, "AlreadyDelivered")
      .withArgs(id);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(30n * ONE);
  });

  it("runs the handler of a pending payout claimed by anyone on retry, without paying again", async function () {
    await fundReserveOfA(10n * ONE);
    const { id, message } = await transfer(25n * ONE);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutPending);
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.Pending);
    expect(await recipient.handled()).to.equal(0n);
    await fundReserveOfA(20n * ONE);
    const [, , stranger] = await b.connection.ethers.getSigners();
    await expect(b.suite.bank.connect(stranger).claim(id))
      .to.emit(b.suite.bank, "Claimed")
      .withArgs(id, recipientAddress, 25n * ONE);
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.Paid);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(25n * ONE);
    // The Inbox still holds the handler back; its retry finds the payout made and runs it.
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutPending);
    const retried = await (await b.suite.inbox.retry(message)).wait();
    expect(eventsOf(retried, "bank")).to.deep.equal([]);
    expect(await recipient.handled()).to.equal(1n);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(25n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(5n * ONE);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(0n);
    await expect(b.suite.bank.claim(id))
      .to.be.revertedWithCustomError(b.suite.bank, "NotPending")
      .withArgs(id);
  });

  it("records a payout call that reverted as PayoutReverted and pays it afresh, once, on retry", async function () {
    await fundReserveOfA(100n * ONE);
    // B's Outbox is full: the bank's reserve report after the payout cannot be dispatched, so
    // the payout call reverts as a whole (any revert inside the bank would do).
    const outbox = b.suite.addresses.outbox;
    const provider = b.connection.ethers.provider;
    const realCount = await provider.getStorage(outbox, OUTBOX_COUNT_SLOT);
    await b.connection.networkHelpers.setStorageAt(outbox, OUTBOX_COUNT_SLOT, 2n ** 32n - 1n);
    const { id, message, receipt } = await transfer(40n * ONE);
    const failed = eventsOf(receipt, "inbox").find((e) => e.name === "HandlerFailed")!;
    expect(failed.args.kind).to.equal(FAILURE.PayoutReverted);
    expect(failed.args.reason).to.equal(b.suite.outbox.interface.getError("TreeFull")!.selector);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutReverted);
    // Nothing was booked: no record, no transfer, nothing received.
    expect(eventsOf(receipt, "bank")).to.deep.equal([]);
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.None);
    expect(await b.suite.bank.received(a.suite.code)).to.equal(0n);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(0n);
    // Still reverting: the retry reverts, the failure stays.
    await expect(b.suite.inbox.retry(message)).to.be.revertedWithCustomError(
      b.suite.outbox,
      "TreeFull",
    );
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutReverted);

    await b.connection.networkHelpers.setStorageAt(outbox, OUTBOX_COUNT_SLOT, realCount);
    const retried = await (await b.suite.inbox.retry(message)).wait();
    expect(eventsOf(retried, "bank").map((e) => e.name)).to.include("PaidOut");
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(40n * ONE);
    expect(await b.suite.bank.received(a.suite.code)).to.equal(40n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(60n * ONE);
    expect(await recipient.handled()).to.equal(1n);
    await expect(b.suite.inbox.retry(message)).to.be.revertedWithCustomError(
      b.suite.inbox,
      "NotFailed",
    );
  });

  it("books a payout the token refuses as pending: the batch goes on, the reserve stays", async function () {
    await fundReserveOfA(100n * ONE);
    // A forged transfer to the zero account: the token refuses the transfer.
    const { id, message, receipt } = await deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 15n * ONE,
      body: encodeTransferBody({ sender: addressToBytes32(recipientAddress as Hex), body: "0x" }),
      recipient: ethers.ZeroHash as Hex,
    });
    expect(eventsOf(receipt, "bank").map((e) => e.name)).to.include("PayoutPending");
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutPending);
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.Pending);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(100n * ONE);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(15n * ONE);
    // The reserve covers it, but the token still refuses: the retry reverts, nothing moves.
    await expect(b.suite.inbox.retry(message))
      .to.be.revertedWithCustomError(b.suite.inbox, "PayoutStillPending")
      .withArgs(id);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(100n * ONE);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(15n * ONE);
  });

  it("never pays a transfer to an account that is not an EVM address (PayoutReverted, for good)", async function () {
    await fundReserveOfA(100n * ONE);
    const foreign = `0x${"ff".repeat(32)}` as Hex;
    const { id, message, receipt } = await deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 5n * ONE,
      body: encodeTransferBody({ sender: foreign, body: "0x" }),
      recipient: foreign,
    });
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutReverted);
    expect(eventsOf(receipt, "bank")).to.deep.equal([]);
    await expect(b.suite.inbox.retry(message))
      .to.be.revertedWithCustomError(b.suite.inbox, "NotEvmAddress")
      .withArgs(foreign);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(100n * ONE);
    expect(await b.suite.bank.received(a.suite.code)).to.equal(0n);
  });

  it("pays a transfer without a body to an account that has no handler", async function () {
    const account = ethers.Wallet.createRandom().address;
    await fundReserveOfA(100n * ONE);
    const { id } = await deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 30n * ONE,
      body: encodeTransferBody({ sender: addressToBytes32(account as Hex), body: "0x" }),
      recipient: addressToBytes32(account as Hex),
    });
    expect(await b.suite.token.balanceOf(account)).to.equal(30n * ONE);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.None);
  });

  it("holds a transfer the reserve cannot cover as pending, handler included, until a retry", async function () {
    await fundReserveOfA(20n * ONE);
    const originalSender = addressToBytes32(ethers.Wallet.createRandom().address as Hex);
    const { id, message, receipt } = await deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 50n * ONE,
      body: encodeTransferBody({ sender: originalSender, body: "0x77" }),
    });
    const failed = receipt.logs
      .map((l) => b.suite.inbox.interface.parseLog(l))
      .find((l) => l?.name === "HandlerFailed");
    expect(failed!.args.kind).to.equal(FAILURE.PayoutPending);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutPending);
    expect(await recipient.handled()).to.equal(0n);
    // Only A's reserve is at stake: still short, the retry reverts and keeps it pending.
    await expect(b.suite.inbox.retry(message))
      .to.be.revertedWithCustomError(b.suite.inbox, "PayoutStillPending")
      .withArgs(id);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.PayoutPending);

    await fundReserveOfA(100n * ONE);
    await expect(b.suite.inbox.retry(message))
      .to.emit(b.suite.inbox, "Retried")
      .withArgs(id)
      .and.to.emit(b.suite.bank, "Claimed")
      .withArgs(id, recipientAddress, 50n * ONE);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(50n * ONE);
    // Paid once: the record says so, a claim finds nothing pending.
    expect((await b.suite.bank.payoutOf(id)).status).to.equal(PAYOUT.Paid);
    await expect(b.suite.bank.claim(id)).to.be.revertedWithCustomError(b.suite.bank, "NotPending");
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(70n * ONE);
    expect(await recipient.handled()).to.equal(1n);
    expect(await recipient.lastSender()).to.equal(originalSender);
    expect(await recipient.lastAmount()).to.equal(50n * ONE);
    expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.None);
    await expect(b.suite.inbox.retry(message)).to.be.revertedWithCustomError(
      b.suite.inbox,
      "NotFailed",
    );
  });

  it("moves nothing for an amount from any sender but A's bank, yet counts it as value at risk", async function () {
    await fundReserveOfA(100n * ONE);
    const impostor = addressToBytes32(ethers.Wallet.createRandom().address as Hex);
    const body = encodeTransferBody({ sender: impostor, body: "0x01" });
    const { receipt } = await deliverForged({ sender: impostor, amount: 40n * ONE, body });
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(100n * ONE);
    expect(await b.suite.token.balanceOf(recipientAddress)).to.equal(0n);
    expect(await recipient.handled()).to.equal(1n);
    expect(await recipient.lastAmount()).to.equal(0n);
    expect(await recipient.lastSender()).to.equal(impostor);
    expect(await recipient.lastBody()).to.equal(body);
    const charged = receipt.logs
      .map((l) => b.suite.inbox.interface.parseLog(l))
      .filter((l) => l?.name === "CoverageCharged")
      .reduce((sum, l) => sum + (l!.args.amount as bigint), 0n);
    expect(charged).to.equal(40n * ONE);
  });

  it("treats a message from A's bank that is not a well-formed transfer as a plain call", async function () {
    await fundReserveOfA(100n * ONE);
    await deliverForged({
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 40n * ONE,
      body: "0x02aa",
    });
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(100n * ONE);
    expect(await recipient.handled()).to.equal(1n);
    expect(await recipient.lastAmount()).to.equal(0n);
  });
});
