/**
 * A watcher without peer chains (docs/protocol.md A2): A's watcher node has A's RPC only. An
 * attester of A lies — signs a root A's Outbox never had and delivers value with it on B — and the
 * watcher learns of it from B's entry node (GET /v1/checkpoints/accepted, read by that node from
 * B's own chain), proves the lie on A and has the liar slashed. A second entry node of B lies about
 * its chain (reports an honest checkpoint, then claims it has covered every block): it neither gets
 * an honest attester slashed nor stops the watcher from reading the truthful node.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { fundReserve } from "../../deploy/devnet.js";
import { forgeTransfer } from "../../deploy/forgery.js";
import { checkpointDomain, signCheckpoint, type Checkpoint } from "../../relayer/protocol/index.js";
import { latestCheckpoint, ONE, type TestChain } from "../helpers/suite.js";
import { homeOnlyChains, waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { freePort } from "./helpers/proc.js";
import { fundedKey, nodeConfigFile, runNode } from "./helpers/scenario.js";

describe("relayer e2e: a watcher with its home chain's RPC only", function () {
  this.timeout(300_000);
  const net = useServedNetwork({ name: "watcher", confirmations: 1, intervalMiningMs: 100 });
  let a: TestChain;
  let b: TestChain;
  let codeA: string;
  let codeB: string;

  before(function () {
    [a, b] = [net.a, net.b];
    codeA = a.suite.addresses.chainCode;
    codeB = b.suite.addresses.chainCode;
  });

  /** A's watcher node: A's RPC, and B known only by its entry nodes `nodesOfB`. */
  async function watcherOfA(nodesOfB: string[]) {
    const chains = structuredClone(homeOnlyChains(net, codeA));
    chains[codeB]!.nodes = nodesOfB;
    expect(chains[codeB]!.rpc, "no RPC of B").to.deep.equal([]);
    const key = await fundedKey(net);
    const { file, env } = nodeConfigFile(
      net,
      codeA,
      net.prefix,
      { watcher: key },
      {
        roles: ["watcher"],
        chains,
        watcher: { pollIntervalMs: 200 },
        relayer: { handover: "bundles" },
      },
    );
    return { node: await runNode("watcher-a", file, env), key };
  }

  describe("B's entry nodes: one truthful, one lying", function () {
    let liarNode: Server;
    let liarNodeUrl: string;
    let lie: unknown = {};
    /** The `from` of every request the lying node was sent. */
    const askedFrom: string[] = [];

    before(async function () {
      // An entry node of B that answers whatever the test puts there, whatever it is asked.
      liarNode = createServer((req, res) => {
        askedFrom.push(new URL(req.url!, "http://x").searchParams.get("from") ?? "");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(lie));
      });
      await new Promise<void>((r) => liarNode.listen(0, "127.0.0.1", r));
      liarNodeUrl = `http://127.0.0.1:${(liarNode.address() as AddressInfo).port}`;
    });
    after(async () => new Promise<void>((r) => liarNode.close(() => r())));

    it("finds a forged delivery of value on B through B's entry node and slashes the liar on A", async function () {
      const [honest, liar] = a.attesters as [ethers.Wallet, ethers.Wallet];
      const [treasuryOfB, thief] = await b.connection.ethers.getSigners();

      // The lying entry node reports an honest checkpoint of A as accepted, then claims to have
      // read every block of B: it must cost the honest attester nothing, nor hide the truth.
      await (await a.suite.outbox.snapshot()).wait();
      const truth = await latestCheckpoint(a);
      const domain = checkpointDomain({
        evmChainId: a.suite.evmChainId,
        outbox: a.suite.addresses.outbox as Hex,
      });
      lie = {
        origin: codeB,
        from: 0,
        to: 999_999_998,
        next: 999_999_999,
        checkpoints: [
          {
            block: 0,
            root: truth.root,
            count: truth.count,
            last: truth.last,
            signatures: [await signCheckpoint(honest.privateKey as Hex, domain, truth)],
          },
        ],
      };

      // B's community's entry node: serves what B's Inbox accepted, from B's own chain.
      const apiB = nodeConfigFile(
        net,
        codeB,
        `${net.prefix}-b`,
        {},
        {
          roles: ["api"],
          relayer: { handover: "bundles" },
        },
      );
      const nodeB = await runNode("b-api", apiB.file, apiB.env);

      const { node, key } = await watcherOfA([liarNodeUrl, nodeB.apiUrl!]);
      // The lying node has claimed every block before the lie lands: the truthful node's cursor
      // must not follow it there.
      await waitFor("the lying node asked from where it claimed to have read", async () =>
        askedFrom.includes("999999999"),
      );

      // The lie: A's reserve on B is drained by a transfer A's Outbox never sent.
      await fundReserve({ ...b, treasury: treasuryOfB! }, a, 100n * ONE);
      const forged = await forgeTransfer(a, b, liar, thief!, 60n * ONE);
      expect(await b.suite.token.balanceOf(thief!.address), "the forgery paid out on B").to.equal(
        60n * ONE,
      );

      await waitFor(
        "the liar slashed on A",
        async () => await a.suite.stakingHub.slashed(liar.address),
        120_000,
        250,
      );
      expect(await a.suite.stakingHub.bonded(liar.address)).to.equal(0n);
      expect(await a.suite.stakingHub.slashed(honest.address), "honest attester").to.equal(false);
      const slashed = await a.suite.stakingHub.queryFilter(a.suite.stakingHub.filters.Slashed());
      expect(slashed.map((e) => e.args.prover)).to.deep.equal([privateKeyToAccount(key).address]);
      await waitFor("the proof in the watcher's log", async () =>
        node.lines.some((l) => l.msg === "fraud proven: attester slashed"),
      );

      // One cursor per entry node: the truthful node's is past the forged delivery's block, the
      // liar's where it claimed, neither moved by the other.
      const cursors = await net.redis.hgetall(`${net.prefix}:watcher:${codeA}:accepted:${codeB}`);
      expect(Number(cursors[nodeB.apiUrl!]), JSON.stringify(cursors)).to.be.greaterThan(
        forged.blockNumber,
      );
      expect(cursors[liarNodeUrl]).to.equal("999999999");
    });
  });

  it("says once, naming the peer and its nodes, that no entry node of B answers", async function () {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { node } = await watcherOfA([dead]);
    const unreachable = (l: Record<string, unknown>) =>
      l.level === "warn" && typeof l.msg === "string" && l.msg.includes(`peer chain ${codeB}`);
    const line = await node.waitForLine(unreachable);
    expect(line.nodes).to.deep.equal([dead]);
    expect(String(line.msg)).to.include(`chains.${codeB}.rpc`);
    // Rounds go on every 200 ms (the node backs off, then is asked again): still one line.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(node.lines.filter(unreachable)).to.have.length(1);
  });
});
