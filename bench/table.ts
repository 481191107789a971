/** Markdown helpers of bench/results.md. */
/** A figure with thousands separators; a figure a run did not produce (null in JSON, NaN) as "—". */
export const fmt = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? "—" : n.toLocaleString("en-US");

/** A markdown table; numbers are right-aligned and grouped by thousands. */
export const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.map((c) => (typeof c === "number" ? fmt(c) : c)).join(" | ")} |`),
  ].join("\n");
