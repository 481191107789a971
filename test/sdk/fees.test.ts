/**
 * The SDK's fee actions against chains served over JSON-RPC: `quote` reads the Outbox's quote and
 * price, `sendMessage` with `maxFee` pays it from the prepaid balance, `topUp` adds to a message's
 * fee by id; each failure is its own error class naming what is at fault.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import {
  ContractRevertError,
  createDistposClient,
  InvalidArgumentError,
  NotFoundError,
  quote,
  sendMessage,
  topUp,
  type DistposClient,
} from "../../relayer/sdk/index.js";
import { formatChainAddress } from "../../relayer/protocol/index.js";
import { creditedNetwork, ONE, type CreditedNetwork } from "./helpers.js";

/** The error `p` rejects with (undefined when it resolves). */
const caught = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as Error);

describe("SDK fee actions: quote, sendMessage with maxFee, topUp", function () {
  this.timeout(120_000);
  let net: CreditedNetwork;
  let client: DistposClient;
  let codeA: string;
  let codeB: string;
  const alice = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();
  const key = () => alice.privateKey as Hex;
  const to = () => formatChainAddress({ code: net.b.suite.code, account: bob.address as Hex });

  before(async function () {
    net = await creditedNetwork(50n * ONE);
    client = createDistposClient({ chains: net.chains, pollingIntervalMs: 100 });
    codeA = net.a.suite.addresses.chainCode;
    codeB = net.b.suite.addresses.chainCode;
    const { a } = net;
    await a.connection.networkHelpers.setBalance(alice.address, 10n ** 20n);
    await (await a.suite.token.mint(alice.address, 10n * ONE)).wait();
    const asAlice = alice.connect(a.connection.ethers.provider);
    await (await a.suite.token.connect(asAlice).approve(a.suite.addresses.bank, ONE)).wait();
    await (await a.suite.bank.connect(asAlice).prepayFees(ONE)).wait();
  });
  after(async () => net?.close());

  it("quotes 0 before B published a price, and refuses a negative body size", async function () {
    const q = await quote(client, { from: codeA, to: codeB, bodySize: 100, handlerGas: 50_000n });
    expect(q).to.deep.equal({
      fee: 0n,
      feeText: "0",
      price: { perGas: 0n, base: 0n, premiumPpm: 0 },
    });
    const bad = await caught(quote(client, { from: codeA, to: codeB, bodySize: -1 }));
    expect(bad).to.be.instanceOf(InvalidArgumentError);
    expect(bad!.message).to.contain("bodySize");
  });

  it("sendMessage with maxFee goes through dispatchWithFee and reports the fee it carries", async function () {
    const sent = await sendMessage(client, {
      from: codeA,
      to: to(),
      body: "0x01",
      account: key(),
      maxFee: 0n,
    });
    expect(sent.fee).to.equal(0n);
    expect(sent.id).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("topUp adds to a message's fee by id; a short balance and an unknown id are typed errors", async function () {
    const sent = await sendMessage(client, { from: codeA, to: to(), body: "0x02", account: key() });
    const r = await topUp(client, { id: sent.id, amount: ONE / 10n, account: key() });
    expect(r).to.deep.include({
      id: sent.id,
      amount: ONE / 10n,
      amountText: "0.1",
      origin: codeA,
      destination: codeB,
    });
    expect(await net.a.suite.outbox.feeBalance(alice.address)).to.equal(ONE - ONE / 10n);

    const short = await topUp(client, { id: sent.id, amount: 5n * ONE, account: key() }).catch(
      (e: unknown) => e,
    );
    expect(short).to.be.instanceOf(ContractRevertError);
    expect((short as ContractRevertError).errorName).to.equal("FeeBalanceShort");
    const unknown = await caught(
      topUp(client, { id: `0x${"cd".repeat(32)}`, amount: 1n, account: key() }),
    );
    expect(unknown).to.be.instanceOf(NotFoundError);
    const zero = await caught(topUp(client, { id: sent.id, amount: 0n, account: key() }));
    expect(zero).to.be.instanceOf(InvalidArgumentError);
    expect(zero!.message).to.contain("amount");
  });
});
