/**
 * A message's journey as the explorer shows it, and the lookups that lead to one: by id, by the
 * transaction that dispatched it, by a chain-qualified address. Everything comes from the node's
 * index (Redis) and the chains; nothing is taken on trust from a peer (a message a peer handed over
 * and no Outbox confirms is "unverified").
 */
import {
  decodeErrorResult,
  parseEventLogs,
  size,
  slice,
  type Address,
  type Hex,
  type Log,
} from "viem";

import { IInboxAbi, IOutboxAbi, suiteErrorsAbi } from "../chain/abis.js";
import { failureKindName, readInboxStatus } from "../chain/inboxStatus.js";
import type { Chain } from "../config/load.js";
import { chainWithContracts } from "./chains.js";
import { loadBundle, signerShortfall } from "../handover/inbound.js";
import { handoverState } from "../handover/outbound.js";
import { ChainStore, type StoredDelivery } from "../indexer/store.js";
import { getNodeMessage } from "../nodeApi/endpoints.js";
import { underpaid } from "../relay/underpaid.js";
import { errorText } from "../log.js";
import type { NodeContext } from "../node.js";
import {
  decodeMessage,
  decodeTransferBody,
  formatChainCode,
  messageId,
  parseChainAddress,
  type Message,
} from "../protocol/index.js";
import { TtlCache } from "./cache.js";
import { tokens, withTimeout } from "./util.js";

const READ_TIMEOUT_MS = 5_000;

const PANICS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division by zero",
  0x21: "invalid enum value",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an uninitialised function",
};

/**
 * A handler's revert data in words: `Error(string)`, `Panic(code)`, a DistPOS error by name, or
 * an unknown custom error by its selector and arguments (the recipient's ABI names it).
 */
export function decodeReason(reason: Hex | undefined): string {
  if (!reason || reason === "0x") return "reverted without a reason (or ran out of gas)";
  try {
    const d = decodeErrorResult({
      abi: [
        ...suiteErrorsAbi,
        { type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] },
        { type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] },
      ],
      data: reason,
    });
    const args = (d.args ?? []) as readonly unknown[];
    if (d.errorName === "Error") return `Error("${String(args[0])}")`;
    if (d.errorName === "Panic") {
      const code = Number(args[0]);
      return `Panic(0x${code.toString(16)}): ${PANICS[code] ?? "unknown panic code"}`;
    }
    return `${d.errorName}(${args.map(String).join(", ")})`;
  } catch {
    if (size(reason) < 4) return `revert data ${reason}`;
    const words = size(reason) > 4 ? slice(reason, 4) : "0x";
    const list: string[] = [];
    for (let i = 2; i + 64 <= words.length && list.length < 8; i += 64) {
      const word = BigInt(`0x${words.slice(i, i + 64)}`);
      list.push(word < 2n ** 64n ? word.toString() : `0x${words.slice(i, i + 64)}`);
    }
    return `custom error ${slice(reason, 0, 4)}(${list.join(", ")}) — not an error of the DistPOS contracts: the recipient's ABI names it`;
  }
}

/**
 * A delivery the home index holds, as the API shows it (`GET /v1/messages/:id` and
 * `POST /v1/messages/status`): confirmed, with its transaction, and for a failed handler its kind
 * and reason, decoded.
 */
export function deliveryFields(d: StoredDelivery) {
  return {
    status: d.status,
    tx: d.tx,
    block: d.block,
    confirmed: true,
    ...(d.status === "failed"
      ? {
          failureKind: failureKindName(d.kind ?? 0),
          ...(d.reason ? { reason: d.reason } : {}),
          reasonText: decodeReason(d.reason),
        }
      : {}),
  };
}

