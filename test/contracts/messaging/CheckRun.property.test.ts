/**
 * The Inbox's fast check path against its checked path (docs/protocol.md 3.3): `_checkRun` takes
 * runs of ordinary zero-amount calls to one recipient in one assembly loop, and must have exactly
 * the effects of `_checkMessage` on what it takes and none on what it leaves. A variant of the
 * Inbox with the fast path cut out (every message through `_checkMessage`, compiled here,
 * test/helpers/inboxVariant.ts) receives each made-up batch on the same state as the deployed
 * Inbox: both must revert with the same error, or both succeed with the same logs and the same
 * delivered, failed and exposure state. The batches are lies signed by A's real attesters over
 * made-up trees (the Inbox cannot tell them from the truth), so every field of every message,
 * their order, the count and the framing can be anything.
 */
import { expect } from "chai";
import { ethers, type Wallet } from "ethers";
import fc from "fast-check";

import {
  addressToBytes32,
  deliverArgs,
  encodeMessage,
  type Hex,
  MerkleTree,
  messageId,
  treeCheckpoint,
} from "../../../relayer/protocol/index.js";
import { MessagingRecipient__factory } from "../../../typechain-types/index.js";
import { inboxVariants, replaceOnce, withInboxCode } from "../../helpers/inboxVariant.js";
import type { TestChain } from "../../helpers/suite.js";
import { revertData } from "../../security/world.js";
import { createMessagingNetwork, signAll, type MessagingNetwork } from "./network.js";

/** The one call that takes the fast path, and the same step without it. */
const FAST = "                (i, at) = _checkRun(route, count, messages, batch, i + 1, at);\n";
const CHECKED = "                (i, at) = (i + 1, at);\n";

const RUNS = 200;

/** One way a message can differ from a well-formed, ordinary one (most are ordinary). */
const FAULTS = [
  "version", // version 2
  "origin", // from C, under A's checkpoint
  "destination", // for A
  "cut", // shorter than a header
  "repeat", // the previous message's nonce again
  "back", // a nonce below the previous one
  "hub", // from A's StakingHub (a call unless to this Inbox)
  "bank", // from A's bank (a system message: replay key by id)
  "stakeReport", // A's StakingHub to this Inbox
  "amount", // a call that carries an amount
  "hugeAmount", // 2^255: the value at risk overflows the fast path's sums
  "hugeFee", // the largest fee a message can carry
] as const;

const messageArb = fc.record({
  recipient: fc.constantFrom("r1", "r1", "r1", "r1", "r1", "r1", "r1", "r2", "zero", "nonEvm"),
  fee: fc.constantFrom(0n, 0n, 0n, 0n, 1n, 10n ** 15n),
  body: fc.uint8Array({ maxLength: 40 }),
  // The step from the previous nonce; 256 crosses a bitmap word.
  step: fc.constantFrom(1, 1, 1, 1, 1, 1, 2, 7, 256),
  fault: fc.oneof(
    { weight: 6, arbitrary: fc.constant("none" as const) },
    { weight: 1, arbitrary: fc.constantFrom(...FAULTS) },
  ),
});

const batchArb = fc.record({
  messages: fc.array(messageArb, { minLength: 1, maxLength: 10 }),
  base: fc.constantFrom(1_000, 1_000, 1_003, 1_254, 1_535),
  // The signed count beyond the last nonce (−1: the last message lies beyond it).
  slack: fc.constantFrom(1, 1, 1, 1, 1, 1, 4, 0),
  signers: fc.constantFrom(1, 2, 3, 3),
  framing: fc.constantFrom(...Array<string>(18).fill("whole"), "trailing", "cut"),
});

type Batch = typeof batchArb extends fc.Arbitrary<infer T> ? T : never;

