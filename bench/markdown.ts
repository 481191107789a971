/**
 * bench/results.md, rendered whole from bench/results.json and the hand-written analyses: the gas
 * part (bench/gas/report.ts, bench/analysis.md) then the node part (bench/relayer/report.ts, with
 * its fees earned against gas spent per route from bench/relayer/fees.ts, and
 * bench/relayer/analysis.md), then the anvil part (bench/relayer/anvilReport.ts), then the network-size part (bench/relayer/networkSizeReport.ts). The one writer of that file, used by both benchmarks and by
 * `npx tsx bench/render.ts` (after editing an analysis).
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { format, resolveConfig } from "prettier";

import { renderMarkdown, type BenchResults } from "./gas/report.js";
import { anvilSection } from "./relayer/anvilReport.js";
import { networkSizeSection } from "./relayer/networkSizeReport.js";
import { relayerSection } from "./relayer/report.js";

const HERE = dirname(fileURLToPath(import.meta.url));

const analysis = (path: string) => readFile(join(HERE, path), "utf8").catch(() => "");

/** Renders bench/results.md from `results` (the content of results.json). */
export async function writeResultsMarkdown(results: BenchResults): Promise<void> {
  const parts = [renderMarkdown(results, await analysis("analysis.md"))];
  const node = relayerSection(results.relayer, await analysis("relayer/analysis.md"));
  if (node) parts.push(node);
  const anvil = anvilSection(results.anvil);
  if (anvil) parts.push(anvil);
  const size = networkSizeSection(results.network_size, await analysis("relayer/networkSize.md"));
  if (size) parts.push(size);
  const path = join(HERE, "results.md");
  // Formatted like every other file of the repository (lint:format checks it).
  const options = (await resolveConfig(path)) ?? {};
  await writeFile(path, await format(parts.join("\n\n"), { ...options, filepath: path }));
}
