import type { Command } from "commander";
import { formatUnits, type Hex } from "viem";

import { getMessage, getNodeMessage, NotFoundError, type MessageInfo } from "../../sdk/index.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

interface StatusOptions {
  tx?: string;
  chain?: string;
  node?: string;
}

export function defineStatus(program: Command, exec: Exec): void {
  program
    .command("status")
    .description("where a message is: dispatched on its origin, delivered on its destination")
    .argument("[id]", "message id (0x + 64 hex)")
    .option("--tx <hash>", "find the message by the transaction that dispatched it")
    .option("--chain <code>", "with --tx: the chain of that transaction (default: every chain)")
    .option("--node <url>", "ask this node's API instead of the chains")
    .action(exec(runStatus));
}

/** What the destination says, and what to do about it. */
export function describeDelivery(info: MessageInfo): string {
  const d = info.destination;
  const where = `on ${d.chain}`;
  switch (d.status) {
    case "delivered":
      return `status delivered ${where}${d.transactionHash ? ` in tx ${d.transactionHash}` : ""}`;
    case "failed":
      return (
        `status failed ${where} (${d.failureKind})${d.transactionHash ? ` in tx ${d.transactionHash}` : ""}\n` +
        (d.failureKind === "PayoutPending"
          ? `  the payout waits for the reserve: \`distpos claim ${info.id}\` once it is funded`
          : `  run it again once the cause is fixed: \`distpos retry ${info.id}\``)
      );
    case "pending":
      return `status pending ${where} (${info.origin.snapshotted ? "snapshotted, awaiting signatures and a relayer" : "awaiting a snapshot of the origin"})`;
    default:
      return `status unknown: ${d.reason ?? "the destination cannot be read"}`;
  }
}

function statusJson(info: MessageInfo) {
  const m = info.message;
  return {
    id: info.id,
    message: {
      version: m.version,
      nonce: m.nonce,
      origin: info.origin.chain,
      sender: m.sender,
      from: info.from,
      destination: info.destination.chain,
      recipient: m.recipient,
      to: info.to,
      amount: m.amount.toString(),
      amountText: info.amountText,
      body: m.body,
    },
    encoded: info.encoded,
    origin: {
      chain: info.origin.chain,
      status: "dispatched",
      nonce: info.origin.nonce,
      block: Number(info.origin.block),
      tx: info.origin.transactionHash,
      snapshotted: info.origin.snapshotted,
    },
    destination: {
      chain: info.destination.chain,
      status: info.destination.status,
      ...(info.destination.failureKind ? { failureKind: info.destination.failureKind } : {}),
      ...(info.destination.reason ? { reason: info.destination.reason } : {}),
      ...(info.destination.transactionHash
        ? { tx: info.destination.transactionHash, block: Number(info.destination.block) }
        : {}),
    },
  };
}

/** A node's figures are in the settlement unit's 18 decimals: shown in tokens. */
const units = (wei: string | undefined) => `${formatUnits(BigInt(wei ?? "0"), 18)} tokens`;

const exitOf = (status: string | undefined) =>
  status === "delivered" ? EXIT.ok : status === "failed" ? EXIT.handlerFailed : EXIT.pending;

export async function runStatus(
  ctx: Context,
  id: string | undefined,
  o: StatusOptions,
): Promise<number> {
  if ((id === undefined) === (o.tx === undefined))
    throw new CliError("give a message id or --tx <hash>, one of the two", EXIT.usage);
  const hex = (id ?? o.tx)!;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
    throw new CliError(
      `${id !== undefined ? "id" : "--tx"} must be 0x followed by 64 hex digits`,
      EXIT.usage,
    );
  if (o.node) {
    if (o.tx) throw new CliError("--tx reads the chains: drop --node", EXIT.usage);
    const result = await getNodeMessage(o.node, hex);
    if (!result) {
      ctx.print(`message ${hex}: not known to node ${o.node}`, { id: hex, status: "not-found" });
      return EXIT.notFound;
    }
    const status = result.destination?.status ?? "unknown";
    const fees = result.destination?.fees;
    const h = result.handover;
    // The bundle hand-over, when this node is the origin's and handed it (docs/protocol.md 4.2).
    const handover = !h
      ? ""
      : h.state === "waiting" || h.state === "refused"
        ? `\n  hand-over ${h.state === "refused" ? "refused by this node" : "waiting"}${h.waitReason ? `: ${h.waitReason}` : ""}${h.refused ? ` (last refused: ${h.refused})` : ""}`
        : `\n  hand-over accepted by ${h.node ?? "a destination node that pulled it"}${h.count !== undefined ? ` under the checkpoint of ${h.count} messages` : ""}`;
    ctx.print(
      `message ${hex}\n  from ${result.message?.from ?? "?"}\n  to   ${result.message?.to ?? "?"}\n  amount ${units(result.message?.amount)}${handover}\n  status ${status}${
        fees
          ? `\n  fees ${units(fees.fee)} (top-ups ${units(fees.topUps)}) below the ${units(fees.needed)} the relayer asks: \`distpos topup ${hex} --amount <tokens>\``
          : ""
      }`,
      result,
    );
    return exitOf(status);
  }
  const client = await ctx.client();
  let info: MessageInfo;
  try {
    info = await getMessage(
      client,
      o.tx
        ? {
            transactionHash: o.tx as Hex,
            ...(o.chain ? { chain: (await ctx.chain(o.chain)).code } : {}),
          }
        : { id: hex as Hex },
    );
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    ctx.print(`${e.message}`, { id: hex, status: "not-found" });
    return EXIT.notFound;
  }
  ctx.print(
    [
      `message ${info.id}`,
      `  from   ${info.from}`,
      `  to     ${info.to}`,
      `  amount ${info.amountText}`,
      `  origin ${info.origin.chain}, nonce ${info.origin.nonce}, block ${info.origin.block}, tx ${info.origin.transactionHash}`,
      `  ${describeDelivery(info)}`,
    ].join("\n"),
    statusJson(info),
  );
  return exitOf(info.destination.status);
}
