/**
 * What every command shares: the global options, output (human or JSON, progress on stderr), the
 * config and an SDK client over its routing table, keys, and the exit codes with the mapping of
 * every error to one of them.
 */
import { Redis } from "ioredis";
import { parseGwei, type Hex } from "viem";

import { maxFeePerGasWei } from "../chain/clients.js";
import { parseChainCode } from "../protocol/chainAddress.js";
import {
  ConfigError,
  loadConfig,
  readKey,
  type Chain,
  type ChainEntry,
  type LoadedConfig,
} from "../config/load.js";
import {
  ContractRevertError,
  createDistposClient,
  DeliveryTimeoutError,
  DistposError,
  FeeCapError,
  InsufficientBalanceError,
  InsufficientCreditError,
  InvalidArgumentError,
  NodeApiError,
  NotFoundError,
  NotMintableError,
  RouteError,
  RpcError,
  UnknownChainError,
  type DistposClient,
} from "../sdk/index.js";
import { withPeerContracts } from "./peerContracts.js";

/** Exit codes (relayer/README.md, "Exit codes"): scripts can rely on them. */
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

/** A failure with the exit code it maps to; an empty message prints nothing more. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  config: string;
  json?: boolean;
  /** `--max-fee-per-gas-gwei`: overrides every chain's `maxFeePerGasGwei` for this command. */
  maxFeePerGasGwei?: string;
}

