/**
 * The example dApp: a ping from A is answered by B's PingPong with a pong that comes back to A.
 */
import { expect } from "chai";

import { addressToBytes32, type Hex } from "../../../relayer/protocol/index.js";
import { PingPong__factory, type PingPong } from "../../../typechain-types/index.js";
import { relay, type TestChain } from "../../helpers/suite.js";
import { createMessagingNetwork, type MessagingNetwork } from "./network.js";

describe("PingPong example", function () {
  let net: MessagingNetwork;
  let a: TestChain, b: TestChain;
  let pingA: PingPong, pingB: PingPong;

  async function deployOn(chain: TestChain, minSigners: number): Promise<PingPong> {
    const [deployer] = await chain.connection.ethers.getSigners();
    return new PingPong__factory(deployer).deploy(
      chain.suite.addresses.outbox,
      chain.suite.addresses.inbox,
      minSigners,
      0,
    );
  }

  before(async function () {
    net = await createMessagingNetwork();
    ({ a, b } = net);
  });

  beforeEach(async function () {
    await net.restore();
    pingA = await deployOn(a, 1);
    pingB = await deployOn(b, 2);
  });

  it("sets its own policy on the Inbox", async function () {
    expect(await b.suite.inbox.recipientPolicy(await pingB.getAddress())).to.deep.equal([2n, 0n]);
  });

  it("answers a ping from another chain with a pong back to the sender", async function () {
    const pingBAddress = await pingB.getAddress();
    await expect(pingA.ping(b.suite.code, pingBAddress)).to.emit(pingA, "PingSent");
    // B's PingPong asks for two signers.
    await relay(a, b, { signers: a.attesters.slice(0, 2) });
    const sender = addressToBytes32((await pingA.getAddress()) as Hex);
    expect(
      (await pingB.queryFilter(pingB.filters.PingReceived(a.suite.code, sender))).map(
        (e) => e.args.sequence,
      ),
    ).to.deep.equal([0n]);

    await relay(b, a);
    expect(await pingA.pongsReceived()).to.equal(1n);
    const [pong] = await pingA.queryFilter(pingA.filters.PongReceived(b.suite.code));
    expect(pong.args.sender).to.equal(addressToBytes32(pingBAddress as Hex));
    expect(pong.args.sequence).to.equal(0n);
  });

  it("accepts calls from the local Inbox only", async function () {
    const [, stranger] = await a.connection.ethers.getSigners();
    await expect(
      pingA
        .connect(stranger)
        .handle(b.suite.code, addressToBytes32(stranger.address as Hex), 0, "0x"),
    )
      .to.be.revertedWithCustomError(pingA, "NotInbox")
      .withArgs(stranger.address);
  });
});
