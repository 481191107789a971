import { expect } from "chai";
import { ethers } from "ethers";
import type { Redis } from "ioredis";

import { startNode, type RunningNode } from "../../relayer/runner.js";
import type { TestChain } from "../helpers/suite.js";
import { MessagingRecipient__factory } from "../../typechain-types/index.js";
import { deploySink, dispatchMany, fundedKey, queueCounts } from "./helpers/scenario.js";
import {
  clearPrefix,
  loadedConfig,
  newRedis,
  nodeConfigObject,
  serveNetwork,
  testLogger,
  testPrefix,
  waitFor,
  type ServedNetwork,
} from "./helpers/net.js";

async function deliveredIds(chain: TestChain, fromBlock = 0): Promise<string[]> {
  const logs = await chain.suite.inbox.queryFilter(
    chain.suite.inbox.filters.Delivered(),
    fromBlock,
  );
  return logs.map((l) => l.args.id.toLowerCase());
}

describe("relayer/node (in process)", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let prefix: string;
  let node: RunningNode | undefined;

  before(async function () {
    net = await serveNetwork({ confirmations: 1, intervalMiningMs: 100 });
    redis = newRedis();
  });
  after(async function () {
    await net.close();
    redis.disconnect();
  });
  beforeEach(() => (prefix = testPrefix("node")));
  afterEach(async function () {
    await node?.stop();
    node = undefined;
    await clearPrefix(redis, prefix);
  });

  it("delivers messages dispatched on its home chain, with checkpoints it attests itself, and reports them", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    const sink = await deploySink(b);
    const env = {
      ATTESTER_KEY: a.attesters[0]!.privateKey,
      RELAYER_KEY: await fundedKey(net),
      WATCHER_KEY: await fundedKey(net),
    };
    const cfg = loadedConfig(
      nodeConfigObject(net, a.suite.addresses.chainCode, prefix, {
        roles: ["indexer", "api", "attester", "relayer", "watcher"],
        keys: { attester: "ATTESTER_KEY", relayer: "RELAYER_KEY", watcher: "WATCHER_KEY" },
        attester: { snapshotIntervalMs: 0 },
        relayer: { batchWaitMs: 200 },
      }),
    );
    node = await startNode(cfg, { env, log: testLogger("node-basic") });
    const fromBlock = await b.connection.ethers.provider.getBlockNumber();
    const recipient = ethers.zeroPadValue(sink, 32);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const tx = await a.suite.outbox.dispatch(b.suite.code, recipient, ethers.toBeHex(i, 4));
      const receipt = await tx.wait();
      const log = receipt!.logs
        .map((l) => a.suite.outbox.interface.parseLog(l))
        .find((p) => p?.name === "Dispatch");
      ids.push((log!.args.id as string).toLowerCase());
    }
    await waitFor("3 deliveries", async () => {
      const delivered = await deliveredIds(b, fromBlock);
      return ids.every((id) => delivered.includes(id));
    });
    const delivered = await deliveredIds(b, fromBlock);
    expect(delivered.filter((id) => ids.includes(id)).length).to.equal(3);

    const status = await waitFor("status delivered in the API", async () => {
      const res = await fetch(`${node!.apiUrl}/v1/messages/${ids[0]}`);
      const body = (await res.json()) as { destination: { status: string } };
      return body.destination.status === "delivered" && body;
    });
    expect(status.destination.status).to.equal("delivered");
    const cp = (await (await fetch(`${node.apiUrl}/v1/checkpoints/latest`)).json()) as {
      count: number;
      signatures: { signer: string }[];
    };
    expect(cp.signatures.map((s) => s.signer)).to.deep.equal([a.attesters[0]!.address]);
  });

  it("counts a message whose handler reverts as delivered-with-failure, and carries the others of its batch", async function () {
    const [a, b] = net.chains as [TestChain, TestChain];
    const sink = await deploySink(b);
    const [deployer] = await b.connection.ethers.getSigners();
    const failing = await new MessagingRecipient__factory(deployer).deploy();
    await (await failing.setFailing(true)).wait();
    const env = { ATTESTER_KEY: a.attesters[0]!.privateKey, RELAYER_KEY: await fundedKey(net) };
    const cfg = loadedConfig(
      nodeConfigObject(net, a.suite.addresses.chainCode, prefix, {
        roles: ["indexer", "api", "attester", "relayer"],
        keys: { attester: "ATTESTER_KEY", relayer: "RELAYER_KEY" },
        attester: { snapshotIntervalMs: 0 },
        relayer: { batchWaitMs: 300 },
      }),
    );
    node = await startNode(cfg, { env, log: testLogger("node-failing") });
    const bad = await dispatchMany(a, b, await failing.getAddress(), 1, 1);
    const good = await dispatchMany(a, b, sink, 2, 2);
    const ids = [...bad, ...good];
    await waitFor("deliveries", async () => {
      const delivered = await deliveredIds(b);
      return ids.every((id) => delivered.includes(id));
    });
    const failed = await b.suite.inbox.queryFilter(b.suite.inbox.filters.HandlerFailed());
    expect(failed.map((e) => e.args.id.toLowerCase())).to.include(bad[0]);
    const status = await waitFor("failed status in the API", async () => {
      const body = (await (await fetch(`${node!.apiUrl}/v1/messages/${bad[0]}`)).json()) as {
        destination: { status: string; failureKind?: string };
      };
      return body.destination.status === "failed" && body;
    });
    expect(status.destination.failureKind).to.equal("HandlerReverted");
    await waitFor("jobs completed", async () => {
      const c = await queueCounts(redis, prefix, b.suite.addresses.chainCode);
      return c.wait + c.active + c.delayed === 0 && c.failed === 0;
    });
  });
});
