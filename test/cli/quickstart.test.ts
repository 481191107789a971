/**
 * The operator quick start of relayer/README.md, run as written: `npm run devnet`'s program starts
 * a devnet whose files go to a folder of this test (DISTPOS_DEVNET_DIR), then every line of the
 * quick start's two blocks runs in bash from a working folder laid out like a clone (the project's
 * package.json, node_modules and relayer/ linked in, `.devnet` being the devnet's folder): the node
 * in the background until its API listens, the others to completion, each exiting 0. Only the two
 * `npm` lines are done by the harness (the build by `npm test`, the devnet here).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The `sh` blocks of the README section `## Quick start`. */
function quickStart(): string[][] {
  const readme = readFileSync(join(root, "relayer/README.md"), "utf8");
  const start = readme.indexOf("## Quick start\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!.split("\n").filter((line) => line.trim() !== ""),
  );
}

/** Runs `line` in bash in `cwd` after the earlier environment lines; resolves with its output. */
function bash(cwd: string, prelude: string[], line: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const proc = spawn("bash", ["-c", [...prelude, line].join("\n")], { cwd, env });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
    proc.on("exit", (code) => resolve({ code, out }));
  });
}

/** Resolves once `proc` prints a line matching `re`; rejects if it exits first. */
function waitForOutput(proc: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (c: Buffer) => {
      out += c.toString();
      if (re.test(out)) resolve(out);
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.on("exit", (code) => reject(new Error(`${what} exited (${code}) before ${re}:\n${out}`)));
  });
}

describe("relayer/README.md quick start, run verbatim against a running devnet", function () {
  this.timeout(900_000);
  const work = mkdtempSync(join(tmpdir(), "distpos-quickstart-"));
  const env = { ...process.env, DISTPOS_DEVNET_DIR: join(work, ".devnet") };
  const started: ChildProcess[] = [];

  before(async function () {
    for (const entry of ["package.json", "node_modules", "relayer"])
      symlinkSync(join(root, entry), join(work, entry));
    // What `npm run devnet` runs once built (the test run has built already).
    const devnet = spawn("npx", ["tsx", "deploy/devnet.ts"], { cwd: root, env, detached: true });
    started.push(devnet);
    await waitForOutput(devnet, /devnet ready/, "npm run devnet");
  });

  after(async function () {
    // Each process group this test started, and only those.
    for (const proc of started.reverse()) {
      if (proc.exitCode !== null || proc.pid === undefined) continue;
      const exited = new Promise((r) => proc.once("exit", r));
      process.kill(-proc.pid, "SIGTERM");
      await exited;
    }
  });

  it("starts the node and runs every command as printed", async function () {
    const [node, check] = quickStart();
    expect(node, "the quick start's first block").to.be.an("array");
    expect(check, "the quick start's second block").to.be.an("array");
    const npm = node!.filter((line) => line.startsWith("npm "));
    expect(npm.map((l) => l.split("#")[0]!.trim())).to.deep.equal([
      "npm ci && npm run build",
      "npm run devnet",
    ]);
    const prelude: string[] = [];
    for (const line of node!.filter((l) => !l.startsWith("npm "))) {
      if (/^npx distpos node\b/.test(line)) {
        const proc = spawn("bash", ["-c", [...prelude, `exec ${line}`].join("\n")], {
          cwd: work,
          env,
          detached: true,
        });
        started.push(proc);
        await waitForOutput(proc, /"msg":"api listening"/, line);
        continue;
      }
      const r = await bash(work, prelude, line, env);
      expect(r.code, `${line}\n${r.out}`).to.equal(0);
      prelude.push(line);
    }
    const thirdTerminal: string[] = [];
    for (const line of check!) {
      const r = await bash(work, thirdTerminal, line, env);
      expect(r.code, `${line}\n${r.out}`).to.equal(0);
      if (/\bsend\b.*--wait/.test(line)) expect(r.out).to.contain("delivered");
      thirdTerminal.push(line);
    }
  });
});
