/**
 * Several parties: two relayer processes sharing one Redis, and attesters who lie — caught by a
 * watcher that proves the fraud on their home chain.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { expect } from "chai";
import { ethers } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import {
  buildDelivery,
  type Checkpoint,
  checkpointDomain,
  deliverArgs,
  encodeMessage,
  MerkleTree,
  messageId,
  signCheckpoint,
  treeCheckpoint,
} from "../../relayer/protocol/index.js";
import { suiteAs } from "../../deploy/suite.js";
import { latestCheckpoint } from "../helpers/suite.js";
import { homeOnlyChains, waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import {
  bundlePair,
  deliveries,
  deliverTxs,
  deploySink,
  dispatchMany,
  fundedKey,
  missing,
  nodeConfigFile,
  queueCounts,
  runNode,
} from "./helpers/scenario.js";

describe("relayer e2e: several relayers, lying attesters", function () {
  const net = useServedNetwork({ name: "peers", confirmations: 1, intervalMiningMs: 100 });
  let sink: string;
  before(async () => (sink = await deploySink(net.b)));

  it("two relayer processes on one Redis split the work and deliver nothing twice", async function () {
    const key1 = await fundedKey(net);
    const key2 = await fundedKey(net);
    const relayerSettings = { concurrency: 30, maxBatchMessages: 20, batchWaitMs: 300 };
    // On the bundle flow, home RPC only: A's node hands over to B's entry node, which shares its
    // Redis (prefix) with a second relayer process of B's; both deliver from the queue it fills.
    const pair = await bundlePair(net, net.a, net.b, net.prefix, key1, {
      destination: { relayer: relayerSettings },
    });
    const two = nodeConfigFile(
      net,
      net.b.suite.addresses.chainCode,
      pair.destinationPrefix,
      { relayer: key2 },
      { roles: ["indexer", "relayer"], relayer: { ...relayerSettings, handover: "bundles" } },
    );
    await Promise.all([
      runNode("relayer-origin", pair.origin.file, pair.origin.env),
      runNode("relayer-1", pair.destination.file, pair.destination.env),
      runNode("relayer-2", two.file, two.env),
    ]);
    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
    const ids = await dispatchMany(net.a, net.b, sink, 100, 1);
    await waitFor(
      "100 deliveries",
      async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
      120_000,
      250,
    );
    const delivered = await deliveries(net.b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    const txs = (await deliverTxs(net.b, fromBlock)).filter((t) => t.messages > 0);
    expect(
      txs.filter((t) => t.status !== 1),
      "reverted deliver transactions",
    ).to.deep.equal([]);
    // No message was put in two deliver transactions (none was even attempted twice).
    expect(txs.reduce((n, t) => n + t.messages, 0)).to.equal(delivered.size);
    const by = (key: Hex) =>
      txs.filter((t) => t.from === privateKeyToAccount(key).address.toLowerCase());
    expect(by(key1).length, "batches by relayer 1").to.be.greaterThan(0);
    expect(by(key2).length, "batches by relayer 2").to.be.greaterThan(0);
    await waitFor("queue drained", async () => {
      const c = await queueCounts(
        net.redis,
        pair.destinationPrefix,
        net.b.suite.addresses.chainCode,
      );
      return c.wait + c.active + c.delayed === 0 && c.failed === 0;
    });
  });

  describe("a watcher and two lying attesters of chain A", function () {
    let fakeNode: Server;
    let fakeNodeUrl: string;
    let published: unknown = {};

    before(async function () {
      // An entry node of A that publishes whatever the test puts there.
      fakeNode = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(published));
      });
      await new Promise<void>((r) => fakeNode.listen(0, "127.0.0.1", r));
      fakeNodeUrl = `http://127.0.0.1:${(fakeNode.address() as AddressInfo).port}`;
    });
    after(async () => new Promise<void>((r) => fakeNode.close(() => r())));

    it("catches a false root signed on a node API and in deliver calldata on a peer, and slashes both signers on A", async function () {
      const [honest, liarOnApi, liarOnChain] = net.a.attesters as [
        ethers.Wallet,
        ethers.Wallet,
        ethers.Wallet,
      ];
      const domain = checkpointDomain({
        evmChainId: net.a.suite.evmChainId,
        outbox: net.a.suite.addresses.outbox as Hex,
      });
      await (await net.a.suite.outbox.snapshot()).wait();

      // 1. On an entry node's API: the honest attester's true checkpoint, and a liar's false one.
      const truth = await latestCheckpoint(net.a);
      const lie: Checkpoint = { ...truth, root: ethers.keccak256("0x1234") as Hex };
      published = {
        origin: net.a.suite.addresses.chainCode,
        root: lie.root,
        count: lie.count,
        last: lie.last,
        signatures: [
          {
            signer: liarOnApi.address,
            signature: await signCheckpoint(liarOnApi.privateKey as Hex, domain, lie),
          },
        ],
      };

      // 2. In calldata on B: a forged message under a checkpoint A's Outbox never had.
      const forged = encodeMessage({
        nonce: 500,
        origin: net.a.suite.code,
        sender: ethers.zeroPadValue(liarOnChain.address, 32) as Hex,
        destination: net.b.suite.code,
        recipient: ethers.zeroPadValue(sink, 32) as Hex,
        amount: 0n,
        body: "0xbad0",
      });
      const leaves = Array.from({ length: 501 }, (_, i) =>
        i === 500 ? messageId(forged) : ethers.keccak256(ethers.toBeHex(i, 32)),
      ) as Hex[];
      const tree = MerkleTree.from(leaves);
      const forgedCheckpoint = treeCheckpoint(net.a.suite.code, tree);
      const delivery = buildDelivery({ tree, count: 501, messages: [forged] });
      const forgedSignature = await signCheckpoint(
        liarOnChain.privateKey as Hex,
        domain,
        forgedCheckpoint,
      );
      const [someone] = await net.b.connection.ethers.getSigners();
      await (
        await suiteAs(net.b.suite, someone!).inbox.deliver(
          ...deliverArgs(forgedCheckpoint, [forgedSignature], delivery),
        )
      ).wait();
      expect(
        (await deliveries(net.b)).has(messageId(forged).toLowerCase()),
        "the forgery went through on B",
      ).to.equal(true);

      // A node of A's community with the watcher role, pointed at that entry node.
      // Home-only table plus B's RPC: no contract addresses of B's in it (the watcher reads B's
      // Inbox where A's RouteRegistry says it is).
      const codeB = net.b.suite.addresses.chainCode;
      const chains = structuredClone(homeOnlyChains(net, net.a.suite.addresses.chainCode));
      chains[codeB]!.rpc = net.chainEntries[codeB]!.rpc;
      chains[net.a.suite.addresses.chainCode]!.nodes = [fakeNodeUrl];
      const watcherKey = await fundedKey(net);
      const { file, env } = nodeConfigFile(
        net,
        net.a.suite.addresses.chainCode,
        net.prefix,
        { watcher: watcherKey },
        // On the bundle flow too: the watcher reads B's Inbox for calldata, so this node is given
        // B's RPC (a peer's RPC is optional, used by the watcher where given).
        {
          roles: ["watcher"],
          chains,
          watcher: { pollIntervalMs: 200 },
          relayer: { handover: "bundles" },
        },
      );
      // An honest signature in the watcher's own store must be checked and left alone.
      await net.redis.hset(
        `${net.prefix}:cp:${net.a.suite.addresses.chainCode}`,
        String(truth.count),
        `${truth.root}:${truth.last}`,
      );
      await net.redis.hset(
        `${net.prefix}:sigs:${net.a.suite.addresses.chainCode}:${truth.count}`,
        honest.address,
        await signCheckpoint(honest.privateKey as Hex, domain, truth),
      );
      const node = await runNode("watcher", file, env);

      await waitFor(
        "both liars slashed",
        async () =>
          (await net.a.suite.stakingHub.slashed(liarOnApi.address)) &&
          (await net.a.suite.stakingHub.slashed(liarOnChain.address)),
      );
      expect(await net.a.suite.stakingHub.slashed(honest.address)).to.equal(false);
      expect(await net.a.suite.stakingHub.bonded(liarOnApi.address)).to.equal(0n);
      const slashed = await net.a.suite.stakingHub.queryFilter(
        net.a.suite.stakingHub.filters.Slashed(),
      );
      const provers = slashed.map((e) => e.args.prover.toLowerCase());
      expect(
        provers.filter((p) => p === privateKeyToAccount(watcherKey).address.toLowerCase()),
      ).to.have.length(2);
      await node.waitForLine((l) => l.msg === "watcher started");
      await waitFor(
        "both proofs in the watcher's log",
        async () =>
          node.lines.filter((l) => l.msg === "fraud proven: attester slashed").length === 2,
      );

      // B's node serves the checkpoints its Inbox accepted from A (GET /v1/checkpoints/accepted),
      // read from B's own logs: the forged one with the liar's signature, for A's watchers that
      // have no RPC of B.
      const apiB = nodeConfigFile(
        net,
        codeB,
        `${net.prefix}-b-api`,
        {},
        {
          roles: ["api"],
          relayer: { handover: "bundles" },
        },
      );
      const nodeB = await runNode("b-api", apiB.file, apiB.env);
      const res = await fetch(
        `${nodeB.apiUrl}/v1/checkpoints/accepted?origin=${net.a.suite.addresses.chainCode}&from=0`,
      );
      expect(res.status).to.equal(200);
      const answer = (await res.json()) as {
        checkpoints: { root: string; count: number; signatures: string[] }[];
      };
      const accepted = answer.checkpoints.find((c) => c.root === forgedCheckpoint.root);
      expect(accepted?.count).to.equal(501);
      expect(accepted?.signatures).to.deep.equal([forgedSignature]);
      const refused = await fetch(`${nodeB.apiUrl}/v1/checkpoints/accepted?origin=${codeB}`);
      expect(refused.status, "its own chain is no origin").to.equal(400);
    });
  });
});
