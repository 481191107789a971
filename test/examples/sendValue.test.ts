import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { InvalidArgumentError } from "distpos";
import { pay } from "../../relayer/examples/sendValue.js";
import { formatChainAddress } from "../../relayer/protocol/index.js";
import { relay } from "../helpers/suite.js";
import { creditedNetwork, ONE, type CreditedNetwork } from "../sdk/helpers.js";

describe("README example: sending value from TypeScript with the SDK", function () {
  this.timeout(120_000);
  let net: CreditedNetwork;
  const alice = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();

  before(async function () {
    // A's community holds 50 tokens of reserve on B: A's credit there.
    net = await creditedNetwork(50n * ONE);
    await net.a.connection.networkHelpers.setBalance(alice.address, 10n ** 20n);
    await (await net.a.suite.token.mint(alice.address, 20n * ONE)).wait();
  });

  after(async () => net?.close());

  it("pays a chain-qualified address on the peer from the sender community's reserve, and waits for it", async function () {
    const to = formatChainAddress({ code: net.b.suite.code, account: bob.address as Hex });
    const stages: string[] = [];
    const before = await net.a.suite.outbox.count();
    const paid = pay({
      chains: net.chains,
      from: net.a.suite.addresses.chainCode,
      privateKey: alice.privateKey as Hex,
      to,
      tokens: "12",
      onStage: (s) => stages.at(-1) !== s && stages.push(s),
    });
    // The relay of this test stands in for the nodes: once dispatched, carry it to B.
    while ((await net.a.suite.outbox.count()) === before)
      await new Promise((r) => setTimeout(r, 100));
    await relay(net.a, net.b);
    const info = await paid;
    expect(info.destination.status).to.equal("delivered");
    expect(info.destination.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(stages.at(-1)).to.equal("delivered");
    expect(await net.a.suite.token.balanceOf(alice.address)).to.equal(8n * ONE);
    expect(await net.b.suite.token.balanceOf(bob.address)).to.equal(12n * ONE);
  });

  it("names what is wrong with a malformed recipient before sending anything", async function () {
    const bad = `${net.b.suite.addresses.chainCode}x${bob.address.slice(2, 40)}`;
    const error = await pay({
      chains: net.chains,
      from: net.a.suite.addresses.chainCode,
      privateKey: alice.privateKey as Hex,
      to: bad,
      tokens: "1",
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).to.equal("to");
    expect((error as Error).message).to.contain("expected 40");
    expect(await net.a.suite.token.balanceOf(alice.address)).to.equal(8n * ONE);
  });
});
