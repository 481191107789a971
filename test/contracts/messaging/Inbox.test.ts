/**
 * Inbox (docs/protocol.md 3.3–3.4) across simulated chains A, B and C with full suites: messages
 * dispatched on A are delivered on B with a multiproof against a root signed by A's attesters.
 * Every defence has a test that fails when the defence is removed.
 */
import { expect } from "chai";
import { ethers } from "ethers";

import {
  addressToBytes32,
  buildDelivery,
  MerkleTree,
  ZERO_HASHES,
  type Checkpoint,
  type Hex,
} from "../../../relayer/protocol/index.js";
import {
  MessagingGasGuzzler__factory,
  MessagingGasHungry__factory,
  MessagingRecipient__factory,
  MessagingReentrant__factory,
  MessagingReturnBomb__factory,
  DeliverForwarder__factory,
  DeliverInConstructor__factory,
  type MessagingRecipient,
} from "../../../typechain-types/index.js";
import { governThroughTimelock } from "../../../deploy/governance.js";
import {
  deliveryArgs,
  prepareDelivery,
  relay,
  type Delivery,
  type TestChain,
} from "../../helpers/suite.js";
import {
  createMessagingNetwork,
  deliver,
  domainOf,
  HANDLER_GAS_LIMIT,
  send,
  signAll,
  type MessagingNetwork,
} from "./network.js";

const ONE = 10n ** 18n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const FAILURE = { None: 0n, HandlerReverted: 1n, PayoutPending: 2n } as const;

