/**
 * The package as a dApp gets it: `npm pack`, installed into a scratch project in a temp directory,
 * imported as `distpos` (ESM, with its declarations type-checked), sending value over JSON-RPC.
 *
 * The scratch project installs offline from npm's cache: its lockfile is the repository's,
 * restricted to the runtime dependencies, plus the tarball (`npm ci --offline`). The repository's
 * own `npm ci` put exactly those packages in the cache, here and in CI.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";
import { ethers } from "ethers";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { relay } from "../helpers/suite.js";
import { creditedNetwork, ONE, type CreditedNetwork } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 240_000,
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs a process without blocking this one, which serves the chains it talks to. */
function runAsync(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<string>((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
    proc.on("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`)),
    );
  });
}

/** A scratch project holding the packed package, installed offline. */
function scratchProject(): { dir: string; tarball: string } {
  const dir = mkdtempSync(join(tmpdir(), "distpos-scratch-"));
  run("npm", ["pack", "--pack-destination", dir, "--silent"], ROOT);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
  const repo = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const integrity = `sha512-${createHash("sha512")
    .update(readFileSync(join(dir, tarball)))
    .digest("base64")}`;
  const packages: Record<string, unknown> = {
    "": { name: "scratch", dependencies: { distpos: `file:${tarball}` } },
    "node_modules/distpos": {
      version: repo.version,
      resolved: `file:${tarball}`,
      integrity,
      dependencies: repo.dependencies,
      optionalDependencies: repo.optionalDependencies,
      bin: repo.bin,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>))
    if (path && !entry.dev) packages[path] = entry;
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "scratch",
      private: true,
      type: "module",
      dependencies: { distpos: `file:${tarball}` },
    }),
  );
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ name: "scratch", lockfileVersion: 3, requires: true, packages }),
  );
  run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], dir);
  return { dir, tarball };
}

/** The dApp: TypeScript against the published declarations, run as JavaScript. */
const APP_TS = `import {
  createDistposClient,
  InsufficientBalanceError,
  parseTokens,
  sendValue,
  type DistposChain,
  type SentValue,
} from "distpos";

const raw = JSON.parse(process.env.CHAINS!) as (Omit<DistposChain, "code"> & { code: string })[];
const client = createDistposClient({ chains: raw.map((c) => ({ ...c, code: BigInt(c.code) })) });
const account = process.env.KEY as \`0x\${string}\`;

const tooMuch = await sendValue(client, {
  from: raw[0]!.code.slice(2),
  to: process.env.TO!,
  amount: parseTokens("30", 18),
  account,
}).catch((e: unknown) => e);
const refused = tooMuch instanceof InsufficientBalanceError ? tooMuch.message : String(tooMuch);

const sent: SentValue = await sendValue(client, {
  from: raw[0]!.code.slice(2),
  to: process.env.TO!,
  amount: parseTokens("12", 18),
  account,
});
console.log(JSON.stringify({ refused, id: sent.id, nonce: sent.nonce, approval: sent.approval ?? null }));
`;

describe("npm pack: the distpos package imported in a scratch project", function () {
  this.timeout(600_000);
  let net: CreditedNetwork;
  let scratch: { dir: string; tarball: string };
  const alice = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();

  before(async function () {
    scratch = scratchProject();
    net = await creditedNetwork();
    await net.a.connection.networkHelpers.setBalance(alice.address, 10n ** 20n);
    await (await net.a.suite.token.mint(alice.address, 20n * ONE)).wait();
  });

  after(async function () {
    await net?.close();
    if (scratch) rmSync(scratch.dir, { recursive: true, force: true });
  });

  it("ships the SDK bundle, its declarations and the CLI, and none of the sources", function () {
    const files = run("tar", ["-tzf", scratch.tarball], scratch.dir).split("\n");
    expect(files).to.include("package/relayer/dist/sdk/index.js");
    expect(files).to.include("package/relayer/dist/types/relayer/sdk/index.d.ts");
    expect(files).to.include("package/relayer/cli/bin.js");
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).to.deep.equal([]);
  });

  it("compiles a TypeScript dApp against the installed declarations and sends value with it, refusing first what the balance cannot pay", async function () {
    writeFileSync(join(scratch.dir, "app.ts"), APP_TS);
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    run(
      process.execPath,
      [
        tsc,
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2022",
        "--module",
        "node16",
        "--moduleResolution",
        "node16",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules/@types"),
        "app.ts",
      ],
      scratch.dir,
    );
    const to = formatChainAddress({
      code: net.b.suite.code,
      account: bob.address as `0x${string}`,
    });
    const chains = JSON.stringify(
      net.chains.map((c) => ({ ...c, code: `0x${c.code.toString(16)}` })),
    );
    const out = await runAsync(process.execPath, ["app.js"], scratch.dir, {
      CHAINS: chains,
      KEY: alice.privateKey,
      TO: to,
    });
    const result = JSON.parse(out.trim().split("\n").pop()!);
    expect(result.refused).to.match(
      /balance of 0x[0-9a-fA-F]{40} on chain [0-9a-f]+ is 20 \w+, 30 \w+ needed/,
    );
    expect(result.id).to.match(/^0x[0-9a-f]{64}$/);
    expect(result.approval).to.match(/^0x[0-9a-f]{64}$/);
    expect(await net.a.suite.token.balanceOf(alice.address)).to.equal(8n * ONE);
    expect(await net.a.suite.token.allowance(alice.address, net.a.suite.addresses.bank)).to.equal(
      0n,
    );
    await relay(net.a, net.b);
    expect(await net.b.suite.inbox.isDelivered(net.a.suite.code, result.nonce)).to.equal(true);
    expect(await net.b.suite.token.balanceOf(bob.address)).to.equal(12n * ONE);
  });
});
