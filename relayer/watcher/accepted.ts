/**
 * The checkpoints an Inbox accepted from one origin, read from its `CheckpointAccepted` logs: what
 * the watcher reads on a peer chain (with a peer RPC) and what a destination node serves about its
 * own chain (GET /v1/checkpoints/accepted), so that an origin's watcher without a peer RPC meets
 * them too. One reader for both, so both see the same thing.
 */
import { getAbiItem, pad, toHex, type Address, type Hex, type PublicClient } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import { EventDecoder } from "../chain/events.js";
import { splitSignatures } from "../protocol/checkpoint.js";

const ACCEPTED = new EventDecoder([getAbiItem({ abi: IInboxAbi, name: "CheckpointAccepted" })]);

export interface AcceptedCheckpoint {
  block: number;
  root: Hex;
  count: number;
  signatures: Hex[];
}

/** Reads the checkpoints `inbox` accepted from `origin` in blocks [from, to]. */
export async function readAcceptedCheckpoints(
  client: PublicClient,
  inbox: Address,
  origin: bigint,
  from: number,
  to: number,
): Promise<AcceptedCheckpoint[]> {
  const logs = await ACCEPTED.getLogs(client, [inbox], BigInt(from), BigInt(to), [
    pad(toHex(origin), { size: 32 }),
  ]);
  const out: AcceptedCheckpoint[] = [];
  for (const log of logs) {
    const args = log.args as { origin: bigint; root: Hex; count: number; signatures: Hex };
    // The topic filter already narrows it; a node answering for its own chain checks again.
    if (args.origin !== origin) continue;
    out.push({
      block: Number(log.blockNumber),
      root: args.root,
      count: Number(args.count),
      signatures: splitSignatures(args.signatures),
    });
  }
  return out;
}
