/**
 * The relayer's fee policy (docs/protocol.md 3.9, relayer/README.md "Fees") with a real node
 * process, real chains over JSON-RPC and the real Redis: a message whose fee is below the
 * relayer's cost waits with status `underpaid` (not failed, not lost); a top-up on the origin
 * (`Outbox.topUp`) too small to cover both leaves them waiting; a sufficient one gets the message and
 * its top-ups delivered together, once, and the deliverer is paid their fees on the destination.
 * The same on the default bundle hand-over with home-only nodes: the top-up comes in a later bundle
 * that carries its message again, and both nodes show the message underpaid while it waits.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import { encodeMessage } from "../../relayer/protocol/index.js";
import {
  dispatchedMessages,
  fundedWallets,
  ONE,
  publishDeliveryPrice,
  type TestChain,
} from "../helpers/suite.js";
import {
  clearPrefix,
  newRedis,
  serveNetwork,
  testPrefix,
  waitFor,
  writeConfigFile,
  type ServedNetwork,
} from "./helpers/net.js";
import { killAll, runCli } from "./helpers/proc.js";
import {
  bundlePair,
  deliveries,
  deploySink,
  dispatchMany,
  fundedKey,
  nodeConfigFile,
  runNode,
} from "./helpers/scenario.js";

describe("relayer fees: underpaid messages wait for a top-up", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let a: TestChain;
  let b: TestChain;
  let sink: string;

  before(async function () {
    net = await serveNetwork({ confirmations: 1, intervalMiningMs: 100 });
    [a, b] = net.chains as [TestChain, TestChain];
    sink = await deploySink(b);
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(() => (prefix = testPrefix("fees")));
  afterEach(async function () {
    await killAll();
    await clearPrefix(redis, prefix);
  });

  /** The node's answer for message `id`. */
  async function journey(apiUrl: string, id: string) {
    const res = await fetch(`${apiUrl}/v1/messages/${id}`);
    return (await res.json()) as {
      status: string;
      destination: { fees?: { needed: string; topUps: string } };
    };
  }

  /** The strict fee policy into B: fee-less messages wait, fees must reach the cost + 10 %. */
  const strictFees = () => ({
    deliverUnpaid: false,
    minMarginPct: 10,
    nativePrice: { [b.suite.addresses.chainCode]: "1" },
  });

  /** A user with prepaid fees on A (the tokens sit in A's bank, the balance in A's Outbox). */
  async function prepaidUser() {
    const [user] = await fundedWallets(a.connection, a.suite, 1, 10n * ONE);
    await (await a.suite.token.connect(user!).approve(a.suite.addresses.bank, 2n * ONE)).wait();
    await (await a.suite.bank.connect(user!).prepayFees(2n * ONE)).wait();
    return user!;
  }

  /** A node of A's community relaying to B with the strict fee policy, and a user with prepaid fees. */
  async function strictNode(name: string) {
    const relayerKey = await fundedKey(net);
    const relayer = privateKeyToAccount(relayerKey).address;
    const codeB = b.suite.addresses.chainCode;
    const { file, env } = nodeConfigFile(
      net,
      a.suite.addresses.chainCode,
      prefix,
      { attester: a.attesters[0]!.privateKey as Hex, relayer: relayerKey },
      {
        roles: ["indexer", "api", "attester", "relayer"],
        relayer: {
          handover: "messages",
          destinations: [codeB],
          fees: strictFees(),
        },
      },
    );
    const node = await runNode(name, file, env);
    return { apiUrl: node.apiUrl!, file, env, relayer, codeB, user: await prepaidUser() };
  }

  /** What B's bank holds for `relayer` out of A's reserve: earned, or owed until the reserve covers it. */
  async function paidTo(relayer: string) {
    const [earned, owed] = await Promise.all([
      b.suite.bank.earned(relayer),
      b.suite.bank.feesOwed(a.suite.code, relayer),
    ]);
    return earned + owed;
  }

  it("holds a fee-less message as underpaid, then delivers it with its top-ups in one batch", async function () {
    const { apiUrl, file, env, relayer, codeB, user } = await strictNode("fees");

    const [id] = await dispatchMany(a, b, sink, 1);
    const status = await waitFor("status underpaid", async () => {
      const j = await journey(apiUrl, id!);
      return j.status === "underpaid" && j;
    });
    const needed = BigInt(status.destination.fees!.needed);
    expect(needed > 1n).to.equal(true);
    // `distpos status --node` shows it too, and exits as for a message on its way (6).
    const shown = await runCli(["-c", file, "status", id!, "--node", apiUrl], env);
    expect(shown.code).to.equal(6);
    expect(shown.stdout).to.contain("status underpaid").and.to.contain("distpos topup");

    const encoded = (await dispatchedMessages(a)).find((m) => m.id.toLowerCase() === id)!.encoded;
    const outbox = a.suite.outbox.connect(user);
    const topUpIds: string[] = [];
    const topUp = async (amount: bigint) => {
      const receipt = await (await outbox.topUp(encoded, amount)).wait();
      const ev = receipt!.logs
        .map((l) => a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "FeeToppedUp")!;
      topUpIds.push((ev.args.topUpId as string).toLowerCase());
    };
    // One unit of top-up is far below the cost of delivering two messages: both keep waiting.
    await topUp(1n);
    await waitFor("the small top-up judged with its message", async () => {
      const j = await journey(apiUrl, id!);
      return j.status === "underpaid" && j.destination.fees && j.destination.fees.topUps === "1";
    });
    expect((await deliveries(b)).has(id!)).to.equal(false);

    const before = await paidTo(relayer);
    await topUp(ONE);
    const all = [id!, ...topUpIds];
    const delivered = await waitFor("the message and its top-ups delivered", async () => {
      const d = await deliveries(b);
      return all.every((x) => d.has(x)) && d;
    });
    // Together, in one transaction, each once.
    const txs = all.map((x) => delivered.get(x)!);
    for (const t of txs) expect(t).to.have.length(1);
    expect(new Set(txs.map((t) => t[0])).size).to.equal(1);
    // The deliverer is paid both top-ups (earned, or owed until A's reserve on B covers it).
    expect((await paidTo(relayer)) - before).to.equal(ONE + 1n);
    await waitFor(
      "status delivered",
      async () => (await journey(apiUrl, id!)).status === "delivered",
    );
    // The relayer counts a batch's fees once its confirmations are in (the index may see it first).
    const route = await waitFor("the route's fees counted", async () => {
      const fees = (await (await fetch(`${apiUrl}/v1/fees`)).json()) as {
        routes: {
          origin: string;
          destination: string;
          feesEarned: number;
          gasSpentTokens: number;
        }[];
      };
      const r = fees.routes.find(
        (x) => x.origin === a.suite.addresses.chainCode && x.destination === codeB,
      );
      return r && r.feesEarned > 0 && r;
    });
    expect(Math.abs(route.feesEarned - 1)).to.be.lessThan(1e-9);
    expect(route.gasSpentTokens).to.be.greaterThan(0);
  });

  it("on the bundle hand-over: underpaid on both nodes, topped up with distpos topup, delivered once", async function () {
    const relayerKey = await fundedKey(net);
    const relayer = privateKeyToAccount(relayerKey).address;
    // Home RPC only: A's node hands bundles to B's node, whose relayer judges their fees.
    const pair = await bundlePair(net, a, b, prefix, relayerKey, {
      destination: { relayer: { fees: strictFees() } },
    });
    await Promise.all([
      runNode("fees-bundle-origin", pair.origin.file, pair.origin.env),
      runNode("fees-bundle-destination", pair.destination.file, pair.destination.env),
    ]);
    const user = await prepaidUser();

    const [id] = await dispatchMany(a, b, sink, 1);
    // Held by B's relayer (its node's answer), and seen so by A's node following the hand-over.
    await waitFor("underpaid on the destination's node", async () => {
      const j = await journey(pair.urls.destination, id!);
      return j.status === "underpaid" && BigInt(j.destination.fees!.needed) > 1n;
    });
    await waitFor(
      "underpaid on the origin's node",
      async () => (await journey(pair.urls.origin, id!)).status === "underpaid",
      60_000,
    );
    const shown = await runCli(
      ["-c", pair.origin.file, "status", id!, "--node", pair.urls.origin],
      pair.origin.env,
    );
    expect(shown.code).to.equal(6);
    expect(shown.stdout).to.contain("status underpaid");
    expect((await deliveries(b)).has(id!)).to.equal(false);

    // The top-up is a later message of A's, handed over in a later bundle.
    const before = await paidTo(relayer);
    const topped = await runCli(
      ["-c", pair.origin.file, "--json", "topup", id!, "--amount", "1", "--key-env", "PAYER_KEY"],
      { ...pair.origin.env, PAYER_KEY: user.privateKey },
    );
    expect(topped.code, topped.stderr).to.equal(0);
    const topUpId = (JSON.parse(topped.stdout) as { topUpId: string }).topUpId.toLowerCase();
    const delivered = await waitFor("the message and its top-up delivered", async () => {
      const d = await deliveries(b);
      return d.has(id!) && d.has(topUpId) && d;
    });
    // Together, in one transaction, each once; the deliverer is paid the top-up's fee.
    expect(delivered.get(id!)).to.have.length(1);
    expect(delivered.get(topUpId)).to.deep.equal(delivered.get(id!));
    expect((await paidTo(relayer)) - before).to.equal(ONE);
    await waitFor(
      "delivered on the origin's node",
      async () => (await journey(pair.urls.origin, id!)).status === "delivered",
      60_000,
    );
  });

  /**
   * The bundle pair with the strict policy on B, and a fee-less message from A that both nodes hold
   * as underpaid; returns what a test tops it up with.
   */
  async function underpaidOnBundles(names: string) {
    const relayerKey = await fundedKey(net);
    const pair = await bundlePair(net, a, b, prefix, relayerKey, {
      destination: { relayer: { fees: strictFees() } },
    });
    const [, destination] = await Promise.all([
      runNode(`${names}-origin`, pair.origin.file, pair.origin.env),
      runNode(`${names}-destination`, pair.destination.file, pair.destination.env),
    ]);
    const user = await prepaidUser();
    const [id] = await dispatchMany(a, b, sink, 1);
    await waitFor("underpaid on the destination's node", async () => {
      const j = await journey(pair.urls.destination, id!);
      return j.status === "underpaid";
    });
    const real = (await dispatchedMessages(a)).find((m) => m.id.toLowerCase() === id)!;
    // Queued on B (a job's id is its message id), from the bundle it came in.
    const queuedOnB = async (messageId: string) =>
      (await redis.keys(`${pair.destinationPrefix}*${messageId}*`)).length > 0;
    const topUpOf = async (encoded: string, amount: bigint) => {
      const receipt = await (await a.suite.outbox.connect(user).topUp(encoded, amount)).wait();
      const ev = receipt!.logs
        .map((l) => a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "FeeToppedUp")!;
      return (ev.args.topUpId as string).toLowerCase();
    };
    const topUp = (amount: bigint) => topUpOf(real.encoded, amount);
    /**
     * Two paid messages of A's (top-ups of made-up messages, delivered alone) once delivered: put
     * between two top-ups, they keep the first out of the later bundle's proof as a neighbour leaf,
     * so that bundle proves it only when the origin puts it in.
     */
    let filled = 0;
    const fillers = async (until: "delivered" | "queued" = "delivered") => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const body = `0x${(filled++).toString(16).padStart(2, "0")}${id!.slice(2, 10)}` as Hex;
        ids.push(await topUpOf(encodeMessage({ ...real.message, body }), ONE / 100n));
      }
      if (until === "delivered")
        await waitFor("the fillers delivered", async () => {
          const d = await deliveries(b);
          return ids.every((x) => d.has(x));
        });
      else
        await waitFor("the fillers queued on B", async () => {
          for (const x of ids) if (!(await queuedOnB(x))) return false;
          return true;
        });
      return ids;
    };
    return {
      pair,
      destination,
      relayer: privateKeyToAccount(relayerKey).address,
      id: id!,
      topUp,
      fillers,
      queuedOnB,
    };
  }

  /** `ids` delivered on B, together in one transaction, each once. */
  async function deliveredTogether(ids: string[]) {
    const delivered = await waitFor("the message and its top-ups delivered", async () => {
      const d = await deliveries(b);
      return ids.every((x) => d.has(x)) && d;
    });
    const txs = ids.map((x) => delivered.get(x)!);
    for (const t of txs) expect(t).to.have.length(1);
    expect(new Set(txs.map((t) => t[0])).size, "transactions").to.equal(1);
  }

  it("on the bundle hand-over: two top-ups in two bundles, the first too small, all three delivered together", async function () {
    const { pair, relayer, id, topUp, fillers } = await underpaidOnBundles("fees-two");
    await fillers();
    // The first top-up, in a bundle with its message: judged with it, still underpaid.
    const first = await topUp(1n);
    await waitFor("the small top-up judged with its message", async () => {
      const j = await journey(pair.urls.destination, id);
      return j.status === "underpaid" && j.destination.fees?.topUps === "1";
    });
    await fillers();
    // The second comes in a later bundle, which must bring the first along: otherwise the message
    // goes with the second only and the first waits alone, underpaid, for good.
    const before = await paidTo(relayer);
    const second = await topUp(ONE);
    await deliveredTogether([id, first, second]);
    expect((await paidTo(relayer)) - before).to.equal(ONE + 1n);
  });

  it("on the bundle hand-over: a message and two top-ups met in one round from two bundles, delivered together", async function () {
    const { pair, destination, relayer, id, topUp, fillers, queuedOnB } =
      await underpaidOnBundles("fees-round");
    await fillers();
    // B's node takes bundles but does not relay for a while: the message's job keeps the bundle
    // it came in, and the top-ups' jobs theirs, so its relayer meets all three in one round from
    // two bundles (the second proves all three, fees.ts withTopUpTargets).
    await destination.kill("SIGKILL");
    const roles = (pair.destination.obj as { roles: string[] }).roles.filter(
      (r) => r !== "relayer",
    );
    const acceptOnly = writeConfigFile({ ...(pair.destination.obj as object), roles });
    const accepting = await runNode("fees-round-accept", acceptOnly, pair.destination.env);
    const before = await paidTo(relayer);
    const first = await topUp(1n);
    await waitFor("the first top-up's bundle accepted", () => queuedOnB(first));
    const queuedFillers = await fillers("queued");
    const second = await topUp(ONE);
    await waitFor("the second top-up's bundle accepted", () => queuedOnB(second));
    await accepting.kill("SIGKILL");
    await runNode("fees-round-relay", pair.destination.file, pair.destination.env);
    await deliveredTogether([id, first, second]);
    await waitFor("the fillers delivered", async () => {
      const d = await deliveries(b);
      return queuedFillers.every((x) => d.has(x));
    });
    // The fillers queued while B did not relay are paid too (ONE / 100 each).
    expect((await paidTo(relayer)) - before).to.equal(ONE + 1n + (2n * ONE) / 100n);
  });

  it("applies a raised price once its window passed (no manual call); a message paying its quote is delivered and its fee paid", async function () {
    const { relayer, user } = await strictNode("fees-paid");
    // B raises its price: A's bank keeps it pending for the exposure window, then A's node's
    // attester applies it (relayer/attester/prices.ts).
    await publishDeliveryPrice(b, a, { perGas: 10n ** 12n, base: 10n ** 16n }, { apply: false });
    expect((await a.suite.bank.pendingPrice(b.suite.code)).readyAt).to.not.equal(0n);
    await waitFor(
      "the pending price applied by the node",
      async () => (await a.suite.bank.pendingPrice(b.suite.code)).readyAt === 0n,
    );
    const before = await paidTo(relayer);
    const handlerGas = 100_000n;
    const quoted = await a.suite.outbox.quote(b.suite.code, 4, handlerGas, 0);
    expect(quoted > 0n).to.equal(true);
    const receipt = await (
      await a.suite.outbox
        .connect(user)
        .dispatchWithFee(
          b.suite.code,
          ethers.zeroPadValue(sink, 32),
          "0x01020304",
          handlerGas,
          quoted,
        )
    ).wait();
    const id = (
      receipt!.logs
        .map((l) => a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "Dispatch")!.args.id as string
    ).toLowerCase();
    await waitFor("the paid message delivered", async () => (await deliveries(b)).has(id));
    expect((await paidTo(relayer)) - before).to.equal(quoted);
  });

  it("delivers a top-up of a made-up message alone, as the paid message it is", async function () {
    const { user } = await strictNode("fees-made-up");
    // Well formed, from A, below A's count, but no leaf of A's tree: the Outbox cannot tell.
    const real = (await dispatchedMessages(a))[0]!;
    const fake = encodeMessage({ ...real.message, destination: b.suite.code, body: "0xdead" });
    const receipt = await (await a.suite.outbox.connect(user).topUp(fake, ONE)).wait();
    const topUpId = (
      receipt!.logs
        .map((l) => a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "FeeToppedUp")!.args.topUpId as string
    ).toLowerCase();
    await waitFor("the lone top-up delivered", async () => (await deliveries(b)).has(topUpId));
  });
});
