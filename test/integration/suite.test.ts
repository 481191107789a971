import { expect } from "chai";

import { enrollBothWays, seedBothWays } from "../../deploy/connect.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import { createTestNetwork, dispatchedMessages, relay, type TestChain } from "../helpers/suite.js";

describe("suite fixture: deploy, connect and relay between two chains", function () {
  let chains: TestChain[];

  before(async function () {
    chains = await createTestNetwork({ chains: ["chainA", "chainB"] });
  });

  it("hands each registry to its timelock and enrolls the peer on both sides", async function () {
    const [a, b] = chains;
    expect(await a.suite.registry.owner()).to.equal(a.suite.addresses.timelock);
    expect(await a.suite.registry.status(b.suite.code)).to.equal(1n);
    expect(await b.suite.registry.status(a.suite.code)).to.equal(1n);
    expect(await b.suite.inbox.isMirrorInitialized(a.suite.code)).to.equal(true);
    // Seeded with each attester's vouching stake: its allocation of 100 less the bounty share.
    for (const attester of a.attesters) {
      const vouching = await a.suite.stakingHub.vouchingStake(attester.address, b.suite.code);
      expect(vouching).to.equal(90n * 10n ** 18n);
      expect(await b.suite.inbox.mirroredStake(a.suite.code, attester.address)).to.equal(vouching);
    }
  });

  it("connecting again changes nothing", async function () {
    const [a, b] = chains;
    const peersBefore = await a.suite.registry.peers();
    await enrollBothWays(a.suite, b.suite);
    await seedBothWays(a.suite, b.suite);
    expect(await a.suite.registry.peers()).to.deep.equal(peersBefore);
  });

  it("delivers a dispatched message on the peer under a signed checkpoint", async function () {
    const [a, b] = chains;
    const recipient = addressToBytes32(b.attesters[0].address as `0x${string}`);
    await (await a.suite.outbox.dispatch(b.suite.code, recipient, "0x1234")).wait();
    const receipt = await relay(a, b);
    expect(receipt).to.not.equal(undefined);
    const last = (await dispatchedMessages(a)).at(-1)!;
    expect(await b.suite.inbox.isDelivered(a.suite.code, last.nonce)).to.equal(true);
    expect(await relay(a, b)).to.equal(undefined);
  });
});
