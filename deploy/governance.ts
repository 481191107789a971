/**
 * Governance calls through a community's timelock: schedule, then execute once the delay passed.
 * Idempotent for a given salt: an operation already done is not run again.
 */
import { ethers } from "ethers";

import type { Suite } from "./suite.js";

export interface GovernanceCall {
  target: string;
  data: string;
}

export type GovernanceOutcome = "executed" | "already-done" | "scheduled";

export class GovernanceError extends Error {
  override name = "GovernanceError";
}

/**
 * Runs `calls` as one timelock batch. With a zero delay (local chains) it schedules and executes at
 * once; otherwise it schedules and returns "scheduled": run it again after the delay to execute.
 * `salt` identifies the operation: the same calls with the same salt are never executed twice.
 */
export async function governThroughTimelock(
  suite: Suite,
  calls: GovernanceCall[],
  salt: string = ethers.hexlify(ethers.randomBytes(32)),
): Promise<GovernanceOutcome> {
  if (calls.length === 0) throw new GovernanceError("no governance calls to run");
  const { timelock } = suite;
  const targets = calls.map((c) => c.target);
  const values = calls.map(() => 0n);
  const payloads = calls.map((c) => c.data);
  const predecessor = ethers.ZeroHash;
  const id = await timelock.hashOperationBatch(targets, values, payloads, predecessor, salt);

  if (await timelock.isOperationDone(id)) return "already-done";
  if (!(await timelock.isOperation(id))) {
    const delay = await timelock.getMinDelay();
    await (
      await timelock.scheduleBatch(targets, values, payloads, predecessor, salt, delay)
    ).wait();
  }
  if (!(await timelock.isOperationReady(id))) return "scheduled";
  await (await timelock.executeBatch(targets, values, payloads, predecessor, salt)).wait();
  return "executed";
}
