/**
 * What the origin's node keeps of each message it hands over (`P:out:*`): the key names the
 * hand-over, the follower and the API share, and the reader of one message's state.
 */
import type { Hex } from "viem";

import type { NodeContext } from "../node.js";
import type { HandoverState } from "../nodeApi/types.js";
import type { UnderpaidRecord } from "../relay/underpaid.js";

export type { HandoverState };

/** The Redis key `P:out:<name>` (`pending:<dest>`, `open:<dest>`, `tracking:<dest>`, `msg:<id>`). */
export function outKey(ctx: NodeContext, name: string): string {
  return `${ctx.cfg.redis.prefix}:out:${name}`;
}

/** Reads the hand-over state of message `id` (undefined when this node did not hand it over). */
export async function handoverState(ctx: NodeContext, id: Hex): Promise<HandoverState | undefined> {
  const h = await ctx.redis.hgetall(outKey(ctx, `msg:${id.toLowerCase()}`));
  if (!h.state) return undefined;
  return {
    state: h.state as HandoverState["state"],
    destination: h.destination!,
    ...(h.count ? { count: Number(h.count) } : {}),
    ...(h.node ? { node: h.node } : {}),
    ...(h.acceptedAt ? { acceptedAt: Number(h.acceptedAt) } : {}),
    ...(h.tx ? { tx: h.tx as Hex } : {}),
    ...(h.block ? { block: Number(h.block) } : {}),
    ...(h.failureKind ? { failureKind: h.failureKind } : {}),
    ...(h.reason ? { reason: h.reason as Hex } : {}),
    ...(h.reasonText ? { reasonText: h.reasonText } : {}),
    ...(h.refused ? { refused: h.refused } : {}),
    ...(h.waitReason ? { waitReason: h.waitReason } : {}),
    ...(h.signers ? { signers: Number(h.signers) } : {}),
    ...(h.rehandAbove ? { rehandAbove: Number(h.rehandAbove) } : {}),
    ...(h.underpaid ? { underpaid: JSON.parse(h.underpaid) as UnderpaidRecord } : {}),
  };
}
