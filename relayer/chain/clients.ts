import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  fallback,
  http,
  parseGwei,
  type Account,
  type Chain as ViemChain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

import type { ChainEntry } from "../config/load.js";

/**
 * What the operator allows a key to do on a chain, carried by the chain's wallet client so that
 * every TxSender built over it (relayer, attester, watcher) obeys it.
 */
export interface SenderPolicy {
  /** The most per gas any signed transaction may pay (maxFeePerGas or gasPrice), in wei. */
  maxFeePerGas: bigint;
  /** The config field that sets it, for log lines (`chains.a0a1.maxFeePerGasGwei`). */
  maxFeeField: string;
  /** How long a transaction may stay pending before it is replaced and the key counts as stuck. */
  receiptTimeoutMs: number;
}

/**
 * The chain's maximum fee per gas in wei (the config gives gwei, possibly with decimals); a chain
 * built without the config's defaults gets the default cap (500 gwei).
 */
export function maxFeePerGasWei(chain: Partial<Pick<ChainEntry, "maxFeePerGasGwei">>): bigint {
  return parseGwei((chain.maxFeePerGasGwei ?? 500).toFixed(9));
}

/** The sender policy a wallet client built by walletClientFor carries, if any. */
export function senderPolicyOf(wallet: WalletClient): SenderPolicy | undefined {
  return (wallet.chain?.custom as { distpos?: SenderPolicy } | undefined)?.distpos;
}

/** viem's description of a configured chain (with the operator's sender policy). */
export function viemChain(chain: ChainEntry): ViemChain {
  const policy: SenderPolicy = {
    maxFeePerGas: maxFeePerGasWei(chain),
    maxFeeField: `chains.${chain.codeHex}.maxFeePerGasGwei`,
    receiptTimeoutMs: (chain as Partial<ChainEntry>).txTimeoutMs ?? 60_000,
  };
  return defineChain({
    id: chain.chainId,
    name: chain.name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: chain.rpc } },
    custom: { distpos: policy },
  });
}

/**
 * A transport over every RPC URL of the chain: each call goes to the first URL that answers, so a
 * dead endpoint costs one failed attempt, not an outage. When all are down the call throws and the
 * caller's loop retries on its next round (nothing is lost: cursors only move after success).
 * With `batch`, calls made in the same turn of the event loop travel as one JSON-RPC batch of at
 * most `rpcBatchSize` (e.g. the relayer's per-message Inbox reads under load): one HTTP request
 * instead of hundreds.
 */
export function chainTransport(chain: ChainEntry, timeoutMs = 10_000, batch = false): Transport {
  // A peer of a home-only node (relayer.handover: bundles) may have no RPC: every read of it
  // fails at once, naming why, and nothing that relays needs one.
  if (chain.rpc.length === 0)
    return custom({
      request: async () => {
        throw new Error(
          `chain ${chain.codeHex} (${chain.name}) has no RPC in this node's config (only its home chain needs one)`,
        );
      },
    });
  const batchSize = batch ? chain.rpcBatchSize : 0;
  const transports = chain.rpc.map((url) =>
    http(url, {
      timeout: timeoutMs,
      retryCount: 1,
      retryDelay: 100,
      batch: batchSize > 1 ? { batchSize, wait: 0 } : false,
    }),
  );
  return transports.length === 1
    ? transports[0]!
    : fallback(transports, { rank: false, retryCount: 1, retryDelay: 100 });
}

export function publicClientFor(chain: ChainEntry): PublicClient {
  return createPublicClient({
    chain: viemChain(chain),
    transport: chainTransport(chain, 10_000, true),
    pollingInterval: Math.min(chain.pollIntervalMs, 1_000),
    batch: { multicall: false },
    cacheTime: 0,
  }) as PublicClient;
}

export function walletClientFor(chain: ChainEntry, account: Account): WalletClient {
  return createWalletClient({
    account,
    chain: viemChain(chain),
    transport: chainTransport(chain),
    pollingInterval: Math.min(chain.pollIntervalMs, 1_000),
    cacheTime: 0,
  });
}
