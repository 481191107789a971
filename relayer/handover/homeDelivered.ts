/**
 * Which messages of a bundle the home Inbox already holds delivered, for its acceptance. Asking the
 * Inbox message by message (`isMessageDelivered`, a route read each) cost a 1,000-message bundle
 * 0.5–3 s before it was queued, and bounded how fast a node takes bundles (bench/results.md,
 * issue 14). The node's own index of its home chain already holds every confirmed delivery; only
 * the blocks after its cursor are read, as the Inbox's Delivered logs: one Redis pipeline and one
 * `eth_getLogs` for a bundle of any size, and the same answer as the Inbox at the tip.
 */
import { getAbiItem } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import type { NodeContext } from "../node.js";
import type { BundledMessage } from "./bundle.js";

const DELIVERED = getAbiItem({ abi: IInboxAbi, name: "Delivered" });

/**
 * Whether each of `messages` (with the ids `verifyBundle` computed) is delivered on the home Inbox
 * at its tip. Every message is asked of the Inbox instead (`perMessage`) without an index of the
 * home chain under this Redis prefix, when the index lags more than `maxLogRange` blocks, and when
 * the RPC refuses the log range (a provider's cap on results or range): slower, never wrong.
 */
export async function deliveredAtHome(
  ctx: NodeContext,
  messages: readonly BundledMessage[],
  perMessage: (messages: readonly BundledMessage[]) => Promise<boolean[]>,
): Promise<boolean[]> {
  if (!messages.length) return [];
  const home = ctx.cfg.homeChain;
  const cursor = await ctx.store(home.code).cursor();
  const client = ctx.client(home.code);
  // The tip now (the node's clients cache nothing, chain/clients.ts): a delivery in the last
  // blocks is seen, so a replayed bundle is refused rather than queued.
  const tip = await client.getBlockNumber();
  if (!cursor || tip - BigInt(cursor.block) > BigInt(home.maxLogRange)) return perMessage(messages);
  const ids = messages.map((m) => m.id.toLowerCase());
  const recent = new Set<string>();
  if (tip > BigInt(cursor.block)) {
    let logs;
    try {
      logs = await client.getLogs({
        address: home.contracts.inbox,
        event: DELIVERED,
        fromBlock: BigInt(cursor.block) + 1n,
        toBlock: tip,
      });
    } catch (error) {
      ctx.log.warn(
        {
          chain: home.codeHex,
          rpc: home.rpc.join(","),
          fromBlock: cursor.block + 1,
          toBlock: Number(tip),
          err: error instanceof Error ? error.message : String(error),
        },
        "the RPC refused the Inbox's Delivered logs since the index's cursor: asking the Inbox per message",
      );
      return perMessage(messages);
    }
    for (const l of logs) if (l.args.id) recent.add(l.args.id.toLowerCase());
  }
  const pipeline = ctx.redis.pipeline();
  for (const id of ids) pipeline.hget(`${ctx.cfg.redis.prefix}:delivery:${id}`, "chain");
  const chains = (await pipeline.exec()) ?? [];
  return ids.map((id, i) => {
    const [err, chain] = chains[i] ?? [];
    if (err) throw err;
    return (typeof chain === "string" && BigInt(chain) === home.code) || recent.has(id);
  });
}
