/**
 * A DistPOS client: the routing table (every chain the application talks to, with its contracts)
 * and one viem client per chain. Actions take it as their first parameter, as viem's do.
 */
import {
  BaseError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  fallback,
  getAbiItem,
  http,
  HttpRequestError,
  type Abi,
  type Account,
  type Address,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { isTransient } from "../chain/errors.js";
import { formatChainCode, parseChainCode } from "../protocol/chainAddress.js";
import { allErrorsAbi } from "./abis.js";
import {
  ContractRevertError,
  DistposError,
  InvalidArgumentError,
  RpcError,
  UnknownChainError,
} from "./errors.js";
import { formatTokens, MESSAGE_DECIMALS } from "./units.js";

/** One chain of the routing table: the shape of a node config's `chains.<code>` entry. */
export interface DistposChain {
  /** DistPOS chain code (uint64), e.g. 0xa0a1n. */
  code: bigint;
  name: string;
  /** EVM chain id. */
  chainId: number;
  /** RPC endpoints, tried in order. */
  rpc: readonly string[];
  contracts: {
    outbox: Address;
    inbox: Address;
    bank: Address;
    stakingHub: Address;
    registry?: Address;
    /** The settlement token; asked from the bank when absent. */
    token?: Address;
  };
  /** Entry nodes of the chain's community (their HTTP APIs). */
  nodes?: readonly string[];
  /** The block the suite was deployed in (searches start there). */
  startBlock?: number;
  /** Blocks per eth_getLogs (default 2000). */
  maxLogRange?: number;
}

/**
 * The most a transaction may pay per gas, in wei: a figure, or a figure with what sets it (named in
 * FeeCapError, e.g. `chains.a0a1.maxFeePerGasGwei`).
 */
export type FeeCap = bigint | { readonly wei: bigint; readonly setting: string };

export interface DistposClient {
  readonly chains: readonly DistposChain[];
  /** The cap on the fee per gas of `chain`'s transactions (CreateDistposClientParameters). */
  feeCap(chain: DistposChain): { wei: bigint; setting?: string } | undefined;
  /** The chain with this code (bigint, or hex as in addresses); UnknownChainError otherwise. */
  chain(code: bigint | string): DistposChain;
  publicClient(chain: DistposChain): PublicClient;
  walletClient(chain: DistposChain, account: Account): WalletClient;
}

export interface CreateDistposClientParameters {
  chains: readonly DistposChain[];
  /** Per RPC request (default 10 s). */
  timeoutMs?: number;
  /** How often waits poll (default 1 s). */
  pollingIntervalMs?: number;
  /**
   * The most any transaction an action sends may pay per gas (wei), for every chain or per chain.
   * An RPC suggesting more is refused with FeeCapError before anything is signed. No cap when absent.
   */
  maxFeePerGas?: FeeCap | ((chain: DistposChain) => FeeCap | undefined);
}

/** What a chain's RPC errors are named by: its code, name and endpoints. */
export type ChainEndpoint = Pick<DistposChain, "code" | "name" | "rpc">;

/** The code of a chain as written in addresses (`a0a1`). */
export const codeOf = (chain: ChainEndpoint): string => formatChainCode(chain.code);

function transportOf(chain: DistposChain, timeoutMs: number): Transport {
  // A node's config on the bundle flow has the home chain's RPC only (docs/protocol.md 4.2): a
  // peer without one is fine until something has to read that chain.
  if (chain.rpc.length === 0)
    throw new InvalidArgumentError(
      `chains.${codeOf(chain)}.rpc`,
      "is empty: this needs an RPC of that chain (a home-only config reaches peers through their entry nodes)",
    );
  const transports = chain.rpc.map((url) =>
    http(url, { timeout: timeoutMs, retryCount: 1, retryDelay: 100 }),
  );
  return transports.length === 1
    ? transports[0]!
    : fallback(transports, { rank: false, retryCount: 1 });
}

function viemChainOf(chain: DistposChain) {
  return defineChain({
    id: chain.chainId,
    name: chain.name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [...chain.rpc] } },
  });
}

