/**
 * Dispatch and delivery gas against the size of the origin tree (10, 10k, 1M leaves).
 *
 * The origin Outbox is put at each size with stand-in leaves (bench/outboxState.ts); real messages
 * are dispatched on top, snapshotted by the Outbox itself, and delivered on B with real
 * multiproofs from the same tree.
 */
import type { Hex } from "viem";

import { MerkleTree } from "../../relayer/protocol/index.js";
import { dispatchedMessages, type DispatchedMessage } from "../../test/helpers/suite.js";
import {
  createBenchNetwork,
  deliverBatch,
  dispatchedIn,
  dispatchPure,
  type BenchNetwork,
} from "./distpos.js";
import { fillTree, writeOutboxState } from "../outboxState.js";
import { summarize, type Sample } from "./stats.js";

export interface TreeSizeResult {
  leaves: number;
  dispatch32: number;
  dispatchSamples: number;
  deliver1: { signers: number; gas: number }[];
  batch64PerMessage3sig: number;
  /** How the Outbox got to `leaves` leaves. */
  method: string;
}

/**
 * Runs the tree-size series on a fresh pair of chains. At each size: 73 dispatches (median), three
 * single deliveries with 1, 3 and 5 signers each (median per signer count), one batch of 64 with
 * 3 signers.
 */
export async function treeSizeSeries(
  sizes: readonly number[],
  log: (line: string) => void,
): Promise<TreeSizeResult[]> {
  const net = await createBenchNetwork();
  const tree = new MerkleTree();
  const dispatched: DispatchedMessage[] = [];
  for (const m of await dispatchedMessages(net.a)) {
    tree.append(m.id as Hex); // the stake reports of the allocations
    dispatched.push(m);
  }
  const results: TreeSizeResult[] = [];
  let seed = 9_000_000;
  let standIns = 0;
  for (const size of sizes) {
    let method: string;
    if (size - tree.count <= 64) {
      const { receipts } = await dispatchPure(net, size - tree.count, 32, seed);
      seed += 1_000;
      for (const m of dispatchedIn(net, receipts)) {
        tree.append(m.id as Hex);
        dispatched.push(m);
      }
      method = "real dispatches";
    } else {
      const started = Date.now();
      standIns += fillTree(tree, size);
      await writeOutboxState(net.a, tree);
      method = `${dispatched.length.toLocaleString("en-US")} real and ${standIns.toLocaleString("en-US")} stand-in leaves; frontier and count written with hardhat_setStorageAt, checked against Outbox.root()`;
      log(`  tree of ${size} leaves built and written in ${Date.now() - started} ms`);
    }
    if (tree.count !== size) throw new Error(`tree holds ${tree.count}, expected ${size}`);

    const { samples, receipts } = await dispatchPure(net, 9 + 64, 32, seed);
    seed += 1_000;
    const fresh = dispatchedIn(net, receipts);
    for (const m of fresh) {
      tree.append(m.id as Hex);
      dispatched.push(m);
    }
    const source = { dispatched: fresh, tree };
    const deliver1: { signers: number; gas: number }[] = [];
    let next = 0;
    for (const signers of [1, 3, 5]) {
      const singles: Sample[] = [];
      for (let k = 0; k < 3; k++) {
        singles.push(await deliverBatch(net, [fresh[next++].nonce], signers, source));
      }
      deliver1.push({ signers, gas: summarize(singles).median });
    }
    const batch = fresh.slice(next, next + 64).map((m) => m.nonce);
    const batchSample = await deliverBatch(net, batch, 3, source);
    const result: TreeSizeResult = {
      leaves: size,
      dispatch32: summarize(samples).median,
      dispatchSamples: samples.length,
      deliver1,
      batch64PerMessage3sig: Math.round(batchSample.gas / 64),
      method,
    };
    log(
      `  ${size} leaves: dispatch ${result.dispatch32}, deliver1 ${deliver1.map((d) => `${d.signers}s=${d.gas}`).join(" ")}, batch64/3s ${result.batch64PerMessage3sig}/msg`,
    );
    results.push(result);
  }
  return results;
}
