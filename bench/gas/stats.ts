/** Small statistics over gas samples. */

export interface Sample {
  gas: number;
  hash: string;
  /** Deliveries: proof elements, and those that are roots of empty subtrees with their calldata gas. */
  proofSiblings?: number;
  omittedSiblings?: number;
  omittedCalldataGas?: number;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number;
  /** The transaction whose gas is the median (or the closest to it): the one to trace. */
  medianTx: string;
}

/** Median (lower middle for an even count, so it is a real sample), min, max. */
export function summarize(samples: readonly Sample[]): Summary {
  if (samples.length === 0) throw new Error("no samples");
  const sorted = [...samples].sort((x, y) => x.gas - y.gas);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    median: middle.gas,
    min: sorted[0].gas,
    max: sorted[sorted.length - 1].gas,
    samples: sorted.length,
    medianTx: middle.hash,
  };
}

/** `part / whole` rounded to two decimals. */
export function ratio(part: number, whole: number): number {
  return Math.round((part / whole) * 100) / 100;
}
