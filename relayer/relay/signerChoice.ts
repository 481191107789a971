/**
 * Which signatures a batch goes out with, and which of its messages they can cover: the relayer's
 * signer choice. The chain reads are `readSignerCapacities`; the rest is pure.
 */
import type { Address, PublicClient } from "viem";

import { IInboxAbi } from "../chain/abis.js";
import type { SignerSignature } from "../protocol/index.js";

/** A collected signature with its signer's mirrored stake and free capacity on the destination. */
export interface SignerCapacity extends SignerSignature {
  stake: bigint;
  free: bigint;
}

/**
 * Both reads of every signer at once (one JSON-RPC batch, one round trip): its stake mirrored for
 * `origin` on the destination's Inbox and its free capacity there.
 */
export async function readSignerCapacities(
  client: PublicClient,
  inbox: Address,
  origin: bigint,
  signatures: readonly SignerSignature[],
): Promise<SignerCapacity[]> {
  return Promise.all(
    signatures.map(async (s) => {
      const [stake, free] = await Promise.all([
        client.readContract({
          address: inbox,
          abi: IInboxAbi,
          functionName: "mirroredStake",
          args: [origin, s.signer],
        }),
        client.readContract({
          address: inbox,
          abi: IInboxAbi,
          functionName: "freeCapacity",
          args: [origin, s.signer],
        }),
      ]);
      return { ...s, stake, free };
    }),
  );
}

/** What signer choice needs of one message of a batch. */
export interface SignerNeeds {
  valueAtRisk: bigint;
  /** A stake report: needs signers holding more than half of the mirrored stake (protocol.md 3.5). */
  stakeReport: boolean;
  /** Its recipient's minimum of signers (0 when it sets none). */
  minSigners: number;
}

/** The signer choice for a batch: the messages it keeps and who signs them, or why it waits. */
export type BatchSigners<S> =
  | { kind: "wait"; reason: string }
  | {
      kind: "sign";
      /** Indexes of the messages the signers cover together (the others wait for capacity). */
      kept: number[];
      signers: S[];
      /** Whether usable signers were left out (a signer shortfall can then be retried with all). */
      moreSigners: boolean;
    };

/**
 * Chooses the signatures for a batch: only mirrored attesters may sign (others make `deliver`
 * revert), the freest first; the messages their free capacity covers together are kept in order
 * (`fitCapacity`); then as few signers as cover the kept value at risk and meet the strictest
 * minimum of the route and the kept messages' recipients — every one when `everySigner` (a cheaper
 * choice reverted for want of signers) or when a stake report is among the kept messages.
 */
export function batchSigners<S extends SignerCapacity>(input: {
  capacities: readonly S[];
  messages: readonly SignerNeeds[];
  routeMinSigners: number;
  everySigner: boolean;
}): BatchSigners<S> {
  const usable = input.capacities
    .filter((c) => c.stake > 0n)
    .sort((a, b) => (b.free > a.free ? 1 : b.free < a.free ? -1 : 0));
  const totalFree = usable.reduce((s, c) => s + c.free, 0n);
  const kept = fitCapacity(
    input.messages.map((m) => m.valueAtRisk),
    totalFree,
  );
  if (usable.length < input.routeMinSigners)
    return {
      kind: "wait",
      reason: `${usable.length} signers with free stake, route needs ${input.routeMinSigners}`,
    };
  if (kept.length === 0)
    return {
      kind: "wait",
      reason: `signers' free capacity ${totalFree} below value at risk ${input.messages[0]?.valueAtRisk ?? 0n}`,
    };
  let valueAtRisk = 0n;
  let minSigners = input.routeMinSigners;
  let stakeReport = false;
  for (const k of kept) {
    const m = input.messages[k]!;
    valueAtRisk += m.valueAtRisk;
    if (m.minSigners > minSigners) minSigners = m.minSigners;
    stakeReport ||= m.stakeReport;
  }
  const signers = chooseSigners(usable, valueAtRisk, minSigners, input.everySigner || stakeReport);
  return { kind: "sign", kept, signers, moreSigners: signers.length < usable.length };
}

/**
 * Which of `values` (nonce order) the signers' free capacity `free` can cover together: each in
 * turn while it fits, skipping one that does not (it waits for capacity) so that one large
 * message never holds back the smaller ones after it. Returns the indexes kept.
 */
export function fitCapacity(values: readonly bigint[], free: bigint): number[] {
  const kept: number[] = [];
  let used = 0n;
  values.forEach((v, i) => {
    if (used + v <= free) {
      used += v;
      kept.push(i);
    }
  });
  return kept;
}

/**
 * The signers a batch goes out with: from `usable` (mirrored, freest first), as few as cover
 * `valueAtRisk` with their free capacity and meet `minSigners` (at least one); every one of them
 * when `every` (a stake report needs a majority of the mirrored stake, or a cheaper choice
 * reverted for want of signers).
 */
export function chooseSigners<T extends { free: bigint }>(
  usable: readonly T[],
  valueAtRisk: bigint,
  minSigners: number,
  every: boolean,
): T[] {
  if (every) return [...usable];
  const chosen: T[] = [];
  let sum = 0n;
  for (const c of usable) {
    if (sum >= valueAtRisk && chosen.length >= Math.max(1, minSigners)) break;
    chosen.push(c);
    sum += c.free;
  }
  return chosen;
}
