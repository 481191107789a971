/** What sendMessage and sendValue share: the recipient, the body, the Dispatch event. */
import { isHex, parseEventLogs, type Hex, type TransactionReceipt } from "viem";

import { parseChainAddress, type ChainAddress } from "../protocol/chainAddress.js";
import { decodeMessage, MAX_BODY_BYTES } from "../protocol/message.js";
import { IOutboxAbi } from "./abis.js";
import { codeOf, type DistposChain } from "./client.js";
import { ContractRevertError, InvalidArgumentError } from "./errors.js";

/** A chain-qualified recipient; InvalidArgumentError naming `to` otherwise. */
export function recipientOf(to: string, field = "to"): ChainAddress {
  let recipient: ChainAddress;
  try {
    recipient = parseChainAddress(to);
  } catch (e) {
    throw new InvalidArgumentError(field, (e as Error).message);
  }
  if (recipient.code === 0n)
    throw new InvalidArgumentError(
      field,
      `must be chain-qualified (<code>x<account>), got ${JSON.stringify(to)}`,
    );
  return recipient;
}

/** A body: 0x-hex of whole bytes, at most MAX_BODY_BYTES. */
export function checkBody(body: Hex | undefined, field = "body"): Hex {
  if (body === undefined) return "0x";
  if (!isHex(body, { strict: true }) || body.length % 2 !== 0)
    throw new InvalidArgumentError(
      field,
      `must be 0x followed by an even number of hex digits, got ${JSON.stringify(body.length > 40 ? `${body.slice(0, 40)}…` : body)}`,
    );
  const bytes = (body.length - 2) / 2;
  if (bytes > MAX_BODY_BYTES)
    throw new InvalidArgumentError(
      field,
      `is ${bytes} bytes, at most ${MAX_BODY_BYTES} are carried`,
    );
  return body;
}

export interface SentMessage {
  id: Hex;
  nonce: number;
  /** Origin and destination chain codes. */
  origin: string;
  destination: string;
  /** The recipient, chain-qualified. */
  to: string;
  /** 18 decimals (0 for a pure message). */
  amount: bigint;
  /** The delivery fee it carries, 18 decimals (docs/protocol.md 3.9; 0 when fee-less). */
  fee: bigint;
  /** The encoded message (what the destination's Inbox takes). */
  message: Hex;
  transactionHash: Hex;
  blockNumber: bigint;
}

export function dispatchOf(
  chain: DistposChain,
  receipt: TransactionReceipt,
  to: string,
  amount: bigint,
): SentMessage {
  const dispatch = parseEventLogs({
    abi: IOutboxAbi,
    eventName: "Dispatch",
    logs: receipt.logs,
  }).find((l) => l.address.toLowerCase() === chain.contracts.outbox.toLowerCase());
  if (!dispatch)
    throw new ContractRevertError(
      codeOf(chain),
      "dispatch",
      "NoDispatch",
      [],
      `no Dispatch event of the Outbox ${chain.contracts.outbox} in the receipt`,
      undefined,
      receipt.transactionHash,
    );
  return {
    id: dispatch.args.id,
    nonce: dispatch.args.nonce,
    origin: codeOf(chain),
    destination: dispatch.args.destination.toString(16),
    to,
    amount,
    fee: decodeMessage(dispatch.args.message).fee,
    message: dispatch.args.message,
    transactionHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
  };
}
