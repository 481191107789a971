/** A benchmark's progress lines, each stamped with the seconds since the run started. */
export function progressLog(): (line: string) => void {
  const started = Date.now();
  return (line: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}
