/**
 * Tools of the node's fault-injection suite: a private redis-server that can be killed and brought
 * back empty or with its data, Prometheus scrapes of a node, a lock that lets the load generator
 * and the reorg take turns on the origin chain, and mining switches.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { freePort, trackProcess } from "../../deploy/nodeProcess.js";
import type { TestChain } from "../helpers/suite.js";

/**
 * A private `redis-server` on a free port, never the shared one on 6379, stopped by its PID.
 * It writes an append-only file synced on every write, so `restart({ keepData: true })` brings it
 * back with everything it held at the kill; `restart({ keepData: false })` brings it back empty.
 */
export interface FaultRedis {
  port: number;
  url: string;
  readonly pid: number;
  /** SIGKILL by PID (no shutdown save), waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, from its append-only file or empty. */
  start(options: { keepData: boolean }): Promise<void>;
  /** Kills it and removes its data directory. */
  close(): Promise<void>;
}

export async function startFaultRedis(): Promise<FaultRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "distpos-faults-redis-"));
  let proc: ChildProcess | undefined;
  const launch = async () => {
    const p = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    proc = p;
    trackProcess(p);
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start: ${out.slice(-1000)}`)),
        15_000,
      );
      p.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out.slice(-1000)}`));
      });
    });
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    process.kill(p.pid!, "SIGKILL");
    await done;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc!.pid!;
    },
    kill,
    async start({ keepData }) {
      await kill();
      if (!keepData) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
      }
      await launch();
    },
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One Prometheus sample: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads a node's GET /metrics (Prometheus text format). */
export async function scrape(apiUrl: string): Promise<Sample[]> {
  const res = await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${apiUrl}/metrics: ${res.status}`);
  return parseMetrics(await res.text());
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A mutual-exclusion lock: the load generator and the reorg take turns on the origin chain. */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Automine on or off, and the interval at which empty blocks are mined (0 = none). */
export async function setMining(chain: TestChain, auto: boolean, intervalMs: number) {
  await chain.connection.provider.request({ method: "evm_setAutomine", params: [auto] });
  await chain.connection.provider.request({
    method: "evm_setIntervalMining",
    params: [intervalMs],
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