export function createDistposClient(params: CreateDistposClientParameters): DistposClient {
  const timeoutMs = params.timeoutMs ?? 10_000;
  const pollingInterval = params.pollingIntervalMs ?? 1_000;
  if (params.chains.length === 0) throw new InvalidArgumentError("chains", "is empty");
  const byCode = new Map(params.chains.map((c) => [c.code, c]));
  const publics = new Map<bigint, PublicClient>();
  const cap = params.maxFeePerGas;
  return {
    chains: params.chains,
    feeCap(chain) {
      const c = typeof cap === "function" ? cap(chain) : cap;
      if (c === undefined) return undefined;
      const found = typeof c === "bigint" ? { wei: c } : { wei: c.wei, setting: c.setting };
      if (found.wei <= 0n)
        throw new InvalidArgumentError(
          found.setting ?? "maxFeePerGas",
          `must be positive (chain ${codeOf(chain)})`,
        );
      return found;
    },
    chain(code) {
      let key: bigint;
      try {
        key = typeof code === "bigint" ? code : parseChainCode(code);
      } catch (e) {
        throw new InvalidArgumentError("chain", (e as Error).message);
      }
      const found = byCode.get(key);
      if (!found)
        throw new UnknownChainError(
          typeof code === "bigint" ? code.toString(16) : code,
          params.chains.map(codeOf),
        );
      return found;
    },
    publicClient(chain) {
      let client = publics.get(chain.code);
      if (!client) {
        client = createPublicClient({
          chain: viemChainOf(chain),
          transport: transportOf(chain, timeoutMs),
          pollingInterval,
          cacheTime: 0,
        }) as PublicClient;
        publics.set(chain.code, client);
      }
      return client;
    },
    walletClient(chain, account) {
      return createWalletClient({
        account,
        chain: viemChainOf(chain),
        transport: transportOf(chain, timeoutMs),
        pollingInterval,
        cacheTime: 0,
      });
    },
  };
}

/** A private key (0x + 64 hex) or a viem Account. */
export type AccountLike = Account | Hex;

export function toAccount(account: AccountLike, field = "account"): Account {
  if (typeof account !== "string") return account;
  if (!/^0x[0-9a-fA-F]{64}$/.test(account))
    throw new InvalidArgumentError(field, "not a 32-byte hex private key");
  return privateKeyToAccount(account);
}

/** How to write the amounts of a decoded error: the token's decimals and symbol. */
export interface Units {
  decimals: number;
  symbol: string;
}

/** Errors whose amounts are message amounts (18 decimals); the others' are in token units. */
const MESSAGE_AMOUNT_ERRORS = new Set([
  "InsufficientCredit",
  "InexactAmount",
  "InsufficientCoverage",
]);
const AMOUNT_ARG =
  /amount|balance|needed|allowance|credit|available|requested|free|valueAtRisk|capacity/i;

/** A revert's data (`0x` + selector + arguments) found anywhere in a viem error's chain. */
function revertData(e: unknown): Hex | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const found = e.walk((x) => {
    const data = (x as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return true;
    const raw = (x as { raw?: unknown }).raw;
    return typeof raw === "string" && /^0x[0-9a-fA-F]{8}/.test(raw);
  }) as { data?: unknown; raw?: unknown } | null;
  if (!found) return undefined;
  const data = typeof found.data === "string" ? found.data : found.raw;
  return data as Hex;
}

