/**
 * Finality-aware attesting on anvil (issue 15, fault 4): with `confirmations: 0` an attester signed
 * a count that a 3-block reorg then replaced, and its own community's watcher proved "fraud". An
 * attester following the documented config signs only snapshots at or below the chain's finalized
 * block (anvil's is 2 × `--slots-in-an-epoch` below the tip), so a reorg deeper than the
 * confirmations but above finality never turns its signature false.
 */
import { expect } from "chai";
import type { Hex } from "viem";

import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { Attester } from "../../relayer/attester/attester.js";
import { Watcher } from "../../relayer/watcher/watcher.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { Metrics } from "../../relayer/metrics.js";
import { NodeContext } from "../../relayer/node.js";
import type { TestChain } from "../helpers/suite.js";
import { loadedConfig, nodeConfigObject, testLogger } from "../relayer/helpers/net.js";
import { deploySink, dispatchMany } from "../relayer/helpers/scenario.js";
import { network } from "hardhat";

import { startLyingRpc } from "../helpers/lyingRpc.js";
import { startAnvil, useAnvilNetwork, type AnvilNetwork } from "./anvil.js";

/** anvil's finalized block is 2 × this below the tip. */
const SLOTS = 3;

describe("anvil: an honest attester is never slashed by a reorg of its home chain", function () {
  this.timeout(240_000);
  const fx = useAnvilNetwork("anvil-fin", { confirmations: 0, slotsInAnEpoch: SLOTS });
  let net: AnvilNetwork;
  let a: TestChain;
  let b: TestChain;
  let sinkB: string;

  before(async function () {
    ({ net, a, b } = fx);
    sinkB = await deploySink(b);
    // Blocks only when the test makes them: one per transaction, and `anvil_mine`.
    await net.anvils[0]!.setIntervalMining(0);
    await net.anvils[0]!.rpc("evm_setAutomine", [true]);
  });

  it("signs no count a reorg deeper than the confirmations replaces (confirmations: 0)", async function () {
    const anvil = net.anvils[0]!;
    const home = a.suite.addresses.chainCode;
    const cfg = loadedConfig(
      nodeConfigObject(net, home, fx.prefix, {
        roles: ["indexer", "attester"],
        keys: { attester: "X" },
        attester: { snapshot: false },
      }),
    );
    const ctx = new NodeContext(cfg, testLogger("anvil-finality"), new Metrics());
    try {
      const indexer = new ChainIndexer({
        chain: cfg.homeChain,
        client: ctx.client(cfg.homeChain.code),
        store: ctx.store(cfg.homeChain.code),
      });
      const attester = new Attester(ctx, a.attesters[0]!.privateKey as Hex);
      const round = async () => {
        for (let i = 0; i < 50 && (await indexer.step()); i++);
        ctx.view(a.suite.code).invalidate();
        return attester.signConfirmedSnapshots();
      };
      const mine = (n: number) => anvil.rpc("anvil_mine", [`0x${n.toString(16)}`]);

      // A message and a snapshot of it, both at the tip: confirmed (confirmations 0), not final.
      await dispatchMany(a, b, sinkB, 1, 41);
      await (await a.suite.outbox.snapshot()).wait();
      const [, count] = await a.suite.outbox.latestSnapshot();
      await mine(1);
      await round();

      // A reorg 3 blocks deep (deeper than the confirmations) removes both; another message takes
      // the same place, so the same count gets another root.
      await anvil.reorg(3);
      await dispatchMany(a, b, sinkB, 1, 42);
      await (await a.suite.outbox.snapshot()).wait();
      expect((await a.suite.outbox.latestSnapshot())[1]).to.equal(count);
      await round();
      // Past finality: the new snapshot gets signed (the attester stays live).
      await mine(2 * SLOTS + 1);
      await round();

      const cp = await ctx.checkpoints.get(a.suite.code, Number(count));
      expect(cp, "the final snapshot is signed").not.to.equal(undefined);
      // What the attester's own watcher checks: every signed root is the chain's root at its count.
      expect(cp!.signatures.map((s) => s.signer)).to.include(a.attesters[0]!.address);
      // Its own community's watcher finds no fraud in it.
      const watcherKey = generatePrivateKey();
      await anvil.rpc("anvil_setBalance", [
        privateKeyToAccount(watcherKey).address,
        "0x56BC75E2D63100000",
      ]);
      const watcher = new Watcher(ctx, watcherKey);
      const ours = cp!.signatures.find((s) => s.signer === a.attesters[0]!.address)!;
      expect(
        await watcher.check(
          { origin: a.suite.code, root: cp!.root, count: cp!.count, last: cp!.last },
          ours.signature,
          "store",
        ),
      ).to.equal("honest");
      expect(cp!.root, "signed root = the chain's root at the count").to.equal(
        await a.suite.outbox.rootAt(count),
      );
    } finally {
      await ctx.close();
    }
  });

  it("never signs a false root an RPC serves when a witness RPC of another provider disagrees", async function () {
    const anvil = net.anvils[0]!;
    const home = a.suite.addresses.chainCode;
    // The lying RPC serves a fork of the home chain: same contracts and history, then its own
    // messages and snapshot, at the very count the real chain snapshots other messages at.
    const fork = await startAnvil({
      chainId: Number(a.suite.evmChainId),
      forkUrl: anvil.url,
      blockTime: 0,
      slotsInAnEpoch: SLOTS,
    });
    const liar = await startLyingRpc(fork.url);
    const forkConn = await network.create({ network: "anvil", override: { url: fork.url } });
    const [forkSigner] = await forkConn.ethers.getSigners();
    const onFork = { ...a, connection: forkConn } as TestChain;
    const entries = structuredClone(net.chainEntries);
    entries[home] = { ...entries[home]!, rpc: [liar.url], witnessRpc: [anvil.url] };
    const cfg = loadedConfig(
      nodeConfigObject({ ...net, chainEntries: entries }, home, fx.prefix, {
        roles: ["indexer", "attester"],
        keys: { attester: "X" },
        attester: { snapshot: false },
      }),
    );
    const metrics = new Metrics();
    const ctx = new NodeContext(cfg, testLogger("anvil-witness"), metrics);
    try {
      await dispatchMany(onFork, b, sinkB, 1, 51);
      await (await a.suite.outbox.connect(forkSigner!).snapshot()).wait();
      await dispatchMany(a, b, sinkB, 1, 52);
      await (await a.suite.outbox.snapshot()).wait();
      const [, count] = await a.suite.outbox.latestSnapshot();
      for (const c of [anvil, fork])
        await c.rpc("anvil_mine", [`0x${(2 * SLOTS + 2).toString(16)}`]);

      const indexer = new ChainIndexer({
        chain: cfg.homeChain,
        client: ctx.client(cfg.homeChain.code),
        store: ctx.store(cfg.homeChain.code),
      });
      for (let i = 0; i < 50 && (await indexer.step()); i++);
      const [stored] = (await ctx.view(a.suite.code).snapshots()).slice(-1);
      expect(stored!.count).to.equal(Number(count)); // the index holds the fork's snapshot...
      expect(stored!.root).not.to.equal(await a.suite.outbox.rootAt(count)); // ...a false root

      const attester = new Attester(ctx, a.attesters[0]!.privateKey as Hex);
      expect(await attester.signConfirmedSnapshots()).to.deep.equal([]);
      expect(await ctx.checkpoints.get(a.suite.code, Number(count))).to.equal(undefined);
      const refused = (await metrics.registry.getMetricsAsJSON()).find(
        (m) => m.name === "distpos_attester_sign_refused_total",
      );
      expect(Number(refused?.values[0]?.value ?? 0)).to.be.at.least(1);
    } finally {
      await ctx.close();
      await liar.close();
      await fork.stop();
    }
  });
});
