import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex, PublicClient } from "viem";

import { suiteAs } from "../../deploy/suite.js";
import { publicClientFor } from "../../relayer/chain/clients.js";
import { FAILURE_KINDS, readInboxStatus } from "../../relayer/chain/inboxStatus.js";
import { MessagingRecipient__factory } from "../../typechain-types/index.js";
import { dispatchedMessages, relay, type TestChain } from "../helpers/suite.js";
import { loadedConfig, nodeConfigObject, serveNetwork, type ServedNetwork } from "./helpers/net.js";

/** Member names of the enum `name` in `source`, from the compiler's AST in artifacts/build-info. */
async function solidityEnum(source: string, name: string): Promise<string[]> {
  const dir = join(process.cwd(), "artifacts", "build-info");
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".output.json"))) {
    const sources = (
      JSON.parse(await readFile(join(dir, file), "utf8")) as {
        output: { sources: Record<string, { ast: unknown }> };
      }
    ).output.sources;
    const key = Object.keys(sources).find((k) => k.endsWith(source));
    if (!key) continue;
    const found: string[][] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== "object") return;
      const n = node as { nodeType?: string; name?: string; members?: { name: string }[] };
      if (n.nodeType === "EnumDefinition" && n.name === name)
        found.push(n.members!.map((m) => m.name));
      Object.values(node).forEach(walk);
    };
    walk(sources[key]!.ast);
    if (found.length === 1) return found[0]!;
  }
  throw new Error(`enum ${name} of ${source} not found in artifacts/build-info`);
}

describe("relayer/chain/inboxStatus", function () {
  let net: ServedNetwork;
  let a: TestChain;
  let b: TestChain;
  let clientB: PublicClient;

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    const cfg = loadedConfig(nodeConfigObject(net, a.suite.addresses.chainCode, "unused"));
    clientB = publicClientFor(cfg.chain(b.suite.code)) as PublicClient;
  });
  after(async () => net.close());

  const inboxB = () => b.suite.addresses.inbox as Hex;
  const lastMessage = async () => (await dispatchedMessages(a)).at(-1)!;

  it("names every FailureKind of IInbox.sol, in its order", async function () {
    expect(await solidityEnum("contracts/interfaces/IInbox.sol", "FailureKind")).to.deep.equal([
      ...FAILURE_KINDS,
    ]);
  });

  it("reads pending, then delivered, for a message; failed with its kind when its handler reverted", async function () {
    const [deployer] = await b.connection.ethers.getSigners();
    const recipient = await new MessagingRecipient__factory(deployer).deploy();
    const word = ethers.zeroPadValue(await recipient.getAddress(), 32);

    await (await a.suite.outbox.dispatch(b.suite.code, word, "0x01")).wait();
    const ok = await lastMessage();
    expect(await readInboxStatus(clientB, inboxB(), ok.encoded as Hex)).to.deep.equal({
      status: "pending",
    });
    await relay(a, b);
    expect(await readInboxStatus(clientB, inboxB(), ok.encoded as Hex)).to.deep.equal({
      status: "delivered",
    });

    await (await recipient.setFailing(true)).wait();
    await (await a.suite.outbox.dispatch(b.suite.code, word, "0x02")).wait();
    const refused = await lastMessage();
    await relay(a, b);
    expect(await readInboxStatus(clientB, inboxB(), refused.encoded as Hex)).to.deep.equal({
      status: "failed",
      failureKind: "HandlerReverted",
    });
  });

  it("reads a stake report (a system message, replayed by its id) as pending, then delivered", async function () {
    const attester = a.attesters[0]!.connect(a.connection.ethers.provider);
    await (await suiteAs(a.suite, attester).stakingHub.allocate(b.suite.code, 1n)).wait();
    const report = await lastMessage();
    expect(report.message.sender).to.equal(
      ethers.zeroPadValue(a.suite.addresses.stakingHub, 32).toLowerCase(),
    );
    expect(await readInboxStatus(clientB, inboxB(), report.encoded as Hex)).to.deep.equal({
      status: "pending",
    });
    await relay(a, b, { nonces: [report.nonce] });
    expect(await readInboxStatus(clientB, inboxB(), report.encoded as Hex)).to.deep.equal({
      status: "delivered",
    });
  });
});
