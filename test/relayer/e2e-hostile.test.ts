/**
 * Hostile recipients against a real node process (issue 14, "Hostile peers"): a recipient whose
 * own policy no signer set can meet (`setRecipientPolicy(65535, 0)`, set by anyone for itself)
 * and handlers that burn all their gas, mixed with honest messages and a stake report. The
 * honest messages and the report must go out in a few batches, none reverted, none dead-lettered.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { suiteAs } from "../../deploy/suite.js";
import { checkpointDomain, signCheckpoint } from "../../relayer/protocol/index.js";
import { dispatchedMessages, lastLeaf } from "../helpers/suite.js";
import { MessagingGasGuzzler__factory } from "../../typechain-types/index.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import {
  deliveries,
  deliverTxs,
  deploySink,
  dispatchMany,
  fundedKey,
  missing,
  bundlePair,
  queueCounts,
  runNode,
} from "./helpers/scenario.js";

describe("relayer e2e: hostile recipients", function () {
  const net = useServedNetwork({ name: "hostile", confirmations: 1, intervalMiningMs: 100 });

  it("plans around an unmeetable recipient policy and gas-burning handlers: honest messages and a stake report go out in a few batches", async function () {
    const sink = await deploySink(net.b);
    const [deployerB] = await net.b.connection.ethers.getSigners();
    const guzzler = await new MessagingGasGuzzler__factory(deployerB).deploy();
    await guzzler.waitForDeployment();
    // Anyone can demand 65,535 signers for itself.
    const poisoner = ethers.Wallet.createRandom().connect(net.b.connection.ethers.provider);
    await net.b.connection.provider.request({
      method: "hardhat_setBalance",
      params: [poisoner.address, "0x3635C9ADC5DEA00000"],
    });
    await (await suiteAs(net.b.suite, poisoner).inbox.setRecipientPolicy(65535, 0)).wait();

    const [sender] = await net.a.connection.ethers.getSigners();
    const outbox = net.a.suite.outbox.connect(sender!);
    let nonce = await sender!.getNonce();
    const recipients: { to: string; kind: "sink" | "poison" | "guzzler" }[] = [];
    for (let i = 0; i < 43; i++)
      recipients.push(
        i % 10 === 3
          ? { to: poisoner.address, kind: "poison" }
          : i % 10 === 7
            ? { to: await guzzler.getAddress(), kind: "guzzler" }
            : { to: sink, kind: "sink" },
      );
    const txs = [];
    for (const [i, r] of recipients.entries())
      txs.push(
        await outbox.dispatch(
          net.b.suite.code,
          ethers.zeroPadValue(r.to, 32),
          ethers.toBeHex(i, 8),
          {
            nonce: nonce++,
          },
        ),
      );
    // A stake report among them: attester 1 re-sends its allocation to B.
    const attester1 = net.a.attesters[1]!.connect(net.a.connection.ethers.provider);
    const allocation = await net.a.suite.stakingHub.allocation(attester1.address, net.b.suite.code);
    txs.push(
      await suiteAs(net.a.suite, attester1).stakingHub.allocate(net.b.suite.code, allocation),
    );
    const ids: string[] = [];
    for (const tx of txs) {
      const receipt = await tx.wait();
      const parsed = receipt!.logs
        .filter((l) => l.address.toLowerCase() === net.a.suite.addresses.outbox.toLowerCase())
        .map((l) => net.a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "Dispatch");
      ids.push((parsed!.args.id as string).toLowerCase());
    }
    const reportId = ids[ids.length - 1]!;
    const poisoned = ids.filter((_, i) => recipients[i]?.kind === "poison");
    const deliverable = ids.filter((id) => !poisoned.includes(id));
    expect(poisoned).to.have.length(4);

    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
    const relayerKey = await fundedKey(net);
    // On the bundle flow, home RPC only: A's node hands over, B's node plans and delivers.
    const pair = await bundlePair(net, net.a, net.b, net.prefix, relayerKey, {
      destination: { relayer: { maxBatchMessages: 100, batchWaitMs: 500 } },
    });
    await runNode("hostile-origin", pair.origin.file, pair.origin.env);
    const node = await runNode("hostile", pair.destination.file, pair.destination.env);
    await waitFor(
      `${deliverable.length} deliveries (the stake report included)`,
      async () => {
        const d = await deliveries(net.b, fromBlock);
        return deliverable.every((id) => d.has(id));
      },
      120_000,
      250,
    );
    // A little longer: nothing else may happen to the poisoned messages meanwhile.
    await new Promise((r) => setTimeout(r, 3_000));
    const delivered = await deliveries(net.b, fromBlock);
    expect(delivered.has(reportId), "stake report delivered").to.equal(true);
    for (const id of poisoned) expect(delivered.has(id), "poisoned message").to.equal(false);
    const sent = (await deliverTxs(net.b, fromBlock)).filter((t) => t.messages > 0);
    expect(
      sent.filter((t) => t.status !== 1),
      "reverted deliver transactions",
    ).to.deep.equal([]);
    // The report alone, then the calls (a batch per signer demand; a split where gas demands).
    expect(sent.length, "deliver transactions").to.be.at.most(6);
    const reverted = node.lines.filter((l) => l.msg === "deliver simulation reverted");
    expect(reverted.length, "reverted simulations").to.be.at.most(6);
    const counts = await queueCounts(
      net.redis,
      pair.destinationPrefix,
      net.b.suite.addresses.chainCode,
    );
    expect(counts.failed, "failed jobs").to.equal(0);
    expect(
      node.lines.filter((l) => l.msg === "delivery attempt failed, will retry"),
      "attempts spent",
    ).to.deep.equal([]);
  });

  it("delivers as fast with a junk and a tarpit entry node on the origin, storing no junk", async function () {
    let junkRequests = 0;
    const servers: Server[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    // Answers the checkpoint it is asked about, with its true root, and 1,000 junk signatures:
    // 50 real signatures by keys no one mirrored (they recover fine), 950 random bytes.
    const keys = Array.from({ length: 50 }, () => generatePrivateKey());
    const domain = checkpointDomain({
      evmChainId: net.a.suite.evmChainId,
      outbox: net.a.suite.addresses.outbox as Hex,
    });
    const junk = await listen((req, res) => {
      junkRequests++;
      void (async () => {
        const count = Number(/checkpoints\/(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
        const root = (await net.a.suite.outbox.rootAt(count)) as Hex;
        const last = lastLeaf(undefined, await dispatchedMessages(net.a), count);
        const checkpoint = { origin: net.a.suite.code, root, count, last };
        const signed = await Promise.all(
          keys.map(async (k) => ({
            signer: privateKeyToAccount(k).address,
            signature: await signCheckpoint(k, domain, checkpoint),
          })),
        );
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            origin: net.a.suite.addresses.chainCode,
            root,
            count,
            signatures: [
              ...signed,
              ...Array.from({ length: 950 }, () => ({
                signer: ethers.getAddress(ethers.hexlify(randomBytes(20))),
                signature: `0x${randomBytes(64).toString("hex")}1b`,
              })),
            ],
          }),
        );
      })().catch(() => res.destroy());
    });
    const tarpit = await listen(() => undefined);
    try {
      const sink = await deploySink(net.b);
      // A's entry nodes are the junk and the tarpit before A's node: its own signatures are
      // collected past them, and B's node pulls from them too.
      const pair = await bundlePair(net, net.a, net.b, net.prefix, await fundedKey(net), {
        originEntryNodes: [junk, tarpit],
      });
      await runNode("hostile-nodes-origin", pair.origin.file, pair.origin.env);
      await runNode("hostile-nodes", pair.destination.file, pair.destination.env);
      const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
      const t = Date.now();
      const ids = await dispatchMany(net.a, net.b, sink, 30, 7);
      await waitFor(
        "30 deliveries",
        async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
        60_000,
        250,
      );
      // A tarpit waited for in turn used to add 6 s per checkpoint; the bound is loose for load.
      expect(Date.now() - t, "ms to deliver 30 messages").to.be.below(30_000);
      expect(junkRequests, "the junk node was asked").to.be.greaterThan(0);
      // Only mirrored signers' signatures are kept: the node stores no junk.
      const keys = [
        ...(await net.redis.keys(`${pair.originPrefix}:sigs:${net.a.suite.addresses.chainCode}:*`)),
        ...(await net.redis.keys(
          `${pair.destinationPrefix}:sigs:${net.a.suite.addresses.chainCode}:*`,
        )),
      ];
      expect(keys.length, "signatures stored").to.be.greaterThan(0);
      for (const key of keys) expect(await net.redis.hlen(key), key).to.be.at.most(3);
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    }
  });
});
