/**
 * `distpos requeue <id> [--force]` as a process against the real Redis, with an indexer node
 * (a `distpos node` process) keeping the index of a served two-chain network: an unknown id is
 * refused naming what is wrong (exit 5), a malformed one is a usage error (exit 2), a delivered
 * message is left alone without --force and queued again with it (a new job, from `requeue`, in
 * the destination's BullMQ queue).
 */
import { randomBytes } from "node:crypto";

import { Queue } from "bullmq";
import { expect } from "chai";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { ChainStore } from "../../relayer/indexer/store.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";
import { queueName } from "../../relayer/relay/queue.js";
import { relay, type TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  newRedis,
  nodeConfigObject,
  REDIS_URL,
  serveNetwork,
  testPrefix,
  waitFor,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { killAll, runCli, startNodeProcess } from "../relayer/helpers/proc.js";

describe("distpos requeue: against the node's index in Redis", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let a: TestChain, b: TestChain;
  let redis: Redis;
  let file: string;
  let id: Hex;
  const prefix = testPrefix("cli-requeue");

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    redis = newRedis();
    file = writeConfigFile(
      nodeConfigObject(net, a.suite.addresses.chainCode, prefix, { roles: ["indexer"] }),
    );
    startNodeProcess("requeue-indexer", file, {});
    const recipient = addressToBytes32(("0x" + "11".repeat(20)) as Hex);
    const tx = await a.suite.outbox.dispatch(b.suite.code, recipient, "0x1234");
    const receipt = await tx.wait();
    id = a.suite.outbox.interface.parseLog(
      receipt!.logs.find((l) => l.address === a.suite.addresses.outbox)!,
    )!.args.id as Hex;
    await relay(a, b);
    await waitFor(
      "the indexer to see the delivery",
      async () => (await ChainStore.delivery(redis, prefix, id))?.chain === b.suite.code,
      120_000,
    );
  });
  after(async function () {
    await killAll();
    if (redis) {
      await clearPrefix(redis, prefix);
      redis.disconnect();
    }
    await net?.close();
  });

  it("refuses an id the index does not know, saying so (exit 5), and a malformed one (exit 2)", async function () {
    const unknown = `0x${randomBytes(32).toString("hex")}`;
    const r = await runCli(["-c", file, "requeue", unknown]);
    expect(r.code, r.stderr).to.equal(5);
    expect(r.stdout).to.contain(unknown).and.to.contain("not in this node's index");
    const bad = await runCli(["-c", file, "requeue", "0x1234"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("id must be 0x followed by 64 hex digits");
  });

  it("leaves a delivered message alone without --force, and queues it again with it", async function () {
    const queue = new Queue(queueName(b.suite.addresses.chainCode), {
      connection: { url: REDIS_URL },
      prefix: `${prefix}:bull`,
    });
    try {
      const plain = await runCli(["-c", file, "--json", "requeue", id]);
      expect(plain.code, plain.stderr).to.equal(0);
      expect(JSON.parse(plain.stdout)).to.include({ id, outcome: "delivered" });
      // The indexer queued it when it saw the dispatch (no relayer runs here); left untouched.
      expect((await queue.getJob(id))?.data.source).to.equal("indexer");

      const forced = await runCli(["-c", file, "requeue", id, "--force"]);
      expect(forced.code, forced.stderr).to.equal(0);
      expect(forced.stdout).to.contain(`${id} -> ${b.suite.addresses.chainCode}: queued`);
      const job = await queue.getJob(id);
      expect(job?.data.id).to.equal(id);
      expect(job?.data.source).to.equal("requeue");
      expect(await job?.getState()).to.equal("waiting");
    } finally {
      await queue.close();
    }
  });
});
