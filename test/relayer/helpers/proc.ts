/**
 * Child processes for integration tests: `distpos` nodes and CLI commands run exactly as an
 * operator runs them (relayer/cli/bin.js on this Node), and a private `redis-server` a test may
 * kill and restart. Every process is stopped by its own PID, never by name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../relayer/cli/bin.js", import.meta.url));
const LOG_DIR = process.env.DISTPOS_TEST_LOGS;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface NodeProcess {
  proc: ChildProcess;
  pid: number;
  /** Every JSON log line so far. */
  lines: Record<string, unknown>[];
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Starts `distpos node -c <config>` with `env` added to this process's environment. */
export function startNodeProcess(
  name: string,
  configFile: string,
  env: Record<string, string>,
): NodeProcess {
  const proc = spawn(process.execPath, [BIN, "-c", configFile, "node"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let log: ReturnType<typeof createWriteStream> | undefined;
  if (LOG_DIR) {
    mkdirSync(LOG_DIR, { recursive: true });
    log = createWriteStream(join(LOG_DIR, `${name}.log`), { flags: "a" });
  }
  let buffer = "";
  proc.stdout!.on("data", (chunk: Buffer) => {
    log?.write(chunk);
    buffer += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.match(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      } catch {
        // not a log line
      }
    }
  });
  let stderr = "";
  proc.stderr!.on("data", (chunk: Buffer) => {
    log?.write(chunk);
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.on("exit", (code) => {
      running.delete(proc);
      log?.end();
      resolve(code);
    }),
  );
  return {
    proc,
    pid: proc.pid!,
    lines,
    exited,
    waitForLine(match, timeoutMs = 60_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `node ${name}: no matching log line after ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((code) =>
          reject(new Error(`node ${name} exited with ${code}; stderr: ${stderr.slice(-2000)}`)),
        );
      });
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid!, signal);
      await exited;
    },
  };
}

/** Stops every process a test left running (by PID). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once("exit", () => resolve());
          process.kill(p.pid!, "SIGKILL");
        }),
    ),
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one `distpos` command to completion. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(proc);
    let stdout = "";
    let stderr = "";
    proc.stdout!.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    proc.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => {
      process.kill(proc.pid!, "SIGKILL");
      reject(new Error(`distpos ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

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
    running.add(proc);
    proc.on("exit", () => running.delete(proc));
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