/** The exit code of an error any command may throw. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.code;
  if (
    e instanceof ConfigError ||
    e instanceof InvalidArgumentError ||
    e instanceof UnknownChainError ||
    e instanceof NotMintableError
  )
    return EXIT.usage;
  if (e instanceof DeliveryTimeoutError) return EXIT.timeout;
  if (e instanceof NotFoundError) return EXIT.notFound;
  if (
    e instanceof RpcError ||
    e instanceof NodeApiError ||
    e instanceof ContractRevertError ||
    e instanceof FeeCapError ||
    e instanceof InsufficientBalanceError ||
    e instanceof InsufficientCreditError ||
    e instanceof RouteError
  )
    return EXIT.chain;
  if (e instanceof DistposError) return EXIT.chain;
  return EXIT.error;
}

export class Context {
  private cfg?: LoadedConfig;
  private sdk?: DistposClient;

  constructor(readonly opts: GlobalOptions) {}

  get json(): boolean {
    return !!this.opts.json;
  }

  /** The config file (`--config`), loaded once. */
  config(): LoadedConfig {
    return (this.cfg ??= loadConfig(this.opts.config));
  }

  /**
   * An SDK client over the config's routing table. Every transaction it sends is refused
   * (FeeCapError, exit 3) when the RPC asks more per gas than `--max-fee-per-gas-gwei`, else the
   * chain's `chains.<code>.maxFeePerGasGwei` (default 500), the cap the node's own sender obeys.
   */
  async client(): Promise<DistposClient> {
    if (this.sdk) return this.sdk;
    const flag = this.flagCap();
    const cfg = this.config();
    const chains = await Promise.all(cfg.chainList.map((c) => withPeerContracts(cfg, c)));
    return (this.sdk = createDistposClient({
      chains: chains.filter((c): c is Chain => c !== undefined),
      maxFeePerGas: (chain) => {
        if (flag) return flag;
        const c = cfg.chain(chain.code);
        return { wei: maxFeePerGasWei(c), setting: `chains.${c.codeHex}.maxFeePerGasGwei` };
      },
    }));
  }

  private flagCap(): { wei: bigint; setting: string } | undefined {
    const text = this.opts.maxFeePerGasGwei;
    if (text === undefined) return undefined;
    const setting = `--max-fee-per-gas-gwei ${text}`;
    let wei: bigint | undefined;
    try {
      wei = /^\d+(\.\d{1,9})?$/.test(text.trim()) ? parseGwei(text.trim()) : undefined;
    } catch {
      wei = undefined;
    }
    if (!wei) throw new CliError(`${setting}: not a positive number of gwei`, EXIT.usage);
    return { wei, setting };
  }

  /**
   * `--chain <code>` (the flag named as typed), else the config's home: a chain the command acts on
   * through the SDK client, which holds a peer's contracts from the config or, absent there, from
   * the home RouteRegistry (peerContracts.ts).
   */
  async chain(code: string | undefined, flag = "--chain"): Promise<ChainEntry> {
    const cfg = this.config();
    if (code === undefined) return cfg.homeChain;
    const entry = this.chainEntry(code, flag);
    if (entry.contracts || (await this.client()).chains.some((c) => c.code === entry.code))
      return entry;
    throw new CliError(
      `${flag} ${code}: chains.${entry.codeHex}.contracts is not set in ${cfg.file} and the home RouteRegistry has no active route to ${entry.codeHex}: enroll the route (distpos:connect) or give the chain's contracts`,
      EXIT.usage,
    );
  }

  /** Chain `code` of the routing table, for a command that needs only its code (e.g. a peer's). */
  chainEntry(code: string, flag: string): ChainEntry {
    const cfg = this.config();
    try {
      const entry = cfg.chainList.find((c) => c.code === parseChainCode(code));
      if (!entry)
        throw new UnknownChainError(
          code,
          cfg.chainList.map((c) => c.codeHex),
        );
      return entry;
    } catch (e) {
      throw new CliError(`${flag} ${code}: ${(e as Error).message}`, EXIT.usage);
    }
  }

  /** The key from `--key-env NAME`, else from the config's `keys.<role>` (attester: else user). */
  key(keyEnv: string | undefined, role: "user" | "attester"): Hex {
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
    const cfg = this.config();
    return readKey(cfg, role === "attester" && cfg.keys.attester ? "attester" : "user");
  }

  /** Writes the result: `human` for people, `json` (one object) with --json. */
  print(human: string, json: unknown): void {
    if (this.json)
      process.stdout.write(
        JSON.stringify(json, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n",
      );
    else process.stdout.write(human + "\n");
  }

  private live = false;

  /** Progress for people, on stderr; nothing with --json. */
  progress(line: string): void {
    if (this.json) return;
    this.endLine();
    process.stderr.write(line + "\n");
  }

  /**
   * One line that updates in place while something is awaited (a terminal rewrites it; elsewhere
   * only a changed text is written, without the seconds counter, so logs stay short).
   */
  status(text: string, seconds?: number): void {
    if (this.json) return;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r\x1b[K${text}${seconds === undefined ? "" : ` ${seconds}s`}`);
      this.live = true;
    } else if (text !== this.lastStatus) {
      process.stderr.write(text + "\n");
    }
    this.lastStatus = text;
  }

  private lastStatus?: string;

  /** Ends an updating line (before other output). */
  endLine(): void {
    if (this.live) process.stderr.write("\n");
    this.live = false;
  }

  /**
   * A connection to the config's Redis, checked with a PING within `timeoutMs`: an unreachable
   * Redis fails at once, naming `redis.url` and the file, instead of retrying forever.
   */
  async redis(timeoutMs = 3_000): Promise<Redis> {
    const cfg = this.config();
    const connection = new Redis(cfg.redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: timeoutMs,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    connection.on("error", () => undefined);
    try {
      await Promise.race([
        connection.connect().then(() => connection.ping()),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          ).unref(),
        ),
      ]);
    } catch (e) {
      connection.disconnect();
      throw new CliError(
        `redis.url ${cfg.redis.url} (${cfg.file}): Redis is unreachable: ${(e as Error).message.split("\n")[0]}`,
        EXIT.chain,
      );
    }
    // From here on, a lost connection fails requests instead of queueing them.
    connection.options.retryStrategy = (times: number) => (times > 3 ? null : 200);
    return connection;
  }
}

/** `--timeout <seconds>`: a positive number, or a usage error naming the flag. */
export function parseSeconds(text: string, flag = "--timeout"): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0)
    throw new CliError(
      `${flag} must be a positive number of seconds, got ${JSON.stringify(text)}`,
      EXIT.usage,
    );
  return Number(text);
}
