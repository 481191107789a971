/**
 * Attacks of the catalogue in docs/security.md that no other test file shows yet, one describe per
 * attack, each against the real contracts on three chains (world.ts). Every test here fails if the
 * defence it names is removed; docs/security.md lists which defences were checked that way.
 */
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";

import { enrollPeer } from "../../deploy/connect.js";
import { governThroughTimelock } from "../../deploy/governance.js";
import { deployLocalSuite, suiteAs } from "../../deploy/suite.js";
import {
  addressToBytes32,
  type Checkpoint,
  checkpointDigest,
  decodeMessage,
  EMPTY_ROOT,
  encodeMessage,
  encodeNettingRequest,
  encodeReserveReport,
  encodeStakeReport,
  encodeTransferBody,
  MerkleTree,
  messageId,
  multiRoot,
  signCheckpoint,
  treeCheckpoint,
  ZERO_HASHES,
} from "../../relayer/protocol/index.js";
import {
  ALLOCATION,
  FAILURE,
  ONE,
  RESERVE,
  U,
  W,
  World,
  deliveryArgs,
  forgeDelivery,
  named,
  recipientBody,
  type Delivery,
  type Hex,
} from "./world.js";

const A = 0;
const B = 1;
const C = 2;

describe("Security: attacks and the defences that stop them", function () {
  let world: World;

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
  });

  beforeEach(async function () {
    await world.reset();
  });

  // Helpers ------------------------------------------------------------------------------------

  /** `deliver` on chain `d` through ethers, for chai's revert matchers. */
  function deliverCall(d: number, delivery: Delivery, from?: ethers.Signer) {
    const chain = world.chains[d];
    const inbox = from ? suiteAs(chain.suite, from).inbox : chain.suite.inbox;
    return inbox.deliver(...deliveryArgs(delivery), { gasLimit: 12_000_000n });
  }

  /** One honest message A→B for B's SecurityRecipient, and its delivery signed by A's first attester. */
  async function honestDelivery(signers = world.chains[A].attesters.slice(0, 1)) {
    const sent = await world.dispatch(A, B, world.chains[B].recipientWord, recipientBody("honest"));
    const delivery = await world.prepare(A, B, { signers });
    return { sent, delivery: delivery! };
  }

  /**
   * A forged transfer from A's bank to `thief` on B, signed by `liars` (a false checkpoint of A),
   * as A's message `skip` places past its real count (each forgery its own nonce).
   */
  async function forgedTransfer(
    liars: Wallet[],
    amount: bigint,
    skip = 0,
    thief = world.chains[B].users[4].address,
  ) {
    const word = addressToBytes32(thief as Hex);
    return forgeDelivery(world, A, liars, {
      nonce: world.logs[A].length + skip,
      sender: addressToBytes32(world.chains[A].suite.addresses.bank as Hex),
      destination: world.chains[B].code,
      recipient: word,
      amount,
      body: encodeTransferBody({ sender: word, body: "0x" }),
    });
  }

  async function balanceOf(chain: number, account: string): Promise<bigint> {
    return world.chains[chain].suite.token.balanceOf(account);
  }

  // Checkpoint attacks ---------------------------------------------------------------------------

  describe("zero or default root (Nomad, August 2022)", function () {
    it("refuses the zero root before anything else, even signed by every attester with an all-zero proof", async function () {
      // Nomad accepted messages whose root was 0x00 because the zero root was marked proven.
      // Here no root is ever "proven" in storage: each batch proves itself, and a zero root is
      // refused outright.
      const { delivery } = await honestDelivery();
      const zero: Checkpoint = { ...delivery.checkpoint, root: ethers.ZeroHash as Hex };
      const forged = {
        ...delivery,
        checkpoint: zero,
        signatures: await world.sign(A, zero, world.chains[A].attesters),
        proof: delivery.proof.map(() => ethers.ZeroHash as Hex),
      };
      await expect(deliverCall(B, forged)).to.be.revertedWithCustomError(
        world.chains[B].suite.inbox,
        "EmptyCheckpoint",
      );
    });

    it("proves nothing under the empty tree's root (the default root), whatever count is signed", async function () {
      const { delivery } = await honestDelivery();
      for (const count of [delivery.checkpoint.count, delivery.checkpoint.count + 1, 2 ** 32 - 1]) {
        // With the message's own id as `last` too: the proof-less path does not read the root, so
        // the empty tree's root is refused before anything else.
        const empty: Checkpoint = { ...delivery.checkpoint, root: EMPTY_ROOT, count };
        const signatures = await world.sign(A, empty, world.chains[A].attesters);
        // The message's true proof, siblings taken from the empty tree (zero subtrees), and none.
        const proofs = [
          delivery.proof,
          delivery.proof.map((_, i) => ZERO_HASHES[i] ?? ethers.ZeroHash) as Hex[],
          [],
        ];
        for (const proof of proofs) {
          const out = await world.tryDeliver(B, {
            ...delivery,
            checkpoint: empty,
            signatures,
            proof,
          });
          expect(out.ok, "a message was proved under the empty tree's root").to.equal(false);
          expect(out.error).to.equal("EmptyCheckpoint");
        }
      }
    });
  });

  describe("duplicate signer with two different signatures", function () {
    it("counts a key once: a second, different valid signature of the same key is refused", async function () {
      const { delivery } = await honestDelivery();
      const signer = world.chains[A].attesters[0];
      // ECDSA is not unique per message: another nonce gives another valid (low-s) signature.
      const digest = checkpointDigest(world.chains[A].domain, delivery.checkpoint);
      const other = secp256k1.sign(digest.slice(2), signer.privateKey.slice(2), {
        lowS: true,
        extraEntropy: true,
      });
      const second = ethers.concat([
        ethers.toBeHex(other.r, 32),
        ethers.toBeHex(other.s, 32),
        ethers.toBeHex(other.recovery + 27, 1),
      ]) as Hex;
      expect(second).to.not.equal(delivery.signatures[0]);
      expect(ethers.recoverAddress(digest, second)).to.equal(signer.address);
      // Together they would count the key's stake (and its vote) twice.
      for (const pair of [
        [delivery.signatures[0], second],
        [second, delivery.signatures[0]],
      ]) {
        await expect(deliverCall(B, { ...delivery, signatures: pair }))
          .to.be.revertedWithCustomError(world.chains[B].suite.inbox, "SignersNotAscending")
          .withArgs(1);
      }
      // Each alone is a valid signature.
      const alone = await world.deliver(B, { ...delivery, signatures: [second] });
      expect(alone.ok, alone.error).to.equal(true);
    });
  });

  describe("slashed signer", function () {
    it("refuses a slashed attester's signature once its zero report reached the peer", async function () {
      const [liar] = world.chains[A].attesters;
      const checkpoint = await world.snapshot(A);
      const lie: Checkpoint = { ...checkpoint, root: ethers.id("a root A never had") as Hex };
      const [signature] = await world.sign(A, lie, [liar]);
      const prover = world.chains[A].users[0];
      await expect(
        suiteAs(world.chains[A].suite, prover).stakingHub.proveFraud(lie, signature),
      ).to.emit(world.chains[A].suite.stakingHub, "Slashed");
      // The zero report travels like any message, signed by the honest attesters (a stake report
      // needs signers holding more than half of the mirrored stake: 300 of 400).
      await world.sync(A);
      const report = await world.prepare(A, B, { signers: world.chains[A].attesters.slice(1) });
      const relayed = await world.deliver(B, report!);
      expect(relayed.ok, relayed.error).to.equal(true);
      expect(
        await world.chains[B].suite.inbox.mirroredStake(world.chains[A].code, liar.address),
      ).to.equal(0n);

      const { delivery } = await honestDelivery([liar]);
      await expect(deliverCall(B, delivery))
        .to.be.revertedWithCustomError(world.chains[B].suite.inbox, "UnknownSigner")
        .withArgs(liar.address);
    });
  });

  describe("stale mirror after unstake", function () {
    it("keeps the stake slashable on the origin for U, so a lie made through a stale mirror still costs it", async function () {
      const [attester] = world.chains[A].attesters;
      const hub = world.chains[A].suite.stakingHub;
      // The attester withdraws its allocation to B and asks for its whole stake back.
      expect(
        (await world.tx(A, attester, hub, "allocate", [world.chains[B].code, 0n])).ok,
      ).to.equal(true);
      const free = await hub.freeStake(attester.address);
      expect((await world.tx(A, attester, hub, "requestUnstake", [free])).ok).to.equal(true);
      // Its decrease report has not reached B yet: B still mirrors 100, and the attester lies there.
      const { delivery, checkpoint } = await forgedTransfer([attester], 60n * ONE);
      const lied = await world.deliver(B, delivery);
      expect(lied.ok, lied.error).to.equal(true);
      // It cannot take the stake out before U...
      await world.travel(A, U - 10n);
      expect((await world.tx(A, attester, hub, "withdraw", [attester.address])).error).to.equal(
        "NothingToWithdraw",
      );
      // ...and the lie, read from B's deliver calldata, still slashes all of it (bonded and unbonding).
      const bonded = await hub.bonded(attester.address);
      const unbonding = await hub.unbonding(attester.address);
      expect(unbonding).to.equal(free);
      const prover = world.chains[A].users[1];
      await expect(
        suiteAs(world.chains[A].suite, prover).stakingHub.proveFraud(
          checkpoint,
          delivery.signatures[0],
        ),
      )
        .to.emit(hub, "Slashed")
        .withArgs(
          attester.address,
          prover.address,
          bonded + unbonding,
          ((bonded + unbonding) * 1_000n) / 10_000n,
          checkpoint.root,
          checkpoint.count,
        );
      expect(await hub.unbonding(attester.address)).to.equal(0n);
      // Once the decrease reaches B the attester's signature is worth nothing there.
      await world.sync(A);
      const reports = await world.prepare(A, B, { signers: world.chains[A].attesters.slice(1) });
      expect((await world.deliver(B, reports!)).ok).to.equal(true);
      expect(
        await world.chains[B].suite.inbox.mirroredStake(world.chains[A].code, attester.address),
      ).to.equal(0n);
    });
  });

  // Value attacks -------------------------------------------------------------------------------

  describe("reserve drain by a lying attester", function () {
    it("lets a lie move at most the liar's free stake, only out of the origin's reserve, and slashes it on the origin", async function () {
      const [liar, honest] = world.chains[A].attesters;
      const thief = world.chains[B].users[4].address;
      const bank = world.chains[B].suite.bank;
      const before = await world.books(B);
      const thief0 = await balanceOf(B, thief);
      // What B mirrors of the liar: its vouching stake, (1 − bounty) of the 100 it allocated.
      const M = await world.chains[B].suite.inbox.mirroredStake(world.chains[A].code, liar.address);

      // More than the liar's mirrored stake is refused outright.
      const big = await forgedTransfer([liar], M + 1n);
      await expect(deliverCall(B, big.delivery))
        .to.be.revertedWithCustomError(world.chains[B].suite.inbox, "InsufficientCoverage")
        .withArgs(M + 1n, M);
      // Its whole stake's worth goes through once...
      const lie = await forgedTransfer([liar], M);
      expect((await world.deliver(B, lie.delivery)).ok).to.equal(true);
      expect(await balanceOf(B, thief)).to.equal(thief0 + M);
      // ...and nothing more within the window, however it is split.
      const more = await forgedTransfer([liar], 1n, 1);
      await expect(deliverCall(B, more.delivery)).to.be.revertedWithCustomError(
        world.chains[B].suite.inbox,
        "InsufficientCoverage",
      );

      // Only A's reserve on B paid; C's reserve and B's own users' pools are untouched.
      const after = await world.books(B);
      expect(after.reserve[A]).to.equal(before.reserve[A] - M);
      expect(after.reserve[C]).to.equal(before.reserve[C]);
      expect(after.pool).to.deep.equal(before.pool);
      expect(await bank.reserve(world.chains[A].code)).to.equal(RESERVE - M);

      // The signature in B's calldata proves the lie on A: the liar loses its whole stake.
      const prover = world.chains[A].users[2];
      await expect(
        suiteAs(world.chains[A].suite, prover).stakingHub.proveFraud(
          lie.checkpoint,
          lie.delivery.signatures[0],
        ),
      ).to.emit(world.chains[A].suite.stakingHub, "Slashed");
      expect(await world.chains[A].suite.stakingHub.slashed(liar.address)).to.equal(true);
      expect(await world.chains[A].suite.stakingHub.slashed(honest.address)).to.equal(false);
    });
  });

  describe("a false last leaf under a true root (the proof-less single delivery)", function () {
    it("lets a made-up last message move at most the liar's free stake, without a proof, and slashes it on the origin by the true leaf", async function () {
      const [liar, honest] = world.chains[A].attesters;
      const thief = world.chains[B].users[4].address;
      const word = addressToBytes32(thief as Hex);
      const M = await world.chains[B].suite.inbox.mirroredStake(world.chains[A].code, liar.address);
      const before = await world.books(B);
      const thief0 = await balanceOf(B, thief);
      // A's true snapshot: its root and count are right; only its last leaf is made up — a value
      // transfer from A's bank to the thief at nonce count − 1, delivered alone with no proof.
      const truth = await world.snapshot(A);
      const forgedAt = (amount: bigint) =>
        encodeMessage({
          nonce: truth.count - 1,
          origin: world.chains[A].code,
          sender: addressToBytes32(world.chains[A].suite.addresses.bank as Hex),
          destination: world.chains[B].code,
          recipient: word,
          amount,
          body: encodeTransferBody({ sender: word, body: "0x" }),
        });
      const lieWith = async (message: Hex) => {
        const checkpoint: Checkpoint = { ...truth, last: messageId(message) };
        return {
          checkpoint,
          signatures: await world.sign(A, checkpoint, [liar]),
          messages: [message],
          proof: [],
        };
      };
      // More than the liar's mirrored stake is refused; its whole stake's worth goes through once.
      await expect(deliverCall(B, await lieWith(forgedAt(M + 1n))))
        .to.be.revertedWithCustomError(world.chains[B].suite.inbox, "InsufficientCoverage")
        .withArgs(M + 1n, M);
      const lie = await lieWith(forgedAt(M));
      expect((await world.deliver(B, lie)).ok).to.equal(true);
      expect(await balanceOf(B, thief)).to.equal(thief0 + M);
      const after = await world.books(B);
      expect(after.reserve[A]).to.equal(before.reserve[A] - M);
      expect(after.reserve[C]).to.equal(before.reserve[C]);
      expect(after.pool).to.deep.equal(before.pool);

      // On A the root is true (proveFraud finds nothing); the true leaf at count − 1 with its
      // proof shows the lie, and the liar loses its whole stake.
      const hub = suiteAs(world.chains[A].suite, world.chains[A].users[2]).stakingHub;
      await expect(
        hub.proveFraud(lie.checkpoint, lie.signatures[0]!),
      ).to.be.revertedWithCustomError(hub, "NotFraud");
      const n = truth.count;
      await expect(
        hub.proveLastLeafFraud(
          lie.checkpoint,
          lie.signatures[0]!,
          world.trees[A].leaf(n - 1),
          world.trees[A].multiproof([n - 1], n),
        ),
      ).to.emit(world.chains[A].suite.stakingHub, "Slashed");
      expect(await world.chains[A].suite.stakingHub.slashed(liar.address)).to.equal(true);
      expect(await world.chains[A].suite.stakingHub.slashed(honest.address)).to.equal(false);
    });
  });

  describe("compromised keys, too few of them, no caps (Ronin, March 2022; Multichain, July 2023)", function () {
    it("caps what every key of a chain together can take per window at their mirrored stake, and only from that chain's reserve", async function () {
      // Ronin fell to 5 of 9 keys and Multichain to keys one person held: a quorum of keys could
      // move everything. Here all four keys of A together vouch for at most what B mirrors of
      // them (4 × their vouching stake) within W.
      const keys = world.chains[A].attesters;
      const cap = await world.chains[B].suite.inbox.totalMirroredStake(world.chains[A].code);
      // Top A's reserve on B up so the cap, not the reserve, is what binds.
      expect(
        (
          await world.tx(B, world.chains[B].users[5], world.chains[B].suite.bank, "fund", [
            world.chains[A].code,
            1_000n * ONE,
          ])
        ).ok,
      ).to.equal(true);
      const before = await world.books(B);

      const tooMuch = await forgedTransfer(keys, cap + 1n);
      await expect(deliverCall(B, tooMuch.delivery)).to.be.revertedWithCustomError(
        world.chains[B].suite.inbox,
        "InsufficientCoverage",
      );
      const all = await forgedTransfer(keys, cap);
      expect((await world.deliver(B, all.delivery)).ok).to.equal(true);
      const one = await forgedTransfer(keys, 1n, 1);
      await expect(deliverCall(B, one.delivery)).to.be.revertedWithCustomError(
        world.chains[B].suite.inbox,
        "InsufficientCoverage",
      );
      const after = await world.books(B);
      expect(before.reserve[A] - after.reserve[A]).to.equal(cap);
      expect(after.reserve[C]).to.equal(before.reserve[C]);
      // Every key that signed is slashable on A with the signatures from B's calldata.
      for (const signature of all.delivery.signatures) {
        await expect(
          suiteAs(world.chains[A].suite, world.chains[A].users[0]).stakingHub.proveFraud(
            all.checkpoint,
            signature,
          ),
        ).to.emit(world.chains[A].suite.stakingHub, "Slashed");
      }
    });
  });

  describe("governance enrolling a fake peer to mint money", function () {
    it("can only ever pay a fake peer's messages out of that peer's own (empty) reserve", async function () {
      // The community's timelock enrolls a "peer" whose contracts and attesters it controls, seeds
      // its mirror with its own key and forges a transfer from it. Nothing any other community
      // posted is reachable: the payout can only come from reserve[fake], which is 0.
      const b = world.chains[B];
      const fakeCode = 0xfa4en;
      const fakeKey = ethers.Wallet.createRandom();
      const fakeBank = ethers.Wallet.createRandom().address;
      const fakeOutbox = ethers.Wallet.createRandom().address;
      const fake = {
        evmChainId: 0xfa4en,
        outbox: fakeOutbox,
        inbox: ethers.Wallet.createRandom().address,
        stakingHub: ethers.Wallet.createRandom().address,
        bank: fakeBank,
        settlementDecimals: 18,
        minSigners: 1,
        defaultCoverage: 0n,
        unbondingDelay: U,
      };
      const registry = b.suite.registry.interface;
      await governThroughTimelock(b.suite, [
        {
          target: b.suite.addresses.registry,
          data: registry.encodeFunctionData("enrollRoute", [fakeCode, fake]),
        },
        {
          target: b.suite.addresses.registry,
          data: registry.encodeFunctionData("initializeMirror", [
            fakeCode,
            [fakeKey.address],
            [10n ** 30n],
          ]),
        },
      ]);
      const before = await world.books(B);
      const bankBalance = await balanceOf(B, b.suite.addresses.bank);
      const thief = b.users[4].address;
      const word = addressToBytes32(thief as Hex);
      const message = {
        version: 1,
        nonce: 0,
        origin: fakeCode,
        sender: addressToBytes32(fakeBank as Hex),
        destination: b.code,
        recipient: word,
        amount: 200n * ONE,
        body: encodeTransferBody({ sender: word, body: "0x" }),
      };
      const encoded = encodeMessage(message);
      const tree = MerkleTree.from([messageId(encoded)]);
      const checkpoint: Checkpoint = treeCheckpoint(fakeCode, tree);
      const signature = await signCheckpoint(
        fakeKey.privateKey as Hex,
        { evmChainId: fake.evmChainId, outbox: fakeOutbox as Hex },
        checkpoint,
      );
      const out = await world.deliver(B, {
        checkpoint,
        signatures: [signature],
        messages: [encoded],
        proof: tree.multiproof([0], 1),
      });
      expect(out.ok, out.error).to.equal(true);
      // Booked pending against the fake peer's empty reserve; nobody else's money moved.
      expect(named(out.events, "PayoutPending")).to.have.length(1);
      expect(await balanceOf(B, b.suite.addresses.bank)).to.equal(bankBalance);
      const after = await world.books(B);
      expect(after.reserve).to.deep.equal(before.reserve);
      expect(after.pool).to.deep.equal(before.pool);
      await expect(b.suite.bank.claim(messageId(encoded))).to.be.revertedWithCustomError(
        b.suite.bank,
        "ReserveShort",
      );
      // And governance cannot re-point a real peer or re-seed its mirror to do the same with A's reserve.
      await expect(
        governThroughTimelock(b.suite, [
          {
            target: b.suite.addresses.registry,
            data: registry.encodeFunctionData("enrollRoute", [world.chains[A].code, fake]),
          },
        ]),
      ).to.be.revertedWithCustomError(b.suite.registry, "RouteAlreadyEnrolled");
      await expect(
        governThroughTimelock(b.suite, [
          {
            target: b.suite.addresses.registry,
            data: registry.encodeFunctionData("initializeMirror", [
              world.chains[A].code,
              [fakeKey.address],
              [10n ** 30n],
            ]),
          },
        ]),
      ).to.be.revertedWithCustomError(b.suite.inbox, "MirrorAlreadyInitialized");
    });
  });

  // Relayer attacks ------------------------------------------------------------------------------

  describe("front-running a deliver", function () {
    it("makes the second delivery of a batch revert AlreadyDelivered in the same block, with nothing paid or run twice", async function () {
      const b = world.chains[B];
      const user = world.chains[A].users[0];
      const recipient = b.users[3].address;
      // A value transfer and a call, in one batch.
      const sent = await world.tx(A, user, world.chains[A].suite.bank, "send", [
        b.code,
        addressToBytes32(recipient as Hex),
        7n * ONE,
        "0x",
      ]);
      expect(sent.ok, sent.error).to.equal(true);
      const body = recipientBody("honest");
      await world.dispatch(A, B, b.recipientWord, body);
      const delivery = (await world.prepare(A, B))!;
      const recipient0 = await balanceOf(B, recipient);

      // The victim's transaction waits in the mempool; the front-runner copies it with more gas price.
      const rpc = b.connection.provider;
      const data = b.suite.inbox.interface.encodeFunctionData("deliver", deliveryArgs(delivery));
      await rpc.request({ method: "evm_setAutomine", params: [false] });
      let victim: string, frontRunner: string;
      try {
        victim = (await rpc.request({
          method: "eth_sendTransaction",
          params: [
            {
              from: b.users[0].address,
              to: b.suite.addresses.inbox,
              data,
              gas: "0xb71b00",
              maxFeePerGas: "0x77359400",
              maxPriorityFeePerGas: "0x3b9aca00",
            },
          ],
        })) as string;
        frontRunner = (await rpc.request({
          method: "eth_sendTransaction",
          params: [
            {
              from: b.users[1].address,
              to: b.suite.addresses.inbox,
              data,
              gas: "0xb71b00",
              maxFeePerGas: "0xee6b2800",
              maxPriorityFeePerGas: "0x77359400",
            },
          ],
        })) as string;
        await rpc.request({ method: "evm_mine", params: [] });
      } finally {
        await rpc.request({ method: "evm_setAutomine", params: [true] });
      }
      const first = (await rpc.request({
        method: "eth_getTransactionReceipt",
        params: [frontRunner],
      })) as { status: string; transactionIndex: string };
      const second = (await rpc.request({
        method: "eth_getTransactionReceipt",
        params: [victim],
      })) as { status: string; transactionIndex: string };
      expect(first.status).to.equal("0x1");
      expect(Number(first.transactionIndex)).to.be.lessThan(Number(second.transactionIndex));
      expect(second.status, "the second copy of the batch must revert").to.equal("0x0");
      // Why it reverted: every message of the batch is already delivered.
      const replay = await world.tryDeliver(B, delivery);
      expect(replay.error).to.equal("AlreadyDelivered");
      // No loss: paid once, handled once.
      expect(await balanceOf(B, recipient)).to.equal(recipient0 + 7n * ONE);
      expect(await b.recipient.handledCount(ethers.keccak256(body))).to.equal(1n);
    });

    it("cannot alter the messages: any change to amount, recipient, sender or body breaks the proof", async function () {
      const b = world.chains[B];
      const user = world.chains[A].users[0];
      await world.tx(A, user, world.chains[A].suite.bank, "send", [
        b.code,
        addressToBytes32(b.users[3].address as Hex),
        7n * ONE,
        "0x",
      ]);
      const delivery = (await world.prepare(A, B))!;
      const original = decodeMessage(delivery.messages[0] as Hex);
      const edits = [
        { ...original, amount: original.amount * 100n },
        { ...original, recipient: addressToBytes32(b.users[4].address as Hex) },
        { ...original, sender: addressToBytes32(user.address as Hex) },
        {
          ...original,
          body: encodeTransferBody({
            sender: addressToBytes32(b.users[4].address as Hex),
            body: "0x",
          }),
        },
      ];
      for (const edited of edits) {
        const messages = [encodeMessage(edited)];
        await expect(deliverCall(B, { ...delivery, messages })).to.be.revertedWithCustomError(
          b.suite.inbox,
          "InvalidProof",
        );
      }
      // A relayer's own key added beside the attesters' is refused, too.
      const stranger = ethers.Wallet.createRandom() as unknown as Wallet;
      const signatures = await world.sign(A, delivery.checkpoint, [
        world.chains[A].attesters[0],
        stranger,
      ]);
      await expect(deliverCall(B, { ...delivery, signatures })).to.be.revertedWithCustomError(
        b.suite.inbox,
        "UnknownSigner",
      );
      // The untouched batch still goes through.
      const untouched = await world.deliver(B, delivery);
      expect(untouched.ok, untouched.error).to.equal(true);
    });

    it("front-running with part of a batch only makes the relayer resend the rest", async function () {
      const b = world.chains[B];
      const first = recipientBody("honest");
      const second = recipientBody("honest");
      await world.dispatch(A, B, b.recipientWord, first);
      await world.dispatch(A, B, b.recipientWord, second);
      const whole = (await world.prepare(A, B))!;
      const part = (await world.prepare(A, B, { pick: (p) => p.slice(0, 1) }))!;
      expect((await world.deliver(B, part, b.users[1])).ok).to.equal(true);
      await expect(deliverCall(B, whole, b.users[0])).to.be.revertedWithCustomError(
        b.suite.inbox,
        "AlreadyDelivered",
      );
      const rest = (await world.prepare(A, B))!;
      expect(rest.messages).to.have.length(1);
      expect((await world.deliver(B, rest, b.users[0])).ok).to.equal(true);
      expect(await b.recipient.handledCount(ethers.keccak256(first))).to.equal(1n);
      expect(await b.recipient.handledCount(ethers.keccak256(second))).to.equal(1n);
    });
  });

  // Historical incidents ------------------------------------------------------------------------

  describe("verifier chosen by the caller (Wormhole, February 2022)", function () {
    it("ignores a complete look-alike suite on the origin chain: signer set and domain come from the route record", async function () {
      // Wormhole's verifier trusted an account the caller passed in. Here nothing the caller passes
      // chooses the verifier: the origin's Outbox (EIP-712 domain) and attesters come from B's
      // registry and mirror. An attacker deploys its own full suite on A, stakes in it, dispatches
      // a real message from its own Outbox and signs a true checkpoint of it.
      const a = world.chains[A];
      const b = world.chains[B];
      const rogue = await deployLocalSuite(a.connection, "rogue", {
        chainCode: a.code,
        unbondingDelay: U,
        exposureWindow: W,
      });
      expect(rogue.addresses.outbox).to.not.equal(a.suite.addresses.outbox);
      const attacker = ethers.Wallet.createRandom().connect(a.connection.ethers.provider);
      await a.connection.networkHelpers.setBalance(attacker.address, 10n ** 20n);
      // The rogue registry accepts B as a destination so the rogue Outbox dispatches to it.
      await enrollPeer(rogue, b.suite);
      const word = addressToBytes32(b.users[4].address as Hex);
      const dispatched = await (
        await suiteAs(rogue, attacker).outbox.dispatch(b.code, word, "0x01")
      ).wait();
      const log = rogue.outbox.interface.parseLog(dispatched!.logs[0])!;
      await (await rogue.outbox.snapshot()).wait();
      const [root, count] = await rogue.outbox.latestSnapshot();
      const checkpoint: Checkpoint = {
        origin: a.code,
        root: root as Hex,
        count: Number(count),
        last: log.args.id as Hex,
      };
      const domain = { evmChainId: a.suite.evmChainId, outbox: rogue.addresses.outbox as Hex };
      const tree = MerkleTree.from([log.args.id as Hex]);
      // Signed by the attacker, and by A's real attesters fooled into signing the rogue Outbox's root.
      for (const signers of [[attacker as unknown as Wallet], a.attesters.slice(0, 2)]) {
        const signatures = await Promise.all(
          signers.map((s) => signCheckpoint(s.privateKey as Hex, domain, checkpoint)),
        );
        const delivery = {
          checkpoint,
          signatures,
          messages: [log.args.message as Hex],
          proof: tree.multiproof([0], 1),
        };
        await expect(deliverCall(B, delivery)).to.be.revertedWithCustomError(
          b.suite.inbox,
          "UnknownSigner",
        );
      }
    });
  });

  describe("a failing recipient blocks its channel (LayerZero v1 stored payloads)", function () {
    it("delivers later messages from the same sender to the same recipient while an earlier one stays failed", async function () {
      // LayerZero v1 stored a failed payload and blocked the whole path behind it until it was
      // retried. Here there is no in-order lane: the failure is recorded and later messages flow.
      const b = world.chains[B];
      const stuck = await world.dispatch(A, B, b.recipientWord, recipientBody("reverting"));
      expect((await world.deliver(B, (await world.prepare(A, B))!)).ok).to.equal(true);
      expect(await b.suite.inbox.failure(stuck.id)).to.equal(FAILURE.HandlerReverted);
      const later: Hex[] = [];
      for (let i = 0; i < 3; i++) {
        const body = recipientBody("honest");
        later.push(body);
        await world.dispatch(A, B, b.recipientWord, body);
        // Each in its own batch: the earlier failure holds nothing back.
        const out = await world.deliver(B, (await world.prepare(A, B))!);
        expect(out.ok, out.error).to.equal(true);
      }
      for (const body of later)
        expect(await b.recipient.handledCount(ethers.keccak256(body))).to.equal(1n);
      expect(await b.suite.inbox.failure(stuck.id)).to.equal(FAILURE.HandlerReverted);
      // The stuck one runs later, once its recipient is fixed, by anyone.
      await (await b.recipient.repair()).wait();
      await expect(suiteAs(b.suite, b.users[2]).inbox.retry(stuck.encoded)).to.emit(
        b.suite.inbox,
        "Retried",
      );
    });
  });
});

