/**
 * The node on anvil (a second EVM client, 1-second interval mining) instead of Hardhat's simulator:
 * `distpos node` processes, one community per chain, messages both ways, each delivered once.
 */
import { expect } from "chai";

import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "../relayer/helpers/net.js";
import {
  deliveries,
  deliverTxs,
  deploySink,
  dispatchMany,
  missing,
} from "../relayer/helpers/scenario.js";
import { runCommunities, useAnvilNetwork, type AnvilNetwork } from "./anvil.js";

describe("anvil: the node on a second EVM client with 1-second blocks", function () {
  this.timeout(180_000);
  const fx = useAnvilNetwork("anvil", { confirmations: 2 });
  let net: AnvilNetwork;
  let a: TestChain;
  let b: TestChain;
  before(() => ({ net, a, b } = fx));

  it("delivers messages both ways, each exactly once, none reverted", async function () {
    const sinkB = await deploySink(b);
    const sinkA = await deploySink(a);
    const fromBlockB = await net.anvils[1]!.blockNumber();
    const fromBlockA = await net.anvils[0]!.blockNumber();
    await runCommunities(net, fx.prefix);
    const toB = await dispatchMany(a, b, sinkB, 10, 1);
    const toA = await dispatchMany(b, a, sinkA, 10, 2);
    await waitFor(
      "every message delivered",
      async () =>
        missing(toB, await deliveries(b)).length === 0 &&
        missing(toA, await deliveries(a)).length === 0,
      120_000,
      500,
    );
    for (const [chain, ids] of [
      [b, toB],
      [a, toA],
    ] as const) {
      const d = await deliveries(chain);
      for (const id of ids) expect(d.get(id), id).to.have.length(1);
    }
    const txs = [...(await deliverTxs(b, fromBlockB)), ...(await deliverTxs(a, fromBlockA))];
    expect(txs.filter((t) => t.status !== 1)).to.deep.equal([]);
  });
});
