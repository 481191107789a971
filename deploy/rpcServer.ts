/**
 * Serves an in-process Hardhat chain over HTTP JSON-RPC on a free 127.0.0.1 port, so the node (in
 * this process or a child process) talks to it exactly as to a real endpoint, and lets a test take
 * the endpoint down and bring it back (an RPC outage) without touching the chain.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { EthereumProvider } from "hardhat/types/providers";

export interface RpcEndpoint {
  url: string;
  /** Refuses every request (connections are reset) until `up()`. */
  down(): void;
  up(): void;
  readonly requests: number;
  close(): Promise<void>;
}

interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[];
}

export async function serveChain(provider: EthereumProvider, port = 0): Promise<RpcEndpoint> {
  let isDown = false;
  let requests = 0;
  const handle = async (req: JsonRpcRequest) => {
    try {
      const result = await provider.request({ method: req.method, params: req.params ?? [] });
      return { jsonrpc: "2.0", id: req.id, result };
    } catch (e) {
      const err = e as { code?: number; message?: string; data?: unknown };
      return {
        jsonrpc: "2.0",
        id: req.id,
        error: {
          code: typeof err.code === "number" ? err.code : -32603,
          message: err.message ?? String(e),
          data: err.data,
        },
      };
    }
  };
  const server: Server = createServer((req, res) => {
    if (isDown) {
      req.socket.destroy();
      return;
    }
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        let body: unknown;
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
            JsonRpcRequest | JsonRpcRequest[];
          body = Array.isArray(parsed)
            ? await Promise.all(parsed.map(handle))
            : await handle(parsed);
        } catch (e) {
          body = { jsonrpc: "2.0", id: null, error: { code: -32700, message: String(e) } };
        }
        const text = JSON.stringify(body, (_k, v: unknown) =>
          typeof v === "bigint" ? `0x${v.toString(16)}` : v,
        );
        res.writeHead(200, { "content-type": "application/json" });
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    down() {
      isDown = true;
      server.closeAllConnections();
    },
    up() {
      isDown = false;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
