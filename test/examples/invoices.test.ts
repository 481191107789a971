/**
 * The Solidity value examples on two in-process chains: `InvoicePayer` on A sends value from a
 * contract through A's CorrespondentBank; `Invoices` on B receives it in its `handle` hook and
 * forwards it to the merchant. A payment for an invoice not yet issued fails in the handler, is
 * shown decoded by the SDK, and is paid by `retry` once the invoice exists.
 */
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import type { Hex } from "viem";

import { createDistposClient, getMessage, retry } from "distpos";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import {
  InvoicePayer__factory,
  Invoices__factory,
  type InvoicePayer,
  type Invoices,
} from "../../typechain-types/index.js";
import { relay } from "../helpers/suite.js";
import { creditedNetwork, ONE, type CreditedNetwork } from "../sdk/helpers.js";

describe("Solidity examples: InvoicePayer sends value, Invoices receives it", function () {
  this.timeout(120_000);
  let net: CreditedNetwork;
  let payer: InvoicePayer;
  let invoices: Invoices;
  let alice: Signer, merchant: Signer;
  let aliceAddress: string, merchantAddress: string, invoicesAddress: string;

  before(async function () {
    net = await creditedNetwork(50n * ONE);
    const [deployerA, , , userA] = await net.a.connection.ethers.getSigners();
    const [deployerB, , , merchantB] = await net.b.connection.ethers.getSigners();
    alice = userA!;
    merchant = merchantB!;
    aliceAddress = await alice.getAddress();
    merchantAddress = await merchant.getAddress();
    payer = await new InvoicePayer__factory(deployerA).deploy(net.a.suite.addresses.bank);
    invoices = await new Invoices__factory(deployerB).deploy(
      net.b.suite.addresses.bank,
      net.b.suite.addresses.inbox,
      merchantAddress,
    );
    invoicesAddress = await invoices.getAddress();
    await (await net.a.suite.token.mint(aliceAddress, 20n * ONE)).wait();
    await (
      await net.a.suite.token.connect(alice).approve(await payer.getAddress(), 20n * ONE)
    ).wait();
  });

  after(async () => net?.close());

  it("pays an issued invoice across chains and forwards the tokens to the merchant", async function () {
    await (await invoices.connect(merchant).issue(5n * ONE)).wait();
    await expect(payer.connect(alice).pay(net.b.suite.code, invoicesAddress, 0n, 5n * ONE))
      .to.emit(payer, "InvoiceSent")
      .and.to.emit(net.a.suite.bank, "Sent");
    // Nothing left behind on A: the payer holds no tokens and no allowance to the bank.
    const payerAddress = await payer.getAddress();
    expect(await net.a.suite.token.balanceOf(payerAddress)).to.equal(0n);
    expect(await net.a.suite.token.allowance(payerAddress, net.a.suite.addresses.bank)).to.equal(
      0n,
    );
    expect(await net.a.suite.token.balanceOf(aliceAddress)).to.equal(15n * ONE);

    await relay(net.a, net.b);
    const [paid] = await invoices.queryFilter(invoices.filters.InvoicePaid(0n));
    expect(paid?.args.origin).to.equal(net.a.suite.code);
    // The recipient sees the contract that called the bank as the sender.
    expect(paid?.args.sender).to.equal(addressToBytes32(payerAddress as Hex));
    expect(paid?.args.amount).to.equal(5n * ONE);
    expect((await invoices.invoices(0n)).paid).to.equal(true);
    expect(await net.b.suite.token.balanceOf(merchantAddress)).to.equal(5n * ONE);
    expect(await net.b.suite.token.balanceOf(invoicesAddress)).to.equal(0n);
  });

  it("a payment for an unknown invoice fails in the handler with its reason, and retry pays it once issued", async function () {
    const id = await payer
      .connect(alice)
      .pay.staticCall(net.b.suite.code, invoicesAddress, 1n, 3n * ONE);
    await (await payer.connect(alice).pay(net.b.suite.code, invoicesAddress, 1n, 3n * ONE)).wait();
    await relay(net.a, net.b);

    const client = createDistposClient({ chains: net.chains });
    const failed = await getMessage(client, { id: id as Hex });
    expect(failed.destination.status).to.equal("failed");
    expect(failed.destination.failureKind).to.equal("HandlerReverted");
    // The Inbox logged the handler's revert data: the dApp's own error, decoded with its ABI.
    const [log] = await net.b.suite.inbox.queryFilter(net.b.suite.inbox.filters.HandlerFailed(id));
    const reason = invoices.interface.parseError(log!.args.reason);
    expect(reason?.name).to.equal("UnknownInvoice");
    expect(reason?.args[0]).to.equal(1n);
    // The payout was made before the handler ran: the tokens wait in the Invoices contract.
    expect(await net.b.suite.token.balanceOf(invoicesAddress)).to.equal(3n * ONE);

    await (await invoices.connect(merchant).issue(3n * ONE)).wait();
    // Anyone may retry: here a fresh key holding only gas on B.
    const retrier = Wallet.createRandom();
    await net.b.connection.networkHelpers.setBalance(retrier.address, ONE);
    const { after } = await retry(client, { id: id as Hex, account: retrier.privateKey as Hex });
    expect(after.destination.status).to.equal("delivered");
    expect((await invoices.invoices(1n)).paid).to.equal(true);
    expect(await net.b.suite.token.balanceOf(merchantAddress)).to.equal(8n * ONE);
    expect(await net.b.suite.token.balanceOf(invoicesAddress)).to.equal(0n);
  });

  it("Invoices accepts handle only from the local Inbox, and invoices only from the merchant", async function () {
    const stranger = await alice.getAddress();
    await expect(
      invoices
        .connect(merchant)
        .handle(net.a.suite.code, addressToBytes32(stranger as Hex), 0n, "0x"),
    )
      .to.be.revertedWithCustomError(invoices, "NotInbox")
      .withArgs(merchantAddress);
    const [, , , , , other] = await net.b.connection.ethers.getSigners();
    await expect(invoices.connect(other!).issue(1n))
      .to.be.revertedWithCustomError(invoices, "NotMerchant")
      .withArgs(await other!.getAddress());
  });
});
