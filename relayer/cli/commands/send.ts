import type { Command } from "commander";
import { stringToHex, type Hex } from "viem";

import {
  formatChainCode,
  formatTokens,
  getToken,
  MESSAGE_DECIMALS,
  parseTokens,
  sendMessage,
  sendValue,
  toMessageUnits,
  waitForDelivery,
  DeliveryTimeoutError,
  type MessageInfo,
  type SentMessage,
} from "../../sdk/index.js";
import { recipientOf, checkBody } from "../../sdk/dispatch.js";
import { CliError, EXIT, parseSeconds, type Context } from "../context.js";
import type { Exec } from "../main.js";
import { wholeNumber } from "./quote.js";
import { describeDelivery } from "./status.js";

interface SendOptions {
  amount?: string;
  body?: string;
  text?: string;
  chain?: string;
  keyEnv?: string;
  wait?: boolean;
  timeout: string;
  maxFee?: string;
  handlerGas?: string;
}

export function defineSend(program: Command, exec: Exec): void {
  program
    .command("send")
    .description("send a message (and value) to a chain-qualified address <code>x<account>")
    .argument("<to>", "recipient, e.g. e2e4x63ea7F78107dF4C6fd8b17e7b05b1b3D41a5B1Ab")
    .option(
      "--amount <tokens>",
      "value to transfer through the CorrespondentBank, in tokens (e.g. 1.5)",
    )
    .option(
      "--body <hex>",
      "payload for the recipient's handler: 0x followed by whole bytes of hex",
    )
    .option("--text <text>", "payload as UTF-8 text (instead of --body)")
    .option("--chain <code>", "origin chain (default: the config's home)")
    .option("--key-env <NAME>", "env var holding the sender's key (default: keys.user)")
    .option(
      "--max-fee <tokens>",
      "pay the delivery fee from the prepaid fee balance, at most this (a message only)",
    )
    .option("--handler-gas <gas>", "handler gas the fee is quoted for (with --max-fee)", "0")
    .option("--wait", "wait until the destination Inbox delivered it")
    .option("--timeout <seconds>", "how long --wait waits", "600")
    .action(exec(runSend));
}

export async function runSend(ctx: Context, to: string, o: SendOptions): Promise<number> {
  // Everything the user typed is checked before anything is read or sent.
  const recipient = (() => {
    try {
      return recipientOf(to, "recipient");
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.usage);
    }
  })();
  if (o.body !== undefined && o.text !== undefined)
    throw new CliError("--body and --text: give one payload, not both", EXIT.usage);
  let body: Hex = "0x";
  if (o.text !== undefined) body = stringToHex(o.text);
  else if (o.body !== undefined) {
    try {
      body = checkBody(o.body as Hex, "--body");
    } catch (e) {
      throw new CliError(`${(e as Error).message} (for text, use --text)`, EXIT.usage);
    }
  }
  if (o.maxFee !== undefined && o.amount !== undefined)
    throw new CliError("--max-fee pays a message's fee; not with --amount", EXIT.usage);
  const maxFee =
    o.maxFee === undefined ? undefined : parseTokens(o.maxFee, MESSAGE_DECIMALS, "--max-fee");
  const handlerGas = wholeNumber(o.handlerGas ?? "0", "--handler-gas");
  const timeoutSeconds = parseSeconds(o.timeout);
  const origin = await ctx.chain(o.chain);
  const key = ctx.key(o.keyEnv, "user");
  const client = await ctx.client();
  let sent: SentMessage & { approval?: Hex };
  let amountText = "0";
  if (o.amount !== undefined) {
    const token = await getToken(client, { chain: origin.code });
    const amount = toMessageUnits(
      parseTokens(o.amount, token.decimals, "--amount"),
      token.decimals,
    );
    if (amount === 0n) throw new CliError("--amount must be more than 0", EXIT.usage);
    amountText = `${formatTokens(amount, 18)} ${token.symbol}`;
    ctx.progress(`sending ${amountText} through the CorrespondentBank of ${origin.codeHex}…`);
    sent = await sendValue(client, { from: origin.code, to, amount, body, account: key });
    if (sent.approval) ctx.progress(`approved the bank for ${amountText} (tx ${sent.approval})`);
  } else {
    ctx.progress(`dispatching through the Outbox of ${origin.codeHex}…`);
    sent = await sendMessage(client, {
      from: origin.code,
      to,
      body,
      account: key,
      ...(maxFee !== undefined ? { maxFee, handlerGas } : {}),
    });
  }
  const result: Record<string, unknown> = {
    id: sent.id,
    nonce: sent.nonce,
    origin: sent.origin,
    to,
    amount: sent.amount.toString(),
    amountText,
    fee: sent.fee.toString(),
    feeText: formatTokens(sent.fee, MESSAGE_DECIMALS),
    tx: sent.transactionHash,
    status: "dispatched",
  };
  const head = `message ${sent.id} (nonce ${sent.nonce}) from ${sent.origin} to ${to}${o.amount ? `, ${amountText}` : ""}\nfee ${formatTokens(sent.fee, MESSAGE_DECIMALS)}\ntx ${sent.transactionHash}`;
  if (!o.wait) {
    ctx.print(`${head}\nstatus dispatched`, result);
    return EXIT.ok;
  }
  let info: MessageInfo;
  try {
    info = await waitForDelivery(client, {
      id: sent.id,
      timeoutMs: timeoutSeconds * 1000,
      onProgress: ({ stage, elapsedMs, lastError }) =>
        ctx.status(
          `waiting for delivery on ${formatChainCode(recipient.code)}: ${stage}${lastError ? ` (${lastError})` : ""}`,
          Math.round(elapsedMs / 1000),
        ),
    });
  } catch (e) {
    ctx.endLine();
    if (e instanceof DeliveryTimeoutError) {
      ctx.print(`${head}\nstatus ${e.stage}: not delivered after ${timeoutSeconds}s`, {
        ...result,
        status: "timeout",
        stage: e.stage,
      });
      return EXIT.timeout;
    }
    throw e;
  }
  ctx.endLine();
  Object.assign(result, {
    status: info.destination.status,
    ...(info.destination.failureKind ? { failureKind: info.destination.failureKind } : {}),
    ...(info.destination.transactionHash ? { deliveryTx: info.destination.transactionHash } : {}),
  });
  ctx.print(`${head}\n${describeDelivery(info)}`, result);
  return info.destination.status === "failed" ? EXIT.handlerFailed : EXIT.ok;
}