/** What the user can do next about a message, by its state. */
function nextSteps(
  status: string,
  failureKind: string | undefined,
  destination: Chain | undefined,
  id: Hex,
  amount: bigint,
): string[] {
  const where = destination
    ? `on chain ${destination.codeHex} (${destination.name})`
    : "on its destination";
  const inbox = destination ? ` at ${destination.contracts.inbox}` : "";
  const bank = destination ? ` at ${destination.contracts.bank}` : "";
  switch (status) {
    case "delivered":
      return ["Nothing: the message was delivered and its handler ran."];
    case "failed":
      if (failureKind === "PayoutPending")
        return [
          `The payout waits for the sender community's reserve ${where}. Once it is topped up, anyone may call CorrespondentBank.claim(${id})${bank}, or Inbox.retry(message)${inbox} (distpos retry ${id}).`,
        ];
      return [
        `Fix what made it fail (the reason above), then anyone may run it again: call Inbox.retry(message)${inbox} ${where} with the encoded message shown here (distpos retry ${id}).`,
        ...(failureKind === "HandlerReverted" && amount > 0n
          ? ["The value it carried was paid: a retry runs the handler only."]
          : []),
      ];
    case "underpaid":
      return [
        `Its fee is below what the relayers ask to deliver it (fees above). Top it up on its origin: distpos topup ${id} --amount <tokens> (Outbox.topUp), or deliver it yourself.`,
      ];
    case "unverified":
      return [
        "A peer node handed this message over, but no Outbox this node reads dispatched it. Do not act on it; check it on its origin chain.",
      ];
    default:
      return [
        "Wait: the relayers deliver it once a snapshot covering it is signed by enough attesters.",
      ];
  }
}

/** The Dispatch of message `id` on `origin`'s Outbox, looked up on the chain (not the index). */
async function dispatchOnChain(ctx: NodeContext, origin: Chain, id: Hex) {
  const logs = await withTimeout(
    ctx.client(origin.code).getLogs({
      address: origin.contracts.outbox,
      event: IOutboxAbi.find((x) => x.type === "event" && x.name === "Dispatch")!,
      args: { id },
      fromBlock: BigInt(origin.startBlock),
      toBlock: "latest",
    }),
    READ_TIMEOUT_MS,
    "eth_getLogs",
  );
  return logs[0];
}

/** The attesters charged in the delivery transaction for messages of `origin`. */
async function coverageCharged(ctx: NodeContext, destination: Chain, tx: Hex, origin: bigint) {
  const receipt = await withTimeout(
    ctx.client(destination.code).getTransactionReceipt({ hash: tx }),
    READ_TIMEOUT_MS,
    "eth_getTransactionReceipt",
  );
  return parseEventLogs({ abi: IInboxAbi, eventName: "CoverageCharged", logs: receipt.logs })
    .filter(
      (l) =>
        l.address.toLowerCase() === destination.contracts.inbox.toLowerCase() &&
        l.args.origin === origin,
    )
    .map((l) => ({ attester: l.args.attester, amount: tokens(l.args.amount, 18) }));
}

/** Most attesters a peer node's report of a delivery's coverage is read for. */
const REPORTED_COVERAGE_MAX = 64;

/**
 * The coverage charged for `id`'s delivery as the destination's entry node `node` reports it
 * (its own chain's receipt): what a node without an RPC of the destination shows. A peer's
 * report, so only its well-formed entries are kept; undefined when it gives none.
 */
async function reportedCoverage(node: string, id: Hex) {
  const theirs = await getNodeMessage(node, id, {
    timeoutMs: READ_TIMEOUT_MS,
    maxBytes: 1_000_000,
  });
  if (!Array.isArray(theirs?.coverage)) return undefined;
  return (theirs.coverage as unknown[])
    .slice(0, REPORTED_COVERAGE_MAX)
    .filter(
      (c): c is { attester: string; amount: string } =>
        typeof (c as { attester?: unknown })?.attester === "string" &&
        /^0x[0-9a-fA-F]{40}$/.test((c as { attester: string }).attester) &&
        typeof (c as { amount?: unknown }).amount === "string" &&
        /^\d+(\.\d+)?$/.test((c as { amount: string }).amount),
    )
    .map((c) => ({ attester: c.attester, amount: c.amount }));
}

/** The full journey of message `id`, or undefined when this node knows nothing of it. */
const inboxStatusCaches = new WeakMap<
  NodeContext,
  TtlCache<string, Awaited<ReturnType<typeof readInboxStatus>>>
>();

/** The destination Inbox's answer per message, read at most once per `api.statusCacheMs`. */
function inboxStatusCache(ctx: NodeContext) {
  let cache = inboxStatusCaches.get(ctx);
  if (!cache) inboxStatusCaches.set(ctx, (cache = new TtlCache(ctx.cfg.api.statusCacheMs)));
  return cache;
}

