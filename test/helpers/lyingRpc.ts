/**
 * A JSON-RPC endpoint that lies: a small real HTTP proxy on a free 127.0.0.1 port that forwards
 * every call (single or batched) to a real node (a Hardhat chain served by deploy/rpcServer.ts, or
 * anvil) and lets a test rewrite chosen answers — fee figures (eth_gasPrice, eth_feeHistory,
 * eth_maxPriorityFeePerGas, the blocks' baseFeePerGas, a pending transaction's fees) or any call's
 * result (e.g. an Outbox read), or refuse chosen calls with an error. It records the raw transactions it forwards, so a test can check
 * what the node signed, whatever the chain did with it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { parseTransaction, type Hex, type TransactionSerialized } from "viem";

export interface JsonRpcCall {
  id: number | string | null;
  method: string;
  params?: unknown[];
}

/** Returns the answer to give instead of `result` (the upstream's), or `result` itself. */
export type Rewrite = (call: JsonRpcCall, result: unknown) => unknown;

/** Returns the JSON-RPC error to answer `call` with instead of forwarding it, or undefined. */
export type Refusal = (call: JsonRpcCall) => { code: number; message: string } | undefined;

export interface LyingRpc {
  url: string;
  /** Every raw transaction the proxy forwarded (eth_sendRawTransaction), decoded. */
  readonly signed: ReturnType<typeof parseTransaction>[];
  /** Replaces the answers the rewrite changes (one rewrite at a time; `undefined` tells the truth). */
  lie(rewrite: Rewrite | undefined): void;
  /** Answers the calls `refusal` picks with its error, unforwarded (`undefined`: none). */
  refuse(refusal: Refusal | undefined): void;
  close(): Promise<void>;
}

/** A rewrite that claims fees of `weiPerGas` (base fee, gas price, tips, pending transactions). */
export function feeLie(weiPerGas: bigint): Rewrite {
  const hex = `0x${weiPerGas.toString(16)}`;
  return (call, result) => {
    switch (call.method) {
      case "eth_gasPrice":
      case "eth_maxPriorityFeePerGas":
        return hex;
      case "eth_feeHistory": {
        const h = result as { baseFeePerGas?: string[]; reward?: string[][] };
        return {
          ...h,
          baseFeePerGas: h.baseFeePerGas?.map(() => hex),
          reward: h.reward?.map((r) => r.map(() => hex)),
        };
      }
      case "eth_getBlockByNumber":
      case "eth_getBlockByHash":
        return result && typeof result === "object" ? { ...result, baseFeePerGas: hex } : result;
      case "eth_getTransactionByHash":
        return result && typeof result === "object"
          ? { ...result, gasPrice: hex, maxFeePerGas: hex, maxPriorityFeePerGas: hex }
          : result;
      default:
        return result;
    }
  };
}

export async function startLyingRpc(upstream: string): Promise<LyingRpc> {
  let rewrite: Rewrite | undefined;
  let refusal: Refusal | undefined;
  const signed: ReturnType<typeof parseTransaction>[] = [];
  const answer = async (calls: JsonRpcCall[]): Promise<Record<string, unknown>[]> => {
    const refused = new Map(calls.map((c) => [c, refusal?.(c)] as const));
    const forwarded = calls.filter((c) => refused.get(c) === undefined);
    const answers = forwarded.length ? await forward(forwarded) : [];
    return calls.map((c) => {
      const error = refused.get(c);
      return error
        ? { jsonrpc: "2.0", id: c.id, error }
        : (answers.find((a) => a.id === c.id) ?? { jsonrpc: "2.0", id: c.id, result: null });
    });
  };
  const forward = async (calls: JsonRpcCall[]): Promise<Record<string, unknown>[]> => {
    for (const c of calls)
      if (c.method === "eth_sendRawTransaction")
        signed.push(parseTransaction((c.params as [Hex])[0] as TransactionSerialized));
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls.map((c) => ({ jsonrpc: "2.0", ...c }))),
    });
    const answers = (await res.json()) as Record<string, unknown>[];
    return answers.map((a) => {
      const call = calls.find((c) => c.id === a.id);
      return call && rewrite && "result" in a ? { ...a, result: rewrite(call, a.result) } : a;
    });
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        let body: unknown;
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
            JsonRpcCall | JsonRpcCall[];
          body = Array.isArray(parsed) ? await answer(parsed) : (await answer([parsed]))[0];
        } catch (e) {
          body = { jsonrpc: "2.0", id: null, error: { code: -32603, message: String(e) } };
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signed,
    lie(r) {
      rewrite = r;
    },
    refuse(r) {
      refusal = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
