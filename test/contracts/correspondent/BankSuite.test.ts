/**
 * CorrespondentBank end to end on three simulated chains, each with the full suite deployed by the
 * production Ignition module (test/helpers/suite.ts): value moves only through checkpoints signed by
 * the origin's staked attesters, delivered to the real Inbox, paid from the origin's reserve.
 * Chains A and B have 18-decimal tokens, chain C a 6-decimal token.
 */
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";

import { enrollBothWays, seedBothWays } from "../../../deploy/connect.js";
import { governThroughTimelock } from "../../../deploy/governance.js";
import { suiteAs } from "../../../deploy/suite.js";
import {
  addressToBytes32,
  type Checkpoint,
  encodeMessage,
  encodeTransferBody,
  MerkleTree,
  messageId,
  signCheckpoint,
  sortSignaturesBySigner,
  treeCheckpoint,
} from "../../../relayer/protocol/index.js";
import {
  createTestNetwork,
  dispatchedMessages,
  fundedWallets,
  ONE,
  relay,
  sendDelivery,
  type TestChain,
} from "../../helpers/suite.js";

type Hex = `0x${string}`;

const RESERVE = 1_000n; // whole tokens each community posts on each peer
const STAKE = 1_000_000n; // whole tokens per attester
const ALLOCATION = 100_000n; // whole tokens per attester per peer
const EMPTY = "0x";

const wad = (tokens: bigint) => tokens * ONE;
const word = (address: string) => addressToBytes32(address as Hex);

