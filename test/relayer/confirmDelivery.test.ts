/**
 * relayer/relay/confirm.ts: a receipt's Delivered logs are settled only when the Inbox's state at
 * the receipt's block agrees, read from the destination's RPC and from its witness (issue 15 item 8).
 * Real chains over JSON-RPC; the lying witness is test/helpers/lyingRpc.ts.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex, PublicClient } from "viem";

import { publicClientFor } from "../../relayer/chain/clients.js";
import {
  ConfirmationStalled,
  unconfirmedDeliveries,
  waitConfirmed,
} from "../../relayer/relay/confirm.js";
import { MessagingRecipient__factory } from "../../typechain-types/index.js";
import { startLyingRpc, type LyingRpc } from "../helpers/lyingRpc.js";
import { dispatchedMessages, relay, type TestChain } from "../helpers/suite.js";
import { loadedConfig, nodeConfigObject, serveNetwork, type ServedNetwork } from "./helpers/net.js";

describe("relayer/relay/confirm: Delivered logs confirmed by the Inbox state", function () {
  let net: ServedNetwork;
  let a: TestChain;
  let b: TestChain;
  let clientB: PublicClient;
  let rpcB: string;
  let witness: LyingRpc;
  let witnessClient: PublicClient;

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    const cfg = loadedConfig(nodeConfigObject(net, a.suite.addresses.chainCode, "unused"));
    const chainB = cfg.chain(b.suite.code);
    rpcB = chainB.rpc[0]!;
    clientB = publicClientFor(chainB) as PublicClient;
    witness = await startLyingRpc(rpcB);
    witnessClient = publicClientFor({ ...chainB, rpc: [witness.url] }) as PublicClient;
  });
  after(async () => {
    await witness.close();
    await net.close();
  });

  it("flags a claimed delivery the Inbox does not hold at that block; passes one it holds; names a disagreeing witness", async function () {
    const [deployer] = await b.connection.ethers.getSigners();
    const recipient = await new MessagingRecipient__factory(deployer).deploy();
    const word = ethers.zeroPadValue(await recipient.getAddress(), 32);
    await (await a.suite.outbox.dispatch(b.suite.code, word, "0x01")).wait();
    const message = (await dispatchedMessages(a)).at(-1)!.encoded as Hex;
    const inbox = b.suite.addresses.inbox as Hex;
    const readers = [
      { url: rpcB, client: clientB },
      { url: witness.url, client: witnessClient },
    ];

    // A fabricated receipt: Delivered at the tip, but never sent.
    const before = await clientB.getBlockNumber();
    expect(await unconfirmedDeliveries(readers, inbox, [message], before)).to.deep.equal([
      { url: rpcB, message },
    ]);

    await relay(a, b);
    const at = await clientB.getBlockNumber();
    expect(await unconfirmedDeliveries(readers, inbox, [message], at)).to.deep.equal([]);

    // The witness says otherwise: not settled, and its URL is the one named.
    witness.lie((call, result) => (call.method === "eth_call" ? `0x${"0".repeat(64)}` : result));
    expect(await unconfirmedDeliveries(readers, inbox, [message], at)).to.deep.equal([
      { url: witness.url, message },
    ]);
    witness.lie(undefined);
  });

  it("gives up waiting for confirmations when the chain makes no block, naming it, and confirms once blocks come", async function () {
    // B mines only on transactions here: after this one, its tip stands still.
    const [sender] = await b.connection.ethers.getSigners();
    const sent = await (await sender!.sendTransaction({ to: sender!.address, value: 1n })).wait();
    const receipt = await clientB.getTransactionReceipt({ hash: sent!.hash as Hex });
    const started = Date.now();
    const stalled = await Promise.race([
      waitConfirmed(clientB, receipt, 2, 20, "chain B", 300).catch((e: unknown) => e),
      new Promise((resolve) => setTimeout(() => resolve("still waiting after 10 s"), 10_000)),
    ]);
    expect(stalled).to.be.instanceOf(ConfirmationStalled);
    expect((stalled as Error).message)
      .to.contain("chain B")
      .and.to.contain(sent!.hash);
    expect(Date.now() - started).to.be.lessThan(5_000);
    // Once the chain moves again, the same wait ends.
    await b.connection.provider.request({ method: "hardhat_mine", params: ["0x2"] });
    await waitConfirmed(clientB, receipt, 2, 20, "chain B", 300);
  });
});
