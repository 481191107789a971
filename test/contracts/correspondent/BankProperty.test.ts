/**
 * Property tests of the CorrespondentBank on three chains (A and B with 18 decimals, C with 6):
 * random sequences of fund / send / deliver (in any order) / claim / net, honest or with forged
 * payouts mixed in, checked after every step against the bank's accounting rules:
 *
 * - tokens are conserved: each bank holds exactly Σ (reserve + pool + netting lock) over its peers,
 *   and each chain's supply stays with its users and its bank;
 * - a delivered transfer from O to D pays its recipient from reserve[O] on D only, by exactly what
 *   the recipient received, and touches nothing else on D;
 * - netting (requests, requests' answers, replies) leaves every community's total unchanged;
 * - in honest runs no payout is ever pending (the credit view never lets a send outrun the reserve);
 * - at the end, once every message is delivered and every pending payout claimable is claimed,
 *   each bank has booked exactly what its peers sent it, and each credit view equals the reserve
 *   minus the pending payouts.
 *
 * Modest runs by default; DISTPOS_DEEP=1 runs many more and longer sequences.
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  createBankChain,
  dispatched,
  enrollAll,
  relay,
  settle,
  snapshotAll,
  wad,
  word,
  type BankChain,
} from "./bankFixture.js";
import { decodeNettingReply } from "../../../relayer/protocol/index.js";

const DEEP = process.env.DISTPOS_DEEP === "1";
const RUNS = DEEP ? 60 : 6;
const MAX_ACTIONS = DEEP ? 40 : 14;
const RESERVE = 100n; // whole tokens posted by every community on every peer at the start
const HALF = 5n * 10n ** 17n; // amounts are whole half-tokens: exact in 18 and 6 decimals

type Pair = { from: number; to: number };
type Action =
  | ({ kind: "fund"; tokens: bigint } & Pair) // from = holder, to = peer it is posted for
  | ({ kind: "send"; halves: bigint; user: number } & Pair)
  | ({ kind: "deliver"; pick: number } & Pair)
  | { kind: "claim"; holder: number; pick: number }
  | ({ kind: "net" } & Pair)
  | ({ kind: "forge"; tokens: bigint; user: number } & Pair); // from = holder, to = origin forged

const pair = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }))
  .map(([from, offset]) => ({ from, to: (from + offset) % 3 }));

const honestAction: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: pair.chain((p) =>
      fc.bigInt({ min: 1n, max: 60n }).map((tokens) => ({ kind: "fund" as const, tokens, ...p })),
    ),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(pair, fc.bigInt({ min: 1n, max: 180n }), fc.integer({ min: 0, max: 3 }))
      .map(([p, halves, user]) => ({ kind: "send" as const, halves, user, ...p })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(pair, fc.nat())
      .map(([p, pick]) => ({ kind: "deliver" as const, pick, ...p })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.nat())
      .map(([holder, pick]) => ({ kind: "claim" as const, holder, pick })),
  },
  { weight: 1, arbitrary: pair.map((p) => ({ kind: "net" as const, ...p })) },
);

const forgedAction: fc.Arbitrary<Action> = fc
  .tuple(pair, fc.bigInt({ min: 1n, max: 80n }), fc.integer({ min: 0, max: 3 }))
  .map(([p, tokens, user]) => ({ kind: "forge" as const, tokens, user, ...p }));

describe("CorrespondentBank properties (three chains)", function () {
  let chains: BankChain[];
  let restore: () => Promise<void>;
  let forgeries = 0;

  before(async function () {
    chains = [
      await createBankChain("chainA"),
      await createBankChain("chainB"),
      await createBankChain("chainC", { decimals: 6 }),
    ];
    await enrollAll(chains);
    for (const holder of chains) {
      for (const peer of chains) {
        if (peer === holder) continue;
        // Netting is opt-in per peer by governance (the deployer here): enable it everywhere.
        await (await holder.bank.setNetting(peer.code, true)).wait();
        await (
          await holder.bank.connect(holder.users[5]).fund(peer.code, RESERVE * holder.unit)
        ).wait();
      }
    }
    await settle(chains);
    restore = await snapshotAll(chains);
  });

  interface ChainState {
    bankBalance: bigint;
    users: bigint[];
    supply: bigint;
    reserve: bigint[]; // per chain index (0 for itself)
    pool: bigint[];
    locked: bigint[];
    pending: bigint[];
  }

  async function readState(): Promise<ChainState[]> {
    const out: ChainState[] = [];
    for (const c of chains) {
      const per = async (f: (code: bigint) => Promise<bigint>) =>
        Promise.all(chains.map((p) => (p === c ? 0n : f(p.code))));
      out.push({
        bankBalance: await c.token.balanceOf(await c.bank.getAddress()),
        users: await Promise.all(c.users.map((u) => c.token.balanceOf(u.address))),
        supply: await c.token.totalSupply(),
        reserve: await per((code) => c.bank.reserve(code)),
        pool: await per((code) => c.bank.pool(code)),
        locked: await per((code) => c.bank.nettingLocked(code)),
        pending: await per((code) => c.bank.pendingPayouts(code)),
      });
    }
    return out;
  }

  /** Community `x`'s total in 18 decimals: its pools and locks at home, its reserves on its peers. */
  function communityTotal(state: ChainState[], x: number): bigint {
    let total = 0n;
    for (let p = 0; p < 3; p++) {
      if (p === x) continue;
      total += (state[x].pool[p] + state[x].locked[p]) * scaleOf(x);
      total += state[p].reserve[x] * scaleOf(p);
    }
    return total;
  }

  function scaleOf(i: number): bigint {
    return 10n ** BigInt(18 - chains[i].decimals);
  }

  function checkConservation(state: ChainState[]): void {
    state.forEach((s, i) => {
      let held = 0n;
      for (let p = 0; p < 3; p++) held += s.reserve[p] + s.pool[p] + s.locked[p];
      expect(s.bankBalance, `${chains[i].name} bank holds its books`).to.equal(held);
      expect(
        s.users.reduce((a, b) => a + b, 0n) + s.bankBalance,
        `${chains[i].name} supply`,
      ).to.equal(s.supply);
    });
  }

  async function undelivered(from: number, to: number) {
    const origin = chains[from];
    const destination = chains[to];
    return (await dispatched(origin)).filter(
      (m) =>
        m.destination === destination.code &&
        !destination.delivered.has(`${origin.code}:${m.nonce}`),
    );
  }

  async function pendingIds(holder: BankChain): Promise<string[]> {
    const logs = await holder.bank.queryFilter(holder.bank.filters.PayoutPending());
    const ids: string[] = [];
    for (const log of logs) {
      if ((await holder.bank.payoutOf(log.args.id)).status === 1n) ids.push(log.args.id);
    }
    return [...new Set(ids)];
  }

  async function apply(action: Action, honest: boolean): Promise<void> {
    const before = await readState();
    // What each community's total should change by (18 decimals), and what else must hold.
    const expectedDelta = [0n, 0n, 0n];
    let transferFrom: { origin: number; holder: number; recipient: string } | undefined;

    switch (action.kind) {
      case "fund": {
        const holder = chains[action.from];
        const peer = chains[action.to];
        const tokens = action.tokens * holder.unit;
        await (await holder.bank.connect(holder.users[4]).fund(peer.code, tokens)).wait();
        expectedDelta[action.to] = tokens * scaleOf(action.from);
        break;
      }
      case "send": {
        const origin = chains[action.from];
        const destination = chains[action.to];
        const amount = action.halves * HALF;
        const credit = await origin.bank.creditView(destination.code);
        const suspended = (await origin.bank.peerReport(destination.code))[0].suspended;
        const recipient = destination.users[action.user].address;
        const call = origin.bank
          .connect(origin.users[action.user])
          .send(destination.code, word(recipient), amount, "0x");
        if (suspended) {
          await expect(call).to.be.revertedWithCustomError(origin.bank, "PeerSuspended");
        } else if (amount > credit) {
          await expect(call).to.be.revertedWithCustomError(origin.bank, "InsufficientCredit");
        } else {
          await (await call).wait();
          expectedDelta[action.from] = amount;
        }
        break;
      }
      case "deliver": {
        const list = await undelivered(action.from, action.to);
        if (list.length === 0) return;
        const m = list[action.pick % list.length];
        const bankOfDestination = word(await chains[action.to].bank.getAddress());
        if (m.amount !== 0n && m.recipient !== bankOfDestination) {
          transferFrom = {
            origin: action.from,
            holder: action.to,
            recipient: `0x${m.recipient.slice(26)}`,
          };
        }
        await relay(chains[action.from], chains[action.to], { nonces: [m.nonce] });
        if (m.recipient === bankOfDestination) {
          // Netting moves value between two communities until the exchange completes: the answer
          // to a request (the reply the destination just dispatched) moves x from the destination's
          // pool into the origin's reserve; a reply moves x from the destination's lock into the
          // origin's reserve. x is read from the messages, not from the books being checked.
          let x = 0n;
          if (m.body.startsWith("0x03")) {
            const answers = (await dispatched(chains[action.to])).filter(
              (r) => r.destination === chains[action.from].code && r.body.startsWith("0x04"),
            );
            x = decodeNettingReply(answers[answers.length - 1].body).amount;
          } else if (m.body.startsWith("0x04")) {
            x = decodeNettingReply(m.body).amount;
          }
          expectedDelta[action.to] -= x;
          expectedDelta[action.from] += x;
        }
        break;
      }
      case "claim": {
        const holder = chains[action.holder];
        const ids = await pendingIds(holder);
        if (ids.length === 0) return;
        const id = ids[action.pick % ids.length];
        const p = await holder.bank.payoutOf(id);
        const originIndex = chains.findIndex((c) => c.code === p.origin);
        if ((await holder.bank.reserve(p.origin)) < p.amount) {
          await expect(holder.bank.claim(id)).to.be.revertedWithCustomError(
            holder.bank,
            "ReserveShort",
          );
        } else {
          await (await holder.bank.claim(id)).wait();
          expectedDelta[originIndex] = -p.amount * scaleOf(action.holder);
        }
        break;
      }
      case "net": {
        const origin = chains[action.from];
        try {
          await (await origin.bank.net(chains[action.to].code)).wait();
        } catch (error) {
          expect(String(error)).to.match(/ZeroAmount|NettingInFlight/);
        }
        break;
      }
      case "forge": {
        expect(honest).to.equal(false);
        const holder = chains[action.from];
        const recipient = holder.users[action.user].address;
        const id = holder.connection.ethers.id(`forged:${forgeries++}`);
        transferFrom = { origin: action.to, holder: action.from, recipient };
        const amount = action.tokens * HALF;
        await (
          await holder.inbox.payout(
            await holder.bank.getAddress(),
            chains[action.to].code,
            id,
            recipient,
            amount,
          )
        ).wait();
        break;
      }
    }

    const after = await readState();
    checkConservation(after);

    if (transferFrom) {
      // Paid (if at all) from reserve[origin] on the holder only, by what the recipient received.
      const { origin, holder, recipient } = transferFrom;
      const userIndex = chains[holder].users.findIndex(
        (u) => u.address.toLowerCase() === recipient.toLowerCase(),
      );
      const received = after[holder].users[userIndex] - before[holder].users[userIndex];
      expect(before[holder].reserve[origin] - after[holder].reserve[origin]).to.equal(received);
      expectedDelta[origin] = -received * scaleOf(holder);
      for (let p = 0; p < 3; p++) {
        if (p === origin) continue;
        expect(after[holder].reserve[p], "other reserves untouched").to.equal(
          before[holder].reserve[p],
        );
      }
      for (let p = 0; p < 3; p++) {
        expect(after[holder].pool[p], "holder's pools untouched").to.equal(before[holder].pool[p]);
      }
    }
    for (let x = 0; x < 3; x++) {
      expect(
        communityTotal(after, x) - communityTotal(before, x),
        `community ${chains[x].name}`,
      ).to.equal(expectedDelta[x]);
    }
    if (honest) {
      for (const s of after)
        expect(
          s.pending.every((v) => v === 0n),
          "no pending payout in an honest run",
        ).to.equal(true);
    }
  }

  /** Delivers everything, claims what can be claimed, reports, delivers again; then checks the books. */
  async function finish(honest: boolean): Promise<void> {
    await settle(chains);
    for (const holder of chains) {
      for (const id of await pendingIds(holder)) {
        const p = await holder.bank.payoutOf(id);
        if ((await holder.bank.reserve(p.origin)) >= p.amount)
          await (await holder.bank.claim(id)).wait();
      }
      for (const peer of chains)
        if (peer !== holder) await (await holder.bank.report(peer.code)).wait();
    }
    await settle(chains);
    checkConservation(await readState());
    for (const holder of chains) {
      for (const peer of chains) {
        if (peer === holder) continue;
        const sent = await peer.bank.sent(holder.code);
        const received = await holder.bank.received(peer.code);
        if (honest) expect(received, `${holder.name} booked all ${peer.name} sent`).to.equal(sent);
        else expect(received >= sent).to.equal(true);
        const reserve18 = (await holder.bank.reserve(peer.code)) * scaleOf(chains.indexOf(holder));
        const pending18 =
          (await holder.bank.pendingPayouts(peer.code)) * scaleOf(chains.indexOf(holder));
        const suspended = await holder.bank.suspended(peer.code);
        const expected = suspended || reserve18 < pending18 ? 0n : reserve18 - pending18;
        expect(
          await peer.bank.creditView(holder.code),
          `${peer.name}'s credit at ${holder.name}`,
        ).to.equal(expected);
      }
    }
  }

  it("keeps the books in honest runs: conservation, payouts from the origin's reserve only, no pending", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(honestAction, { minLength: 1, maxLength: MAX_ACTIONS }),
        async (actions) => {
          await restore();
          for (const action of actions) await apply(action, true);
          await finish(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("keeps the books with forged payouts mixed in: they reach only the forged origin's reserve", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof({ weight: 5, arbitrary: honestAction }, { weight: 1, arbitrary: forgedAction }),
          {
            minLength: 1,
            maxLength: MAX_ACTIONS,
          },
        ),
        async (actions) => {
          await restore();
          for (const action of actions) await apply(action, false);
          await finish(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a sanity run: one of each action moves what it should", async function () {
    await restore();
    await apply({ kind: "send", from: 0, to: 2, halves: 3n, user: 0 }, true);
    await apply({ kind: "deliver", from: 0, to: 2, pick: 0 }, true);
    await apply({ kind: "send", from: 2, to: 0, halves: 1n, user: 1 }, true);
    await apply({ kind: "deliver", from: 2, to: 0, pick: 0 }, true);
    await apply({ kind: "net", from: 0, to: 2 }, true);
    await apply({ kind: "deliver", from: 0, to: 2, pick: 0 }, true);
    await apply({ kind: "deliver", from: 2, to: 0, pick: 0 }, true);
    await finish(true);
    expect(await chains[0].bank.pool(chains[2].code)).to.equal(wad(1)); // 1.5 − 0.5 netted
  });
});
