#!/usr/bin/env node
// Runs `hardhat test mocha [files…]` and makes sure the run ends once mocha has reported.
// Hardhat waits for the event loop to drain after the tests; a handle left open by a test (seen
// intermittently in the full suite, never with one file alone) would otherwise hang CI. After the
// summary the process gets GRACE_MS to exit by itself; if it does not, it is stopped and this exits
// with the code the summary implies (1 if anything failed), printing that it had to.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const GRACE_MS = 60_000;
const require = createRequire(import.meta.url);
const hardhatCli = join(dirname(require.resolve("hardhat/package.json")), "dist/src/cli.js");

const child = spawn(process.execPath, [hardhatCli, "test", "mocha", ...process.argv.slice(2)], {
  stdio: ["inherit", "pipe", "inherit"],
});

let tail = "";
let grace;
let summary;
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString("utf8")).slice(-20_000);
  const passing = /^\s*(\d+) passing/m.exec(tail);
  if (passing && !grace) {
    grace = setTimeout(() => {
      const failing = /^\s*(\d+) failing/m.exec(tail);
      summary = { passing: Number(passing[1]), failing: failing ? Number(failing[1]) : 0 };
      process.stderr.write(
        `\nmocha-run: tests reported (${summary.passing} passing, ${summary.failing} failing) ` +
          `but the process was still running ${GRACE_MS / 1000}s later (a leaked handle): stopping it\n`,
      );
      child.kill("SIGKILL");
    }, GRACE_MS);
  }
});

child.on("exit", (code, signal) => {
  if (grace) clearTimeout(grace);
  if (summary) process.exit(summary.failing > 0 ? 1 : 0);
  process.exit(code ?? (signal ? 1 : 0));
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
