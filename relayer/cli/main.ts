/**
 * `distpos` — the node and its operator commands. Exit codes (scripts can rely on them):
 *   0  success (status: delivered)
 *   1  unexpected error
 *   2  usage or configuration error (the message names the field and the file)
 *   3  chain error: a transaction or call reverted, or no RPC endpoint answered
 *   4  timed out (send --wait)
 *   5  not found (status: no chain in the routing table dispatched this id)
 *   6  pending (status: dispatched, not delivered yet)
 *   7  delivered, but the recipient's handler failed (Inbox.retry can run it again)
 */
import { writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

import { Queue } from "bullmq";
import { Command, CommanderError, Option } from "commander";
import { Redis } from "ioredis";
import {
  encodeFunctionData,
  erc20Abi,
  formatUnits,
  getAbiItem,
  isHex,
  parseEventLogs,
  parseUnits,
  stringToHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { stringify as toYaml } from "yaml";

import { ICorrespondentBankAbi, IInboxAbi, IOutboxAbi, IStakingHubAbi } from "../chain/abis.js";
import { publicClientFor, walletClientFor } from "../chain/clients.js";
import { revertOf } from "../chain/errors.js";
import { readInboxStatus } from "../chain/inboxStatus.js";
import { TxRevertedError, TxSender } from "../chain/sender.js";
import { ConfigError, loadConfig, readKey, type Chain, type LoadedConfig } from "../config/load.js";
import { createLogger, errorText, silentLogger } from "../log.js";
import {
  addressToBytes32,
  ChainAddressError,
  decodeMessage,
  formatChainCode,
  parseChainAddress,
  parseChainCode,
} from "../protocol/index.js";
import { bullPrefix, deadLetterName, RelayQueues, type RelayJobData } from "../relay/queue.js";
import { startNode } from "../runner.js";
import { messageJson } from "../api/server.js";

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  chain: 3,
  timeout: 4,
  notFound: 5,
  pending: 6,
  handlerFailed: 7,
} as const;

/** A failure with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * How far V8 lets the heap grow past what survived the last full collection before collecting
 * again, in percent. V8 picks up to 300 % on a machine with a few GB of memory, and keeps the
 * pages it frees: a node whose live heap stays at 40-50 MB ran with a heap of 4x that, all of it
 * garbage awaiting a collection (bench:relayer: heap 210 MB, RSS 300 MB; the origin node of the
 * deep fault run: heap 430 MB, RSS 530 MB). At 100 % the bench's nodes stay near 200 MB RSS for
 * about the same CPU time; 50 % saved 10-15 MB more for 5-10 % more CPU and a slower saturated
 * relayer (bench/relayer/analysis.md). An explicit `node --heap-growing-percent=N` wins.
 */
const NODE_HEAP_GROWING_PERCENT = 100;

function boundHeapGrowth(): void {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  setFlagsFromString(`--heap-growing-percent=${NODE_HEAP_GROWING_PERCENT}`);
}

interface GlobalOptions {
  config: string;
  json?: boolean;
}

const DISPATCH = getAbiItem({ abi: IOutboxAbi, name: "Dispatch" });

function print(opts: GlobalOptions, human: string, json: unknown): void {
  if (opts.json)
    process.stdout.write(
      JSON.stringify(json, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n",
    );
  else process.stdout.write(human + "\n");
}

/** Progress for long work: on stderr, only for humans. */
function progress(opts: GlobalOptions, line: string): void {
  if (!opts.json) process.stderr.write(line + "\n");
}

function config(opts: GlobalOptions): LoadedConfig {
  return loadConfig(opts.config);
}

function chainOf(cfg: LoadedConfig, code: string | undefined): Chain {
  if (code === undefined) return cfg.homeChain;
  try {
    return cfg.chain(parseChainCode(code));
  } catch (e) {
    throw new CliError(`--chain ${code}: ${errorText(e)}`, EXIT.usage);
  }
}

function keyFor(cfg: LoadedConfig, keyEnv: string | undefined, role: "user" | "attester"): Hex {
  if (keyEnv) {
    const v = process.env[keyEnv]?.trim();
    if (!v)
      throw new CliError(
        `--key-env ${keyEnv}: environment variable is empty or not set`,
        EXIT.usage,
      );
    const hex = v.startsWith("0x") ? v : `0x${v}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
      throw new CliError(`--key-env ${keyEnv}: not a 32-byte hex private key`, EXIT.usage);
    return hex as Hex;
  }
  return readKey(cfg, cfg.keys[role] ? role : "user");
}

function senderFor(chain: Chain, key: Hex): { sender: TxSender; client: PublicClient } {
  const account = privateKeyToAccount(key);
  const client = publicClientFor(chain);
  return {
    sender: new TxSender(client, walletClientFor(chain, account), account, {
      chainLabel: chain.codeHex,
    }),
    client,
  };
}

/** Sends a transaction; a revert becomes a CliError naming the contract error. */
async function transact(sender: TxSender, to: Address, data: Hex, label: string) {
  try {
    return await sender.send({ to, data, label });
  } catch (e) {
    const revert = revertOf(e);
    if (revert)
      throw new CliError(
        `${label} reverted: ${revert.name}(${revert.args.map(String).join(", ")})`,
        EXIT.chain,
      );
    if (e instanceof TxRevertedError)
      throw new CliError(`${label} reverted: ${e.message}`, EXIT.chain);
    throw new CliError(`${label}: ${errorText(e)}`, EXIT.chain);
  }
}

async function tokenOf(
  chain: Chain,
  client: PublicClient,
  file: string,
): Promise<{ token: Address; decimals: number; symbol: string }> {
  const token = chain.contracts.token;
  if (!token)
    throw new ConfigError(file, [
      {
        path: `chains.${chain.codeHex}.contracts.token`,
        message: "is required for commands that move tokens",
      },
    ]);
  const [decimals, symbol] = await Promise.all([
    client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" }),
    client
      .readContract({ address: token, abi: erc20Abi, functionName: "symbol" })
      .catch(() => "tokens"),
  ]);
  return { token, decimals, symbol };
}

function parseAmount(text: string, decimals: number, what = "amount"): bigint {
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new CliError(
      `${what} must be a decimal number of tokens, got ${JSON.stringify(text)}`,
      EXIT.usage,
    );
  try {
    const v = parseUnits(text, decimals);
    if ((text.split(".")[1]?.length ?? 0) > decimals) throw new Error("too many decimals");
    return v;
  } catch {
    throw new CliError(`${what} ${text} has more than ${decimals} decimals`, EXIT.usage);
  }
}

async function ensureAllowance(
  sender: TxSender,
  client: PublicClient,
  token: Address,
  spender: Address,
  amount: bigint,
  opts: GlobalOptions,
) {
  const allowance = await client.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "allowance",
    args: [sender.address, spender],
  });
  if (allowance >= amount) return;
  progress(opts, `approving ${spender} to take the tokens…`);
  await transact(
    sender,
    token,
    encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [spender, amount] }),
    "approve",
  );
}

function bodyOf(text: string | undefined): Hex {
  if (text === undefined) return "0x";
  if (isHex(text) && text.length % 2 === 0) return text;
  return stringToHex(text);
}

async function findDispatch(cfg: LoadedConfig, id: Hex, opts: GlobalOptions) {
  for (const chain of cfg.chainList) {
    const client = publicClientFor(chain);
    let tip: number;
    try {
      tip = Number(await client.getBlockNumber());
    } catch (e) {
      progress(opts, `chain ${chain.codeHex}: ${errorText(e)}`);
      continue;
    }
    for (let from = chain.startBlock; from <= tip; from += chain.maxLogRange) {
      const logs = await client.getLogs({
        address: chain.contracts.outbox,
        event: DISPATCH,
        args: { id },
        fromBlock: BigInt(from),
        toBlock: BigInt(Math.min(tip, from + chain.maxLogRange - 1)),
      });
      if (logs[0]) return { chain, log: logs[0] };
    }
  }
  return undefined;
}

/** A message's state on its destination, or why it cannot be read from this routing table. */
async function deliveryStatus(cfg: LoadedConfig, message: Hex) {
  const destination = decodeMessage(message).destination;
  const dest = cfg.chainList.find((c) => c.code === destination);
  if (!dest)
    return {
      status: "unknown" as const,
      reason: `destination ${formatChainCode(destination)} is not in the routing table`,
    };
  return readInboxStatus(publicClientFor(dest), dest.contracts.inbox, message);
}

export function buildCli(): Command {
  const program = new Command("distpos")
    .description("DistPOS node and operator commands (exit codes: see relayer/README.md)")
    .addOption(
      new Option("-c, --config <file>", "node config file (YAML or JSON)")
        .env("DISTPOS_CONFIG")
        .default("distpos.yaml"),
    )
    .option("--json", "machine-readable output (one JSON object on stdout)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command("node")
    .description("run the roles the config names (indexer, api, attester, relayer, watcher)")
    .action(async () => {
      const opts = program.opts<GlobalOptions>();
      const cfg = config(opts);
      boundHeapGrowth();
      const running = await startNode(cfg, {
        log: createLogger(cfg.log.level, { node: cfg.home }),
      });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await running.stop();
    });

  program
    .command("send")
    .description("send a message (and value) to a chain-qualified address <code>x<account>")
    .argument("<to>", "recipient, e.g. e2e4x63ea7F78107dF4C6fd8b17e7b05b1b3D41a5B1Ab")
    .option(
      "--amount <tokens>",
      "value to transfer through the CorrespondentBank, in tokens (e.g. 1.5)",
    )
    .option("--body <data>", "payload: 0x-hex, or text sent as UTF-8")
    .option("--chain <code>", "origin chain (default: the config's home)")
    .option("--key-env <NAME>", "env var holding the sender's key (default: keys.user)")
    .option("--wait", "wait until the destination Inbox delivered it")
    .option("--timeout <seconds>", "how long --wait waits", "600")
    .action(
      async (
        to: string,
        o: {
          amount?: string;
          body?: string;
          chain?: string;
          keyEnv?: string;
          wait?: boolean;
          timeout: string;
        },
      ) => {
        const opts = program.opts<GlobalOptions>();
        const cfg = config(opts);
        let recipient;
        try {
          recipient = parseChainAddress(to);
        } catch (e) {
          throw new CliError(
            `recipient: ${e instanceof ChainAddressError ? e.message : errorText(e)}`,
            EXIT.usage,
          );
        }
        if (recipient.code === 0n)
          throw new CliError("recipient must be chain-qualified: <code>x<account>", EXIT.usage);
        const origin = chainOf(cfg, o.chain);
        const { sender, client } = senderFor(origin, keyFor(cfg, o.keyEnv, "user"));
        const body = bodyOf(o.body);
        const recipient32 = addressToBytes32(recipient.account);
        let receipt;
        const amount = o.amount === undefined ? 0n : parseAmount(o.amount, 18);
        if (amount > 0n) {
          const { token, decimals } = await tokenOf(origin, client, cfg.file);
          const scale = 10n ** BigInt(18 - decimals);
          if (amount % scale !== 0n)
            throw new CliError(
              `amount ${o.amount} is not representable with the token's ${decimals} decimals`,
              EXIT.usage,
            );
          await ensureAllowance(sender, client, token, origin.contracts.bank, amount / scale, opts);
          progress(opts, `sending ${o.amount} through the CorrespondentBank of ${origin.codeHex}…`);
          receipt = await transact(
            sender,
            origin.contracts.bank,
            encodeFunctionData({
              abi: ICorrespondentBankAbi,
              functionName: "send",
              args: [recipient.code, recipient32, amount, body],
            }),
            "send",
          );
        } else {
          progress(opts, `dispatching through the Outbox of ${origin.codeHex}…`);
          receipt = await transact(
            sender,
            origin.contracts.outbox,
            encodeFunctionData({
              abi: IOutboxAbi,
              functionName: "dispatch",
              args: [recipient.code, recipient32, body],
            }),
            "dispatch",
          );
        }
        const dispatch = parseEventLogs({
          abi: IOutboxAbi,
          eventName: "Dispatch",
          logs: receipt.logs,
        })[0];
        if (!dispatch)
          throw new CliError(`no Dispatch event in ${receipt.transactionHash}`, EXIT.chain);
        const { id, nonce } = dispatch.args;
        const result: Record<string, unknown> = {
          id,
          nonce,
          origin: origin.codeHex,
          to,
          amount: amount.toString(),
          tx: receipt.transactionHash,
          status: "dispatched",
        };
        if (o.wait) {
          const deadline = Date.now() + Number(o.timeout) * 1000;
          const started = Date.now();
          for (;;) {
            const s = await deliveryStatus(cfg, dispatch.args.message).catch((e: unknown) => ({
              status: "pending" as const,
              reason: errorText(e),
            }));
            if (s.status === "delivered" || s.status === "failed" || s.status === "unknown") {
              Object.assign(result, s);
              break;
            }
            if (Date.now() > deadline) {
              print(opts, `message ${id} dispatched but not delivered after ${o.timeout}s`, {
                ...result,
                status: "timeout",
              });
              throw new CliError("", EXIT.timeout);
            }
            progress(
              opts,
              `waiting for delivery on ${formatChainCode(recipient.code)}… ${Math.round((Date.now() - started) / 1000)}s`,
            );
            await new Promise((r) => setTimeout(r, 1_000));
          }
        }
        print(
          opts,
          `message ${id} (nonce ${nonce}) from ${origin.codeHex} to ${to}: ${String(result.status)}\ntx ${receipt.transactionHash}`,
          result,
        );
        if (result.status === "failed") throw new CliError("", EXIT.handlerFailed);
      },
    );

  program
    .command("status")
    .description("where a message is: dispatched on its origin, delivered on its destination")
    .argument("<id>", "message id (0x + 64 hex)")
    .option("--node <url>", "ask this node's API instead of the chains")
    .action(async (id: string, o: { node?: string }) => {
      const opts = program.opts<GlobalOptions>();
      if (!/^0x[0-9a-fA-F]{64}$/.test(id))
        throw new CliError("id must be 0x followed by 64 hex digits", EXIT.usage);
      let result: {
        id: string;
        message?: unknown;
        origin?: unknown;
        destination?: { status: string } & Record<string, unknown>;
      };
      if (o.node) {
        let res: Response;
        try {
          res = await fetch(`${o.node.replace(/\/+$/, "")}/v1/messages/${id}`, {
            signal: AbortSignal.timeout(10_000),
          });
        } catch (e) {
          throw new CliError(`node ${o.node}: ${errorText(e)}`, EXIT.chain);
        }
        if (res.status === 404) {
          print(opts, `message ${id}: not found`, { id, status: "not-found" });
          throw new CliError("", EXIT.notFound);
        }
        if (!res.ok) throw new CliError(`node ${o.node}: HTTP ${res.status}`, EXIT.chain);
        result = (await res.json()) as typeof result;
      } else {
        const cfg = config(opts);
        const found = await findDispatch(cfg, id as Hex, opts);
        if (!found) {
          print(opts, `message ${id}: not found on any chain of the routing table`, {
            id,
            status: "not-found",
          });
          throw new CliError("", EXIT.notFound);
        }
        const m = decodeMessage(found.log.args.message!);
        result = {
          id,
          message: messageJson(m),
          origin: {
            chain: found.chain.codeHex,
            status: "dispatched",
            nonce: m.nonce,
            block: Number(found.log.blockNumber),
            tx: found.log.transactionHash,
          },
          destination: {
            chain: formatChainCode(m.destination),
            ...(await deliveryStatus(cfg, found.log.args.message!)),
          },
        };
      }
      const status = result.destination?.status ?? "unknown";
      const msg = result.message as { from?: string; to?: string; amount?: string } | undefined;
      print(
        opts,
        `message ${id}\n  from ${msg?.from ?? "?"}\n  to   ${msg?.to ?? "?"}\n  amount ${msg?.amount ?? "0"}\n  status ${status}`,
        result,
      );
      if (status === "pending" || status === "unknown") throw new CliError("", EXIT.pending);
      if (status === "failed") throw new CliError("", EXIT.handlerFailed);
    });

  program
    .command("routes")
    .description("the routing table: from the config, or from an entry node (to bootstrap a node)")
    .option("--node <url>", "read it from this node's API")
    .option("--write <file>", "write a node config skeleton with this routing table")
    .action(async (o: { node?: string; write?: string }) => {
      const opts = program.opts<GlobalOptions>();
      let table: {
        home: string;
        chains: {
          code: string;
          name: string;
          chainId: number;
          rpc: string[];
          contracts: Record<string, string>;
          nodes: string[];
          confirmations: number;
          startBlock?: number;
        }[];
      };
      if (o.node) {
        let res: Response;
        try {
          res = await fetch(`${o.node.replace(/\/+$/, "")}/v1/routes`, {
            signal: AbortSignal.timeout(10_000),
          });
        } catch (e) {
          throw new CliError(`node ${o.node}: ${errorText(e)}`, EXIT.chain);
        }
        if (!res.ok) throw new CliError(`node ${o.node}: HTTP ${res.status}`, EXIT.chain);
        table = (await res.json()) as typeof table;
      } else {
        const cfg = config(opts);
        table = {
          home: cfg.home,
          chains: cfg.chainList.map((c) => ({
            code: c.codeHex,
            name: c.name,
            chainId: c.chainId,
            rpc: c.rpc,
            contracts: c.contracts,
            nodes: c.nodes,
            confirmations: c.confirmations,
            startBlock: c.startBlock,
          })),
        };
      }
      if (o.write) {
        const chains = Object.fromEntries(table.chains.map(({ code, ...rest }) => [code, rest]));
        writeFileSync(o.write, toYaml({ home: table.home, roles: ["indexer", "api"], chains }));
        progress(
          opts,
          `wrote ${o.write}: set home, roles and keys before running \`distpos node\``,
        );
      }
      const lines = table.chains.map(
        (c) =>
          `${c.code.padEnd(8)} ${c.name.padEnd(12)} chain id ${String(c.chainId).padEnd(8)} outbox ${c.contracts.outbox}  nodes ${c.nodes.join(", ") || "-"}`,
      );
      print(opts, [`home ${table.home}`, ...lines].join("\n"), table);
    });

  const stakingCommand = (
    name: string,
    description: string,
    run: (
      ctx: {
        cfg: LoadedConfig;
        chain: Chain;
        sender: TxSender;
        client: PublicClient;
        opts: GlobalOptions;
      },
      ...args: string[]
    ) => Promise<void>,
  ) =>
    program
      .command(name)
      .description(description)
      .option(
        "--key-env <NAME>",
        "env var holding the attester's key (default: keys.attester, else keys.user)",
      )
      .action(async (...args: unknown[]) => {
        const opts = program.opts<GlobalOptions>();
        const cfg = config(opts);
        const cmd = args[args.length - 1] as Command;
        const o = cmd.opts<{ keyEnv?: string }>();
        const chain = cfg.homeChain;
        const { sender, client } = senderFor(chain, keyFor(cfg, o.keyEnv, "attester"));
        await run({ cfg, chain, sender, client, opts }, ...(args.slice(0, -2) as string[]));
      });

  stakingCommand(
    "stake",
    "stake settlement tokens in the home StakingHub",
    async ({ cfg, chain, sender, client, opts }, amountText) => {
      const { token, decimals, symbol } = await tokenOf(chain, client, cfg.file);
      const amount = parseAmount(amountText!, decimals);
      await ensureAllowance(sender, client, token, chain.contracts.stakingHub, amount, opts);
      const r = await transact(
        sender,
        chain.contracts.stakingHub,
        encodeFunctionData({ abi: IStakingHubAbi, functionName: "stake", args: [amount] }),
        "stake",
      );
      const bonded = await client.readContract({
        address: chain.contracts.stakingHub,
        abi: IStakingHubAbi,
        functionName: "bonded",
        args: [sender.address],
      });
      print(
        opts,
        `staked ${amountText} ${symbol}; bonded ${formatUnits(bonded, decimals)}\ntx ${r.transactionHash}`,
        {
          attester: sender.address,
          staked: amount.toString(),
          bonded: bonded.toString(),
          tx: r.transactionHash,
        },
      );
    },
  ).argument("<amount>", "tokens");

  stakingCommand(
    "allocate",
    "set this attester's allocation to a peer chain (reported to its Inbox)",
    async ({ cfg, chain, sender, client, opts }, peerText, amountText) => {
      const peer = chainOf(cfg, peerText);
      const { decimals, symbol } = await tokenOf(chain, client, cfg.file);
      const amount = parseAmount(amountText!, decimals);
      const r = await transact(
        sender,
        chain.contracts.stakingHub,
        encodeFunctionData({
          abi: IStakingHubAbi,
          functionName: "allocate",
          args: [peer.code, amount],
        }),
        "allocate",
      );
      print(
        opts,
        `allocation to ${peer.codeHex} set to ${amountText} ${symbol}\ntx ${r.transactionHash}`,
        {
          attester: sender.address,
          peer: peer.codeHex,
          allocation: amount.toString(),
          tx: r.transactionHash,
        },
      );
    },
  )
    .argument("<peer>", "peer chain code")
    .argument("<amount>", "tokens");

  stakingCommand(
    "unstake",
    "start unbonding free stake (withdraw after the unbonding delay)",
    async ({ cfg, chain, sender, client, opts }, amountText) => {
      const { decimals, symbol } = await tokenOf(chain, client, cfg.file);
      const amount = parseAmount(amountText!, decimals);
      const r = await transact(
        sender,
        chain.contracts.stakingHub,
        encodeFunctionData({ abi: IStakingHubAbi, functionName: "requestUnstake", args: [amount] }),
        "requestUnstake",
      );
      print(opts, `unbonding ${amountText} ${symbol}\ntx ${r.transactionHash}`, {
        attester: sender.address,
        unbonding: amount.toString(),
        tx: r.transactionHash,
      });
    },
  ).argument("<amount>", "tokens");

  stakingCommand(
    "withdraw",
    "withdraw matured unbonding stake",
    async ({ chain, sender, opts }) => {
      const r = await transact(
        sender,
        chain.contracts.stakingHub,
        encodeFunctionData({
          abi: IStakingHubAbi,
          functionName: "withdraw",
          args: [sender.address],
        }),
        "withdraw",
      );
      print(opts, `withdrawn\ntx ${r.transactionHash}`, {
        attester: sender.address,
        tx: r.transactionHash,
      });
    },
  );

  program
    .command("fund")
    .description("post tokens into a peer's reserve (correspondent account) on the home chain")
    .argument("<peer>", "peer chain code")
    .argument("<amount>", "tokens")
    .option("--key-env <NAME>", "env var holding the funder's key (default: keys.user)")
    .action(async (peerText: string, amountText: string, o: { keyEnv?: string }) => {
      const opts = program.opts<GlobalOptions>();
      const cfg = config(opts);
      const chain = cfg.homeChain;
      const peer = chainOf(cfg, peerText);
      const { sender, client } = senderFor(chain, keyFor(cfg, o.keyEnv, "user"));
      const { token, decimals, symbol } = await tokenOf(chain, client, cfg.file);
      const amount = parseAmount(amountText, decimals);
      await ensureAllowance(sender, client, token, chain.contracts.bank, amount, opts);
      const r = await transact(
        sender,
        chain.contracts.bank,
        encodeFunctionData({
          abi: ICorrespondentBankAbi,
          functionName: "fund",
          args: [peer.code, amount],
        }),
        "fund",
      );
      const reserve = await client.readContract({
        address: chain.contracts.bank,
        abi: ICorrespondentBankAbi,
        functionName: "reserve",
        args: [peer.code],
      });
      print(
        opts,
        `funded ${amountText} ${symbol} into the reserve of ${peer.codeHex}; reserve now ${formatUnits(reserve, decimals)}\ntx ${r.transactionHash}`,
        {
          peer: peer.codeHex,
          funded: amount.toString(),
          reserve: reserve.toString(),
          tx: r.transactionHash,
        },
      );
    });

  program
    .command("dlq")
    .description("messages the relayer gave up on (dead letters): list them, or queue them again")
    .option("--destination <code>", "one destination (default: every destination relayed to)")
    .option("--retry", "queue them again, once the cause is fixed")
    .action(async (o: { destination?: string; retry?: boolean }) => {
      const opts = program.opts<GlobalOptions>();
      const cfg = config(opts);
      const destinations = o.destination
        ? [chainOf(cfg, o.destination).codeHex]
        : (cfg.relayer.destinations ?? cfg.chainList.map((c) => c.codeHex));
      const connection = new Redis(cfg.redis.url, {
        maxRetriesPerRequest: 1,
        connectTimeout: 5_000,
      });
      const queues = new RelayQueues(cfg, connection, silentLogger);
      const found: (RelayJobData & { error?: string; failedAt?: string; requeued?: boolean })[] =
        [];
      try {
        for (const destination of destinations) {
          const dead = new Queue<RelayJobData & { error?: string; failedAt?: string }>(
            deadLetterName(destination),
            { connection, prefix: bullPrefix(cfg) },
          );
          try {
            for (const job of await dead.getWaiting()) {
              const entry = { ...job.data, requeued: false };
              if (o.retry) {
                // The failed job keeps its id in the relay queue: remove it so the id can be queued again.
                await queues.queue(destination).remove(job.data.id.toLowerCase());
                const { error: _error, failedAt: _failedAt, ...data } = job.data;
                await queues.enqueue([data], data.source);
                await job.remove();
                entry.requeued = true;
              }
              found.push(entry);
            }
          } finally {
            await dead.close();
          }
        }
      } catch (e) {
        throw new CliError(`redis ${cfg.redis.url}: ${errorText(e)}`, EXIT.chain);
      } finally {
        await queues.close();
        connection.disconnect();
      }
      const lines = found.map(
        (d) =>
          `${d.id}  ${d.origin} -> ${d.destination}  nonce ${d.nonce}  ${d.requeued ? "queued again" : (d.error ?? "")}`,
      );
      print(opts, found.length ? lines.join("\n") : "no dead letters", found);
    });

  return program;
}

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof CliError) {
      if (e.message) process.stderr.write(`distpos: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`distpos: ${e.message}\n`);
      return EXIT.usage;
    }
    const revert = revertOf(e);
    if (revert) {
      process.stderr.write(`distpos: reverted: ${revert.name}\n`);
      return EXIT.chain;
    }
    process.stderr.write(`distpos: ${errorText(e)}\n`);
    return EXIT.error;
  }
}

/** Entry point of the `distpos` binary (relayer/cli/bin.js). */
export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
  // Exit even if a client left a socket open; what was written is flushed first.
  setTimeout(() => process.exit(code), 500).unref();
}
