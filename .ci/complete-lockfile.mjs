#!/usr/bin/env node
// The npm registry mirror on our machines lacks the other platforms' builds of optional native
// packages (edr, msgpackr-extract), so `npm install` writes a lockfile without them and `npm ci`
// then refuses it ("Missing: … from lock file"). This adds a placeholder entry for each missing
// optional platform package, with the os/cpu/libc fields that make npm skip it on every platform
// but its own. Run it after every `npm install` that changes the lockfile (`npm run lock:complete`).
import { readFileSync, writeFileSync } from "node:fs";

const LOCKFILE = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCKFILE, "utf8"));
const packages = lock.packages;

/** Reads os/cpu/libc from a platform package's name, e.g. `edr-linux-arm64-musl`. */
function platformOf(name) {
  const os = ["darwin", "linux", "win32", "freebsd", "android"].find((o) => name.includes(`-${o}`));
  const cpu = ["arm64", "x64", "arm", "ia32"].find((c) => new RegExp(`-${c}(-|$)`).test(name));
  if (!os || !cpu) return undefined;
  const libc = os === "linux" ? (name.endsWith("-musl") ? "musl" : "glibc") : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const parentDir = path === "" ? "" : `${path}/`;
    const candidates = [`${parentDir}node_modules/${dep}`, `node_modules/${dep}`];
    if (candidates.some((p) => packages[p])) continue;
    const platform = platformOf(dep);
    if (!platform) {
      console.error(
        `not a platform package, left alone: ${dep}@${version} (needed by ${path || "root"})`,
      );
      continue;
    }
    packages[`node_modules/${dep}`] = {
      version,
      cpu: [platform.cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      optional: true,
      os: [platform.os],
    };
    added += 1;
  }
}

const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(LOCKFILE, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${added} platform entr${added === 1 ? "y" : "ies"} added`);
