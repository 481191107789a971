import { getAddress, isAddress, type Address, type Hex } from "viem";

import { domainOf, signerOf, type CheckpointStore } from "../checkpoints.js";
import type { Chain } from "../config/load.js";
import { errorText, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { Checkpoint, SignerSignature } from "../protocol/index.js";

interface CheckpointAnswer {
  origin?: string;
  root?: string;
  count?: number;
  signatures?: { signer?: string; signature?: string }[];
}

/**
 * Collects signatures of one origin's checkpoint from the origin's entry nodes (the routing
 * table's `nodes`) and from our own store. Each signature is checked here: it must recover to its
 * claimed signer over the checkpoint whose root our own index computed; others are dropped (a node
 * cannot make us carry a root our index does not hold). Valid ones are kept in our store so our
 * API serves them too.
 */
export class SignatureCollector {
  /** When each checkpoint's signatures were last fetched from the entry nodes (ms). */
  private readonly fetchedAt = new Map<string, number>();

  constructor(
    private readonly store: CheckpointStore,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
    private readonly timeoutMs = 3_000,
  ) {}

  async collect(origin: Chain, checkpoint: Checkpoint): Promise<SignerSignature[]> {
    const domain = domainOf(origin);
    const known = new Map<Address, Hex>();
    const local = await this.store.get(origin.code, checkpoint.count);
    if (local && local.root === checkpoint.root)
      for (const s of local.signatures) known.set(s.signer, s.signature);

    // Entry nodes are asked about a checkpoint at most once per poll interval while we hold
    // signatures for it: a relayer collects for every batch, and under load that was a request
    // (and a signature recovery per signature) per batch to every entry node.
    const key = `${origin.codeHex}:${checkpoint.count}:${checkpoint.root}`;
    const now = Date.now();
    const last = this.fetchedAt.get(key);
    if (known.size > 0 && last !== undefined && now - last < Math.max(origin.pollIntervalMs, 200))
      return [...known.entries()].map(([signer, signature]) => ({ signer, signature }));
    if (this.fetchedAt.size > 1_000)
      for (const [k, t] of this.fetchedAt) if (now - t > 60_000) this.fetchedAt.delete(k);
    this.fetchedAt.set(key, now);
    const fetched: SignerSignature[] = [];
    await Promise.all(
      origin.nodes.map(async (node) => {
        for (const path of [`/v1/checkpoints/${checkpoint.count}`, `/v1/checkpoints/latest`]) {
          const answer = await this.fetchJson(`${node}${path}?origin=${origin.codeHex}`);
          if (
            !answer ||
            answer.count !== checkpoint.count ||
            answer.root?.toLowerCase() !== checkpoint.root.toLowerCase()
          )
            continue;
          for (const s of answer.signatures ?? []) {
            if (typeof s.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(s.signature))
              continue;
            const claimed =
              s.signer && isAddress(s.signer, { strict: false })
                ? known.get(getAddress(s.signer))
                : undefined;
            if (claimed?.toLowerCase() === s.signature.toLowerCase()) continue; // verified before
            const signer = await signerOf(domain, checkpoint, s.signature as Hex);
            if (!signer || (s.signer && s.signer.toLowerCase() !== signer.toLowerCase())) continue;
            if (!known.has(signer)) {
              known.set(signer, s.signature as Hex);
              fetched.push({ signer, signature: s.signature as Hex });
            }
          }
          break;
        }
      }),
    );
    if (fetched.length) {
      await this.store.add(checkpoint, fetched);
      this.metrics?.signaturesFetched.inc({ origin: origin.codeHex }, fetched.length);
      this.log.debug(
        { origin: origin.codeHex, count: checkpoint.count, fetched: fetched.length },
        "signatures fetched from entry nodes",
      );
    }
    return [...known.entries()].map(([signer, signature]) => ({ signer, signature }));
  }

  private async fetchJson(url: string): Promise<CheckpointAnswer | undefined> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) return undefined;
      return (await res.json()) as CheckpointAnswer;
    } catch (e) {
      this.log.debug({ url, err: errorText(e) }, "entry node did not answer");
      return undefined;
    }
  }
}
