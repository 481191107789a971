/**
 * What anvil does to a node that Hardhat's simulator never did (issue 15): reorgs that remove the
 * node's own mined transactions (anvil does not put them back in its pool), transactions that stay
 * pending, SIGTERM while one is pending. Each test failed on the node before its fix.
 */
import { expect } from "chai";
import type { Redis } from "ioredis";

import type { TestChain } from "../helpers/suite.js";
import { clearPrefix, newRedis, testPrefix, waitFor } from "../relayer/helpers/net.js";
import { killAll } from "../relayer/helpers/proc.js";
import { deliveries, deploySink, dispatchMany, missing } from "../relayer/helpers/scenario.js";
import { anvilNetwork, runCommunities, type AnvilNetwork } from "./anvil.js";

describe("anvil faults: the node survives what a real client does to it", function () {
  this.timeout(180_000);
  let net: AnvilNetwork;
  let redis: Redis;
  let prefix: string;
  let a: TestChain;
  let b: TestChain;
  let sinkB: string;

  before(async function () {
    net = await anvilNetwork({ confirmations: 2 });
    [a, b] = net.chains as [TestChain, TestChain];
    sinkB = await deploySink(b);
    redis = newRedis();
  });
  after(async function () {
    await killAll();
    await net?.close();
    redis?.disconnect();
  });
  beforeEach(() => (prefix = testPrefix("anvil-f")));
  afterEach(async function () {
    await killAll();
    for (const c of net.chains)
      await clearPrefix(redis, `${prefix}-${c.suite.addresses.chainCode}`);
  });

  const metric = async (apiUrl: string, name: string) => {
    const text = await (await fetch(`${apiUrl}/metrics`)).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(name))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
  };

  it("heals a nonce gap left by a reorg that removed the attester's own mined transaction", async function () {
    const [nodeA] = await runCommunities(net, prefix);
    const anvilA = net.anvils[0]!;
    const before = Number(await a.suite.outbox.count());
    const [first] = await dispatchMany(a, b, sinkB, 1, 10);
    const snap = await nodeA!.node.waitForLine(
      (l) => l.msg === "Outbox snapshot taken" && Number(l.count) > before,
      30_000,
    );
    const receipt = await a.connection.ethers.provider.getTransactionReceipt(snap.tx as string);
    const tip = await anvilA.blockNumber();
    // Replace every block from the snapshot's on: the attester's transaction is gone for good.
    await anvilA.reorg(tip - receipt!.blockNumber + 1);
    expect(await a.connection.ethers.provider.getTransaction(snap.tx as string)).to.equal(null);
    // The next snapshot call of the attester takes the nonce after the lost one: a gap.
    const [second] = await dispatchMany(a, b, sinkB, 1, 11);
    await waitFor(
      "both messages delivered past the nonce gap",
      async () => missing([first!, second!], await deliveries(b)).length === 0,
      45_000,
      500,
    );
    await nodeA!.node.waitForLine((l) => l.msg === "nonce gap: refilling", 5_000);
    expect(await metric(nodeA!.node.apiUrl!, "distpos_nonce_gaps_total")).to.be.greaterThan(0);
  });
});