export async function messageJourney(
  ctx: NodeContext,
  id: Hex,
  messageJson: (m: Message) => unknown,
) {
  const { cfg } = ctx;
  const stored = await ChainStore.message(ctx.redis, cfg.redis.prefix, id);
  const pushed = stored
    ? undefined
    : ((await ctx.redis.get(`${cfg.redis.prefix}:pushed:${id.toLowerCase()}`)) as Hex | null);
  // A message that came in a verified bundle (relayer.handover: bundles): proven by it.
  const bundled =
    stored || pushed
      ? undefined
      : await ctx.redis.get(`${cfg.redis.prefix}:bundled:${id.toLowerCase()}`);
  const fromBundle = bundled
    ? (await loadBundle(ctx, bundled))?.messages.find(
        (m) => messageId(m).toLowerCase() === id.toLowerCase(),
      )
    : undefined;
  const encoded = stored?.message ?? pushed ?? fromBundle ?? undefined;
  if (!encoded) return undefined;
  const m = decodeMessage(encoded);
  const notes: string[] = [];
  // A chain not in the table, or a peer with no route and no configured contracts, is not read.
  const known = async (code: bigint) => {
    if (!cfg.chainList.some((c) => c.code === code)) return undefined;
    return chainWithContracts(ctx, code).catch((e: unknown) => {
      notes.push(errorText(e));
      return undefined;
    });
  };
  const originChain = await known(m.origin);
  const destinationChain = await known(m.destination);

  // Where it comes from: our index, else the origin's Outbox itself.
  let origin: Record<string, unknown>;
  let verified = Boolean(stored) || Boolean(fromBundle);
  if (stored) {
    origin = {
      chain: formatChainCode(m.origin),
      status: "dispatched",
      nonce: m.nonce,
      block: stored.block,
      tx: stored.tx,
    };
  } else {
    origin = { chain: formatChainCode(m.origin), status: "handed-over", nonce: m.nonce };
    if (originChain && !fromBundle) {
      try {
        const log = await dispatchOnChain(ctx, originChain, id);
        if (log) {
          verified = true;
          origin = {
            ...origin,
            status: "dispatched",
            block: Number(log.blockNumber),
            tx: log.transactionHash,
          };
        } else notes.push(`no Dispatch of this id on chain ${originChain.codeHex}'s Outbox`);
      } catch (e) {
        notes.push(`could not check chain ${originChain.codeHex}'s Outbox: ${errorText(e)}`);
      }
    }
  }

  // The checkpoint that covers it: the first snapshot past its nonce, with the signatures known.
  let checkpoint: Record<string, unknown> | null = null;
  if (verified && originChain && !fromBundle && ctx.views.has(m.origin)) {
    const snap = await ctx.view(m.origin).snapshotCovering(m.nonce);
    if (snap) {
      const signed = await ctx.checkpoints.get(m.origin, snap.count);
      checkpoint = {
        count: snap.count,
        root: snap.root,
        block: snap.block,
        signers: (signed?.root === snap.root ? signed.signatures : []).map((s) => s.signer),
      };
    }
  }

  // Where it goes: the destination's index, else its Inbox.
  let destination: Record<string, unknown> = {
    chain: formatChainCode(m.destination),
    status: "unknown",
  };
  const delivery = await ChainStore.delivery(ctx.redis, cfg.redis.prefix, id);
  // Handed over as a bundle by this node: to which node, and what that node reported.
  const handover = await handoverState(ctx, id);
  if (!delivery && handover && (handover.state === "delivered" || handover.state === "failed")) {
    destination = {
      chain: formatChainCode(m.destination),
      status: handover.state,
      block: handover.block,
      tx: handover.tx,
      confirmed: true,
      reportedBy: handover.node,
      ...(handover.failureKind ? { failureKind: handover.failureKind } : {}),
      ...(handover.reason ? { reason: handover.reason, reasonText: handover.reasonText } : {}),
    };
  } else if (delivery) {
    destination = { chain: formatChainCode(m.destination), ...deliveryFields(delivery) };
  } else if (destinationChain) {
    try {
      const onChain = await inboxStatusCache(ctx).get(id.toLowerCase(), () =>
        withTimeout(
          readInboxStatus(ctx.client(m.destination), destinationChain.contracts.inbox, encoded),
          READ_TIMEOUT_MS,
          "Inbox read",
        ),
      );
      destination = { chain: destinationChain.codeHex, ...onChain, confirmed: false };
    } catch (e) {
      destination.error = `chain ${destinationChain.codeHex}: ${errorText(e)}`;
    }
  }
  const delivered = destination.status === "delivered" || destination.status === "failed";
  // A relayer of this node's Redis holds it for its fees (relay/fees.ts).
  // …or the destination's node said so when this node followed the bundle it handed over.
  const fees = delivered
    ? undefined
    : ((await underpaid(ctx.redis, cfg.redis.prefix, id)) ?? handover?.underpaid);
  if (fees) destination = { ...destination, status: "underpaid", fees };
  // Our relayer cannot deliver it with its bundle's signatures: the origin hands it with more.
  const short = delivered || fees ? undefined : await signerShortfall(ctx, id);
  if (short) destination = { ...destination, status: "wait-signers", ...short };
  // An Inbox only delivers what a checkpoint proves: a delivered message is real.
  if (delivered) verified = true;
  if (!verified) destination = { ...destination, status: "unverified" };

  let coverage: unknown = null;
  let coverageReportedBy: string | undefined;
  if (delivered && destinationChain?.rpc.length && typeof destination.tx === "string") {
    try {
      coverage = await coverageCharged(ctx, destinationChain, destination.tx as Hex, m.origin);
    } catch (e) {
      notes.push(`could not read the delivery's coverage: ${errorText(e)}`);
    }
  } else if (delivered && handover?.node) {
    // No RPC of the destination (a home-only node): the entry node that delivered it says.
    try {
      coverage = (await reportedCoverage(handover.node, id)) ?? null;
      if (coverage) coverageReportedBy = handover.node;
    } catch (e) {
      notes.push(`could not ask ${handover.node} for the delivery's coverage: ${errorText(e)}`);
    }
  }

  const status = destination.status as string;
  return {
    id: messageId(encoded),
    status,
    verified,
    message: messageJson(m),
    encoded,
    origin,
    checkpoint,
    /** Bundles: waiting → accepted by which entry node (at which checkpoint) → delivered/failed. */
    handover: handover ?? null,
    destination,
    /** Attesters charged for the batch that delivered it (their vouching for it). */
    coverage,
    /** The destination's node that reported `coverage`, when this node could not read it. */
    ...(coverageReportedBy ? { coverageReportedBy } : {}),
    next: nextSteps(
      status,
      destination.failureKind as string | undefined,
      destinationChain,
      id,
      m.amount,
    ),
    notes,
  };
}