// -------------------------------------------------------------------------------------------------
// Findings: real weaknesses this suite found, now fixed (docs/security.md, "Findings"). Each test
// runs the attack and states the defence that stops it; each failed against the contracts before
// its fix.
// -------------------------------------------------------------------------------------------------

describe("Security findings (fixed): nonce squatting and netting", function () {
  let world: World;

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
  });

  beforeEach(async function () {
    await world.reset();
  });

  // FINDING 1 (high, fixed): replay was keyed by (origin, nonce) for every message, so a liar could
  // deliver a made-up message at the nonce of the stake report that would remove it from the
  // peer's mirror; the real report was then undeliverable (AlreadyDelivered) and the mirror kept the
  // liar's stake. Defence: system messages are keyed by id (Inbox `_systemDelivered`), so the real
  // report is delivered whatever occupies its nonce.
  it("delivers a slashed attester's zero report even when the attester squatted its nonce, and drops it from the mirror", async function () {
    const a = world.chains[A];
    const b = world.chains[B];
    const [liar] = a.attesters;
    const hub = a.suite.stakingHub;
    const liarWord = addressToBytes32(liar.address as Hex);

    // The liar is caught and slashed on A; the zero report for B is dispatched at nonce z.
    const real = await world.snapshot(A);
    const lie: Checkpoint = { ...real, root: ethers.id("a root A never had") as Hex };
    const [signature] = await world.sign(A, lie, [liar]);
    expect((await world.tx(A, a.users[0], hub, "proveFraud", [lie, signature])).ok).to.equal(true);
    const squat = async () => {
      const report = world.logs[A].findLast((m) => m.message.destination === b.code)!;
      expect(report.message.sender).to.equal(addressToBytes32(a.suite.addresses.stakingHub as Hex));
      // Before any relayer carries it, the liar puts a made-up message at that nonce on B.
      const forged = await forgeDelivery(world, A, [liar], {
        nonce: report.nonce,
        sender: liarWord,
        destination: b.code,
        recipient: addressToBytes32(b.users[4].address as Hex),
        amount: 0n,
        body: "0x",
      });
      expect((await world.deliver(B, forged.delivery)).ok).to.equal(true);
      // The real report is still delivered (its replay key is its id), and only once.
      const honest = await world.build(A, await world.snapshot(A), [report], a.attesters.slice(1));
      const out = await world.deliver(B, honest);
      expect(out.ok, out.error).to.equal(true);
      expect(named(out.events, "MirrorUpdated")).to.have.length(1);
      expect(await b.suite.inbox.mirroredStake(a.code, liar.address)).to.equal(0n);
      expect(await b.suite.inbox.isMessageDelivered(report.encoded)).to.equal(true);
      expect((await world.tryDeliver(B, honest)).error).to.equal("AlreadyDelivered");
    };
    await squat();
    // (Before the fix the liar squatted `syncReport`'s re-sent report too; now it is no longer a
    // mirrored attester on B, so it cannot even sign a delivery there.)

    // A slashed attester's signature is worth nothing on the peer, in this window or the next.
    await world.travel(B, W + W / 8n + 1n);
    expect(await b.suite.inbox.mirroredStake(a.code, liar.address)).to.equal(0n);
    const thief = addressToBytes32(b.users[4].address as Hex);
    const drain = await forgeDelivery(world, A, [liar], {
      nonce: world.logs[A].length + 5,
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      destination: b.code,
      recipient: thief,
      amount: ALLOCATION,
      body: encodeTransferBody({ sender: thief, body: "0x" }),
    });
    expect((await world.tryDeliver(B, drain.delivery)).error).to.equal("UnknownSigner");
  });

  // FINDING 2 (medium, fixed): netting moves the *destination's* value on the origin's word. A
  // forged netting request signed by the origin's attesters made B move its own pool for A (money
  // B's users paid) into A's reserve on B, and the slash went to A's own insurance vault. Defence:
  // netting is opt-in per peer by governance (`setNetting`, off by default); with it off, a request
  // moves nothing and is answered 0 (at no value at risk).
  it("moves none of the destination community's money on a forged netting request unless its governance enabled netting with the origin", async function () {
    const a = world.chains[A];
    const b = world.chains[B];
    const [liar] = a.attesters;
    // B's users sent 50 to A: B's pool for A holds 50 of B's community's money.
    const sent = await world.tx(B, b.users[0], b.suite.bank, "send", [
      a.code,
      addressToBytes32(a.users[0].address as Hex),
      50n * ONE,
      "0x",
    ]);
    expect(sent.ok, sent.error).to.equal(true);
    const poolBefore = await b.suite.bank.pool(a.code);
    const reserveBefore = await b.suite.bank.reserve(a.code);
    expect(poolBefore).to.equal(50n * ONE);

    // A's liar makes up a netting request from A's bank to B's bank (A never asked, locked nothing).
    const forged = await forgeDelivery(world, A, [liar], {
      sender: addressToBytes32(a.suite.addresses.bank as Hex),
      destination: b.code,
      recipient: addressToBytes32(b.suite.addresses.bank as Hex),
      amount: 0n,
      body: encodeNettingRequest({ amount: 50n * ONE }),
    });
    expect(await b.suite.bank.nettingEnabled(a.code)).to.equal(false);
    const out = await world.deliver(B, forged.delivery);
    expect(out.ok, out.error).to.equal(true);
    expect(named(out.events, "CoverageCharged")).to.have.length(0);

    // A fraud by A's attesters drains only A's reserve (docs/protocol.md 1.5, 3.7): B's pool for A
    // and A's reserve on B are untouched.
    expect(await b.suite.bank.pool(a.code), "B's pool for A").to.equal(poolBefore);
    expect(await b.suite.bank.reserve(a.code)).to.equal(reserveBefore);
  });
});

