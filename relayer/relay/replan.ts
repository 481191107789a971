/**
 * What a relayer does with a batch whose deliver failed: its simulation (or gas estimate) reverted,
 * or its transaction reverted once mined. The decision is reverts.ts's (pure); this module carries
 * it out through the effects the relayer gives it, so that every path that splits, resends or
 * settles a failed batch is in one place.
 */
import type { RelayJobData } from "./queue.js";
import type { Outcome } from "./settle.js";
import { minedRevertAction, revertAction, type MinedRevertAction } from "./reverts.js";

/** The part of a relay item replanning reads. */
export interface ReplanItem {
  data: Pick<RelayJobData, "id" | "message" | "bundle">;
  settle(outcome: Outcome): void;
}

/** A batch as it was sent: its items, whether with every signature, its mined reverts so far. */
export interface SentBatch<I> {
  items: I[];
  everySigner: boolean;
  minedReverts: number;
}

/** Whether the Inbox holds a message delivered at a confirmed block, only at the tip, or not. */
export type DeliveredState = "confirmed" | "unconfirmed" | "no";

/** What replanning may do; the relayer implements it for one origin, checkpoint and signature set. */
export interface ReplanEffects<I> {
  /** Sends `batch` again through simulation (signer choice and all). */
  send(batch: SentBatch<I>): Promise<void>;
  /** Sends `batch` as two halves, first then second. */
  halves(batch: SentBatch<I>): Promise<void>;
  /** Asks the Inbox whether a message is delivered. */
  deliveredState(item: I): Promise<DeliveredState>;
  /** Tells the origin's node a message waits for more signatures (bundle flow). */
  signerShortfall(item: I): Promise<void>;
}

/** A decoded revert: its error name and arguments. */
export interface Revert {
  name: string;
  args: readonly unknown[];
}

/**
 * Which messages of a batch whose simulation reverted `AlreadyDelivered(named)` are delivered:
 * settled as done (confirmed) or waiting (only at the tip), the rest returned to be sent again.
 * When the Inbox says none is, the read and the simulation saw different blocks: the one the
 * revert named is left to whoever delivered it.
 */
export function sortDelivered<I extends ReplanItem>(
  items: readonly I[],
  states: readonly DeliveredState[],
  named: string,
): I[] {
  let rest: I[] = [];
  items.forEach((item, k) => {
    if (states[k] === "confirmed")
      item.settle({
        kind: "done",
        reason: "message already delivered (confirmed on the destination)",
      });
    else if (states[k] === "unconfirmed")
      item.settle({ kind: "wait", reason: "delivery seen, waiting for confirmations" });
    else rest.push(item);
  });
  if (rest.length === items.length) {
    const id = named.toLowerCase();
    for (const i of rest)
      if (i.data.id.toLowerCase() === id)
        i.settle({ kind: "wait", reason: "delivered by someone else" });
    rest = rest.filter((i) => i.data.id.toLowerCase() !== id);
  }
  return rest;
}

/**
 * Re-plans `batch` after its simulation reverted `revert` (`EstimateFailed` when the estimate
 * failed outright). Only a message that fails alone spends an attempt; `moreSigners`: usable
 * signers were left out of the batch.
 */
export async function replanSimulationRevert<I extends ReplanItem>(
  batch: SentBatch<I>,
  revert: Revert,
  moreSigners: boolean,
  effects: ReplanEffects<I>,
): Promise<void> {
  const { items, everySigner } = batch;
  const action = revertAction({
    name: revert.name,
    messages: items.length,
    everySigner,
    moreSigners,
  });
  switch (action) {
    case "recheck-delivered": {
      // Delivered since our index of the destination last looked (by us before a crash, or by
      // another relayer): ask the Inbox about every message of the batch at once.
      const states = await Promise.all(items.map((i) => effects.deliveredState(i)));
      const rest = sortDelivered(items, states, String(revert.args[0]));
      if (rest.length) await effects.send({ ...batch, items: rest });
      return;
    }
    case "every-signer":
      await effects.send({ ...batch, everySigner: true });
      return;
    case "split":
      await effects.halves(batch);
      return;
    case "wait-signers":
      for (const item of items) {
        // From a bundle: the origin's node learns it (journey) and hands it with more.
        if (item.data.bundle) await effects.signerShortfall(item);
        item.settle({
          kind: "wait",
          reason: `${revert.name}: signers cannot cover it yet`,
          backoff: true,
        });
      }
      return;
    case "wait-window":
      items[0]!.settle({
        kind: "wait",
        reason: `${revert.name}: waits for the next window`,
        backoff: true,
      });
      return;
    case "fail":
      items[0]!.settle({
        kind: "error",
        error: new Error(`deliver reverts: ${revert.name}(${revert.args.map(String).join(", ")})`),
      });
      return;
  }
}

/**
 * Re-plans `batch` after its deliver, simulated fine, reverted once mined (reverts.ts
 * `minedRevertAction`): simulated again, split when it reverts on chain again, and a lone message
 * that keeps reverting spends its attempt with `failure()` as its error. `note(action)` is told
 * the action before it is carried out (the relayer logs it).
 */
export async function replanMinedRevert<I extends ReplanItem>(
  batch: SentBatch<I>,
  effects: ReplanEffects<I>,
  note: (action: MinedRevertAction) => void,
  failure: () => Promise<Error>,
): Promise<void> {
  const action = minedRevertAction({
    messages: batch.items.length,
    minedReverts: batch.minedReverts,
  });
  note(action);
  const next = { ...batch, minedReverts: batch.minedReverts + 1 };
  if (action === "resimulate") await effects.send(next);
  else if (action === "split") await effects.halves(next);
  else batch.items[0]!.settle({ kind: "error", error: await failure() });
}