/** The decoded contract error of `e`, written out, or undefined when `e` is no revert. */
export function decodeRevert(
  e: unknown,
  units?: Units,
): { errorName: string; args: readonly unknown[]; detail: string; data?: Hex } | undefined {
  const data = revertData(e);
  if (data) {
    try {
      const decoded = decodeErrorResult({ abi: allErrorsAbi as Abi, data });
      const args = (decoded.args ?? []) as readonly unknown[];
      const item = decoded.abiItem as { inputs?: readonly { name?: string }[] };
      const parts = args.map((value, i) => {
        const name = item.inputs?.[i]?.name || `arg${i}`;
        if (
          typeof value === "bigint" &&
          AMOUNT_ARG.test(name) &&
          (units || MESSAGE_AMOUNT_ERRORS.has(decoded.errorName))
        ) {
          const decimals = MESSAGE_AMOUNT_ERRORS.has(decoded.errorName)
            ? MESSAGE_DECIMALS
            : units!.decimals;
          return `${name} ${formatTokens(value, decimals)}${units ? ` ${units.symbol}` : ""}`;
        }
        return `${name} ${String(value)}`;
      });
      return {
        errorName: decoded.errorName,
        args,
        detail: `${decoded.errorName}(${parts.join(", ")})`,
        data,
      };
    } catch {
      return {
        errorName: `unknown(${data.slice(0, 10)})`,
        args: [],
        detail: `error ${data.slice(0, 10)}, not one of the DistPOS or ERC20 errors (data ${data.length > 202 ? `${data.slice(0, 202)}…` : data})`,
        data,
      };
    }
  }
  if (e instanceof BaseError && /revert/i.test(e.shortMessage ?? e.message) && !isTransient(e)) {
    const reason = (e.shortMessage ?? e.message).split("\n")[0]!;
    return { errorName: "reverted", args: [], detail: reason };
  }
  return undefined;
}

/** The endpoint a viem transport error came from, as the routing table writes it (else all). */
function urlOf(chain: ChainEndpoint, e: unknown): string {
  const http =
    e instanceof BaseError
      ? (e.walk((x) => x instanceof HttpRequestError) as HttpRequestError | null)
      : null;
  const bare = (u: string) => u.replace(/\/+$/, "");
  if (!http?.url) return chain.rpc.join(", ");
  return chain.rpc.find((u) => bare(u) === bare(http.url)) ?? http.url;
}

function firstLine(e: unknown): string {
  if (e instanceof BaseError) {
    // The innermost details say most (e.g. the node's "Sender doesn't have enough funds").
    let details: string | undefined;
    e.walk((x) => {
      const d = (x as { details?: unknown }).details;
      if (typeof d === "string" && d.trim()) details = d;
      return false;
    });
    const text = details || e.shortMessage || e.message;
    return text.split("\n")[0]!.slice(0, 300);
  }
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 300);
}

/**
 * Runs `fn` against `chain` and turns its failure into the SDK's error: a revert into
 * ContractRevertError (`call` names what was called), a transport failure into RpcError naming the
 * chain and URL. DistposErrors pass through.
 */
export async function onChain<T>(
  chain: ChainEndpoint,
  call: string,
  fn: () => Promise<T>,
  units?: Units,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw chainError(chain, call, e, units);
  }
}

export function chainError(chain: ChainEndpoint, call: string, e: unknown, units?: Units): Error {
  if (e instanceof DistposError) return e;
  if (isTransient(e) || !(e instanceof BaseError)) {
    if (isTransient(e))
      return new RpcError(codeOf(chain), chain.name, urlOf(chain, e), firstLine(e), { cause: e });
    return e instanceof Error ? e : new Error(String(e));
  }
  const revert = decodeRevert(e, units);
  if (revert)
    return new ContractRevertError(
      codeOf(chain),
      call,
      revert.errorName,
      revert.args,
      revert.detail,
      revert.data,
      undefined,
      {
        cause: e,
      },
    );
  // Any other RPC-level refusal (bad params, unsupported method) is the endpoint's answer.
  return new RpcError(codeOf(chain), chain.name, urlOf(chain, e), firstLine(e), {
    cause: e,
  });
}

/** The ABI item of an error by name, for tests and tools that want the selector. */
export function errorItem(name: string) {
  return getAbiItem({ abi: allErrorsAbi as Abi, name });
}
