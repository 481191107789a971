/** What Linux says about a process: memory high-water mark, resident set, CPU time. */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcSample {
  /** Peak resident set (VmHWM), MiB. */
  hwmMb: number;
  /** Current resident set (VmRSS), MiB. */
  rssMb: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** Reads /proc/<pid>/status and /proc/<pid>/stat; undefined once the process is gone. */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? Number(m[1]) : NaN;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return {
      hwmMb: kb("VmHWM") / 1024,
      rssMb: kb("VmRSS") / 1024,
      cpuSeconds: ticks / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds this machine spent in total (all processes, all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((s, x) => s + x, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

export const mb = (x: number) => Math.round(x * 10) / 10;

/** CPU seconds per thread name of a process (/proc/<pid>/task/<tid>/stat), summed by name. */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const s = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
        out[name] = (out[name] ?? 0) + s;
      } catch {
        // thread ended
      }
    }
  } catch {
    // process ended
  }
  return out;
}

/** A node's own view of its memory (its Prometheus process metrics), MiB. */
export interface NodeMemory {
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory outside the JS heap held by JS objects: Buffers, typed arrays (the Merkle tree). */
  externalMb: number;
}

export async function nodeMemory(apiUrl: string): Promise<NodeMemory | undefined> {
  try {
    const text = await (
      await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
    ).text();
    const gauge = (name: string) => {
      const m = new RegExp(`^distpos_${name} ([0-9.e+]+)$`, "m").exec(text);
      return m ? mb(Number(m[1]) / 2 ** 20) : Number.NaN;
    };
    return {
      heapUsedMb: gauge("nodejs_heap_size_used_bytes"),
      heapTotalMb: gauge("nodejs_heap_size_total_bytes"),
      externalMb: gauge("nodejs_external_memory_bytes"),
    };
  } catch {
    return undefined;
  }
}
