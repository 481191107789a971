#!/usr/bin/env node
// `distpos` entry point: registers tsx (the TypeScript loader Hardhat already ships) and runs the
// TypeScript CLI. Needs Node >= 22.13: run it through `npx distpos`, which puts the project's Node
// first on PATH.
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

if (!existsSync(new URL("../chain/abis.generated.ts", import.meta.url))) {
  console.error("distpos: the contract ABIs are not generated yet: run `npm run build` first");
  process.exit(2);
}
register();
const { main } = await import("./main.ts");
await main();
