/**
 * A private `redis-server` a test may kill and restart, stopped by its PID, never the shared one
 * on 6379. The node and CLI processes live in deploy/nodeProcess.ts (the devnet uses them too).
 */
import { spawn, type ChildProcess } from "node:child_process";

import { freePort, trackProcess } from "../../../deploy/nodeProcess.js";

export { freePort, killAll, runCli, startNodeProcess } from "../../../deploy/nodeProcess.js";
export type { CliResult, NodeProcess } from "../../../deploy/nodeProcess.js";

export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
}

/** A private redis-server on a free port, without persistence, stopped by its PID. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    trackProcess(proc);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("redis-server did not start")), 10_000);
      proc.stdout!.on("data", (c: Buffer) => {
        if (c.toString().includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };
  await launch();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc.pid!;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      process.kill(proc.pid!, "SIGKILL");
      await done;
    },
    async restart() {
      await server.stop();
      await launch();
    },
  };
  return server;
}
