/**
 * Which messages of a bundle the home Inbox already holds delivered, for its acceptance. Asking the
 * Inbox message by message (`isMessageDelivered`, a route read each) cost a 1,000-message bundle
 * 0.5–3 s before it was queued, and bounded how fast a node takes bundles (bench/results.md,
 * issue 14). The node's own index of its home chain already holds every confirmed delivery; only
 * the blocks after its cursor are read, as the Inbox's Delivered logs: one Redis pipeline and one
 * `eth_getLogs` for a bundle of any size, and the same answer as the Inbox at the tip.
 */
import { getAbiItem, type Hex } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import type { NodeContext } from "../node.js";
import { messageId } from "../protocol/index.js";

const DELIVERED = getAbiItem({ abi: IInboxAbi, name: "Delivered" });

/**
 * Whether each of `messages` is delivered on the home Inbox at its tip. Without an index of the home
 * chain under this Redis prefix, or when the index lags more than `maxLogRange` blocks, every
 * message is asked of the Inbox instead (`perMessage`).
 */
export async function deliveredAtHome(
  ctx: NodeContext,
  messages: readonly Hex[],
  perMessage: (messages: readonly Hex[]) => Promise<boolean[]>,
): Promise<boolean[]> {
  if (!messages.length) return [];
  const home = ctx.cfg.homeChain;
  const cursor = await ctx.store(home.code).cursor();
  const client = ctx.client(home.code);
  const tip = await client.getBlockNumber();
  if (!cursor || tip - BigInt(cursor.block) > BigInt(home.maxLogRange)) return perMessage(messages);
  const ids = messages.map((m) => messageId(m).toLowerCase());
  const pipeline = ctx.redis.pipeline();
  for (const id of ids) pipeline.hget(`${ctx.cfg.redis.prefix}:delivery:${id}`, "chain");
  const chains = (await pipeline.exec()) ?? [];
  const recent = new Set<string>();
  if (tip > BigInt(cursor.block)) {
    const logs = await client.getLogs({
      address: home.contracts.inbox,
      event: DELIVERED,
      fromBlock: BigInt(cursor.block) + 1n,
      toBlock: tip,
    });
    for (const l of logs) if (l.args.id) recent.add(l.args.id.toLowerCase());
  }
  return ids.map((id, i) => {
    const [err, chain] = chains[i] ?? [];
    if (err) throw err;
    return (typeof chain === "string" && BigInt(chain) === home.code) || recent.has(id);
  });
}
