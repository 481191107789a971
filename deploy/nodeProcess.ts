/**
 * `distpos` nodes and CLI commands as child processes, run exactly as an operator runs them
 * (relayer/cli/bin.js on this Node): the devnet's nodes and the integration tests' use them. Every
 * process is stopped by its own PID, never by name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../relayer/cli/bin.js", import.meta.url));

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

/** Counts `proc` among the processes `killAll` stops, until it exits. */
export function trackProcess(proc: ChildProcess): void {
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
}

/**
 * Starts `distpos node -c <config>` with `env` added to this process's environment. Its output
 * goes to `logFile` when given, else to `<name>.log` in $DISTPOS_TEST_LOGS when that is set.
 */
export function startNodeProcess(
  name: string,
  configFile: string,
  env: Record<string, string>,
  logFile?: string,
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
  const logDir = process.env.DISTPOS_TEST_LOGS;
  const logPath = logFile ?? (logDir ? join(logDir, `${name}.log`) : undefined);
  let log: ReturnType<typeof createWriteStream> | undefined;
  if (logPath) {
    mkdirSync(dirname(logPath), { recursive: true });
    log = createWriteStream(logPath, { flags: "a" });
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