const dispatchEvent = IOutboxAbi.find((x) => x.type === "event" && x.name === "Dispatch")!;

/**
 * Transaction `hash` on whichever chain of the table has it: the messages it dispatched and the
 * ones it delivered. `undefined` when no chain has it; throws when none has it but some did not
 * answer (an unreachable chain is never "not found").
 */
export async function lookupTransaction(ctx: NodeContext, hash: Hex) {
  const { cfg } = ctx;
  const unreachable: string[] = [];
  const found = await Promise.all(
    cfg.chainList.map(async (chain) => {
      try {
        const receipt = await withTimeout(
          ctx.client(chain.code).getTransactionReceipt({ hash }),
          READ_TIMEOUT_MS,
          "eth_getTransactionReceipt",
        );
        return { chain, receipt };
      } catch (e) {
        const name = (e as Error).name;
        if (name !== "TransactionReceiptNotFoundError")
          unreachable.push(`chain ${chain.codeHex} (${chain.name}): ${errorText(e)}`);
        return undefined;
      }
    }),
  );
  const hit = found.find((f) => f !== undefined);
  if (!hit) {
    if (unreachable.length)
      throw new Error(`not found on the chains that answered; ${unreachable.join("; ")}`);
    return undefined;
  }
  const { receipt } = hit;
  const chain = await chainWithContracts(ctx, hit.chain.code);
  const own = (address: Address) => (l: Log) => l.address.toLowerCase() === address.toLowerCase();
  const dispatched = parseEventLogs({
    abi: IOutboxAbi,
    eventName: "Dispatch",
    logs: receipt.logs.filter(own(chain.contracts.outbox)),
  });
  const delivered = parseEventLogs({
    abi: IInboxAbi,
    eventName: "Delivered",
    logs: receipt.logs.filter(own(chain.contracts.inbox)),
  });
  return {
    tx: receipt.transactionHash,
    chain: chain.codeHex,
    chainName: chain.name,
    block: Number(receipt.blockNumber),
    status: receipt.status,
    dispatched: dispatched.map((l) => ({
      id: l.args.id,
      nonce: l.args.nonce,
      destination: formatChainCode(l.args.destination),
    })),
    // The id names the message: its journey (the link) shows its origin and nonce.
    delivered: delivered.map((l) => ({ id: l.args.id })),
  };
}

