/**
 * The checkpoints an Inbox accepted from one origin, read from its `CheckpointAccepted` logs: what
 * the watcher reads on a peer chain (with a peer RPC) and what a destination node serves about its
 * own chain (GET /v1/checkpoints/accepted), so that an origin's watcher without a peer RPC meets
 * them too. One reader for both, so both see the same thing.
 *
 * A record without signatures is of a `deliver` that was its transaction's own call (the Inbox
 * logs none then: docs/protocol.md 3.5): they are read from that transaction's input.
 */
import {
  decodeFunctionData,
  getAbiItem,
  pad,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";

import { IInboxAbi } from "../chain/abis.js";
import { EventDecoder } from "../chain/events.js";
import { splitSignatures } from "../protocol/checkpoint.js";

const ACCEPTED = new EventDecoder([getAbiItem({ abi: IInboxAbi, name: "CheckpointAccepted" })]);

export interface AcceptedCheckpoint {
  block: number;
  root: Hex;
  count: number;
  last: Hex;
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
    const args = log.args as {
      origin: bigint;
      root: Hex;
      count: number;
      last: Hex;
      signatures: Hex;
    };
    // The topic filter already narrows it; a node answering for its own chain checks again.
    if (args.origin !== origin) continue;
    const accepted = { root: args.root, count: Number(args.count), last: args.last };
    const signatures =
      args.signatures === "0x"
        ? await signaturesFromInput(client, inbox, log.transactionHash as Hex, origin, accepted)
        : args.signatures;
    out.push({
      block: Number(log.blockNumber),
      ...accepted,
      signatures: splitSignatures(signatures),
    });
  }
  return out;
}

/**
 * The signatures of the `deliver` call that transaction `hash` made to `inbox` under the accepted
 * checkpoint; none ("0x") when the transaction is not such a call (the Inbox logs its signatures
 * for every other caller, so this does not happen with a true Inbox).
 */
async function signaturesFromInput(
  client: PublicClient,
  inbox: Address,
  hash: Hex,
  origin: bigint,
  accepted: { root: Hex; count: number; last: Hex },
): Promise<Hex> {
  const tx = await client.getTransaction({ hash });
  if (tx.to?.toLowerCase() !== inbox.toLowerCase()) return "0x";
  let call;
  try {
    call = decodeFunctionData({ abi: IInboxAbi, data: tx.input });
  } catch {
    return "0x";
  }
  if (call.functionName !== "deliver") return "0x";
  const [checkpoint, signatures] = call.args;
  const same =
    checkpoint.origin === origin &&
    checkpoint.root.toLowerCase() === accepted.root.toLowerCase() &&
    checkpoint.count === accepted.count &&
    checkpoint.last.toLowerCase() === accepted.last.toLowerCase();
  return same ? signatures : "0x";
}
