/**
 * Filling blocks on anvil (issue 15): a backlog goes out in batches sized by the gas, not in
 * batches of a fixed 100, each message delivered once and no deliver reverted.
 */
import { expect } from "chai";
import type { Hex } from "viem";

import { dispatchedIds, paceLoad, waitMined } from "../../bench/relayer/load.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import { BenchLoad__factory } from "../../typechain-types/index.js";
import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "../relayer/helpers/net.js";
import { killAll } from "../relayer/helpers/proc.js";
import { deliveries, deliverTxs, deploySink, missing } from "../relayer/helpers/scenario.js";
import { runCommunities, useAnvilNetwork, type AnvilNetwork } from "./anvil.js";

/** The batch size the relayer used before issue 15, whatever the block could take. */
const OLD_FIXED_BATCH = 100;

describe("anvil: batches sized by the block's gas", function () {
  this.timeout(180_000);
  const fx = useAnvilNetwork("anvil-fill", { confirmations: 1, perSuite: true });
  let net: AnvilNetwork;
  before(() => (net = fx.net));

  /** `count` messages A → B dispatched before any node runs; their ids and B's block then. */
  async function backlog(count: number) {
    const [a, b] = net.chains as [TestChain, TestChain];
    const [userA] = await a.connection.ethers.getSigners();
    const load = await new BenchLoad__factory(userA).deploy(a.suite.addresses.outbox);
    await load.waitForDeployment();
    const sink = await deploySink(b);
    const txs = await paceLoad(
      {
        a,
        b,
        load: await load.getAddress(),
        loadSender: await userA!.getAddress(),
        recipientWord: addressToBytes32(sink as Hex),
      },
      count,
      100,
      1e9,
      1,
    );
    await waitMined(a, txs.at(-1)!.hash);
    const ids = (await dispatchedIds(a, txs)).map((m) => m.id.toLowerCase());
    return { b, ids, fromBlock: await net.anvils[1]!.blockNumber() };
  }

  /** Waits until every id is delivered on B once; returns B's deliver transactions. */
  async function drained(b: TestChain, ids: string[], fromBlock: number) {
    await waitFor(
      "the backlog delivered",
      async () => missing(ids, await deliveries(b, fromBlock)).length === 0,
      150_000,
      500,
    );
    const delivered = await deliveries(b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    const sent = (await deliverTxs(b, fromBlock)).filter((t) => t.messages > 0);
    expect(sent.filter((t) => t.status !== 1)).to.deep.equal([]);
    return sent;
  }

  it("drains a backlog of 1,000 messages in batches larger than 100, each delivered once", async function () {
    const { b, ids, fromBlock } = await backlog(1_000);
    // The backlog is on A before any node runs: the relayer meets it all at once.
    await runCommunities(net, fx.prefix);
    const sent = await drained(b, ids, fromBlock);
    const largest = Math.max(...sent.map((t) => t.messages));
    expect(largest, `batches: ${sent.map((t) => t.messages).join(", ")}`).to.be.greaterThan(
      OLD_FIXED_BATCH,
    );
  });

  it("keeps each deliver's calldata within relayer.maxBatchBytes (Geth's pool limit)", async function () {
    await killAll();
    const { b, ids, fromBlock } = await backlog(300);
    const maxBatchBytes = 16_000; // ≈ 60 messages with their proof
    await runCommunities(net, `${fx.prefix}-bytes`, { relayer: { maxBatchBytes } });
    const sent = await drained(b, ids, fromBlock);
    expect(
      sent.filter((t) => t.bytes > maxBatchBytes).map((t) => `${t.messages} msgs, ${t.bytes} B`),
    ).to.deep.equal([]);
    expect(sent.length, "split into several batches").to.be.greaterThan(2);
  });
});
