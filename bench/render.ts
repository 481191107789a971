/**
 * Re-renders bench/results.md from bench/results.json and the hand-written analyses
 * (bench/analysis.md, bench/relayer/analysis.md) without re-running a benchmark:
 *
 *   npx tsx bench/render.ts
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { writeResultsMarkdown } from "./markdown.js";

const HERE = dirname(fileURLToPath(import.meta.url));
await writeResultsMarkdown(JSON.parse(await readFile(join(HERE, "results.json"), "utf8")));
console.log("wrote bench/results.md");
