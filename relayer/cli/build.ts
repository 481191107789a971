/**
 * `npm run build:node` (part of `npm run build`, after the ABIs): compiles the CLI and the node,
 * relayer/cli/main.ts and every repository module it imports, into one ES module,
 * relayer/dist/distpos.mjs (gitignored), which relayer/cli/bin.js runs. Packages stay imports,
 * resolved from node_modules as before.
 *
 * It also builds the SDK, what `import … from "distpos"` gives (package.json `exports`): the same
 * way into relayer/dist/sdk/index.js, with its declarations emitted by tsc (tsconfig.sdk.json)
 * under relayer/dist/types/.
 *
 * Running the TypeScript through tsx at run time cost every process the loader and the compiled
 * sources (a node's live heap 39 MB instead of 33, a CLI command 0.6 s instead of 0.4).
 *
 * relayer/dist/distpos.inputs.json lists every bundled source with its SHA-256: bin.js refuses to
 * run a bundle built from other sources than the ones in the tree.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dist = join(root, "relayer", "dist");
const sha256 = (path: string) =>
  createHash("sha256")
    .update(readFileSync(join(root, path)))
    .digest("hex");

// The sources as they are before esbuild reads them: one edited meanwhile must not be listed with
// a hash the bundle does not hold.
const before = new Map<string, string>();
for (const file of readdirSync(join(root, "relayer"), { recursive: true, encoding: "utf8" }))
  if (file.endsWith(".ts")) before.set(`relayer/${file}`, sha256(`relayer/${file}`));

mkdirSync(dist, { recursive: true });
rmSync(join(dist, "distpos.inputs.json"), { force: true }); // no bundle runs until this build ends
const result = await build({
  absWorkingDir: root,
  entryPoints: ["relayer/cli/main.ts"],
  outfile: join(dist, "distpos.mjs"),
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node22",
  metafile: true,
  logLevel: "warning",
});
const inputs: Record<string, string> = {};
for (const path of Object.keys(result.metafile.inputs).sort()) inputs[path] = sha256(path);
const moved = Object.keys(inputs).filter(
  (path) => (before.get(path) ?? inputs[path]) !== inputs[path],
);
if (moved.length) {
  console.error(`build:node: ${moved.join(", ")} changed during the build: run it again`);
  process.exit(1);
}
writeFileSync(join(dist, "distpos.inputs.json"), `${JSON.stringify({ inputs }, null, 2)}\n`);
console.log(`relayer/dist/distpos.mjs: ${Object.keys(inputs).length} sources`);

const sdk = await build({
  absWorkingDir: root,
  entryPoints: ["relayer/sdk/index.ts"],
  outfile: join(dist, "sdk", "index.js"),
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node22",
  metafile: true,
  logLevel: "warning",
});
rmSync(join(dist, "types"), { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-p", "tsconfig.sdk.json"],
  { cwd: root, stdio: "inherit" },
);
if (tsc.status !== 0) {
  console.error("build:node: the SDK's declarations (tsc -p tsconfig.sdk.json) failed");
  process.exit(1);
}
console.log(
  `relayer/dist/sdk/index.js: ${Object.keys(sdk.metafile.inputs).length} sources, types in relayer/dist/types/`,
);
