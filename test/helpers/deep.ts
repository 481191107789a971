/**
 * How hard property tests work: a few runs in `npm test`, many with `DISTPOS_DEEP=1`
 * (`npm run test:deep`). Every property test reads its counts here, so one switch scales them all.
 */

/** Whether the long version of the suite runs (`DISTPOS_DEEP=1`). */
export const DEEP = process.env.DISTPOS_DEEP === "1";

/** `quick` in `npm test`, `deep` under `DISTPOS_DEEP=1`. */
export function runs(quick: number, deep: number): number {
  return DEEP ? deep : quick;
}
