/**
 * A message's whole state: where it was dispatched (chain, nonce, block, transaction), whether a
 * snapshot covers it yet, and its state on the destination (pending, delivered, failed with the
 * failure kind) with the delivering transaction. Found by id or by dispatch transaction.
 */
import { getAbiItem, parseEventLogs, TransactionReceiptNotFoundError, type Hex } from "viem";

import { failureKindName, type FailureKindName } from "../chain/inboxStatus.js";
import { formatChainAddress, formatChainCode, bytes32ToAddress } from "../protocol/chainAddress.js";
import { decodeMessage, messageId, type Message } from "../protocol/message.js";
import { IInboxAbi, IOutboxAbi } from "./abis.js";
import { codeOf, onChain, type DistposChain, type DistposClient } from "./client.js";
import { InvalidArgumentError, NotFoundError, RpcError } from "./errors.js";
import { formatTokens, MESSAGE_DECIMALS } from "./units.js";

const DISPATCH = getAbiItem({ abi: IOutboxAbi, name: "Dispatch" });
const DELIVERED = getAbiItem({ abi: IInboxAbi, name: "Delivered" });

export type DeliveryStatus = "pending" | "delivered" | "failed" | "unknown";

export interface MessageInfo {
  id: Hex;
  /** The encoded message. */
  encoded: Hex;
  message: Message;
  /** Sender and recipient, chain-qualified. */
  from: string;
  to: string;
  /** 18 decimals, and written in tokens. */
  amount: bigint;
  amountText: string;
  origin: {
    chain: string;
    nonce: number;
    block: bigint;
    transactionHash: Hex;
    /** Whether a snapshot of the origin Outbox covers it (attesters sign only snapshots). */
    snapshotted: boolean;
  };
  destination: {
    chain: string;
    status: DeliveryStatus;
    /** When failed: HandlerReverted, PayoutPending or PayoutReverted (docs/protocol.md 3.3). */
    failureKind?: FailureKindName | `Unknown(${number})`;
    /** When the destination cannot be read (not in the routing table). */
    reason?: string;
    transactionHash?: Hex;
    block?: bigint;
  };
}

export type GetMessageParameters =
  | { id: Hex }
  | {
      /** A transaction that dispatched messages (sendMessage, sendValue, a contract's call). */
      transactionHash: Hex;
      /** Its chain, when known (else every chain of the table is asked). */
      chain?: bigint | string;
      /** Which of its messages (default 0: the first). */
      index?: number;
    };

const ID = /^0x[0-9a-fA-F]{64}$/;

/** A range scan of `chain`'s logs from its start block to its tip, newest last. */
async function scan<T>(
  client: DistposClient,
  chain: DistposChain,
  what: string,
  fetch: (from: bigint, to: bigint) => Promise<T[]>,
): Promise<T | undefined> {
  const pc = client.publicClient(chain);
  const tip = await onChain(chain, "eth_blockNumber", () => pc.getBlockNumber());
  const step = BigInt(chain.maxLogRange ?? 2_000);
  for (let from = BigInt(chain.startBlock ?? 0); from <= tip; from += step) {
    const to = from + step - 1n < tip ? from + step - 1n : tip;
    const found = await onChain(chain, what, () => fetch(from, to));
    if (found[0]) return found[0];
  }
  return undefined;
}

/** Where `chain`'s Outbox dispatched `id`, or undefined. */
async function findDispatch(client: DistposClient, chain: DistposChain, id: Hex) {
  const pc = client.publicClient(chain);
  return scan(client, chain, "Outbox Dispatch logs", (fromBlock, toBlock) =>
    pc.getLogs({
      address: chain.contracts.outbox,
      event: DISPATCH,
      args: { id },
      fromBlock,
      toBlock,
    }),
  );
}

