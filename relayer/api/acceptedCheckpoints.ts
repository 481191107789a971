/**
 * GET /v1/checkpoints/accepted?origin=<code>&from=<block>: the checkpoints our home Inbox accepted
 * from `origin`, read from our own chain's `CheckpointAccepted` logs. An origin's watcher that has
 * no RPC of ours polls it (docs/protocol.md 3.8, A2): it verifies each signature and root against its
 * own chain, so nothing here needs to be trusted. Bounded: one `maxLogRange` of confirmed blocks per
 * answer; `next` is where to ask from next time.
 */
import type { NodeContext } from "../node.js";
import { readAcceptedCheckpoints, type AcceptedCheckpoint } from "../watcher/accepted.js";

export interface AcceptedAnswer {
  origin: string;
  from: number;
  /** Last block read (inclusive); below `from` when nothing confirmed is there yet. */
  to: number;
  next: number;
  checkpoints: AcceptedCheckpoint[];
}

export async function acceptedCheckpoints(
  ctx: NodeContext,
  origin: bigint,
  from: number,
): Promise<AcceptedAnswer> {
  const home = ctx.cfg.homeChain;
  const client = ctx.client(home.code);
  const start = Math.max(from, home.startBlock);
  const tip = Number(await client.getBlockNumber()) - home.confirmations;
  const to = Math.min(tip, start + home.maxLogRange - 1);
  const checkpoints =
    to < start
      ? []
      : await readAcceptedCheckpoints(client, home.contracts.inbox, origin, start, to);
  return {
    origin: origin.toString(16),
    from: start,
    to,
    next: Math.max(start, to + 1),
    checkpoints,
  };
}