describe("Inbox", function () {
  let net: MessagingNetwork;
  let a: TestChain, b: TestChain, c: TestChain;
  let recipient: MessagingRecipient;
  let recipientAddress: string;

  before(async function () {
    net = await createMessagingNetwork();
    ({ a, b, c } = net);
  });

  beforeEach(async function () {
    await net.restore();
    const [deployer] = await b.connection.ethers.getSigners();
    recipient = await new MessagingRecipient__factory(deployer).deploy();
    recipientAddress = await recipient.getAddress();
  });

  /** Prepares the delivery of A's pending messages to B, signed by `signers` (default: the first). */
  async function prepare(signers = a.attesters.slice(0, 1), nonces?: number[]): Promise<Delivery> {
    const delivery = await prepareDelivery(a, b, { signers, nonces });
    if (!delivery) throw new Error("nothing to deliver");
    return delivery;
  }

  /** The same delivery with its checkpoint changed and re-signed by `signers`. */
  async function resigned(
    delivery: Delivery,
    checkpoint: Checkpoint,
    signers = a.attesters.slice(0, 1),
  ) {
    return { ...delivery, checkpoint, signatures: await signAll(signers, domainOf(a), checkpoint) };
  }

  describe("delivery", function () {
    it("delivers a message from A on B against a root signed by A's attesters", async function () {
      const sent = await send(a, b, recipientAddress, "0xc0ffee");
      const delivery = await prepare();
      await expect(deliver(b, delivery)).to.emit(b.suite.inbox, "Delivered").withArgs(sent.id);
      expect(await recipient.handled()).to.equal(1n);
      expect(await recipient.lastOrigin()).to.equal(a.suite.code);
      expect(await recipient.lastSender()).to.equal(await senderOf(a));
      expect(await recipient.lastAmount()).to.equal(0n);
      expect(await recipient.lastBody()).to.equal("0xc0ffee");
      expect(await b.suite.inbox.isDelivered(a.suite.code, sent.nonce)).to.equal(true);
      expect(await b.suite.inbox.failure(sent.id)).to.equal(FAILURE.None);
    });

    it("delivers a batch of 64 messages in one call", async function () {
      const sent = [];
      for (let i = 0; i < 64; i++)
        sent.push(await send(a, b, recipientAddress, ethers.toBeHex(i, 32) as Hex));
      const delivery = await prepare(a.attesters);
      expect(delivery.messages).to.have.length(64);
      const receipt = await (await deliver(b, delivery)).wait();
      const delivered = receipt!.logs.filter(
        (l) => b.suite.inbox.interface.parseLog(l)?.name === "Delivered",
      );
      expect(delivered).to.have.length(64);
      expect(await recipient.handled()).to.equal(64n);
      for (const s of sent)
        expect(await b.suite.inbox.isDelivered(a.suite.code, s.nonce)).to.equal(true);
    });

    it("delivers a batch that skips nonces (messages for other chains in between)", async function () {
      const first = await send(a, b, recipientAddress, "0x01");
      await send(a, c, recipientAddress, "0x02");
      const third = await send(a, b, recipientAddress, "0x03");
      const delivery = await prepare();
      expect(delivery.messages).to.have.length(2);
      await (await deliver(b, delivery)).wait();
      expect(await recipient.handled()).to.equal(2n);
      expect(await b.suite.inbox.isDelivered(a.suite.code, first.nonce)).to.equal(true);
      expect(await b.suite.inbox.isDelivered(a.suite.code, third.nonce)).to.equal(true);
      expect(await b.suite.inbox.isDelivered(a.suite.code, third.nonce - 1)).to.equal(false);
    });

    it("rejects an empty batch", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      await expect(deliver(b, { ...delivery, messages: [] })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "NoMessages",
      );
    });

    it("rejects framed messages that do not add up, and takes the same framed right", async function () {
      await send(a, b, recipientAddress);
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const inbox = b.suite.inbox;
      const [checkpoint, signatures, framed, proof] = deliveryArgs(delivery);
      const bytes = ethers.getBytes(framed);
      const withCount = (count: number) =>
        ethers.concat([ethers.toBeHex(count, 2), ethers.dataSlice(framed, 2)]);
      const cases: [string, string, number][] = [
        // A byte trails the last counted message.
        ["a trailing byte", ethers.concat([framed, "0x00"]), bytes.length],
        // The count says one message: the second frame trails it.
        ["a frame beyond the count", withCount(1), 2 + 2 + (bytes.length - 6) / 2],
        // The count says three: the third frame's length runs past the end.
        ["a count beyond the frames", withCount(3), bytes.length],
        // The last frame cut short.
        [
          "a cut frame",
          ethers.dataSlice(framed, 0, bytes.length - 1),
          2 + 2 + (bytes.length - 6) / 2,
        ],
      ];
      for (const [what, messages, offset] of cases)
        await expect(inbox.deliver(checkpoint, signatures, messages, proof), what)
          .to.be.revertedWithCustomError(inbox, "MessagesMalformed")
          .withArgs(offset);
      await (await inbox.deliver(checkpoint, signatures, framed, proof)).wait();
    });
  });

  describe("replay", function () {
    it("rejects the same batch twice", async function () {
      const sent = await send(a, b, recipientAddress);
      const delivery = await prepare();
      await (await deliver(b, delivery)).wait();
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "AlreadyDelivered")
        .withArgs(sent.id);
      expect(await recipient.handled()).to.equal(1n);
    });

    it("rejects a message re-sent in a later batch under a newer checkpoint", async function () {
      const old = await send(a, b, recipientAddress, "0x01");
      await (await deliver(b, await prepare())).wait();
      await send(a, b, recipientAddress, "0x02");
      // The new checkpoint covers both messages; the relayer slips the old one back in.
      await (await a.suite.outbox.snapshot()).wait();
      const [root, count] = await a.suite.outbox.latestSnapshot();
      const leaves = await leavesOf(a, Number(count));
      const checkpoint = {
        origin: a.suite.code,
        root: root as Hex,
        count: Number(count),
        last: leaves[Number(count) - 1]!,
      };
      const built = buildDelivery({
        leaves,
        count: Number(count),
        messages: [old.message, await lastMessage(a)],
      });
      const delivery = {
        checkpoint,
        signatures: await signAll(a.attesters.slice(0, 1), domainOf(a), checkpoint),
        messages: built.messages,
        proof: built.proof,
      };
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "AlreadyDelivered")
        .withArgs(old.id);
      // Without the old message the new one goes through.
      await (await deliver(b, await prepare())).wait();
      expect(await recipient.handled()).to.equal(2n);
    });

    it("rejects a message listed twice in one batch", async function () {
      await send(a, b, recipientAddress);
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const doubled = { ...delivery, messages: [delivery.messages[0], delivery.messages[0]] };
      await expect(deliver(b, doubled))
        .to.be.revertedWithCustomError(b.suite.inbox, "MessagesNotAscending")
        .withArgs(1);
    });

    it("rejects messages out of nonce order", async function () {
      await send(a, b, recipientAddress, "0x01");
      await send(a, b, recipientAddress, "0x02");
      const delivery = await prepare();
      const reversed = { ...delivery, messages: [...delivery.messages].reverse() };
      await expect(deliver(b, reversed))
        .to.be.revertedWithCustomError(b.suite.inbox, "MessagesNotAscending")
        .withArgs(1);
    });
  });

  describe("every message of a batch, not only the first", function () {
    // After its first message the Inbox checks a run of ordinary zero-amount calls to the same
    // recipient in bulk (Inbox._checkRun); each check must hold there as for the first message.

    /** Three messages from A to the recipient, prepared for B with one signer. */
    async function threeMessages(): Promise<Delivery> {
      for (const body of ["0x01", "0x02", "0x03"] as Hex[])
        await send(a, b, recipientAddress, body);
      return prepare();
    }

    /** `message` with `bytes` written at byte `offset` (a header field, docs/protocol.md 2.3). */
    function patched(message: string, offset: number, bytes: Uint8Array): Hex {
      const raw = ethers.getBytes(message);
      raw.set(bytes, offset);
      return ethers.hexlify(raw) as Hex;
    }

    /** Delivers `delivery` with its third message replaced by `third`. */
    function withThird(delivery: Delivery, third: string) {
      return deliver(b, { ...delivery, messages: [...delivery.messages.slice(0, 2), third] });
    }

    it("rejects a third message with a wrong version, origin, destination, nonce or length", async function () {
      const delivery = await threeMessages();
      const third = delivery.messages[2];
      const count = delivery.checkpoint.count;
      const version = patched(third, 0, new Uint8Array([2]));
      await expect(withThird(delivery, version))
        .to.be.revertedWithCustomError(b.suite.inbox, "UnsupportedVersion")
        .withArgs(ethers.keccak256(version), 2);
      const code = ethers.getBytes(ethers.toBeHex(c.suite.code, 8));
      const origin = patched(third, 5, code);
      await expect(withThird(delivery, origin))
        .to.be.revertedWithCustomError(b.suite.inbox, "WrongOrigin")
        .withArgs(ethers.keccak256(origin), c.suite.code);
      const destination = patched(third, 45, code);
      await expect(withThird(delivery, destination))
        .to.be.revertedWithCustomError(b.suite.inbox, "WrongDestination")
        .withArgs(ethers.keccak256(destination), c.suite.code);
      const beyond = patched(third, 1, ethers.getBytes(ethers.toBeHex(count, 4)));
      await expect(withThird(delivery, beyond))
        .to.be.revertedWithCustomError(b.suite.inbox, "NonceBeyondCount")
        .withArgs(ethers.keccak256(beyond), count, count);
      const short = ethers.dataSlice(third, 0, 132) as Hex;
      await expect(withThird(delivery, short))
        .to.be.revertedWithCustomError(b.suite.inbox, "MessageTooShort")
        .withArgs(132);
      await expect(withThird(delivery, delivery.messages[1]))
        .to.be.revertedWithCustomError(b.suite.inbox, "MessagesNotAscending")
        .withArgs(2);
      const swapped = [delivery.messages[0], delivery.messages[2], delivery.messages[1]];
      await expect(deliver(b, { ...delivery, messages: swapped }))
        .to.be.revertedWithCustomError(b.suite.inbox, "MessagesNotAscending")
        .withArgs(2);
      await (await deliver(b, delivery)).wait();
      expect(await recipient.handled()).to.equal(3n);
    });

    it("rejects a batch whose second message was already delivered", async function () {
      const delivery = await threeMessages();
      const nonce = Number(ethers.dataSlice(delivery.messages[1], 1, 5));
      const second = await prepare(a.attesters.slice(0, 1), [nonce]);
      await (await deliver(b, second)).wait();
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "AlreadyDelivered")
        .withArgs(ethers.keccak256(delivery.messages[1]));
    });

    it("sums every message's coverage and policy share", async function () {
      const available = await b.suite.inbox.policyCoverageAvailable(a.suite.code);
      const ask = available / 2n;
      await (await recipient.setPolicy(b.suite.addresses.inbox, 0, ask)).wait();
      const delivery = await threeMessages();
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "PolicyCoverageExhausted")
        .withArgs(3n * ask, available);
    });
  });

  describe("checkpoint and proof", function () {
    /** A message that needs its proof: one sent before another (not the checkpoint's last). */
    async function notLast(body: Hex = "0x") {
      const sent = await send(a, b, recipientAddress, body);
      await send(a, b, recipientAddress);
      return { sent, delivery: await prepare(undefined, [sent.nonce]) };
    }

    it("rejects a wrong proof", async function () {
      const { delivery } = await notLast();
      for (let i = 0; i < delivery.proof.length; i++) {
        const proof = [...delivery.proof];
        proof[i] = ethers.keccak256(proof[i]) as Hex;
        await expect(deliver(b, { ...delivery, proof })).to.be.revertedWithCustomError(
          b.suite.inbox,
          "InvalidProof",
        );
      }
    });

    it("takes the sparse proof: the empty subtrees beyond the signed count are left out", async function () {
      const { sent, delivery } = await notLast();
      const count = delivery.checkpoint.count;
      const tree = MerkleTree.from(await leavesOf(a, count));
      // The message's full branch holds empty-subtree siblings (the zero hashes of the right
      // edge); the sparse proof omits exactly those.
      const branch = tree.proof(sent.nonce, count);
      const empty = branch.filter((node, level) => node === ZERO_HASHES[level]);
      expect(empty.length).to.be.greaterThan(0);
      expect(delivery.proof).to.deep.equal(tree.multiproof([sent.nonce], count));
      expect(delivery.proof.length).to.equal(32 - empty.length);
      // Spelled out, they are elements left over: the full branch is refused.
      await expect(
        deliver(b, { ...delivery, proof: branch as Hex[] }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidMultiproof");
      await expect(deliver(b, delivery)).to.emit(b.suite.inbox, "Delivered").withArgs(sent.id);
    });

    it("rejects a proof with an element missing or left over", async function () {
      const { delivery } = await notLast();
      await expect(
        deliver(b, { ...delivery, proof: delivery.proof.slice(1) }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidMultiproof");
      await expect(
        deliver(b, { ...delivery, proof: [...delivery.proof, ethers.ZeroHash as Hex] }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidMultiproof");
    });

    it("rejects a message that is not the leaf the proof is for", async function () {
      const { delivery } = await notLast("0x01");
      const tampered = delivery.messages[0].slice(0, -2) + "02";
      await expect(
        deliver(b, { ...delivery, messages: [tampered as Hex] }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidProof");
    });

    it("rejects a root the attesters signed but the messages do not prove", async function () {
      const { delivery } = await notLast();
      const wrongRoot = { ...delivery.checkpoint, root: ethers.keccak256("0x01") as Hex };
      await expect(deliver(b, await resigned(delivery, wrongRoot))).to.be.revertedWithCustomError(
        b.suite.inbox,
        "InvalidProof",
      );
    });

    it("delivers the checkpoint's last message alone without a proof: the signers vouch for its id", async function () {
      const sent = await send(a, b, recipientAddress, "0xc0de");
      const delivery = await prepare();
      expect(delivery.checkpoint.last).to.equal(sent.id);
      expect(delivery.checkpoint.count).to.equal(sent.nonce + 1);
      expect(deliveryArgs(delivery)[3]).to.deep.equal([]);
      await expect(deliver(b, delivery)).to.emit(b.suite.inbox, "Delivered").withArgs(sent.id);
      expect(await b.suite.inbox.isDelivered(a.suite.code, sent.nonce)).to.equal(true);
    });

    it("refuses a message alone without a proof unless it is the signed last leaf at count - 1", async function () {
      const { sent, delivery } = await notLast();
      // Not the last leaf: without its proof nothing ties it to the root.
      await expect(deliver(b, { ...delivery, proof: [] })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "InvalidProof",
      );
      // Signed as the last leaf, but at another nonce than count - 1.
      const misplaced = { ...delivery.checkpoint, last: sent.id as Hex };
      await expect(
        deliver(b, { ...(await resigned(delivery, misplaced)), proof: [] }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidProof");
      // The last message, under a checkpoint naming another last leaf.
      const last = await prepare(undefined, [sent.nonce + 1]);
      const otherLast = { ...last.checkpoint, last: ethers.keccak256("0x01") as Hex };
      await expect(
        deliver(b, { ...(await resigned(last, otherLast)), proof: [] }),
      ).to.be.revertedWithCustomError(b.suite.inbox, "InvalidProof");
      // With its proof the same message goes through (the root is true).
      await expect(deliver(b, await resigned(last, otherLast))).to.emit(b.suite.inbox, "Delivered");
    });

    it("rejects a last leaf changed after signing (the signature binds it)", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const changed = { ...delivery.checkpoint, last: ethers.keccak256("0x02") as Hex };
      await expect(deliver(b, { ...delivery, checkpoint: changed })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "UnknownSigner",
      );
    });

    it("rejects a root changed after signing (the signature binds the root)", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const changed = {
        ...delivery,
        checkpoint: { ...delivery.checkpoint, root: ethers.keccak256("0x01") as Hex },
      };
      await expect(deliver(b, changed)).to.be.revertedWithCustomError(
        b.suite.inbox,
        "UnknownSigner",
      );
    });

    it("rejects the zero root and count 0, even when signed", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const zeroRoot = { ...delivery.checkpoint, root: ethers.ZeroHash as Hex };
      await expect(deliver(b, await resigned(delivery, zeroRoot))).to.be.revertedWithCustomError(
        b.suite.inbox,
        "EmptyCheckpoint",
      );
      const zeroCount = { ...delivery.checkpoint, count: 0 };
      await expect(deliver(b, await resigned(delivery, zeroCount))).to.be.revertedWithCustomError(
        b.suite.inbox,
        "EmptyCheckpoint",
      );
    });

    it("rejects a message whose nonce is not below the signed count", async function () {
      await send(a, b, recipientAddress, "0x01");
      await (await a.suite.outbox.snapshot()).wait();
      const [, count] = await a.suite.outbox.latestSnapshot();
      const beyond = await send(a, b, recipientAddress, "0x02");
      expect(beyond.nonce).to.equal(Number(count));
      // A checkpoint at the older count, carrying the newer message with the older root's proof.
      const delivery = await prepare(a.attesters.slice(0, 1));
      const atOldCount = {
        ...delivery.checkpoint,
        count: Number(count),
        root: (await a.suite.outbox.rootAt(count)) as Hex,
      };
      const forged = { ...(await resigned(delivery, atOldCount)), messages: [beyond.message] };
      await expect(deliver(b, forged))
        .to.be.revertedWithCustomError(b.suite.inbox, "NonceBeyondCount")
        .withArgs(beyond.id, beyond.nonce, Number(count));
    });

    it("rejects a message for another destination", async function () {
      const toC = await send(a, c, recipientAddress);
      const delivery = await prepareDelivery(a, c, { signers: a.attesters.slice(0, 1) });
      await expect(deliver(b, delivery!))
        .to.be.revertedWithCustomError(b.suite.inbox, "WrongDestination")
        .withArgs(toC.id, c.suite.code);
    });

    it("rejects a message from another origin than the checkpoint's", async function () {
      const sent = await send(a, b, recipientAddress);
      const delivery = await prepare();
      // C's attesters sign C's checkpoint with A's root: the messages still say origin A.
      const asC = { ...delivery.checkpoint, origin: c.suite.code };
      const forged = {
        ...delivery,
        checkpoint: asC,
        signatures: await signAll(c.attesters.slice(0, 1), domainOf(c), asC),
      };
      await expect(deliver(b, forged))
        .to.be.revertedWithCustomError(b.suite.inbox, "WrongOrigin")
        .withArgs(sent.id, a.suite.code);
    });

    it("rejects an origin that is unknown or paused, and accepts it again once resumed", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const unknown = { ...delivery.checkpoint, origin: 0x9999n };
      await expect(deliver(b, await resigned(delivery, unknown)))
        .to.be.revertedWithCustomError(b.suite.inbox, "OriginNotActive")
        .withArgs(0x9999n);

      await govern(b, "pauseRoute", [a.suite.code]);
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "OriginNotActive")
        .withArgs(a.suite.code);
      await govern(b, "resumeRoute", [a.suite.code]);
      await (await deliver(b, delivery)).wait();
      expect(await recipient.handled()).to.equal(1n);
    });

    it("reads the route from the registry's packed record, kept in step with the full one", async function () {
      const registry = b.suite.registry;
      const check = async (status: bigint) => {
        const full = await registry.route(a.suite.code);
        const packed = await registry.inboxRoute(a.suite.code);
        expect(packed.status).to.equal(status);
        expect(await registry.status(a.suite.code)).to.equal(status);
        expect(packed.minSigners).to.equal(full.minSigners);
        expect(packed.defaultCoverage).to.equal(full.defaultCoverage);
        expect(packed.stakingHub).to.equal(full.stakingHub);
        expect(packed.bank).to.equal(full.bank);
        expect(packed.stakingHub).to.equal(a.suite.addresses.stakingHub);
        expect(packed.bank).to.equal(a.suite.addresses.bank);
        expect(packed.domainSeparator).to.equal(await a.suite.outbox.domainSeparator());
        expect(await registry.domainSeparator(a.suite.code)).to.equal(packed.domainSeparator);
      };
      await check(1n);
      await govern(b, "pauseRoute", [a.suite.code]);
      await check(2n);
      await govern(b, "setRoutePolicy", [a.suite.code, 3, 7n * ONE]);
      await check(2n);
      expect((await registry.inboxRoute(a.suite.code)).minSigners).to.equal(3n);
      expect((await registry.inboxRoute(a.suite.code)).defaultCoverage).to.equal(7n * ONE);
      await govern(b, "resumeRoute", [a.suite.code]);
      await check(1n);
      // A code never enrolled: status None and zeroes, without reverting.
      const none = await registry.inboxRoute(0x9999n);
      expect(none.status).to.equal(0n);
      expect(none.bank).to.equal(ethers.ZeroAddress);
      expect(none.domainSeparator).to.equal(ethers.ZeroHash);
      // The Inbox applies the packed policy: 3 signers now required.
      await send(a, b, recipientAddress);
      await expect(deliver(b, await prepare(a.attesters.slice(0, 2))))
        .to.be.revertedWithCustomError(b.suite.inbox, "TooFewSigners")
        .withArgs(2n, 3n);
      await (await deliver(b, await prepare(a.attesters.slice(0, 3)))).wait();
      expect(await recipient.handled()).to.equal(1n);
    });

    it("keeps its copy of each route, pushed by the registry on enrollment, pause, resume and policy change", async function () {
      const inbox = b.suite.inbox;
      const registry = b.suite.registry;
      const fields = (r: Awaited<ReturnType<typeof inbox.inboxRoute>>) => [
        r.status,
        r.minSigners,
        r.stakingHub,
        r.bank,
        r.defaultCoverage,
        r.domainSeparator,
      ];
      /** The Inbox's copy of `code` equals the registry's, and the last `RouteSet` says so. */
      const check = async (code: bigint, status: bigint, minSigners: bigint, coverage: bigint) => {
        const copy = await inbox.inboxRoute(code);
        expect(fields(copy)).to.deep.equal(fields(await registry.inboxRoute(code)));
        expect([copy.status, copy.minSigners, copy.defaultCoverage]).to.deep.equal([
          status,
          minSigners,
          coverage,
        ]);
        const logs = await inbox.queryFilter(inbox.filters.RouteSet(code));
        const { args } = logs.at(-1)!;
        expect([args.origin, args.status, args.minSigners, args.defaultCoverage]).to.deep.equal([
          code,
          status,
          minSigners,
          coverage,
        ]);
      };
      const { minSigners, defaultCoverage } = await registry.route(a.suite.code);
      await check(a.suite.code, 1n, minSigners, defaultCoverage);
      await govern(b, "pauseRoute", [a.suite.code]);
      await check(a.suite.code, 2n, minSigners, defaultCoverage);
      await govern(b, "setRoutePolicy", [a.suite.code, 3, 7n * ONE]);
      await check(a.suite.code, 2n, 3n, 7n * ONE);
      await govern(b, "resumeRoute", [a.suite.code]);
      await check(a.suite.code, 1n, 3n, 7n * ONE);

      // A new enrollment is pushed whole, with its peer contracts and domain separator.
      const code = 0x1234n;
      const none = await inbox.inboxRoute(code);
      expect(none.status).to.equal(0n);
      expect(none.stakingHub).to.equal(ethers.ZeroAddress);
      expect(none.domainSeparator).to.equal(ethers.ZeroHash);
      const [, , , peer] = await b.connection.ethers.getSigners();
      await govern(b, "enrollRoute", [
        code,
        {
          evmChainId: code,
          outbox: peer.address,
          inbox: peer.address,
          stakingHub: peer.address,
          bank: peer.address,
          settlementDecimals: 18,
          minSigners: 2,
          defaultCoverage: 5n * ONE,
          unbondingDelay: BigInt(await inbox.exposureWindow()) + 1n,
        },
      ]);
      await check(code, 1n, 2n, 5n * ONE);
      const copy = await inbox.inboxRoute(code);
      expect(copy.stakingHub).to.equal(peer.address);
      expect(copy.bank).to.equal(peer.address);
      expect(copy.domainSeparator).to.equal(await registry.domainSeparator(code));
    });

    it("takes a route only from the registry", async function () {
      const [deployer, , stranger] = await b.connection.ethers.getSigners();
      const route = await b.suite.registry.inboxRoute(a.suite.code);
      const paused = {
        status: 2n,
        minSigners: route.minSigners,
        stakingHub: route.stakingHub,
        bank: route.bank,
        defaultCoverage: route.defaultCoverage,
        domainSeparator: route.domainSeparator,
      };
      for (const caller of [deployer, stranger]) {
        await expect(b.suite.inbox.connect(caller).setRoute(a.suite.code, paused))
          .to.be.revertedWithCustomError(b.suite.inbox, "NotRegistry")
          .withArgs(caller.address);
      }
      expect((await b.suite.inbox.inboxRoute(a.suite.code)).status).to.equal(1n);
    });
  });

  describe("signatures", function () {
    it("logs the accepted checkpoint, ABI-encoded as (count, last, bytes): the signatures packed when called through a contract, none when called by the transaction", async function () {
      const inbox = b.suite.inbox;
      const topic = inbox.interface.getEvent("CheckpointAccepted")!.topicHash;
      const recordOf = async (tx: Promise<ethers.ContractTransactionResponse>) => {
        const receipt = await (await tx).wait();
        const logs = receipt!.logs.filter((l) => l.topics[0] === topic);
        expect(logs).to.have.length(1);
        return logs[0]!;
      };
      const encoded = (d: Delivery, signatures: string) =>
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint32", "bytes32", "bytes"],
          [d.checkpoint.count, d.checkpoint.last, signatures],
        );
      // Through a contract: the transaction's input is not this call, so the log carries them.
      // 3 signatures: 195 bytes, so the log's last word is padded.
      await send(a, b, recipientAddress);
      const forwarded = await prepare(a.attesters.slice(0, 3));
      const forwarder = await new DeliverForwarder__factory(
        (await b.connection.ethers.getSigners())[0],
      ).deploy();
      const viaContract = await recordOf(
        forwarder.forward(b.suite.addresses.inbox, ...deliveryArgs(forwarded)),
      );
      // Byte for byte what `emit CheckpointAccepted(origin, root, count, last, packed)` logs.
      expect(viaContract.topics).to.deep.equal([
        topic,
        ethers.zeroPadValue(ethers.toBeHex(forwarded.checkpoint.origin), 32),
        forwarded.checkpoint.root,
      ]);
      expect(viaContract.data).to.equal(encoded(forwarded, ethers.concat(forwarded.signatures)));
      // From a constructor (no code yet, but not the transaction's sender): logged too.
      await send(a, b, recipientAddress);
      const constructing = await prepare(a.attesters.slice(0, 3));
      const factory = new DeliverInConstructor__factory(
        (await b.connection.ethers.getSigners())[0],
      );
      const deployed = await factory.deploy(b.suite.addresses.inbox, ...deliveryArgs(constructing));
      const inConstructor = await recordOf(Promise.resolve(deployed.deploymentTransaction()!));
      expect(inConstructor.data).to.equal(
        encoded(constructing, ethers.concat(constructing.signatures)),
      );
      // Called by the transaction itself (an account without code): its input holds them.
      await send(a, b, recipientAddress);
      const direct = await prepare(a.attesters.slice(0, 3));
      const record = await recordOf(deliver(b, direct));
      expect(record.data).to.equal(encoded(direct, "0x"));
    });

    it("rejects a signature made for another chain id", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const domain = { ...domainOf(a), evmChainId: b.suite.evmChainId };
      const signatures = await signAll(a.attesters.slice(0, 1), domain, delivery.checkpoint);
      await expect(deliver(b, { ...delivery, signatures })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "UnknownSigner",
      );
    });

    it("rejects a signature made for another Outbox", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      // (Suites deployed alike share addresses across chains, so take an address no Outbox has.)
      const domain = { ...domainOf(a), outbox: b.suite.addresses.inbox as Hex };
      const signatures = await signAll(a.attesters.slice(0, 1), domain, delivery.checkpoint);
      await expect(deliver(b, { ...delivery, signatures })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "UnknownSigner",
      );
    });

    it("rejects duplicate signers", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const signatures = [delivery.signatures[0], delivery.signatures[0]];
      await expect(deliver(b, { ...delivery, signatures }))
        .to.be.revertedWithCustomError(b.suite.inbox, "SignersNotAscending")
        .withArgs(1);
    });

    it("rejects signers that are not in increasing order", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare(a.attesters.slice(0, 2));
      const signatures = [...delivery.signatures].reverse();
      await expect(deliver(b, { ...delivery, signatures }))
        .to.be.revertedWithCustomError(b.suite.inbox, "SignersNotAscending")
        .withArgs(1);
    });

    it("rejects a signer that is not a mirrored attester of the origin", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const stranger = ethers.Wallet.createRandom();
      const signatures = await signAll(
        [stranger as unknown as (typeof a.attesters)[number]],
        domainOf(a),
        delivery.checkpoint,
      );
      await expect(deliver(b, { ...delivery, signatures }))
        .to.be.revertedWithCustomError(b.suite.inbox, "UnknownSigner")
        .withArgs(stranger.address);
      // C's attesters are staked, but not for A.
      const fromC = await signAll(c.attesters.slice(0, 1), domainOf(a), delivery.checkpoint);
      await expect(deliver(b, { ...delivery, signatures: fromC }))
        .to.be.revertedWithCustomError(b.suite.inbox, "UnknownSigner")
        .withArgs(c.attesters[0].address);
    });

    it("rejects a malleable (high-s) signature", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const sig = ethers.Signature.from(delivery.signatures[0]);
      const highS = ethers.concat([
        sig.r,
        ethers.toBeHex(SECP256K1_N - BigInt(sig.s), 32),
        ethers.toBeHex(sig.v === 27 ? 28 : 27, 1),
      ]) as Hex;
      await expect(deliver(b, { ...delivery, signatures: [highS] })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "ECDSAInvalidSignatureS",
      );
    });

    it("rejects packed signatures that are not whole 65-byte signatures", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare(a.attesters.slice(0, 2));
      const inbox = b.suite.inbox;
      const [checkpoint, packed, messages, proof] = deliveryArgs(delivery);
      // A byte more or less than two signatures: never read as two signatures and a scrap.
      for (const signatures of [ethers.concat([packed, "0x00"]), ethers.dataSlice(packed, 1)]) {
        await expect(inbox.deliver(checkpoint, signatures, messages, proof))
          .to.be.revertedWithCustomError(inbox, "SignaturesLength")
          .withArgs(ethers.dataLength(signatures));
      }
      // The same two signatures whole are taken.
      await (await inbox.deliver(checkpoint, packed, messages, proof)).wait();
    });

    it("rejects a batch with no signature at all", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      await expect(deliver(b, { ...delivery, signatures: [] }))
        .to.be.revertedWithCustomError(b.suite.inbox, "TooFewSigners")
        .withArgs(0, 1);
    });
  });

  describe("policy and coverage", function () {
    it("applies the strictest minimum of signers among the batch's recipients", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      const strict = await new MessagingRecipient__factory(deployer).deploy();
      await expect(strict.setPolicy(b.suite.addresses.inbox, 3, 0))
        .to.emit(b.suite.inbox, "RecipientPolicySet")
        .withArgs(await strict.getAddress(), 3, 0);
      expect(await b.suite.inbox.recipientPolicy(await strict.getAddress())).to.deep.equal([
        3n,
        0n,
      ]);
      await send(a, b, recipientAddress);
      await send(a, b, await strict.getAddress());
      await expect(deliver(b, await prepare(a.attesters.slice(0, 2))))
        .to.be.revertedWithCustomError(b.suite.inbox, "TooFewSigners")
        .withArgs(2, 3);
      await (await deliver(b, await prepare(a.attesters))).wait();
      expect(await strict.handled()).to.equal(1n);
    });

    it("needs the signers' free stake to cover the value at risk, charged greedily in order", async function () {
      // Each of A's 3 attesters has M mirrored on B (its vouching stake: (1 − bounty) of its 100
      // allocated); the recipient asks 1.5 M per message, half of the mirrored total.
      const [first, second] = a.attesters;
      const M = await mirrored(first.address);
      const ask = (3n * M) / 2n;
      await (await recipient.setPolicy(b.suite.addresses.inbox, 0, ask)).wait();
      await send(a, b, recipientAddress);
      await expect(deliver(b, await prepare(a.attesters.slice(0, 1))))
        .to.be.revertedWithCustomError(b.suite.inbox, "InsufficientCoverage")
        .withArgs(ask, M);
      await expect(deliver(b, await prepare([first, second])))
        .to.emit(b.suite.inbox, "CoverageCharged")
        .withArgs(a.suite.code, first.address, M)
        .and.to.emit(b.suite.inbox, "CoverageCharged")
        .withArgs(a.suite.code, second.address, ask - M);
      expect(await b.suite.inbox.exposure(a.suite.code, first.address)).to.equal(M);
      expect(await b.suite.inbox.freeCapacity(a.suite.code, second.address)).to.equal(2n * M - ask);
      // Recipients' own policies may take at most half of the mirrored total per window
      // (protocol.md 3.5, "Policy coverage"): this recipient used all of it.
      expect(await b.suite.inbox.policyCoverageAvailable(a.suite.code)).to.equal(0n);
      await send(a, b, recipientAddress);
      await expect(deliver(b, await prepare(a.attesters)))
        .to.be.revertedWithCustomError(b.suite.inbox, "PolicyCoverageExhausted")
        .withArgs(ask, 0n);
      // The same demand as the route's default is not capped: the next message finds the first
      // signer used up (0.5 M + 0 free of the two, 1.5 M needed).
      await (await recipient.setPolicy(b.suite.addresses.inbox, 0, 0n)).wait();
      await govern(b, "setRoutePolicy", [a.suite.code, 1, ask]);
      await expect(deliver(b, await prepare([first, second])))
        .to.be.revertedWithCustomError(b.suite.inbox, "InsufficientCoverage")
        .withArgs(ask, 2n * M - ask);
      await (await deliver(b, await prepare(a.attesters))).wait();
      expect(await recipient.handled()).to.equal(2n);
    });

    it("uses the route's default coverage for recipients without a policy", async function () {
      await govern(b, "setRoutePolicy", [a.suite.code, 1, 60n * ONE]);
      await send(a, b, recipientAddress);
      await send(a, b, recipientAddress);
      await expect(deliver(b, await prepare(a.attesters.slice(0, 1))))
        .to.be.revertedWithCustomError(b.suite.inbox, "InsufficientCoverage")
        .withArgs(120n * ONE, await mirrored(a.attesters[0].address));
      await (await deliver(b, await prepare(a.attesters.slice(0, 2)))).wait();
    });

    it("mirrors a stake report from the origin's StakingHub signed by a majority of the mirrored stake, at no value at risk", async function () {
      const attester = a.attesters[0];
      const M = await mirrored(attester.address);
      const hub = a.suite.stakingHub.connect(attester);
      await (await hub.allocate(b.suite.code, 150n * ONE)).wait();
      // The report carries the same share of 150 as the seeding did of the fixture's 100.
      const vouched = (150n * M) / 100n;
      // One signer holds M of 3 M: not more than half, whatever its free capacity.
      await expect(deliver(b, await prepare(a.attesters.slice(1, 2))))
        .to.be.revertedWithCustomError(b.suite.inbox, "StakeReportNeedsQuorum")
        .withArgs(M, 3n * M);
      // Two of three are a majority: the report applies and charges nothing.
      const receipt = await relay(a, b, { signers: a.attesters.slice(1, 3) });
      const charged = receipt!.logs.filter(
        (l) => b.suite.inbox.interface.parseLog(l)?.name === "CoverageCharged",
      );
      expect(charged).to.have.length(0);
      expect(await mirrored(attester.address)).to.equal(vouched);
      expect(await b.suite.inbox.totalMirroredStake(a.suite.code)).to.equal(2n * M + vouched);
      expect(await b.suite.inbox.exposure(a.suite.code, a.attesters[1].address)).to.equal(0n);
    });

    it("needs the majority also for a stake report that changes nothing (its effect is known only when it runs)", async function () {
      // Any message from the peer StakingHub to this Inbox needs the majority, whatever its body:
      // the report's effect is only known when it executes.
      const attester = a.attesters[0];
      const M = await mirrored(attester.address);
      const hub = a.suite.stakingHub.connect(attester);
      await (await hub.allocate(b.suite.code, 100n * ONE)).wait(); // restates the mirror
      await expect(deliver(b, await prepare(a.attesters.slice(0, 1))))
        .to.be.revertedWithCustomError(b.suite.inbox, "StakeReportNeedsQuorum")
        .withArgs(M, 3n * M);
      await (await deliver(b, await prepare(a.attesters.slice(0, 2)))).wait();
    });
  });

  describe("the watcher's record", function () {
    it("logs every accepted checkpoint with its signatures packed in signer order (CheckpointAccepted)", async function () {
      await send(a, b, recipientAddress);
      const delivery = await prepare(a.attesters);
      const packed = ethers.concat(delivery.signatures);
      expect(ethers.dataLength(packed)).to.equal(65 * a.attesters.length);
      const forwarder = await new DeliverForwarder__factory(
        (await b.connection.ethers.getSigners())[0],
      ).deploy();
      const { root, count, last } = delivery.checkpoint;
      await expect(forwarder.forward(b.suite.addresses.inbox, ...deliveryArgs(delivery)))
        .to.emit(b.suite.inbox, "CheckpointAccepted")
        .withArgs(a.suite.code, root, count, last, packed);
      // Sent straight to the Inbox, the record leaves them to the transaction's input.
      await send(a, b, recipientAddress);
      const direct = await prepare(a.attesters);
      const cp = direct.checkpoint;
      await expect(deliver(b, direct))
        .to.emit(b.suite.inbox, "CheckpointAccepted")
        .withArgs(a.suite.code, cp.root, cp.count, cp.last, "0x");
      // A refused batch logs nothing (it reverts as a whole).
      await send(a, b, recipientAddress);
      await (await recipient.setPolicy(b.suite.addresses.inbox, 4, 0)).wait();
      await expect(deliver(b, await prepare(a.attesters))).to.be.revertedWithCustomError(
        b.suite.inbox,
        "TooFewSigners",
      );
    });
  });

  describe("governance recovery of a mirror (reseedMirror)", function () {
    it("reseeds only through the registry's owner and only while the route is paused", async function () {
      const [, , stranger] = await b.connection.ethers.getSigners();
      const registry = b.suite.registry;
      const args: [bigint, string[], bigint[], number] = [
        a.suite.code,
        [a.attesters[0].address],
        [7n * ONE],
        0,
      ];
      await expect(registry.connect(stranger).reseedMirror(...args))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(b.suite.inbox.reseedMirror(...args))
        .to.be.revertedWithCustomError(b.suite.inbox, "NotRegistry")
        .withArgs((await b.connection.ethers.getSigners())[0].address);
      // The owner (the timelock) on an active route: refused.
      const timelock = b.suite.addresses.timelock;
      await b.connection.networkHelpers.impersonateAccount(timelock);
      await b.connection.networkHelpers.setBalance(timelock, 10n ** 20n);
      const owner = registry.connect(await b.connection.ethers.getSigner(timelock));
      await expect(owner.reseedMirror(...args))
        .to.be.revertedWithCustomError(registry, "RouteNotPaused")
        .withArgs(a.suite.code);
      await expect(owner.reseedMirror(c.suite.code + 1000n, [], [], 0))
        .to.be.revertedWithCustomError(registry, "UnknownRoute")
        .withArgs(c.suite.code + 1000n);
      const M = await mirrored(a.attesters[0].address);
      await govern(b, "pauseRoute", [a.suite.code]);
      await govern(b, "reseedMirror", [...args]);
      expect(await b.suite.inbox.mirroredStake(a.suite.code, a.attesters[0].address)).to.equal(
        7n * ONE,
      );
      expect(await b.suite.inbox.totalMirroredStake(a.suite.code)).to.equal(7n * ONE + 2n * M);
      // It delivered nothing: the route stays paused until governance resumes it.
      await send(a, b, recipientAddress);
      const delivery = await prepare(a.attesters);
      await expect(deliver(b, delivery))
        .to.be.revertedWithCustomError(b.suite.inbox, "OriginNotActive")
        .withArgs(a.suite.code);
      await govern(b, "resumeRoute", [a.suite.code]);
      await (await deliver(b, delivery)).wait();
      expect(await recipient.handled()).to.equal(1n);
    });
  });

  describe("recipients that fail", function () {
    it("records a reverting recipient, continues the batch, and lets anyone retry it once fixed", async function () {
      await (await recipient.setFailing(true)).wait();
      const [deployer] = await b.connection.ethers.getSigners();
      const healthy = await new MessagingRecipient__factory(deployer).deploy();
      const failed = await send(a, b, recipientAddress, "0x0f");
      await send(a, b, await healthy.getAddress(), "0x0e");
      const refused = recipient.interface.encodeErrorResult("Refused", [42]);
      await expect(deliver(b, await prepare()))
        .to.emit(b.suite.inbox, "HandlerFailed")
        .withArgs(failed.id, FAILURE.HandlerReverted, refused);
      expect(await healthy.handled()).to.equal(1n);
      expect(await b.suite.inbox.failure(failed.id)).to.equal(FAILURE.HandlerReverted);
      expect(await b.suite.inbox.isDelivered(a.suite.code, failed.nonce)).to.equal(true);

      // Still failing: the retry reverts and the failure stays recorded.
      const [, , stranger] = await b.connection.ethers.getSigners();
      const inbox = b.suite.inbox.connect(stranger);
      await expect(inbox.retry(failed.message)).to.be.revertedWithCustomError(recipient, "Refused");
      expect(await b.suite.inbox.failure(failed.id)).to.equal(FAILURE.HandlerReverted);

      await (await recipient.setFailing(false)).wait();
      await expect(inbox.retry(failed.message))
        .to.emit(b.suite.inbox, "Retried")
        .withArgs(failed.id);
      expect(await recipient.handled()).to.equal(1n);
      expect(await recipient.lastBody()).to.equal("0x0f");
      expect(await b.suite.inbox.failure(failed.id)).to.equal(FAILURE.None);
      await expect(inbox.retry(failed.message))
        .to.be.revertedWithCustomError(b.suite.inbox, "NotFailed")
        .withArgs(failed.id);
      expect(await recipient.handled()).to.equal(1n);
    });

    it("retries a failed message after its route was paused (the Inbox's copy says Paused)", async function () {
      await (await recipient.setFailing(true)).wait();
      const failed = await send(a, b, recipientAddress, "0x0f");
      await (await deliver(b, await prepare())).wait();
      expect(await b.suite.inbox.failure(failed.id)).to.equal(FAILURE.HandlerReverted);
      await govern(b, "pauseRoute", [a.suite.code]);
      expect((await b.suite.inbox.inboxRoute(a.suite.code)).status).to.equal(2n);
      expect(await b.suite.inbox.isMessageDelivered(failed.message)).to.equal(true);
      await (await recipient.setFailing(false)).wait();
      await expect(b.suite.inbox.retry(failed.message))
        .to.emit(b.suite.inbox, "Retried")
        .withArgs(failed.id);
      expect(await recipient.handled()).to.equal(1n);
    });

    it("refuses to retry a message that never failed or was never delivered", async function () {
      const sent = await send(a, b, recipientAddress);
      await expect(b.suite.inbox.retry(sent.message))
        .to.be.revertedWithCustomError(b.suite.inbox, "NotFailed")
        .withArgs(sent.id);
      await (await deliver(b, await prepare())).wait();
      await expect(b.suite.inbox.retry(sent.message))
        .to.be.revertedWithCustomError(b.suite.inbox, "NotFailed")
        .withArgs(sent.id);
    });

    it("gives a gas-guzzling recipient only its handler gas; the batch goes on", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      const guzzler = await new MessagingGasGuzzler__factory(deployer).deploy();
      const burnt = await send(a, b, await guzzler.getAddress());
      await send(a, b, recipientAddress);
      const receipt = await (await deliver(b, await prepare(), { gasLimit: 10_000_000n })).wait();
      expect(await b.suite.inbox.failure(burnt.id)).to.equal(FAILURE.HandlerReverted);
      expect(await recipient.handled()).to.equal(1n);
      // Bounded: the guzzler's gas plus the batch's own cost, not the transaction's 10M.
      expect(receipt!.gasUsed).to.be.lessThan(HANDLER_GAS_LIMIT + 250_000n);
    });

    it("copies at most 256 bytes of a huge revert reason, at the recipient's expense", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      const bomb = await new MessagingReturnBomb__factory(deployer).deploy(60_000);
      const sent = await send(a, b, await bomb.getAddress());
      await send(a, b, recipientAddress);
      const receipt = await (await deliver(b, await prepare(), { gasLimit: 10_000_000n })).wait();
      const failed = receipt!.logs
        .map((l) => b.suite.inbox.interface.parseLog(l))
        .find((l) => l?.name === "HandlerFailed");
      expect(failed!.args.id).to.equal(sent.id);
      expect(ethers.dataLength(failed!.args.reason)).to.equal(256);
      expect(await recipient.handled()).to.equal(1n);
      expect(receipt!.gasUsed).to.be.lessThan(HANDLER_GAS_LIMIT + 250_000n);
    });

    it("records a message to a non-EVM account as failed without blocking the batch", async function () {
      const foreign = `0x${"ff".repeat(32)}` as Hex;
      const receipt = await (await a.suite.outbox.dispatch(b.suite.code, foreign, "0x")).wait();
      const id = a.suite.outbox.interface.parseLog(receipt!.logs[0])!.args.id;
      await send(a, b, recipientAddress);
      await (await deliver(b, await prepare())).wait();
      expect(await b.suite.inbox.failure(id)).to.equal(FAILURE.HandlerReverted);
      expect(await recipient.handled()).to.equal(1n);
    });

    it("cannot be starved of its handler gas by the relayer", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      // Succeeds only with most of the handler gas limit (its loop, then a fresh storage slot).
      const hungry = await new MessagingGasHungry__factory(deployer).deploy(
        HANDLER_GAS_LIMIT - 40_000n,
      );
      const sent = await send(a, b, await hungry.getAddress());
      const delivery = await prepare();
      // What the delivery uses when given plenty. It must be given more (the check asks for the full
      // handler limit, the handler uses less), so the sweep runs mostly above it.
      const snapshot = await b.connection.networkHelpers.takeSnapshot();
      const used = (await (await deliver(b, delivery, { gasLimit: 5_000_000n })).wait())!.gasUsed;
      expect(await hungry.handled()).to.equal(1n);
      await snapshot.restore();
      // Every gas limit around it either reverts the whole
      // transaction or runs the handler to completion: never a recorded failure.
      let reverted = 0;
      let insufficient = 0;
      for (let gasLimit = used - 10_000n; gasLimit <= used + 50_000n; gasLimit += 1_000n) {
        try {
          await (await deliver(b, delivery, { gasLimit })).wait();
          expect(await b.suite.inbox.failure(sent.id), `gas ${gasLimit}`).to.equal(FAILURE.None);
          expect(await hungry.handled()).to.equal(1n);
        } catch (error) {
          reverted++;
          const data = revertData(error);
          if (
            data?.startsWith(
              b.suite.inbox.interface.getError("InsufficientGasForHandler")!.selector,
            )
          )
            insufficient++;
        }
        await snapshot.restore();
      }
      expect(insufficient, "the check refused some starving gas limits").to.be.greaterThan(0);
      expect(reverted, "some gas limits were enough").to.be.lessThan(61);
    });

    it("stops a re-entrant recipient from delivering again from its handler", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      const reentrant = await new MessagingReentrant__factory(deployer).deploy(
        b.suite.addresses.inbox,
      );
      await send(a, b, await reentrant.getAddress());
      await send(a, b, recipientAddress);
      const delivery = await prepare();
      const again = b.suite.inbox.interface.encodeFunctionData("deliver", deliveryArgs(delivery));
      await (await reentrant.arm(again)).wait();
      await (await deliver(b, delivery, { gasLimit: 5_000_000n })).wait();
      expect(await reentrant.handled()).to.equal(1n);
      expect(await recipient.handled()).to.equal(1n);
      expect(await reentrant.innerSucceeded()).to.equal(false);
      expect(await reentrant.innerError()).to.equal(
        b.suite.inbox.interface.getError("ReentrancyGuardReentrantCall")!.selector,
      );
    });

    it("stops a re-entrant recipient from retrying itself from its handler", async function () {
      const [deployer] = await b.connection.ethers.getSigners();
      const reentrant = await new MessagingReentrant__factory(deployer).deploy(
        b.suite.addresses.inbox,
      );
      await (await reentrant.setFailing(true)).wait();
      const sent = await send(a, b, await reentrant.getAddress());
      await (await deliver(b, await prepare())).wait();
      expect(await b.suite.inbox.failure(sent.id)).to.equal(FAILURE.HandlerReverted);

      await (await reentrant.setFailing(false)).wait();
      await (
        await reentrant.arm(b.suite.inbox.interface.encodeFunctionData("retry", [sent.message]))
      ).wait();
      await expect(b.suite.inbox.retry(sent.message))
        .to.emit(b.suite.inbox, "Retried")
        .withArgs(sent.id);
      expect(await reentrant.handled()).to.equal(1n);
      expect(await reentrant.innerSucceeded()).to.equal(false);
      expect(await reentrant.innerError()).to.equal(
        b.suite.inbox.interface.getError("ReentrancyGuardReentrantCall")!.selector,
      );
      expect(await b.suite.inbox.failure(sent.id)).to.equal(FAILURE.None);
    });
  });

  describe("administration", function () {
    it("lets only the registry seed a mirror, once", async function () {
      const [, , stranger] = await b.connection.ethers.getSigners();
      await expect(
        b.suite.inbox.connect(stranger).initializeMirror(0x77n, [stranger.address], [ONE]),
      )
        .to.be.revertedWithCustomError(b.suite.inbox, "NotRegistry")
        .withArgs(stranger.address);
      expect(await b.suite.inbox.isMirrorInitialized(a.suite.code)).to.equal(true);
      expect(await b.suite.inbox.isMirrorInitialized(0x77n)).to.equal(false);
    });

    it("exposes its parameters", async function () {
      expect(await b.suite.inbox.handlerGasLimit()).to.equal(HANDLER_GAS_LIMIT);
      expect(await b.suite.inbox.localCode()).to.equal(b.suite.code);
      expect(await b.suite.inbox.registry()).to.equal(b.suite.addresses.registry);
      expect(await b.suite.inbox.MAX_RETURN_DATA()).to.equal(256n);
    });
  });

  // --- helpers -----------------------------------------------------------------------------------

  async function senderOf(chain: TestChain): Promise<string> {
    const [deployer] = await chain.connection.ethers.getSigners();
    return addressToBytes32(deployer.address as Hex);
  }

  async function leavesOf(chain: TestChain, count: number): Promise<Hex[]> {
    const outbox = chain.suite.outbox;
    const logs = await outbox.queryFilter(
      outbox.filters.Dispatch(),
      chain.suite.addresses.deployedAtBlock,
    );
    return logs
      .sort((x, y) => Number(x.args.nonce) - Number(y.args.nonce))
      .slice(0, count)
      .map((log) => log.args.id as Hex);
  }

  async function lastMessage(chain: TestChain): Promise<Hex> {
    const outbox = chain.suite.outbox;
    const logs = await outbox.queryFilter(
      outbox.filters.Dispatch(),
      chain.suite.addresses.deployedAtBlock,
    );
    return logs.reduce((x, y) => (Number(x.args.nonce) > Number(y.args.nonce) ? x : y)).args
      .message as Hex;
  }

  /** What B mirrors of A's attester `attester` (its vouching stake, as last reported). */
  async function mirrored(attester: string): Promise<bigint> {
    return b.suite.inbox.mirroredStake(a.suite.code, attester);
  }

  async function govern(
    chain: TestChain,
    fn: "pauseRoute" | "resumeRoute" | "setRoutePolicy" | "reseedMirror" | "enrollRoute",
    args: unknown[],
  ) {
    const data = chain.suite.registry.interface.encodeFunctionData(
      fn as "pauseRoute",
      args as [bigint],
    );
    await governThroughTimelock(chain.suite, [{ target: chain.suite.addresses.registry, data }]);
  }
});

/** Revert data of a failed transaction, as ethers reports it (or undefined). */
function revertData(error: unknown): string | undefined {
  const e = error as {
    data?: string;
    info?: { error?: { data?: string } };
    error?: { data?: string };
  };
  return e.data ?? e.error?.data ?? e.info?.error?.data;
}