describe("Inbox: the fast check path against the checked path, on made-up batches", function () {
  let net: MessagingNetwork;
  let a: TestChain, b: TestChain;
  let checkedOnly: string;
  let r1: string, r2: Wallet;

  before(async function () {
    this.timeout(300_000);
    net = await createMessagingNetwork();
    ({ a, b } = net);
    ({
      code: { checkedOnly },
    } = await inboxVariants(b, { checkedOnly: (s) => replaceOnce(s, FAST, CHECKED) }));
    const [deployer] = await b.connection.ethers.getSigners();
    r1 = await (await new MessagingRecipient__factory(deployer).deploy()).getAddress();
    // A recipient with its own policy: more coverage than the route's default, two signers.
    r2 = ethers.Wallet.createRandom().connect(b.connection.ethers.provider) as unknown as Wallet;
    await (await deployer.sendTransaction({ to: r2.address, value: 10n ** 18n })).wait();
    await (await b.suite.inbox.connect(r2).setRecipientPolicy(2, 10n ** 18n)).wait();
    // Nonces delivered before every batch, by made-up messages of their own: a batch that reaches
    // one of them must revert AlreadyDelivered, whichever path checks it.
    const ordinary = (step: 1 | 2 | 7 | 256) => ({
      recipient: "r1" as const,
      fee: 0n,
      body: Uint8Array.of(0xdd),
      step,
      fault: "none" as const,
    });
    for (const [base, steps] of [
      [1_003, [1, 2]],
      [1_260, [1]],
      [1_540, [1]],
    ] as const) {
      const made = await madeUp({
        messages: steps.map(ordinary),
        base: base as Batch["base"],
        slack: 1,
        signers: 3,
        framing: "whole",
      });
      await (await b.suite.inbox.deliver(...made.args)).wait();
    }
  });

  /** A made-up batch from A, signed by A's attesters, as `deliver`'s arguments. */
  async function madeUp(batch: Batch) {
    const word = (address: string) => addressToBytes32(address as Hex);
    const senders = {
      user: word("0x00000000000000000000000000000000000000ee"),
      hub: word(a.suite.addresses.stakingHub),
      bank: word(a.suite.addresses.bank),
    };
    const recipients = {
      r1: word(r1),
      r2: word(r2.address),
      zero: word(ethers.ZeroAddress),
      nonEvm: `0x01${"22".repeat(31)}` as Hex,
      inbox: word(b.suite.addresses.inbox),
    };
    let nonce: number = batch.base;
    const encoded = batch.messages.map((m, i) => {
      const f = m.fault;
      if (i > 0) nonce = Math.max(0, nonce + (f === "repeat" ? 0 : f === "back" ? -1 : m.step));
      const full = encodeMessage({
        version: f === "version" ? 2 : 1,
        nonce,
        origin: f === "origin" ? net.c.suite.code : a.suite.code,
        sender:
          f === "hub" || f === "stakeReport"
            ? senders.hub
            : f === "bank"
              ? senders.bank
              : senders.user,
        destination: f === "destination" ? a.suite.code : b.suite.code,
        recipient: f === "stakeReport" ? recipients.inbox : recipients[m.recipient],
        amount: f === "amount" ? 1n : f === "hugeAmount" ? 1n << 255n : 0n,
        fee: f === "hugeFee" ? (1n << 128n) - 1n : m.fee,
        body: ethers.hexlify(m.body) as Hex,
      });
      return { nonce, message: f === "cut" ? (full.slice(0, 2 + 2 * 100) as Hex) : full };
    });
    const last = Math.max(...encoded.map((e) => e.nonce));
    const count = last + batch.slack;
    // The tree the liars sign: each message at its nonce (the first one there), filler elsewhere.
    const leaves: Hex[] = [];
    for (let i = 0; i < count; i++) leaves.push(ethers.keccak256(ethers.toBeHex(i, 32)) as Hex);
    for (const e of [...encoded].reverse())
      if (e.nonce < count) leaves[e.nonce] = messageId(e.message);
    const tree = MerkleTree.from(leaves);
    const proven = [...new Set(encoded.map((e) => e.nonce).filter((n) => n < count))].sort(
      (x, y) => x - y,
    );
    const checkpoint = treeCheckpoint(a.suite.code, tree, count);
    const signatures = await signAll(
      a.attesters.slice(0, batch.signers),
      { evmChainId: a.suite.evmChainId, outbox: a.suite.addresses.outbox as Hex },
      checkpoint,
    );
    const args = deliverArgs(checkpoint, signatures, {
      messages: encoded.map((e) => e.message),
      proof: proven.length ? tree.multiproof(proven, count) : [],
    });
    if (batch.framing === "trailing") args[2] = `${args[2]}00` as Hex;
    if (batch.framing === "cut") args[2] = args[2].slice(0, -2) as Hex;
    return { args, messages: encoded.map((e) => e.message), signers: a.attesters };
  }

  /** What `deliver` does on B with the Inbox's `code` (undefined: as deployed). */
  async function outcome(code: string | undefined, made: Awaited<ReturnType<typeof madeUp>>) {
    return withInboxCode(b, code, async () => {
      const inbox = b.suite.inbox;
      try {
        await inbox.deliver.staticCall(...made.args, { gasLimit: 15_000_000n });
      } catch (error) {
        return { reverted: revertData(error) ?? String(error) };
      }
      const receipt = await (await inbox.deliver(...made.args, { gasLimit: 15_000_000n })).wait();
      const ids = made.messages.map((m) => messageId(m));
      const state = await Promise.all([
        ...made.messages.map((m) => inbox.isMessageDelivered(m).catch(() => "reverts")),
        ...ids.map((id) => inbox.failure(id)),
        ...made.signers.map((s) => inbox.exposure(a.suite.code, s.address)),
        inbox.policyCoverageAvailable(a.suite.code),
        b.suite.bank.reserve(a.suite.code),
      ]);
      return {
        gas: receipt!.gasUsed,
        logs: receipt!.logs.map((l) => [l.address, ...l.topics, l.data].join(":")),
        state: state.map(String),
      };
    });
  }

  it("has the same effects on every batch: the same error, or the same logs and state", async function () {
    this.timeout(600_000);
    let batches = 0;
    let accepted = 0;
    let faster = 0;
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        batches++;
        const made = await madeUp(batch);
        const fast = await outcome(undefined, made);
        const checked = await outcome(checkedOnly, made);
        if ("reverted" in fast || "reverted" in checked) {
          expect(fast, "the same revert").to.deep.equal(checked);
          return;
        }
        expect(fast.logs, "the same logs").to.deep.equal(checked.logs);
        expect(fast.state, "the same state").to.deep.equal(checked.state);
        accepted++;
        if (fast.gas < checked.gas) faster++;
      }),
      {
        numRuns: RUNS,
        endOnFailure: true,
        // Always, besides the random batches: each fault in the middle of a run to one recipient.
        examples: FAULTS.map((fault): [Batch] => [
          {
            messages: (["none", fault, "none"] as const).map((f) => ({
              recipient: "r1",
              fee: 0n,
              body: Uint8Array.of(0x5a),
              step: 1,
              fault: f,
            })),
            base: 1_000,
            slack: 1,
            signers: 3,
            framing: "whole",
          } as Batch,
        ]),
      },
    );
    console.log(
      `      ${batches} batches: ${accepted} accepted, ${faster} of them faster by the run`,
    );
    // The generator reaches both sides: batches accepted, and the fast path taking messages.
    expect(accepted, "batches accepted").to.be.greaterThan(RUNS / 6);
    expect(faster, "batches the fast path took part of").to.be.greaterThan(0);
  });
});