describe("Security findings (fixed): report ordering", function () {
  let world: World;

  before(async function () {
    this.timeout(300_000);
    world = await World.create();
  });

  beforeEach(async function () {
    await world.reset();
  });

  /**
   * A made-up message of A's at the last nonce a checkpoint can name (2^32 − 2, count 2^32 − 1),
   * in a tree that is empty but for it: signed by `liars`, a false checkpoint of A.
   */
  async function forgeAtLastNonce(
    liars: Wallet[],
    fields: { sender: Hex; recipient: Hex; body: Hex; amount?: bigint },
  ) {
    const nonce = 2 ** 32 - 2;
    const count = nonce + 1;
    const encoded = encodeMessage({
      nonce,
      origin: world.chains[A].code,
      sender: fields.sender,
      destination: world.chains[B].code,
      recipient: fields.recipient,
      amount: fields.amount ?? 0n,
      body: fields.body,
    });
    // Sparse proof (docs/protocol.md 2.5): the right sibling at level 0 lies beyond the count and
    // is left out; above it every sibling is a left one, an empty subtree of the made-up tree.
    const proof = ZERO_HASHES.slice(1, 32);
    const root = multiRoot([messageId(encoded)], [nonce], proof, count);
    const checkpoint: Checkpoint = {
      origin: world.chains[A].code,
      root,
      count,
      last: messageId(encoded),
    };
    return {
      checkpoint,
      delivery: {
        checkpoint,
        signatures: await world.sign(A, checkpoint, liars),
        messages: [encoded],
        proof,
      },
    };
  }

  // FINDING 3 (high, fixed): stake reports applied only when newer (origin nonce) than the last one
  // applied, and under a false checkpoint the nonce is the liar's to choose. One made-up stake
  // report about itself at nonce 2^32 − 2, restating its mirror (no value at risk), made every later
  // real report stale, the zero report of its slashing included. Defence: a report that lowers the
  // mirror applies whatever its nonce (AttesterMirror `_applyStakeReport`).
  it("applies the zero report of a slashed attester even after the attester made up a report at the last nonce", async function () {
    const a = world.chains[A];
    const b = world.chains[B];
    const [liar, x, y] = a.attesters;
    const fields = {
      sender: addressToBytes32(a.suite.addresses.stakingHub as Hex),
      recipient: addressToBytes32(b.suite.addresses.inbox as Hex),
      body: encodeStakeReport({
        attester: liar.address as Hex,
        allocation: await b.suite.inbox.mirroredStake(a.code, liar.address),
      }),
    };
    // Since issue 13 a stake report needs signers holding more than half of the mirrored stake:
    // the liar alone (100 of 400) cannot make one up at all.
    const alone = await forgeAtLastNonce([liar], fields);
    expect((await world.tryDeliver(B, alone.delivery)).error).to.equal("StakeReportNeedsQuorum");
    // A coalition above half (outside the theorem's bound) can; the rule that a decrease applies
    // whatever its nonce still keeps the zero report of a slashing deliverable.
    const frozen = await forgeAtLastNonce([liar, x, y], fields);
    const out = await world.deliver(B, frozen.delivery);
    expect(out.ok, out.error).to.equal(true);
    expect(named(out.events, "CoverageCharged")).to.have.length(0);

    // The lie is proved on A (from B's calldata): slashed, and the zero report goes to B.
    const signature = frozen.delivery.signatures.find(
      (sig) =>
        ethers.recoverAddress(checkpointDigest(a.domain, frozen.checkpoint), sig) === liar.address,
    )!;
    const slashed = await world.tx(A, a.users[0], a.suite.stakingHub, "proveFraud", [
      frozen.checkpoint,
      signature,
    ]);
    expect(slashed.ok, slashed.error).to.equal(true);
    const reports = await world.prepare(A, B, { signers: a.attesters.slice(1) });
    const relayed = await world.deliver(B, reports!);
    expect(relayed.ok, relayed.error).to.equal(true);
    // The mirror drops to zero.
    expect(named(relayed.events, "StakeReportIgnored")).to.have.length(0);
    expect(await b.suite.inbox.mirroredStake(a.code, liar.address)).to.equal(0n);
  });

  // FINDING 3b (medium, fixed): a made-up reserve report at the last nonce froze the credit view of
  // the receiving bank: no later real report applied. Defence: a report that lowers the credit view
  // or suspends applies whatever its nonce. Residual (docs/protocol.md 3.7): later *increases* stay
  // stale for that peer, which only costs liveness (sends are capped below the real credit).
  it("applies a real suspension after a made-up reserve report at the last nonce (a later increase stays stale)", async function () {
    const a = world.chains[A];
    const b = world.chains[B];
    // B's liar tells A's bank, at the last nonce, that A's reserve on B is what it is now (no
    // credit increase, so no value at risk).
    const current = await a.suite.bank.peerReport(b.code);
    const body = encodeReserveReport({
      reserve: current.latest.reserve,
      pending: current.latest.pending,
      received: current.latest.received,
      suspended: false,
    });
    const nonce = 2 ** 32 - 2;
    const encoded = encodeMessage({
      nonce,
      origin: b.code,
      sender: addressToBytes32(b.suite.addresses.bank as Hex),
      destination: a.code,
      recipient: addressToBytes32(a.suite.addresses.bank as Hex),
      amount: 0n,
      body,
    });
    const proof = ZERO_HASHES.slice(1, 32);
    const checkpoint: Checkpoint = {
      origin: b.code,
      root: multiRoot([messageId(encoded)], [nonce], proof, nonce + 1),
      count: nonce + 1,
      last: messageId(encoded),
    };
    const signatures = await world.sign(B, checkpoint, b.attesters.slice(0, 1));
    const out = await world.deliver(A, { checkpoint, signatures, messages: [encoded], proof });
    expect(out.ok, out.error).to.equal(true);
    const credit = await a.suite.bank.creditView(b.code);
    expect(credit > 0n).to.equal(true);
    // Residual: someone tops A's reserve on B up by 100; B's report of it is stale on A (liveness
    // only: A's credit view stays below the real one).
    const funded = await world.tx(B, b.users[5], b.suite.bank, "fund", [a.code, 100n * ONE]);
    expect(funded.ok, funded.error).to.equal(true);
    const topUp = await world.deliver(A, (await world.prepare(B, A, { signers: b.attesters }))!);
    expect(topUp.ok, topUp.error).to.equal(true);
    expect(named(topUp.events, "ReportIgnored")).to.have.length(1);
    expect(await a.suite.bank.creditView(b.code)).to.equal(credit);
    // B's governance suspends A (floor above the reserve); B's report of it applies on A.
    await governThroughTimelock(b.suite, [
      {
        target: b.suite.addresses.bank,
        data: b.suite.bank.interface.encodeFunctionData("setThresholds", [
          a.code,
          0n,
          2n ** 200n,
          2n ** 200n,
        ]),
      },
    ]);
    expect(await b.suite.bank.suspended(a.code)).to.equal(true);
    await world.sync(B); // the report was dispatched outside `world.tx`
    const suspension = await world.deliver(
      A,
      (await world.prepare(B, A, { signers: b.attesters }))!,
    );
    expect(suspension.ok, suspension.error).to.equal(true);
    expect(named(suspension.events, "ReportIgnored")).to.have.length(0);
    expect((await a.suite.bank.peerReport(b.code)).latest.suspended).to.equal(true);
    expect(await a.suite.bank.creditView(b.code)).to.equal(0n);
  });
});
