/**
 * Re-renders bench/results.md from bench/results.json and bench/analysis.md without re-running the
 * benchmark (after editing the hand-written analysis):
 *
 *   npx tsx bench/render.ts
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { format, resolveConfig } from "prettier";

import { renderMarkdown } from "./gas/report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const results = JSON.parse(await readFile(join(HERE, "results.json"), "utf8"));
const analysis = await readFile(join(HERE, "analysis.md"), "utf8").catch(() => "");
const markdownPath = join(HERE, "results.md");
const prettierOptions = (await resolveConfig(markdownPath)) ?? {};
await writeFile(
  markdownPath,
  await format(renderMarkdown(results, analysis), { ...prettierOptions, filepath: markdownPath }),
);
console.log("wrote bench/results.md");
