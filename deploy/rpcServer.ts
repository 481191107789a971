/**
 * Serves an in-process Hardhat chain over HTTP JSON-RPC on a free 127.0.0.1 port, so the node (in
 * this process or a child process) talks to it exactly as to a real endpoint, and lets a test take
 * the endpoint down and bring it back (an RPC outage) without touching the chain, or make one
 * method answer with errors for a while (a fault injected in tests).
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
  /**
   * Answers `method` with a JSON-RPC error for the next `fault.times` calls and/or for
   * `fault.forMs` milliseconds (whichever ends first; neither: until `clear()`). A new fault on the
   * same method replaces the previous one.
   */
  failMethod(method: string, fault?: MethodFault): InjectedFault;
  close(): Promise<void>;
}

/** How a method misbehaves (see `RpcEndpoint.failMethod`). */
export interface MethodFault {
  times?: number;
  forMs?: number;
  /**
   * Run the call on the chain first and answer with the error anyway: the answer is lost, not the
   * request (a sent transaction may be mined although the sender saw an error). Default false.
   */
  afterForwarding?: boolean;
  /** The error answered; default `{code: -32000, message: "fault injected: <method> failed"}`. */
  error?: { code: number; message: string };
}

export interface InjectedFault {
  /** Calls answered with the error so far. */
  readonly failed: number;
  readonly active: boolean;
  /** Ends the fault now. */
  clear(): void;
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
  const faults = new Map<
    string,
    { fault: MethodFault; until: number; left: number; failed: number }
  >();
  /** The fault that answers this call of `method`, if one is active (and counts the call). */
  const faultFor = (method: string) => {
    const f = faults.get(method);
    if (!f) return undefined;
    if (f.left <= 0 || Date.now() >= f.until) {
      faults.delete(method);
      return undefined;
    }
    f.left--;
    f.failed++;
    return f.fault;
  };
  const handle = async (req: JsonRpcRequest) => {
    try {
      const fault = faultFor(req.method);
      if (fault?.afterForwarding)
        await provider.request({ method: req.method, params: req.params ?? [] }).catch(() => {});
      if (fault) {
        const error = fault.error ?? {
          code: -32000,
          message: `fault injected: ${req.method} failed`,
        };
        return { jsonrpc: "2.0", id: req.id, error };
      }
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
    failMethod(method, fault = {}) {
      const state = {
        fault,
        until: fault.forMs === undefined ? Infinity : Date.now() + fault.forMs,
        left: fault.times ?? Infinity,
        failed: 0,
      };
      faults.set(method, state);
      return {
        get failed() {
          return state.failed;
        },
        get active() {
          return faults.get(method) === state && state.left > 0 && Date.now() < state.until;
        },
        clear() {
          if (faults.get(method) === state) faults.delete(method);
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
