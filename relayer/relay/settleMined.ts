/**
 * Settles a deliver transaction that was mined without reverting: waits for its confirmations,
 * checks its Delivered logs against the Inbox's state (the destination's RPC and its witness, where
 * configured: confirm.ts) before believing them, counts fees and gas, notes the deliveries relayed
 * until the index shows them (relayed.ts), and settles each message by what the receipt shows.
 */
import { formatUnits, type PublicClient, type TransactionReceipt } from "viem";

import type { Chain } from "../config/load.js";
import type { Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { decodeMessage, messageId } from "../protocol/index.js";
import { unconfirmedDeliveries, waitConfirmed } from "./confirm.js";
import { messageCost } from "./fees.js";
import { noteRelayed } from "./relayed.js";
import type { RelayJobData } from "./queue.js";
import { batchOutcome, receiptDeliveries, type Outcome } from "./settle.js";

/** The part of a relay item settlement reads. */
export interface MinedItem {
  data: Pick<RelayJobData, "id" | "message">;
  nonce: number;
  settle(outcome: Outcome): void;
}

/** Where a mined batch is settled: the node, its destination, and who must agree on deliveries. */
export interface SettleContext {
  ctx: NodeContext;
  destination: Chain;
  log: Logger;
  /** The destination's own RPC and its witness, if any (relay.ts `deliveryReaders`). */
  readers: { url: string; client: PublicClient }[];
}

/** Settles `items`, sent from `origin` in the transaction of `receipt`. */
export async function settleMinedBatch(
  c: SettleContext,
  origin: Chain,
  items: MinedItem[],
  receipt: TransactionReceipt,
  timing: { stage(name: string): void; ms: Record<string, number> },
): Promise<void> {
  const { ctx, destination, log } = c;
  const { stage, ms } = timing;
  const { delivered, failed } = receiptDeliveries(receipt, destination.contracts.inbox);
  await waitConfirmed(
    ctx.client(destination.code),
    receipt,
    destination.confirmations,
    Math.min(destination.pollIntervalMs, 1_000),
    `chain ${destination.codeHex} (${destination.rpc.join(",")})`,
  );
  stage("confirmed");
  // The receipt came from one RPC: check its Delivered logs against the Inbox's state at that
  // block (same client, and the witness where configured) before settling anything.
  const claimed = items.filter((i) => delivered.has(i.data.id.toLowerCase()));
  const disagreements = await unconfirmedDeliveries(
    c.readers,
    destination.contracts.inbox,
    claimed.map((i) => i.data.message),
    receipt.blockNumber,
  );
  const unconfirmed = new Set<string>();
  if (disagreements.length > 0) {
    ctx.metrics.batches.inc({ destination: destination.codeHex, outcome: "unconfirmed" });
    for (const d of disagreements) {
      const id = messageId(d.message);
      log.error(
        {
          tx: receipt.transactionHash,
          block: Number(receipt.blockNumber),
          receiptFrom: destination.rpc.join(","),
          disagreeing: d.url,
          msgId: id,
        },
        `chain ${destination.codeHex}: receipt from ${destination.rpc.join(",")} shows Delivered but ` +
          `${d.url} does not hold the message delivered at that block; not settling, re-queued ` +
          `(check the RPC provider of chains.${destination.codeHex}.rpc)`,
      );
    }
    const bad = new Set(disagreements.map((d) => d.message));
    for (const i of claimed)
      if (bad.has(i.data.message)) {
        delivered.delete(i.data.id.toLowerCase());
        unconfirmed.add(i.data.id.toLowerCase());
      }
  }
  countFees(
    c,
    origin,
    items.filter((i) => delivered.has(i.data.id.toLowerCase())),
    receipt,
  );
  log.info(
    {
      messages: items.length,
      tx: receipt.transactionHash,
      gasUsed: Number(receipt.gasUsed),
      ms,
    },
    "batch confirmed",
  );
  const seen = { delivered, failed, unconfirmed };
  const tx = { hash: receipt.transactionHash, block: receipt.blockNumber };
  // Until the index shows them: a reorg deeper than the confirmations may still remove them.
  await noteRelayed(
    ctx.redis,
    ctx.cfg.redis.prefix,
    destination.code,
    items.filter((i) => delivered.has(i.data.id.toLowerCase())).map((i) => i.data.id),
    Number(receipt.blockNumber),
  );
  for (const item of items) {
    const outcome = batchOutcome(item.data.id, seen, tx, destination.codeHex);
    if (outcome.kind === "delivered") {
      ctx.metrics.messagesDelivered.inc({
        origin: origin.codeHex,
        destination: destination.codeHex,
        by: "us",
      });
      c.log.info(
        {
          msgId: item.data.id,
          nonce: item.nonce,
          tx: outcome.tx,
          block: outcome.block,
          status: outcome.status,
        },
        outcome.status === "delivered"
          ? "message delivered"
          : "message delivered, handler failed (retry possible)",
      );
    }
    item.settle(outcome);
  }
}

/** Fees earned and gas spent on a confirmed batch, per route (metrics.ts). */
function countFees(
  c: SettleContext,
  origin: Chain,
  delivered: MinedItem[],
  receipt: TransactionReceipt,
): void {
  const { ctx, destination } = c;
  const route = { origin: origin.codeHex, destination: destination.codeHex };
  const fees = delivered.reduce((s, i) => s + decodeMessage(i.data.message).fee, 0n);
  const wei = receipt.gasUsed * receipt.effectiveGasPrice;
  const nativePrice = ctx.cfg.relayer.fees.nativePrice[destination.codeHex];
  const spent = messageCost(receipt.gasUsed, receipt.effectiveGasPrice, nativePrice);
  ctx.metrics.feesEarned.inc(route, Number(formatUnits(fees, 18)));
  ctx.metrics.gasSpentWei.inc(route, Number(wei));
  ctx.metrics.gasSpentTokens.inc(route, Number(formatUnits(spent, 18)));
}