describe("CorrespondentBank (full suite, three chains)", function () {
  let A: TestChain, B: TestChain, C: TestChain;
  let chains: TestChain[];
  const users = new Map<TestChain, Wallet[]>();
  const units = new Map<TestChain, bigint>();
  let forgeries = 0;
  let restore: () => Promise<void>;

  const unit = (chain: TestChain) => units.get(chain)!;
  const bankOf = (chain: TestChain, runner: ethers.Signer) => suiteAs(chain.suite, runner).bank;
  const balance = (chain: TestChain, who: string) => chain.suite.token.balanceOf(who);
  const bankBalance = (chain: TestChain) => chain.suite.token.balanceOf(chain.suite.addresses.bank);

  /** Delivers every message in flight between every pair, signed by all the origin's attesters. */
  async function settle(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      let moved = false;
      for (const origin of chains) {
        for (const destination of chains) {
          if (origin === destination) continue;
          const receipt = await relay(origin, destination, { signers: origin.attesters });
          moved ||= receipt !== undefined;
        }
      }
      if (!moved) return;
    }
    throw new Error("messages still in flight after 10 rounds");
  }

  async function fund(holder: TestChain, peer: TestChain, tokens: bigint): Promise<void> {
    const funder = users.get(holder)![3];
    await (await bankOf(holder, funder).fund(peer.suite.code, tokens * unit(holder))).wait();
  }

  async function setThresholds(
    holder: TestChain,
    peer: TestChain,
    values: [bigint, bigint, bigint],
  ) {
    const data = holder.suite.bank.interface.encodeFunctionData("setThresholds", [
      peer.suite.code,
      ...values,
    ]);
    expect(
      await governThroughTimelock(holder.suite, [{ target: holder.suite.addresses.bank, data }]),
    ).to.equal("executed");
  }

  /** The bank events `receipt` carries, by name. */
  function bankEvents(
    chain: TestChain,
    receipt: ethers.TransactionReceipt | undefined,
    name: string,
  ) {
    return (receipt?.logs ?? [])
      .map((log) => chain.suite.bank.interface.parseLog(log))
      .filter((event) => event?.name === name)
      .map((event) => event!.args);
  }

  /**
   * Delivers to `holder` a transfer that `origin`'s bank never dispatched: a message placed in a copy
   * of `origin`'s tree at a nonce well ahead of the real ones (so no real message of the test needs
   * it), under a checkpoint the origin's attesters sign although the origin's Outbox never had it.
   */
  async function forgeTransfer(
    origin: TestChain,
    holder: TestChain,
    recipient: string,
    amount: bigint,
  ) {
    const real = await dispatchedMessages(origin);
    const tree = MerkleTree.from(real.map((m) => m.id as Hex));
    const nonce = real.length + 100 + forgeries++;
    while (tree.count < nonce) tree.append(ethers.id(`padding ${tree.count}`) as Hex);
    const forged = encodeMessage({
      nonce,
      origin: origin.suite.code,
      sender: word(origin.suite.addresses.bank),
      destination: holder.suite.code,
      recipient: word(recipient),
      amount,
      body: encodeTransferBody({ sender: word(recipient), body: "0x" }),
    });
    tree.append(messageId(forged));
    const checkpoint: Checkpoint = treeCheckpoint(origin.suite.code, tree);
    const domain = {
      evmChainId: origin.suite.evmChainId,
      outbox: origin.suite.addresses.outbox as Hex,
    };
    const signatures = await Promise.all(
      origin.attesters.map((liar) => signCheckpoint(liar.privateKey as Hex, domain, checkpoint)),
    );
    await sendDelivery(holder, {
      checkpoint,
      signatures: sortSignaturesBySigner(domain, checkpoint, signatures),
      messages: [forged],
      proof: tree.multiproof([nonce], tree.count),
    });
    expect(await origin.suite.stakingHub.isFraudulent(checkpoint)).to.equal(true);
    lastForged = forged;
    return messageId(forged);
  }
  /** The encoding of the latest forged transfer (for `Inbox.retry`). */
  let lastForged: Hex;

  before(async function () {
    const options = { stake: STAKE * ONE, allocation: ALLOCATION * ONE };
    [A, B] = await createTestNetwork({ ...options, chains: ["chainA", "chainB"] });
    // C has a 6-decimal token: its own network, then connected to A and B with the same steps.
    [C] = await createTestNetwork({
      chains: ["chainC"],
      tokenDecimals: 6,
      stake: STAKE * 10n ** 6n,
      allocation: ALLOCATION * 10n ** 6n,
    });
    for (const peer of [A, B]) {
      await enrollBothWays(peer.suite, C.suite, { minSigners: 1 });
      for (const [chain, other, allocation] of [
        [peer, C, ALLOCATION * ONE],
        [C, peer, ALLOCATION * 10n ** 6n],
      ] as const) {
        for (const attester of chain.attesters) {
          await (
            await suiteAs(chain.suite, attester).stakingHub.allocate(other.suite.code, allocation)
          ).wait();
        }
      }
      await seedBothWays(peer.suite, C.suite);
    }
    chains = [A, B, C];
    for (const chain of chains) {
      const decimals = await chain.suite.token.decimals();
      units.set(chain, 10n ** decimals);
      const wallets = await fundedWallets(
        chain.connection,
        chain.suite,
        5,
        1_000_000n * 10n ** decimals,
      );
      for (const w of wallets) {
        await (
          await suiteAs(chain.suite, w).token.approve(chain.suite.addresses.bank, ethers.MaxUint256)
        ).wait();
      }
      users.set(chain, wallets);
    }
    // Every community posts RESERVE on every peer; the automatic reports reach the peers.
    for (const holder of chains) {
      for (const peer of chains) if (peer !== holder) await fund(holder, peer, RESERVE);
    }
    await settle();
    const snapshots = await Promise.all(
      chains.map((c) => c.connection.networkHelpers.takeSnapshot()),
    );
    restore = async () => {
      for (const s of snapshots) await s.restore();
    };
  });

  beforeEach(async function () {
    await restore();
  });

  it("gives every community the credit its peers reported after funding", async function () {
    for (const self of chains) {
      for (const peer of chains) {
        if (peer !== self)
          expect(await self.suite.bank.creditView(peer.suite.code)).to.equal(wad(RESERVE));
      }
    }
  });

  it("moves value A→B and B→A, with balances right on both sides after each step", async function () {
    const [alice] = users.get(A)!;
    const [bob] = users.get(B)!;
    const alice0 = await balance(A, alice.address);
    const bob0 = await balance(B, bob.address);
    const bankA0 = await bankBalance(A);
    const bankB0 = await bankBalance(B);

    await (await bankOf(A, alice).send(B.suite.code, word(bob.address), wad(120n), EMPTY)).wait();
    expect(await balance(A, alice.address)).to.equal(alice0 - wad(120n));
    expect(await bankBalance(A)).to.equal(bankA0 + wad(120n));
    expect(await balance(B, bob.address)).to.equal(bob0);

    await relay(A, B, { signers: A.attesters });
    expect(await balance(B, bob.address)).to.equal(bob0 + wad(120n));
    expect(await bankBalance(B)).to.equal(bankB0 - wad(120n));
    expect(await B.suite.bank.reserve(A.suite.code)).to.equal(wad(RESERVE - 120n));
    expect(await balance(A, alice.address)).to.equal(alice0 - wad(120n));

    await (await bankOf(B, bob).send(A.suite.code, word(alice.address), wad(45n), EMPTY)).wait();
    expect(await balance(B, bob.address)).to.equal(bob0 + wad(75n));
    expect(await bankBalance(B)).to.equal(bankB0 - wad(75n));
    await relay(B, A, { signers: B.attesters });
    expect(await balance(A, alice.address)).to.equal(alice0 - wad(75n));
    expect(await bankBalance(A)).to.equal(bankA0 + wad(75n));
    expect(await A.suite.bank.reserve(B.suite.code)).to.equal(wad(RESERVE - 45n));

    await settle();
    expect(await A.suite.bank.creditView(B.suite.code)).to.equal(wad(RESERVE - 120n));
    expect(await B.suite.bank.creditView(A.suite.code)).to.equal(wad(RESERVE - 45n));
  });

  it("moves value between 18 and 6 decimals (A→C and C→A)", async function () {
    const [alice] = users.get(A)!;
    const [carol] = users.get(C)!;
    const carol0 = await balance(C, carol.address);
    const alice0 = await balance(A, alice.address);
    await (
      await bankOf(A, alice).send(C.suite.code, word(carol.address), wad(12n) + ONE / 4n, EMPTY)
    ).wait();
    await relay(A, C, { signers: A.attesters });
    expect(await balance(C, carol.address)).to.equal(carol0 + 12_250_000n);
    expect(await C.suite.bank.reserve(A.suite.code)).to.equal(RESERVE * 10n ** 6n - 12_250_000n);

    await (await bankOf(C, carol).send(A.suite.code, word(alice.address), wad(3n), EMPTY)).wait();
    expect(await balance(C, carol.address)).to.equal(carol0 + 9_250_000n);
    await relay(C, A, { signers: C.attesters });
    expect(await balance(A, alice.address)).to.equal(alice0 - wad(12n) - ONE / 4n + wad(3n));
    await expect(
      bankOf(A, alice).send(C.suite.code, word(carol.address), 10n ** 12n + 1n, EMPTY),
    ).to.be.revertedWithCustomError(A.suite.bank, "InexactAmount");
  });

  it("refuses a send above the credit view on A before any token moves", async function () {
    const [alice] = users.get(A)!;
    const [bob] = users.get(B)!;
    const alice0 = await balance(A, alice.address);
    const bank0 = await bankBalance(A);
    const count0 = await A.suite.outbox.count();
    await expect(bankOf(A, alice).send(B.suite.code, word(bob.address), wad(RESERVE) + 1n, EMPTY))
      .to.be.revertedWithCustomError(A.suite.bank, "InsufficientCredit")
      .withArgs(wad(RESERVE) + 1n, wad(RESERVE));
    expect(await balance(A, alice.address)).to.equal(alice0);
    expect(await bankBalance(A)).to.equal(bank0);
    expect(await A.suite.outbox.count()).to.equal(count0);
  });

  it("lets a fraudulent A→B transfer drain only A's reserve on B; C's reserve and B's own funds stay", async function () {
    // B's users have sent to A and C: B holds its own community's money in its pools.
    const [bob] = users.get(B)!;
    await (
      await bankOf(B, bob).send(A.suite.code, word(users.get(A)![0].address), wad(30n), EMPTY)
    ).wait();
    await (
      await bankOf(B, bob).send(C.suite.code, word(users.get(C)![0].address), wad(20n), EMPTY)
    ).wait();
    const [mallory] = await fundedWallets(B.connection, B.suite, 1, 0n);
    const bank0 = await bankBalance(B);
    const reserveC0 = await B.suite.bank.reserve(C.suite.code);
    const poolA0 = await B.suite.bank.pool(A.suite.code);
    const poolC0 = await B.suite.bank.pool(C.suite.code);

    // The lying attesters ask for more than A's reserve: B pays what A's reserve holds, no more.
    await forgeTransfer(A, B, mallory.address, wad(600n));
    const second = await forgeTransfer(A, B, mallory.address, wad(RESERVE));
    expect(await balance(B, mallory.address)).to.equal(wad(600n));
    expect(await B.suite.bank.reserve(A.suite.code)).to.equal(wad(RESERVE - 600n));
    expect((await B.suite.bank.payoutOf(second)).status).to.equal(1n); // pending, not paid from others
    await expect(B.suite.bank.claim(second)).to.be.revertedWithCustomError(
      B.suite.bank,
      "ReserveShort",
    );

    expect(await bankBalance(B)).to.equal(bank0 - wad(600n));
    expect(await B.suite.bank.reserve(C.suite.code)).to.equal(reserveC0);
    expect(await B.suite.bank.pool(A.suite.code)).to.equal(poolA0);
    expect(await B.suite.bank.pool(C.suite.code)).to.equal(poolC0);
    expect(poolA0).to.equal(wad(30n));
    expect(poolC0).to.equal(wad(20n));

    // A hears of it: the report shows the drain, A's route is suspended (pending > reserve).
    await settle();
    expect(await A.suite.bank.creditView(B.suite.code)).to.equal(0n);
    await expect(
      bankOf(A, users.get(A)![0]).send(B.suite.code, word(bob.address), wad(1n), EMPTY),
    ).to.be.revertedWithCustomError(A.suite.bank, "PeerSuspended");
  });

  it("books a payout against a short reserve as pending; a claim after the top-up pays it once", async function () {
    const [alice, alice2] = users.get(A)!;
    const [bob, dave] = users.get(B)!;
    // Two honest transfers within A's credit; a forgery drains A's reserve before they arrive.
    await (await bankOf(A, alice).send(B.suite.code, word(bob.address), wad(300n), EMPTY)).wait();
    await (await bankOf(A, alice2).send(B.suite.code, word(dave.address), wad(200n), EMPTY)).wait();
    const [first, second] = (await dispatchedMessages(A)).slice(-2);
    const [mallory] = await fundedWallets(B.connection, B.suite, 1, 0n);
    await forgeTransfer(A, B, mallory.address, wad(RESERVE - 100n));
    const bob0 = await balance(B, bob.address);
    const dave0 = await balance(B, dave.address);

    await relay(A, B, { signers: A.attesters, nonces: [first.nonce, second.nonce] });
    expect((await B.suite.bank.payoutOf(first.id)).status).to.equal(1n);
    expect((await B.suite.bank.payoutOf(second.id)).status).to.equal(1n);
    expect(await B.suite.inbox.failure(first.id)).to.equal(2n); // PayoutPending
    expect(await balance(B, bob.address)).to.equal(bob0);
    expect(await B.suite.bank.pendingPayouts(A.suite.code)).to.equal(wad(500n));

    await fund(B, A, 500n);
    // One paid by anyone's claim, the other by the Inbox's retry: each exactly once.
    await expect(bankOf(B, dave).claim(first.id))
      .to.emit(B.suite.bank, "Claimed")
      .withArgs(first.id, bob.address, wad(300n));
    await expect(B.suite.bank.claim(first.id))
      .to.be.revertedWithCustomError(B.suite.bank, "NotPending")
      .withArgs(first.id);
    await (await B.suite.inbox.retry(second.encoded)).wait();
    await expect(B.suite.bank.claim(second.id)).to.be.revertedWithCustomError(
      B.suite.bank,
      "NotPending",
    );
    await (await B.suite.inbox.retry(first.encoded)).wait(); // the Inbox's record: paid already, no second pay
    expect(await balance(B, bob.address)).to.equal(bob0 + wad(300n));
    expect(await balance(B, dave.address)).to.equal(dave0 + wad(200n));
    expect(await B.suite.bank.reserve(A.suite.code)).to.equal(wad(100n));
    expect(await B.suite.bank.pendingPayouts(A.suite.code)).to.equal(0n);
  });

  it("retries a pending transfer with a body to an account without code: paid, as the batch would have done", async function () {
    const [alice] = users.get(A)!;
    const [, dave] = users.get(B)!;
    // A body for a handler, but dave is an account without code: in a batch the call succeeds.
    await (
      await bankOf(A, alice).send(B.suite.code, word(dave.address), wad(200n), "0x1234")
    ).wait();
    const [sent] = (await dispatchedMessages(A)).slice(-1);
    const [mallory] = await fundedWallets(B.connection, B.suite, 1, 0n);
    await forgeTransfer(A, B, mallory.address, await B.suite.bank.reserve(A.suite.code));
    const dave0 = await balance(B, dave.address);

    await relay(A, B, { signers: A.attesters, nonces: [sent.nonce] });
    expect(await B.suite.inbox.failure(sent.id)).to.equal(2n); // PayoutPending
    await fund(B, A, 200n);
    // The retry runs the same path as the batch: paid, then the call to dave succeeds.
    await expect(B.suite.inbox.retry(sent.encoded))
      .to.emit(B.suite.inbox, "Retried")
      .withArgs(sent.id);
    expect(await B.suite.inbox.failure(sent.id)).to.equal(0n);
    expect(await balance(B, dave.address)).to.equal(dave0 + wad(200n));
  });

  it("books an inexact amount pending through the Inbox; claim pays it rounded down, once; retry pays nothing more", async function () {
    // 3 units of C's 6-decimal token and 7 wei of dust: an honest A never sends it (send checks
    // C's decimals), so it only comes from a forgery or a wrong route record.
    const [carol] = users.get(C)!;
    const amount = 3n * 10n ** 12n + 7n;
    const carol0 = await balance(C, carol.address);
    const reserve0 = await C.suite.bank.reserve(A.suite.code);
    const received0 = await C.suite.bank.received(A.suite.code);
    const id = await forgeTransfer(A, C, carol.address, amount);
    expect(await C.suite.inbox.failure(id)).to.equal(2n); // PayoutPending: never paid at delivery
    const booked = await C.suite.bank.payoutOf(id);
    expect([booked.status, booked.amount]).to.deep.equal([1n, 3n]);
    expect(await balance(C, carol.address)).to.equal(carol0);
    expect(await C.suite.bank.received(A.suite.code)).to.equal(received0 + amount);

    await expect(bankOf(C, carol).claim(id))
      .to.emit(C.suite.bank, "Claimed")
      .withArgs(id, carol.address, 3n);
    await expect(C.suite.inbox.retry(lastForged))
      .to.emit(C.suite.inbox, "Retried")
      .and.not.to.emit(C.suite.bank, "Claimed");
    expect(await balance(C, carol.address)).to.equal(carol0 + 3n);
    expect(await C.suite.bank.reserve(A.suite.code)).to.equal(reserve0 - 3n);
    expect(await C.suite.bank.pendingPayouts(A.suite.code)).to.equal(0n);
    await expect(C.suite.inbox.retry(lastForged)).to.be.revertedWithCustomError(
      C.suite.inbox,
      "NotFailed",
    );
  });

  it("requests a top-up below lowWater, suspends below the floor, and the route refuses sends at A", async function () {
    const [alice] = users.get(A)!;
    const [bob] = users.get(B)!;
    await setThresholds(B, A, [0n, wad(700n), wad(400n)]);
    const send = (tokens: bigint) =>
      bankOf(A, alice).send(B.suite.code, word(bob.address), wad(tokens), EMPTY);

    await (await send(300n)).wait(); // net 700 = lowWater: nothing
    let receipt = await relay(A, B, { signers: A.attesters });
    expect(bankEvents(B, receipt, "TopUpRequested")).to.have.length(0);

    await (await send(300n)).wait(); // net 400 = floor: top-up requested, not suspended
    receipt = await relay(A, B, { signers: A.attesters });
    expect(bankEvents(B, receipt, "TopUpRequested").map((a) => [a.peer, a.deficit])).to.deep.equal([
      [A.suite.code, wad(300n)],
    ]);
    expect(bankEvents(B, receipt, "RouteSuspended")).to.have.length(0);

    await (await send(1n)).wait(); // net 399 < floor: suspended, and A is told
    receipt = await relay(A, B, { signers: A.attesters });
    expect(bankEvents(B, receipt, "RouteSuspended").map((a) => a.peer)).to.deep.equal([
      A.suite.code,
    ]);
    expect(bankEvents(B, receipt, "ReserveReported")).to.have.length(1);
    receipt = await relay(B, A, { signers: B.attesters });
    expect(receipt).to.not.equal(undefined);
    await expect(send(1n))
      .to.be.revertedWithCustomError(A.suite.bank, "PeerSuspended")
      .withArgs(B.suite.code);

    // A's community tops its reserve up: resumed, reported, A may send again.
    await expect(bankOf(B, users.get(B)![3]).fund(A.suite.code, wad(1n)))
      .to.emit(B.suite.bank, "RouteResumed")
      .withArgs(A.suite.code);
    await relay(B, A, { signers: B.attesters });
    expect(await A.suite.bank.creditView(B.suite.code)).to.equal(wad(400n));
    await expect(send(1n)).to.emit(A.suite.bank, "Sent");
  });

  it("nets two-way flows without changing either community's total", async function () {
    const [alice] = users.get(A)!;
    const [bob] = users.get(B)!;
    await (await bankOf(A, alice).send(B.suite.code, word(bob.address), wad(250n), EMPTY)).wait();
    await (await bankOf(B, bob).send(A.suite.code, word(alice.address), wad(90n), EMPTY)).wait();
    await settle();
    const total = async (self: TestChain, peer: TestChain) =>
      (await self.suite.bank.pool(peer.suite.code)) +
      (await self.suite.bank.nettingLocked(peer.suite.code)) +
      (await peer.suite.bank.reserve(self.suite.code));
    const totalA = await total(A, B);
    const totalB = await total(B, A);
    const bankA = await bankBalance(A);
    const bankB = await bankBalance(B);

    // Netting is opt-in per peer by governance, on both sides.
    for (const [self, peer] of [
      [A, B],
      [B, A],
    ] as const) {
      const data = self.suite.bank.interface.encodeFunctionData("setNetting", [
        peer.suite.code,
        true,
      ]);
      expect(
        await governThroughTimelock(self.suite, [{ target: self.suite.addresses.bank, data }]),
      ).to.equal("executed");
    }
    await (await bankOf(A, alice).net(B.suite.code)).wait();
    await settle();
    expect(await A.suite.bank.pool(B.suite.code)).to.equal(wad(160n));
    expect(await B.suite.bank.pool(A.suite.code)).to.equal(0n);
    expect(await total(A, B)).to.equal(totalA);
    expect(await total(B, A)).to.equal(totalB);
    expect(await bankBalance(A)).to.equal(bankA);
    expect(await bankBalance(B)).to.equal(bankB);
    expect(await A.suite.bank.creditView(B.suite.code)).to.equal(wad(RESERVE - 250n + 90n));
    expect(await B.suite.bank.creditView(A.suite.code)).to.equal(wad(RESERVE));
  });
});
