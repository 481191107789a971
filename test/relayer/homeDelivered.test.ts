/**
 * A bundle's delivered check (relayer/handover/homeDelivered.ts): the home chain's index plus the
 * Inbox's Delivered logs after its cursor, over a real chain and Redis; the Inbox is asked message
 * by message only without an index.
 */
import { expect } from "chai";
import type { Redis } from "ioredis";
import type { Hex } from "viem";

import { publicClientFor } from "../../relayer/chain/clients.js";
import type { BundledMessage } from "../../relayer/handover/bundle.js";
import { deliveredAtHome } from "../../relayer/handover/homeDelivered.js";
import { ChainIndexer } from "../../relayer/indexer/indexer.js";
import { Metrics } from "../../relayer/metrics.js";
import { NodeContext } from "../../relayer/node.js";
import { startLyingRpc, type LyingRpc } from "../helpers/lyingRpc.js";
import { dispatchedMessages, relay, type TestChain } from "../helpers/suite.js";
import {
  clearPrefix,
  homeOnlyChains,
  loadedConfig,
  newRedis,
  nodeConfigObject,
  serveNetwork,
  testLogger,
  testPrefix,
  type ServedNetwork,
} from "./helpers/net.js";

describe("relayer/handover/homeDelivered", function () {
  let net: ServedNetwork;
  let redis: Redis;
  let a: TestChain;
  let b: TestChain;
  const prefixes: string[] = [];
  const contexts: NodeContext[] = [];

  before(async function () {
    net = await serveNetwork();
    redis = newRedis();
    [a, b] = net.chains as [TestChain, TestChain];
  });
  after(async function () {
    for (const ctx of contexts) await ctx.close();
    for (const p of prefixes) await clearPrefix(redis, p);
    redis.disconnect();
    await net.close();
  });

  /** A node context at home on B (B's RPC only, or `rpc` for it) under a fresh prefix. */
  function homeB(rpc?: string): NodeContext {
    const prefix = testPrefix("home-delivered");
    prefixes.push(prefix);
    const code = b.suite.addresses.chainCode;
    const chains = homeOnlyChains(net, code);
    if (rpc) chains[code] = { ...chains[code]!, rpc: [rpc] };
    const cfg = loadedConfig(
      nodeConfigObject(net, code, prefix, { relayer: { handover: "bundles" }, chains }),
    );
    const ctx = new NodeContext(cfg, testLogger("home-delivered"), new Metrics());
    contexts.push(ctx);
    return ctx;
  }

  /** A message from A to B, with its id as `verifyBundle` gives it. */
  async function send(): Promise<BundledMessage> {
    await (await a.suite.outbox.dispatch(b.suite.code, `0x${"11".repeat(32)}`, "0x01")).wait();
    const sent = (await dispatchedMessages(a)).at(-1)!;
    return { id: sent.id as Hex, message: sent.encoded as Hex };
  }

  /** Records what would be asked of the Inbox message by message. */
  function perMessage() {
    const asked: BundledMessage[][] = [];
    const read = async (messages: readonly BundledMessage[]) => {
      asked.push([...messages]);
      return messages.map(() => false);
    };
    return { asked, read };
  }

  /** An indexer of B (under `ctx`'s prefix), run to B's tip. */
  async function indexB(ctx: NodeContext, rpc?: string) {
    const home = ctx.cfg.homeChain;
    const indexer = new ChainIndexer({
      chain: home,
      client: publicClientFor(rpc ? { ...home, rpc: [rpc] } : home),
      store: ctx.store(home.code),
      metrics: ctx.metrics,
      leaseTtlMs: 60_000,
    });
    for (let i = 0; i < 50 && (await indexer.step()); i++);
  }

  it("finds deliveries in the index and in the Inbox's logs after its cursor, asking the Inbox nothing per message", async function () {
    const ctx = homeB();
    const indexed = await send();
    await relay(a, b);
    await indexB(ctx);
    // Delivered after the index's cursor: only the logs show it.
    const recent = await send();
    await relay(a, b);
    const pending = await send();
    const { asked, read } = perMessage();
    expect(await deliveredAtHome(ctx, [indexed, recent, pending], read)).to.deep.equal([
      true,
      true,
      false,
    ]);
    expect(asked, "no per-message read").to.deep.equal([]);
  });

  it("asks the Inbox message by message where no index of the home chain runs", async function () {
    const ctx = homeB();
    const m = await send();
    const { asked, read } = perMessage();
    expect(await deliveredAtHome(ctx, [m], read)).to.deep.equal([false]);
    expect(asked).to.deep.equal([[m]]);
  });

  it("asks the Inbox message by message when the RPC refuses the log range, never failing the bundle", async function () {
    const rpc: LyingRpc = await startLyingRpc(
      net.chainEntries[b.suite.addresses.chainCode]!.rpc![0]!,
    );
    try {
      const ctx = homeB(rpc.url);
      await indexB(ctx);
      const recent = await send();
      await relay(a, b);
      // A provider's cap, as the big ones answer it.
      rpc.refuse((call) =>
        call.method === "eth_getLogs"
          ? { code: -32005, message: "query returned more than 10000 results" }
          : undefined,
      );
      const { asked, read } = perMessage();
      expect(await deliveredAtHome(ctx, [recent], read)).to.deep.equal([false]);
      expect(asked, "read per message instead").to.deep.equal([[recent]]);
    } finally {
      await rpc.close();
    }
  });
});
