/**
 * anvil (Foundry's EVM client, from the npm package `@foundry-rs/anvil-linux-amd64`) as a process
 * on a free 127.0.0.1 port, stopped by its PID: used by the anvil tests and benchmark
 * (test/anvil/anvil.ts) and by `npm run demo -- --client anvil` (deploy/devnet.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { freePort } from "./nodeProcess.js";

const require = createRequire(import.meta.url);
export const ANVIL_BIN = join(
  dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")),
  "bin/anvil",
);

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  pid: number;
  /** One JSON-RPC call; throws with anvil's own error message and data. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  blockNumber(): Promise<number>;
  /** Replaces the newest `depth` blocks with as many empty ones (their transactions are lost). */
  reorg(depth: number): Promise<void>;
  /** Mine a block every `seconds` (0: stop mining). */
  setIntervalMining(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  chainId: number;
  /** Seconds between blocks (`--block-time`); default 1; 0: a block per transaction. */
  blockTime?: number;
  /** `--fork-url`: a fork of that chain (same state and history up to its tip). */
  forkUrl?: string;
  /** `--slots-in-an-epoch`: anvil's `safe` block is this far below the tip, `finalized` twice. */
  slotsInAnEpoch?: number;
  /** `--mixed-mining`: every transaction mined at once, and a block every `blockTime` besides. */
  mixedMining?: boolean;
}

/** Starts anvil on a free 127.0.0.1 port and waits until it answers. */
export async function startAnvil(options: AnvilOptions): Promise<Anvil> {
  const port = await freePort();
  const blockTime = options.blockTime ?? 1;
  const proc: ChildProcess = spawn(
    ANVIL_BIN,
    [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--chain-id",
      String(options.chainId),
      ...(blockTime ? ["--block-time", String(blockTime)] : []),
      ...(options.forkUrl ? ["--fork-url", options.forkUrl] : []),
      "--hardfork",
      "cancun",
      ...(options.slotsInAnEpoch ? ["--slots-in-an-epoch", String(options.slotsInAnEpoch)] : []),
      ...(options.mixedMining ? ["--mixed-mining"] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Not in nodeProcess's `killAll` set (tests call that after each case): the network outlives
  // its nodes; `stop()` ends it by its PID.
  let output = "";
  proc.stdout!.on("data", (c: Buffer) => (output = (output + c.toString("utf8")).slice(-8_000)));
  proc.stderr!.on("data", (c: Buffer) => (output = (output + c.toString("utf8")).slice(-8_000)));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  let interval = blockTime;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string; data?: unknown } };
    if (body.error)
      throw new Error(`anvil ${method}: ${body.error.message} ${JSON.stringify(body.error.data)}`);
    return body.result as T;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc("eth_chainId");
      break;
    } catch (e) {
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`anvil did not start: ${String(e)}\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    chainId: options.chainId,
    pid: proc.pid!,
    rpc,
    blockNumber: async () => Number(await rpc<string>("eth_blockNumber")),
    // Interval mining pauses around the reorg: in two of five runs before it did, nothing moved
    // for 45 s after a reorg made while blocks kept coming (cause not pinned down: anvil, or the
    // node); the pause takes anvil's miner out of the picture.
    reorg: async (depth) => {
      if (interval) await rpc("evm_setIntervalMining", [0]);
      try {
        await rpc("anvil_reorg", [depth, []]);
      } finally {
        if (interval) await rpc("evm_setIntervalMining", [interval]);
      }
    },
    setIntervalMining: async (seconds) => {
      await rpc("evm_setIntervalMining", [seconds]);
      interval = seconds;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid!, "SIGKILL");
      await exited;
    },
  };
}