/** How far back (blocks) an address lookup reads the Outbox of the address's own chain. */
export const ADDRESS_LOOKBACK_BLOCKS = 20_000;

/**
 * Messages to and from chain-qualified address `text`: sent to it (Dispatch by recipient, an
 * indexed topic, on every other chain's Outbox) and sent by it (its chain's Dispatch events of the
 * last ADDRESS_LOOKBACK_BLOCKS blocks, by sender, or by the transfer's sender for value).
 */
export async function lookupAddress(ctx: NodeContext, text: string) {
  const { cfg } = ctx;
  const parsed = parseChainAddress(text);
  const home = cfg.chainList.find((c) => c.code === parsed.code);
  if (!home)
    throw new RangeError(
      `chain ${formatChainCode(parsed.code)} is not in this node's routing table`,
    );
  const account = `0x${parsed.account.slice(2).toLowerCase().padStart(64, "0")}` as Hex;
  const errors: string[] = [];
  const ranges = async (chain: Chain, from: bigint, to: bigint, args?: Record<string, unknown>) => {
    const client = ctx.client(chain.code);
    const out = [];
    for (let start = from; start <= to; start += BigInt(chain.maxLogRange)) {
      const end =
        start + BigInt(chain.maxLogRange) - 1n < to ? start + BigInt(chain.maxLogRange) - 1n : to;
      out.push(
        ...(await withTimeout(
          client.getLogs({
            address: chain.contracts.outbox,
            event: dispatchEvent,
            args,
            fromBlock: start,
            toBlock: end,
          }),
          READ_TIMEOUT_MS,
          "eth_getLogs",
        )),
      );
    }
    return out;
  };
  const summary = (
    chain: Chain,
    l: { args: { id?: Hex; message?: Hex }; blockNumber: bigint; transactionHash: Hex },
  ) => {
    const m = decodeMessage(l.args.message!);
    return {
      id: l.args.id!,
      origin: chain.codeHex,
      destination: formatChainCode(m.destination),
      nonce: m.nonce,
      amount: tokens(m.amount, 18),
      block: Number(l.blockNumber),
      tx: l.transactionHash,
    };
  };
  const received = [];
  const sent = [];
  for (const entry of cfg.chainList) {
    try {
      const chain = await chainWithContracts(ctx, entry.code);
      const tip = await withTimeout(
        ctx.client(chain.code).getBlockNumber(),
        READ_TIMEOUT_MS,
        "eth_blockNumber",
      );
      const lookback =
        tip > BigInt(ADDRESS_LOOKBACK_BLOCKS) ? tip - BigInt(ADDRESS_LOOKBACK_BLOCKS) : 0n;
      const from = BigInt(chain.startBlock) > lookback ? BigInt(chain.startBlock) : lookback;
      if (chain.code !== parsed.code) {
        const logs = await ranges(chain, from, tip, {
          destination: parsed.code,
          recipient: account,
        });
        received.push(...logs.map((l) => summary(chain, l)));
      } else {
        const bank = chain.contracts.bank.toLowerCase();
        for (const l of await ranges(chain, from, tip)) {
          const m = decodeMessage(l.args.message!);
          let sender = m.sender.toLowerCase();
          if (sender === `0x${bank.slice(2).padStart(64, "0")}`) {
            try {
              sender = decodeTransferBody(m.body).sender.toLowerCase();
            } catch {
              // a bank-to-bank message, not a transfer
            }
          }
          if (sender === account) sent.push(summary(chain, l));
        }
      }
    } catch (e) {
      errors.push(`chain ${entry.codeHex} (${entry.name}): ${errorText(e)}`);
    }
  }
  return {
    address: text,
    chain: home.codeHex,
    lookbackBlocks: ADDRESS_LOOKBACK_BLOCKS,
    sent: sent.sort((a, b) => b.block - a.block),
    received: received.sort((a, b) => b.block - a.block),
    errors,
  };
}
