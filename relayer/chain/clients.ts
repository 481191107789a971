import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  fallback,
  http,
  type Account,
  type Chain as ViemChain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

import type { Chain } from "../config/load.js";

/** viem's description of a configured chain. */
export function viemChain(chain: Chain): ViemChain {
  return defineChain({
    id: chain.chainId,
    name: chain.name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: chain.rpc } },
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
export function chainTransport(chain: Chain, timeoutMs = 10_000, batch = false): Transport {
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

export function publicClientFor(chain: Chain): PublicClient {
  return createPublicClient({
    chain: viemChain(chain),
    transport: chainTransport(chain, 10_000, true),
    pollingInterval: Math.min(chain.pollIntervalMs, 1_000),
    batch: { multicall: false },
    cacheTime: 0,
  }) as PublicClient;
}

export function walletClientFor(chain: Chain, account: Account): WalletClient {
  return createWalletClient({
    account,
    chain: viemChain(chain),
    transport: chainTransport(chain),
    pollingInterval: Math.min(chain.pollIntervalMs, 1_000),
    cacheTime: 0,
  });
}
