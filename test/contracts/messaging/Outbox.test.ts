/**
 * Outbox (docs/protocol.md 3.2) on one simulated chain: the message it emits is the TypeScript
 * codec's encoding, roots are snapshotted on demand and match the TypeScript tree, and every
 * rejection has its own error.
 */
import { expect } from "chai";
import { network } from "hardhat";

import {
  addressToBytes32,
  checkpointDomainSeparator,
  decodeMessage,
  EMPTY_ROOT,
  encodeMessage,
  MerkleTree,
  messageId,
  type Hex,
} from "../../../relayer/protocol/index.js";
import { deployMessagingUnit, PEER, type MessagingUnit } from "./deploy.js";

const connection = await network.create("chainA");
const { ethers, networkHelpers } = connection;

const RECIPIENT = addressToBytes32("0x00000000000000000000000000000000000000aa");
const MAX_BODY = 8192;

describe("Outbox", function () {
  let unit: MessagingUnit;
  let user: Awaited<ReturnType<typeof ethers.getSigners>>[number];

  async function fixture() {
    return deployMessagingUnit(connection);
  }

  beforeEach(async function () {
    unit = await networkHelpers.loadFixture(fixture);
    [, , , , user] = await ethers.getSigners();
  });

  /** Dispatches from `user` and returns the Dispatch event's arguments. */
  async function dispatch(body: Hex, recipient: Hex = RECIPIENT) {
    const receipt = await (await unit.outbox.connect(user).dispatch(PEER, recipient, body)).wait();
    const log = receipt!.logs
      .map((l) => unit.outbox.interface.parseLog(l))
      .find((l) => l?.name === "Dispatch");
    return { receipt: receipt!, args: log!.args };
  }

  describe("dispatch", function () {
    it("appends the codec's encoding as leaf `nonce` and emits it whole", async function () {
      for (let nonce = 0; nonce < 3; nonce++) {
        const body = ethers.hexlify(ethers.randomBytes(nonce * 40)) as Hex;
        const expected = encodeMessage({
          nonce,
          origin: unit.code,
          sender: addressToBytes32(user.address as Hex),
          destination: PEER,
          recipient: RECIPIENT,
          amount: 0n,
          body,
        });
        const { args } = await dispatch(body);
        expect(args.message).to.equal(expected);
        expect(args.id).to.equal(messageId(expected));
        expect(args.nonce).to.equal(BigInt(nonce));
        expect(args.destination).to.equal(PEER);
        expect(args.recipient).to.equal(RECIPIENT);
      }
      expect(await unit.outbox.count()).to.equal(3n);
    });

    it("returns the id and nonce it emits", async function () {
      const [id, nonce] = await unit.outbox
        .connect(user)
        .dispatch.staticCall(PEER, RECIPIENT, "0x01");
      const { args } = await dispatch("0x01");
      expect([id, nonce]).to.deep.equal([args.id, args.nonce]);
    });

    it("accepts a body of exactly MAX_BODY_BYTES and rejects one byte more", async function () {
      expect(await unit.outbox.MAX_BODY_BYTES()).to.equal(BigInt(MAX_BODY));
      await dispatch(ethers.hexlify(new Uint8Array(MAX_BODY).fill(7)) as Hex);
      await expect(unit.outbox.dispatch(PEER, RECIPIENT, new Uint8Array(MAX_BODY + 1)))
        .to.be.revertedWithCustomError(unit.outbox, "BodyTooLarge")
        .withArgs(MAX_BODY + 1, MAX_BODY);
    });

    it("rejects this chain and code 0 as destination", async function () {
      await expect(unit.outbox.dispatch(unit.code, RECIPIENT, "0x")).to.be.revertedWithCustomError(
        unit.outbox,
        "DestinationIsSelf",
      );
      await expect(unit.outbox.dispatch(0n, RECIPIENT, "0x")).to.be.revertedWithCustomError(
        unit.outbox,
        "DestinationIsSelf",
      );
    });

    it("rejects a destination that was never enrolled", async function () {
      await expect(unit.outbox.dispatch(0x1234n, RECIPIENT, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "DestinationNotActive")
        .withArgs(0x1234n);
    });

    it("rejects a paused destination, and accepts it again once resumed", async function () {
      await (await unit.registry.pauseRoute(PEER)).wait();
      await expect(unit.outbox.dispatch(PEER, RECIPIENT, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "DestinationNotActive")
        .withArgs(PEER);
      await (await unit.registry.resumeRoute(PEER)).wait();
      await dispatch("0x");
    });

    it("keeps its copy of each route's status, pushed by the registry on every change", async function () {
      expect(await unit.outbox.routeStatus(PEER)).to.equal(1n);
      expect(await unit.outbox.routeStatus(0x1234n)).to.equal(0n);
      await expect(unit.registry.pauseRoute(PEER))
        .to.emit(unit.outbox, "RouteStatusSet")
        .withArgs(PEER, 2n);
      expect(await unit.outbox.routeStatus(PEER)).to.equal(2n);
      await expect(unit.registry.resumeRoute(PEER))
        .to.emit(unit.outbox, "RouteStatusSet")
        .withArgs(PEER, 1n);
      expect(await unit.outbox.routeStatus(PEER)).to.equal(await unit.registry.status(PEER));
      // A new enrollment is pushed as Active.
      const [, , , peer] = await ethers.getSigners();
      await expect(
        unit.registry.enrollRoute(0x1234n, {
          evmChainId: 0x1234n,
          outbox: peer.address,
          inbox: peer.address,
          stakingHub: peer.address,
          bank: peer.address,
          settlementDecimals: 18,
          minSigners: 1,
          defaultCoverage: 0n,
          unbondingDelay: 3600n,
        }),
      )
        .to.emit(unit.outbox, "RouteStatusSet")
        .withArgs(0x1234n, 1n);
      await (await unit.outbox.connect(user).dispatch(0x1234n, RECIPIENT, "0x")).wait();
    });

    it("takes a route status only from the registry", async function () {
      await expect(unit.outbox.connect(user).setRouteStatus(PEER, 2))
        .to.be.revertedWithCustomError(unit.outbox, "NotRegistry")
        .withArgs(user.address);
      await expect(unit.outbox.connect(unit.deployer).setRouteStatus(0x1234n, 1))
        .to.be.revertedWithCustomError(unit.outbox, "NotRegistry")
        .withArgs(await unit.deployer.getAddress());
      await expect(unit.outbox.dispatch(0x1234n, RECIPIENT, "0x")).to.be.revertedWithCustomError(
        unit.outbox,
        "DestinationNotActive",
      );
    });

    it("rejects the zero recipient", async function () {
      await expect(unit.outbox.dispatch(PEER, ethers.ZeroHash, "0x")).to.be.revertedWithCustomError(
        unit.outbox,
        "ZeroRecipient",
      );
    });

    it("accepts a non-EVM recipient account (the destination decides what it means)", async function () {
      const foreign = `0x${"ff".repeat(32)}` as Hex;
      const { args } = await dispatch("0x", foreign);
      expect(args.recipient).to.equal(foreign);
    });
  });

  describe("dispatchValue and dispatchSystem", function () {
    it("lets only the local bank dispatch an amount, as the sender", async function () {
      await expect(unit.outbox.connect(user).dispatchValue(PEER, RECIPIENT, 5n, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotBank")
        .withArgs(user.address);
      const receipt = await (
        await unit.outbox.connect(unit.bank).dispatchValue(PEER, RECIPIENT, 5n, "0x01")
      ).wait();
      const args = unit.outbox.interface.parseLog(receipt!.logs[0])!.args;
      expect(args.message).to.equal(
        encodeMessage({
          nonce: 0,
          origin: unit.code,
          sender: addressToBytes32((await unit.bank.getAddress()) as Hex),
          destination: PEER,
          recipient: RECIPIENT,
          amount: 5n,
          body: "0x01",
        }),
      );
      // Once the local contracts are cached, the same checks hold.
      await expect(unit.outbox.connect(user).dispatchValue(PEER, RECIPIENT, 5n, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotBank")
        .withArgs(user.address);
      await expect(unit.outbox.connect(unit.stakingHub).dispatchValue(PEER, RECIPIENT, 5n, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotBank")
        .withArgs(await unit.stakingHub.getAddress());
    });

    it("refuses value and system dispatches before the registry binds the local contracts", async function () {
      const [deployer] = await ethers.getSigners();
      const registry = await ethers.deployContract("RouteRegistry", [unit.code, deployer.address]);
      const outbox = await ethers.deployContract("Outbox", [await registry.getAddress()]);
      await expect(outbox.dispatchValue(PEER, RECIPIENT, 5n, "0x")).to.be.revertedWithCustomError(
        registry,
        "NotBound",
      );
      await expect(outbox.dispatchSystem(PEER, RECIPIENT, "0x")).to.be.revertedWithCustomError(
        registry,
        "NotBound",
      );
    });

    it("applies the same rejections to value dispatches", async function () {
      await expect(
        unit.outbox.connect(unit.bank).dispatchValue(PEER, ethers.ZeroHash, 5n, "0x"),
      ).to.be.revertedWithCustomError(unit.outbox, "ZeroRecipient");
      await expect(
        unit.outbox.connect(unit.bank).dispatchValue(unit.code, RECIPIENT, 5n, "0x"),
      ).to.be.revertedWithCustomError(unit.outbox, "DestinationIsSelf");
    });

    it("lets only the local StakingHub dispatch system messages, as the sender", async function () {
      await expect(unit.outbox.connect(user).dispatchSystem(PEER, RECIPIENT, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotStakingHub")
        .withArgs(user.address);
      await expect(unit.outbox.connect(unit.bank).dispatchSystem(PEER, RECIPIENT, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotStakingHub")
        .withArgs(await unit.bank.getAddress());
      const receipt = await (
        await unit.outbox.connect(unit.stakingHub).dispatchSystem(PEER, RECIPIENT, "0x02")
      ).wait();
      const args = unit.outbox.interface.parseLog(receipt!.logs[0])!.args;
      expect(decodeMessage(args.message).sender).to.equal(
        addressToBytes32((await unit.stakingHub.getAddress()) as Hex),
      );
      await expect(unit.outbox.connect(unit.bank).dispatchSystem(PEER, RECIPIENT, "0x"))
        .to.be.revertedWithCustomError(unit.outbox, "NotStakingHub")
        .withArgs(await unit.bank.getAddress());
    });
  });

  describe("fee top-ups (docs/protocol.md 3.9)", function () {
    /** Dispatches a message from `user` and credits `user` 10 units of prepaid fees. */
    async function messageAndBalance() {
      const { args } = await dispatch("0xab");
      await (await unit.outbox.connect(unit.bank).creditFees(user.address, 10n)).wait();
      return args.message as Hex;
    }

    it("dispatches the top-up to the destination's Outbox, paid from the prepaid balance", async function () {
      const message = await messageAndBalance();
      const id = messageId(message);
      const [, , , peerOutbox] = await ethers.getSigners();
      const receipt = await (await unit.outbox.connect(user).topUp(message, 4n)).wait();
      const logs = receipt!.logs.map((l) => unit.outbox.interface.parseLog(l)!);
      const dispatched = logs.find((l) => l.name === "Dispatch")!.args;
      const topUp = decodeMessage(dispatched.message as Hex);
      expect(topUp).to.deep.include({
        nonce: 1,
        destination: PEER,
        recipient: addressToBytes32(peerOutbox!.address as Hex),
        sender: addressToBytes32(user.address as Hex),
        amount: 0n,
        fee: 4n,
        body: id,
      });
      const event = logs.find((l) => l.name === "FeeToppedUp")!.args;
      expect([event.id, event.topUpId, event.destination, event.amount]).to.deep.equal([
        id,
        dispatched.id,
        PEER,
        4n,
      ]);
      expect(await unit.outbox.feeBalance(user.address)).to.equal(6n);
      expect(await unit.outbox.feesDispatched(PEER)).to.equal(4n);
    });

    it("refuses a zero amount, a short balance, a foreign and an unknown message", async function () {
      const message = await messageAndBalance();
      await expect(unit.outbox.connect(user).topUp(message, 0n)).to.be.revertedWithCustomError(
        unit.outbox,
        "ZeroTopUp",
      );
      await expect(unit.outbox.connect(user).topUp(message, 11n))
        .to.be.revertedWithCustomError(unit.outbox, "FeeBalanceShort")
        .withArgs(11n, 10n);
      const m = decodeMessage(message);
      const foreign = encodeMessage({ ...m, origin: PEER, destination: unit.code });
      await expect(unit.outbox.connect(user).topUp(foreign, 1n))
        .to.be.revertedWithCustomError(unit.outbox, "NotOurMessage")
        .withArgs(PEER);
      const unknown = encodeMessage({ ...m, nonce: 1 });
      await expect(unit.outbox.connect(user).topUp(unknown, 1n))
        .to.be.revertedWithCustomError(unit.outbox, "UnknownMessage")
        .withArgs(1, 1);
      expect(await unit.outbox.feeBalance(user.address)).to.equal(10n);
    });

    it("receives top-ups only from the local Inbox, with a 32-byte body", async function () {
      const id = messageId(await messageAndBalance());
      await expect(unit.outbox.connect(user).handle(PEER, RECIPIENT, 0n, id))
        .to.be.revertedWithCustomError(unit.outbox, "NotInbox")
        .withArgs(user.address);
      const inbox = await unit.inbox.getAddress();
      await networkHelpers.impersonateAccount(inbox);
      await networkHelpers.setBalance(inbox, 10n ** 18n);
      const asInbox = await ethers.getSigner(inbox);
      await expect(unit.outbox.connect(asInbox).handle(PEER, RECIPIENT, 0n, id))
        .to.emit(unit.outbox, "FeeTopUpReceived")
        .withArgs(PEER, id, RECIPIENT);
      await expect(unit.outbox.connect(asInbox).handle(PEER, RECIPIENT, 0n, "0x01"))
        .to.be.revertedWithCustomError(unit.outbox, "MalformedTopUp")
        .withArgs(1);
    });
  });

  describe("snapshots", function () {
    it("records the root at the current count, equal to the TypeScript tree's", async function () {
      const tree = new MerkleTree();
      expect(await unit.outbox.root()).to.equal(EMPTY_ROOT);
      for (let i = 0; i < 37; i++) {
        const { args } = await dispatch(ethers.hexlify(ethers.randomBytes(i % 5)) as Hex);
        tree.append(args.id);
        if (i % 9 === 0 || i === 36) {
          const count = tree.count;
          await expect(unit.outbox.snapshot())
            .to.emit(unit.outbox, "Snapshot")
            .withArgs(count, tree.root());
          expect(await unit.outbox.rootAt(count)).to.equal(tree.root());
          expect(await unit.outbox.latestSnapshot()).to.deep.equal([tree.root(), BigInt(count)]);
        }
      }
      expect(await unit.outbox.root()).to.equal(tree.root());
      // Counts never snapshotted have no root: signing them is fraud.
      expect(await unit.outbox.rootAt(2)).to.equal(ethers.ZeroHash);
      expect(await unit.outbox.rootAt(1)).to.equal(tree.rootAt(1));
    });

    it("is idempotent: a second snapshot at the same count returns it and emits nothing", async function () {
      await dispatch("0x");
      await (await unit.outbox.snapshot()).wait();
      const [root, count] = await unit.outbox.snapshot.staticCall();
      expect([root, count]).to.deep.equal(await unit.outbox.latestSnapshot());
      await expect(unit.outbox.snapshot()).not.to.emit(unit.outbox, "Snapshot");
    });

    it("reports no snapshot before the first one", async function () {
      expect(await unit.outbox.latestSnapshot()).to.deep.equal([ethers.ZeroHash, 0n]);
    });

    it("signs in the EIP-712 domain of this chain and this Outbox", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      expect(await unit.outbox.domainSeparator()).to.equal(
        checkpointDomainSeparator({
          evmChainId: chainId,
          outbox: (await unit.outbox.getAddress()) as Hex,
        }),
      );
    });
  });
});