export async function getMessage(
  client: DistposClient,
  params: GetMessageParameters,
): Promise<MessageInfo> {
  let found: { chain: DistposChain; encoded: Hex; block: bigint; tx: Hex } | undefined;
  const failures: RpcError[] = [];
  if ("id" in params) {
    if (!ID.test(params.id))
      throw new InvalidArgumentError("id", "must be 0x followed by 64 hex digits");
    // A chain with no RPC in the config (a peer, on the bundle flow) is not searched.
    for (const chain of client.chains.filter((c) => c.rpc.length > 0)) {
      try {
        const log = await findDispatch(client, chain, params.id);
        if (log) {
          found = {
            chain,
            encoded: log.args.message!,
            block: log.blockNumber,
            tx: log.transactionHash,
          };
          break;
        }
      } catch (e) {
        if (e instanceof RpcError) failures.push(e);
        else throw e;
      }
    }
  } else {
    if (!ID.test(params.transactionHash))
      throw new InvalidArgumentError("transactionHash", "must be 0x followed by 64 hex digits");
    const chains = params.chain === undefined ? client.chains : [client.chain(params.chain)];
    for (const chain of chains) {
      try {
        const receipt = await onChain(chain, "eth_getTransactionReceipt", () =>
          client.publicClient(chain).getTransactionReceipt({ hash: params.transactionHash }),
        ).catch((e: unknown) => {
          if (
            e instanceof TransactionReceiptNotFoundError ||
            (e as { cause?: unknown }).cause instanceof TransactionReceiptNotFoundError
          )
            return undefined;
          throw e;
        });
        if (!receipt) continue;
        const logs = parseEventLogs({
          abi: IOutboxAbi,
          eventName: "Dispatch",
          logs: receipt.logs,
        }).filter((l) => l.address.toLowerCase() === chain.contracts.outbox.toLowerCase());
        const log = logs[params.index ?? 0];
        if (!log)
          throw new NotFoundError(
            `message ${params.index ?? 0} of transaction ${params.transactionHash} (it dispatched ${logs.length})`,
            [codeOf(chain)],
          );
        found = {
          chain,
          encoded: log.args.message,
          block: receipt.blockNumber,
          tx: receipt.transactionHash,
        };
        break;
      } catch (e) {
        if (e instanceof RpcError) failures.push(e);
        else throw e;
      }
    }
  }
  if (!found) {
    // An unreachable chain might hold it: that is an RPC failure, never "not found".
    if (failures[0]) throw failures[0];
    throw new NotFoundError(
      "id" in params ? `message ${params.id}` : `transaction ${params.transactionHash}`,
      client.chains.map(codeOf),
    );
  }
  return describe(client, found.chain, found.encoded, found.block, found.tx);
}

async function describe(
  client: DistposClient,
  origin: DistposChain,
  encoded: Hex,
  block: bigint,
  tx: Hex,
): Promise<MessageInfo> {
  const m = decodeMessage(encoded);
  const id = messageId(encoded);
  const [, snapCount] = await onChain(origin, "Outbox.latestSnapshot", () =>
    client.publicClient(origin).readContract({
      address: origin.contracts.outbox,
      abi: IOutboxAbi,
      functionName: "latestSnapshot",
    }),
  );
  const info: MessageInfo = {
    id,
    encoded,
    message: m,
    from: formatChainAddress({ code: m.origin, account: bytes32ToAddress(m.sender) }),
    to: formatChainAddress({ code: m.destination, account: bytes32ToAddress(m.recipient) }),
    amount: m.amount,
    amountText: formatTokens(m.amount, MESSAGE_DECIMALS),
    origin: {
      chain: codeOf(origin),
      nonce: m.nonce,
      block,
      transactionHash: tx,
      snapshotted: snapCount > m.nonce,
    },
    destination: { chain: formatChainCode(m.destination), status: "unknown" },
  };
  const dest = client.chains.find((c) => c.code === m.destination);
  if (!dest) {
    info.destination.reason = `destination ${formatChainCode(m.destination)} is not in the routing table`;
    return info;
  }
  if (!dest.rpc.length) {
    info.destination.reason = `no RPC of ${formatChainCode(m.destination)} in the config: its state is what the origin's entry nodes report`;
    return info;
  }
  Object.assign(info.destination, await readDestination(client, dest, encoded, id));
  return info;
}

/** The message's state on its destination, with the delivering transaction once delivered. */
export async function readDestination(
  client: DistposClient,
  dest: DistposChain,
  encoded: Hex,
  id: Hex,
) {
  const pc = client.publicClient(dest);
  const delivered = await onChain(dest, "Inbox.isMessageDelivered", () =>
    pc.readContract({
      address: dest.contracts.inbox,
      abi: IInboxAbi,
      functionName: "isMessageDelivered",
      args: [encoded],
    }),
  );
  if (!delivered) return { status: "pending" as const };
  const kind = await onChain(dest, "Inbox.failure", () =>
    pc.readContract({
      address: dest.contracts.inbox,
      abi: IInboxAbi,
      functionName: "failure",
      args: [id],
    }),
  );
  const log = await scan(client, dest, "Inbox Delivered logs", (fromBlock, toBlock) =>
    pc.getLogs({
      address: dest.contracts.inbox,
      event: DELIVERED,
      args: { id },
      fromBlock,
      toBlock,
    }),
  );
  return {
    status: kind === 0 ? ("delivered" as const) : ("failed" as const),
    ...(kind === 0 ? {} : { failureKind: failureKindName(kind) }),
    ...(log ? { transactionHash: log.transactionHash, block: log.blockNumber } : {}),
  };
}
