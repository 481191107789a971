#!/usr/bin/env node
// `distpos` entry point: runs the CLI compiled by `npm run build` (relayer/cli/build.ts) into
// relayer/dist/distpos.mjs. A bundle built from other sources than the ones in the tree is refused,
// never run (in an installed package, which has the bundle and none of its sources, it just runs). Needs Node >= 22.13: run it through `npx distpos`, which puts the project's Node first
// on PATH.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const root = new URL("../../", import.meta.url);
const refuse = (why) => {
  console.error(`distpos: ${why}: run \`npm run build\``);
  process.exit(2);
};

let inputs;
try {
  inputs = JSON.parse(
    readFileSync(new URL("relayer/dist/distpos.inputs.json", root), "utf8"),
  ).inputs;
} catch {
  refuse("the node is not built (relayer/dist/distpos.mjs)");
}
// An installed package (npm pack) ships the bundle without its sources: nothing to compare.
const present = (path) => {
  try {
    readFileSync(new URL(path, root));
    return true;
  } catch {
    return false;
  }
};
const installed = !Object.keys(inputs).some(present);
const changed = installed
  ? []
  : Object.keys(inputs).filter((path) => {
      try {
        return (
          createHash("sha256")
            .update(readFileSync(new URL(path, root)))
            .digest("hex") !== inputs[path]
        );
      } catch {
        return true; // deleted, or not generated yet (the ABIs)
      }
    });
if (changed.length)
  refuse(
    `relayer/dist/distpos.mjs was built from other sources (changed since: ${changed.slice(0, 5).join(", ")}${changed.length > 5 ? ", …" : ""})`,
  );
const { main } = await import("../dist/distpos.mjs");
await main();
