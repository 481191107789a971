/**
 * Waits until a message is delivered (or its handler failed) on its destination, reporting each
 * stage it reaches: dispatched → snapshotted (attesters may sign it) → delivered / failed.
 */
import type { Hex } from "viem";

import { IOutboxAbi } from "./abis.js";
import { codeOf, onChain, type DistposChain, type DistposClient } from "./client.js";
import { DeliveryTimeoutError, DistposError, RpcError } from "./errors.js";
import { getMessage, readDestination, type MessageInfo } from "./getMessage.js";
import { getNodeMessage } from "../nodeApi/endpoints.js";
import type { FailureKindName } from "../chain/inboxStatus.js";

export type DeliveryStage = "dispatched" | "snapshotted" | "delivered" | "failed";

export interface WaitForDeliveryParameters {
  /** The message id, or what sendMessage / sendValue / getMessage returned. */
  id: Hex;
  /** Default 600 s. */
  timeoutMs?: number;
  /** Default 1 s. */
  pollIntervalMs?: number;
  /** Called once per stage reached, and on every poll with the time waited so far. */
  onProgress?: (progress: { stage: DeliveryStage; elapsedMs: number; lastError?: string }) => void;
}

/**
 * Resolves with the message once its destination delivered it (status `delivered` or `failed`).
 * Throws DeliveryTimeoutError (with the last stage) after `timeoutMs`; RPC failures are waited out
 * until then, and the last one is thrown if the destination never answered.
 */
export async function waitForDelivery(
  client: DistposClient,
  params: WaitForDeliveryParameters,
): Promise<MessageInfo> {
  const timeoutMs = params.timeoutMs ?? 600_000;
  const every = params.pollIntervalMs ?? 1_000;
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  let info: MessageInfo | undefined;
  let stage: DeliveryStage = "dispatched";
  let lastError: DistposError | undefined;
  for (;;) {
    try {
      if (!info) info = await getMessage(client, { id: params.id });
      const origin = client.chain(info.origin.chain);
      const dest = client.chain(info.destination.chain);
      if (stage === "dispatched") {
        const [, count] = await onChain(origin, "Outbox.latestSnapshot", () =>
          client.publicClient(origin).readContract({
            address: origin.contracts.outbox,
            abi: IOutboxAbi,
            functionName: "latestSnapshot",
          }),
        );
        if (count > info.origin.nonce) stage = "snapshotted";
      }
      const d = dest.rpc.length
        ? await readDestination(client, dest, info.encoded, info.id)
        : await destinationFromEntryNodes(origin, info.id);
      lastError = undefined;
      if (d.status !== "pending") {
        info = {
          ...info,
          origin: { ...info.origin, snapshotted: true },
          destination: { ...info.destination, ...d },
        };
        params.onProgress?.({ stage: d.status, elapsedMs: elapsed() });
        return info;
      }
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      lastError = e;
    }
    params.onProgress?.({ stage, elapsedMs: elapsed(), lastError: lastError?.message });
    if (elapsed() >= timeoutMs) {
      if (lastError && !info) throw lastError;
      throw new DeliveryTimeoutError(params.id, stage, timeoutMs);
    }
    await new Promise((r) => setTimeout(r, Math.min(every, Math.max(0, timeoutMs - elapsed()))));
  }
}

/**
 * The destination's state of message `id` as the origin's entry nodes report it, for a config with
 * no RPC of the destination (the bundle flow, docs/protocol.md 4.2): the node that handed the
 * message over follows it on the destination's node until that node reports it delivered or failed
 * (transaction and block). The first node that answers is believed; an RpcError when none does.
 */
async function destinationFromEntryNodes(origin: DistposChain, id: Hex) {
  let last: unknown;
  for (const node of origin.nodes ?? []) {
    try {
      const d = (await getNodeMessage(node, id))?.destination;
      if (d?.status !== "delivered" && d?.status !== "failed")
        return { status: "pending" as const };
      return {
        status: d.status as "delivered" | "failed",
        ...(d.failureKind ? { failureKind: d.failureKind as FailureKindName } : {}),
        ...(d.tx ? { transactionHash: d.tx } : {}),
        ...(d.block !== undefined ? { block: BigInt(d.block) } : {}),
      };
    } catch (e) {
      last = e;
    }
  }
  throw new RpcError(
    codeOf(origin),
    origin.name,
    (origin.nodes ?? []).join(", "),
    last ? (last as Error).message : "the config lists no entry node of the origin",
  );
}
