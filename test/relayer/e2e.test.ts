/**
 * The node end to end, as an operator runs it: `distpos node` processes over two chains served on
 * JSON-RPC, `distpos send` / `distpos status` as CLI processes, the shared Redis under a prefix of
 * its own per test.
 */
import { writeFileSync } from "node:fs";

import { expect } from "chai";

import { governThroughTimelock } from "../../deploy/governance.js";
import { formatChainAddress } from "../../relayer/protocol/index.js";
import { fundedWallets } from "../helpers/suite.js";
import { waitFor, writeConfigFile } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { runCli } from "./helpers/proc.js";
import {
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

describe("relayer e2e: distpos node, send, status", function () {
  const net = useServedNetwork({ name: "e2e", confirmations: 1, intervalMiningMs: 100 });
  let sink: string;
  before(async () => (sink = await deploySink(net.b)));

  async function fullNode(name: string, overrides = {}) {
    const { file, env } = nodeConfigFile(
      net,
      net.a.suite.addresses.chainCode,
      net.prefix,
      {
        attester: net.a.attesters[0]!.privateKey as `0x${string}`,
        relayer: await fundedKey(net),
        watcher: await fundedKey(net),
      },
      { roles: ["indexer", "api", "attester", "relayer", "watcher"], ...overrides },
    );
    return { node: await runNode(name, file, env), file, env };
  }

  it("fails at start on a bad config file, naming the field and the file", async function () {
    const { obj } = nodeConfigFile(net, net.a.suite.addresses.chainCode, net.prefix, {});
    const bad = JSON.parse(JSON.stringify(obj)) as {
      chains: Record<string, { confirmations: unknown }>;
    };
    bad.chains[net.b.suite.addresses.chainCode]!.confirmations = -3;
    const file = writeConfigFile(bad);
    const result = await runCli(["-c", file, "node"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain(file);
    expect(result.stderr).to.contain(`chains.${net.b.suite.addresses.chainCode}.confirmations`);
    // A key the config names but the environment lacks is a start failure too.
    const keyed = writeConfigFile({
      ...obj,
      roles: ["relayer"],
      keys: { relayer: "DISTPOS_TEST_ABSENT_KEY" },
    });
    const missingKey = await runCli(["-c", keyed, "node"], { DISTPOS_TEST_ABSENT_KEY: "" });
    expect(missingKey.code).to.equal(2);
    expect(missingKey.stderr).to.contain("keys.relayer").and.to.contain("DISTPOS_TEST_ABSENT_KEY");
    const yaml = writeConfigFile({});
    writeFileSync(yaml, "home: a0a1\nchains: [\n");
    expect((await runCli(["-c", yaml, "node"])).code).to.equal(2);
  });

  it("delivers a message sent with `distpos send` to a chain-qualified address; `distpos status` follows it", async function () {
    const { node, file } = await fullNode("send");
    const [user] = await fundedWallets(net.a.connection, net.a.suite, 1, 0n);
    const to = formatChainAddress({ code: net.b.suite.code, account: sink as `0x${string}` });
    const env = { DISTPOS_TEST_USER: user!.privateKey };
    const sent = await runCli(
      [
        "-c",
        file,
        "--json",
        "send",
        to,
        "--text",
        "hello",
        "--key-env",
        "DISTPOS_TEST_USER",
        "--wait",
        "--timeout",
        "120",
      ],
      env,
    );
    expect(sent.code, sent.stderr).to.equal(0);
    const result = JSON.parse(sent.stdout) as { id: string; status: string; nonce: number };
    expect(result.status).to.equal("delivered");
    expect((await deliveries(net.b)).get(result.id.toLowerCase())).to.have.length(1);

    const status = await runCli(["-c", file, "--json", "status", result.id]);
    expect(status.code, status.stderr).to.equal(0);
    expect(JSON.parse(status.stdout)).to.deep.include({ id: result.id });
    const viaNode = await runCli(["--json", "status", result.id, "--node", node.apiUrl!]);
    expect(viaNode.code, viaNode.stderr).to.equal(0);
    expect((JSON.parse(viaNode.stdout) as { message: { body: string } }).message.body).to.equal(
      "0x68656c6c6f",
    );
    // Human output for people, exit codes for scripts.
    const human = await runCli(["-c", file, "status", result.id]);
    expect(human.stdout).to.contain("status delivered");
    const unknown = await runCli(["-c", file, "status", `0x${"12".repeat(32)}`]);
    expect(unknown.code).to.equal(5);
    const badRecipient = await runCli(
      ["-c", file, "send", "b0b1x1234", "--key-env", "DISTPOS_TEST_USER"],
      env,
    );
    expect(badRecipient.code).to.equal(2);
    expect(badRecipient.stderr).to.contain("recipient");
  });

  it("carries 100 messages in a few batches, each delivered once", async function () {
    const { node } = await fullNode("hundred", {
      relayer: { maxBatchMessages: 100, batchWaitMs: 500 },
    });
    const fromBlock = await net.b.connection.ethers.provider.getBlockNumber();
    const ids = await dispatchMany(net.a, net.b, sink, 100, 7);
    await waitFor(
      "100 deliveries",
      async () => missing(ids, await deliveries(net.b, fromBlock)).length === 0,
      120_000,
      250,
    );
    const delivered = await deliveries(net.b, fromBlock);
    for (const id of ids) expect(delivered.get(id), id).to.have.length(1);
    const txs = (await deliverTxs(net.b, fromBlock)).filter((t) => t.messages > 0);
    expect(txs.every((t) => t.status === 1)).to.equal(true);
    const ours = txs.filter((t) => t.messages > 1);
    expect(
      txs.length,
      `deliver transactions: ${txs.map((t) => t.messages).join(",")}`,
    ).to.be.at.most(8);
    expect(Math.max(...ours.map((t) => t.messages))).to.be.at.least(20);
    await waitFor("queue drained", async () => {
      const c = await queueCounts(net.redis, net.prefix, net.b.suite.addresses.chainCode);
      return c.wait + c.active + c.delayed === 0 && c.completed >= 100;
    });
    // SIGTERM stops the node cleanly.
    await node.kill("SIGTERM");
    expect(await node.exited).to.equal(0);
    expect(node.lines.some((l) => l.msg === "node stopped")).to.equal(true);
  });

  it("dead-letters a message the relayer gives up on; `distpos dlq --retry` sends it again", async function () {
    const { file } = await fullNode("dlq", { relayer: { attempts: 2, backoffMs: 100 } });
    const pause = net.b.suite.registry.interface.encodeFunctionData("pauseRoute", [
      net.a.suite.code,
    ]);
    await governThroughTimelock(net.b.suite, [
      { target: net.b.suite.addresses.registry, data: pause },
    ]);
    try {
      const [id] = await dispatchMany(net.a, net.b, sink, 1, 9);
      const listed = await waitFor("the message in the dead-letter queue", async () => {
        const r = await runCli(["-c", file, "--json", "dlq"]);
        const dead = JSON.parse(r.stdout || "[]") as { id: string; error: string }[];
        return dead.find((d) => d.id === id);
      });
      expect(listed.error).to.contain("OriginNotActive");
    } finally {
      const resume = net.b.suite.registry.interface.encodeFunctionData("resumeRoute", [
        net.a.suite.code,
      ]);
      await governThroughTimelock(net.b.suite, [
        { target: net.b.suite.addresses.registry, data: resume },
      ]);
    }
    const retried = await runCli(["-c", file, "--json", "dlq", "--retry"]);
    expect(retried.code, retried.stderr).to.equal(0);
    const ids = (JSON.parse(retried.stdout) as { id: string; requeued: boolean }[])
      .filter((d) => d.requeued)
      .map((d) => d.id);
    expect(ids).to.have.length.greaterThan(0);
    await waitFor(
      "the retried message delivered",
      async () => missing(ids, await deliveries(net.b)).length === 0,
    );
    expect((await runCli(["-c", file, "dlq"])).stdout).to.contain("no dead letters");
  });
});
