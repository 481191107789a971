/**
 * A deliver transaction that passed its simulation but reverts once mined (issue 15 item 8): the
 * chain moved in between, most often another relayer delivered some of the batch first. The test
 * is that other relayer: with B's mining stopped it waits for the node's deliver transaction in
 * B's pool, front-runs it with a higher priority fee by delivering a subset of the same messages
 * (same checkpoint and signatures, the subset's multiproof from relayer/protocol), and mines one
 * block. The node's transaction reverts `AlreadyDelivered`; the node must simulate the batch again
 * and deliver the rest without spending any message's attempt (its config allows one: a spent
 * attempt dead-letters the message).
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";
import { decodeFunctionData, encodeFunctionData, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { IInboxAbi } from "../../relayer/chain/abis.js";
import {
  buildDelivery,
  deliverArgs,
  messageId,
  splitSignatures,
  unpackMessages,
} from "../../relayer/protocol/index.js";
import { metric, scrape } from "../faults/helpers.js";
import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "../relayer/helpers/net.js";
import {
  deliveries,
  deploySink,
  dispatchMany,
  fundedKey,
  missing,
  queueCounts,
} from "../relayer/helpers/scenario.js";
import { runCommunities, useAnvilNetwork, type AnvilNetwork } from "./anvil.js";

interface PoolTx {
  hash: Hex;
  from: string;
  to: string | null;
  nonce: Hex;
  input: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
  gasPrice?: Hex;
}

describe("anvil: a deliver that reverts once mined is simulated and planned again", function () {
  this.timeout(240_000);
  const fx = useAnvilNetwork("anvil-mr", { confirmations: 2, perSuite: true });
  let net: AnvilNetwork;
  let redis: Redis;
  let a: TestChain;
  let b: TestChain;
  let sinkB: string;

  before(async function () {
    ({ net, redis, a, b } = fx);
    sinkB = await deploySink(b);
  });

  it("delivers the rest of a front-run batch without spending an attempt", async function () {
    const [anvilA, anvilB] = net.anvils as [AnvilNetwork["anvils"][0], AnvilNetwork["anvils"][0]];
    const codeB = b.suite.addresses.chainCode;
    const inboxB = b.suite.addresses.inbox.toLowerCase();
    // One attempt: a message that spends it is dead-lettered and never delivered.
    const [, nodeB] = await runCommunities(net, fx.prefix, { relayer: { attempts: 1 } });
    const relayer = privateKeyToAccount(nodeB!.keys.relayer).address.toLowerCase();

    try {
      // All messages in one block of A, so that one checkpoint covers them and they go in one batch.
      await anvilB.setIntervalMining(0);
      await anvilA.setIntervalMining(0);
      const [dispatcher] = await a.connection.ethers.getSigners();
      const nonceOf = (tag: string) =>
        anvilA.rpc<Hex>("eth_getTransactionCount", [dispatcher!.address, tag]).then(Number);
      const latest = await nonceOf("latest");
      const dispatched = dispatchMany(a, b, sinkB, 4, 41);
      await waitFor(
        "the 4 dispatches pending on A",
        async () => (await nonceOf("pending")) >= latest + 4,
        30_000,
        100,
      );
      await anvilA.rpc("evm_mine");
      await anvilA.setIntervalMining(1);
      const ids = await dispatched;

      // B mines nothing: the node's deliver waits in B's pool.
      const pool = await waitFor(
        "the node's deliver transaction in B's pool",
        async () => {
          const content = await anvilB.rpc<{ pending: Record<string, Record<string, PoolTx>> }>(
            "txpool_content",
          );
          const ours = Object.entries(content.pending).find(
            ([from]) => from.toLowerCase() === relayer,
          )?.[1];
          const delivers = Object.values(ours ?? {})
            .filter((t) => t.to?.toLowerCase() === inboxB)
            .sort((x, y) => Number(x.nonce) - Number(y.nonce));
          return delivers.length > 0 && delivers[0];
        },
        90_000,
        100,
      );
      const { args } = decodeFunctionData({ abi: IInboxAbi, data: pool.input });
      if (!args || args.length !== 4)
        throw new Error(`not a deliver call: ${pool.input.slice(0, 10)}`);
      const [checkpoint, packed, framed] = args as unknown as [
        { origin: bigint; root: Hex; count: number; last: Hex },
        Hex,
        Hex,
      ];
      const signatures = splitSignatures(packed);
      const messages = unpackMessages(framed);
      expect(messages.length, "messages in the node's batch").to.be.at.least(2);

      // The front-run: the first half of the batch, proven against the same checkpoint.
      const logs = await a.suite.outbox.queryFilter(a.suite.outbox.filters.Dispatch());
      const leaves = logs
        .map((l) => ({ nonce: Number(l.args.nonce), id: l.args.id as Hex }))
        .sort((x, y) => x.nonce - y.nonce)
        .map((x) => x.id);
      const subset = messages.slice(0, Math.floor(messages.length / 2));
      const delivery = buildDelivery({ leaves, count: Number(checkpoint.count), messages: subset });
      const data = encodeFunctionData({
        abi: IInboxAbi,
        functionName: "deliver",
        args: deliverArgs(checkpoint, signatures, delivery),
      });
      const tip = BigInt(pool.maxPriorityFeePerGas ?? pool.gasPrice ?? "0x0");
      const cap = BigInt(pool.maxFeePerGas ?? pool.gasPrice ?? "0x0");
      const gwei = 10n ** 9n;
      const frontRunner = new ethers.Wallet(await fundedKey(net), b.connection.ethers.provider);
      const front = await frontRunner.sendTransaction({
        to: b.suite.addresses.inbox,
        data,
        gasLimit: 5_000_000n,
        maxPriorityFeePerGas: tip * 2n + gwei,
        maxFeePerGas: cap * 2n + 2n * gwei,
      });
      await anvilB.rpc("evm_mine");
      await anvilB.setIntervalMining(1);

      const provider = b.connection.ethers.provider;
      const [frontReceipt, nodeReceipt] = await Promise.all([
        provider.getTransactionReceipt(front.hash),
        provider.getTransactionReceipt(pool.hash),
      ]);
      expect(frontReceipt?.status, "the front-run delivered").to.equal(1);
      expect(nodeReceipt?.blockNumber, "both in one block").to.equal(frontReceipt?.blockNumber);
      expect(nodeReceipt?.status, "the node's deliver reverted on chain").to.equal(0);

      await waitFor(
        "every message delivered",
        async () => missing(ids, await deliveries(b)).length === 0,
        90_000,
        500,
      );
      await nodeB!.node.waitForLine(
        (l) =>
          String(l.msg).includes(
            `deliver ${pool.hash} reverted on chain; simulating the batch again`,
          ),
        5_000,
      );
      // Every job completes (the front-run ones once their delivery is confirmed in the index).
      const counts = await waitFor(
        "every job of B's queue completed",
        async () => {
          const c = await queueCounts(redis, `${fx.prefix}-${codeB}`, codeB);
          return c.completed >= ids.length && c;
        },
        60_000,
        500,
      );
      const d = await deliveries(b);
      const subsetIds = new Set(delivery.messages.map((m) => messageId(m).toLowerCase()));
      for (const id of ids) {
        expect(d.get(id), id).to.have.length(1);
        if (subsetIds.has(id))
          expect(d.get(id)![0], `${id}: by the front-run`).to.equal(front.hash);
      }
      expect(counts.failed, "failed jobs").to.equal(0);
      const msgs = nodeB!.node.lines.map((l) => String(l.msg));
      expect(msgs, "a spent attempt").to.not.include("delivery attempt failed, will retry");
      expect(msgs, "a dead-lettered message").to.not.include(
        "delivery failed for good: dead-lettered",
      );
      const api = nodeB!.node.apiUrl!;
      const samples = await scrape(api);
      expect(metric(samples, "distpos_relay_failures_total")).to.equal(0);
      expect(metric(samples, "distpos_relay_dead_letters_total")).to.equal(0);
      expect(
        metric(samples, "distpos_relay_batches_total", { outcome: "reverted" }),
      ).to.be.at.least(1);
    } finally {
      await anvilA.setIntervalMining(1);
      await anvilB.setIntervalMining(1);
    }
  });
});
