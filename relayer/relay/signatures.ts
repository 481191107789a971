import { getAddress, isAddress, type Address, type Hex } from "viem";

import { domainOf, signerOf, type CheckpointStore } from "../checkpoints.js";
import type { Chain } from "../config/load.js";
import { Lru } from "../lru.js";
import { errorText, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { getCheckpoint } from "../nodeApi/index.js";
import { askNodes, NodeBackoff } from "../peers/entryNodes.js";
import type { Checkpoint, SignerSignature } from "../protocol/index.js";
import type { SignerSource } from "./signers.js";

interface CheckpointAnswer {
  origin?: string;
  root?: string;
  count?: number;
  signatures?: { signer?: string; signature?: string }[];
}

const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

export interface CollectorOptions {
  /** One entry node's answer, body included (ms). */
  timeoutMs?: number;
  /** Bytes of one answer read at most (a checkpoint with 256 signers is about 50 KB). */
  maxAnswerBytes?: number;
  /** After the first useful answer, how long slower entry nodes may still add signatures (ms). */
  graceMs?: number;
  /** Signatures kept per checkpoint at most. */
  maxPerCheckpoint?: number;
  /** Signature recoveries remembered (signature → signer). */
  recoveryCacheSize?: number;
  backoff?: NodeBackoff;
}

/**
 * Recovers checkpoint signers with a bounded memory of past recoveries, yielding to the event
 * loop between batches of recoveries so that no answer stalls the node.
 */
export class SignerRecovery {
  private readonly cache: Lru<string, Address | null>;
  /** Recoveries actually computed (not from the cache), for tests and logs. */
  computed = 0;

  constructor(size = 10_000) {
    this.cache = new Lru(size);
  }

  async recover(origin: Chain, checkpoint: Checkpoint, signature: Hex): Promise<Address | null> {
    const key =
      `${origin.chainId}:${origin.contracts.outbox}:${checkpoint.origin}:${checkpoint.count}:` +
      `${checkpoint.root}:${signature}`.toLowerCase();
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    if (++this.computed % 32 === 0) await new Promise((r) => setImmediate(r));
    const signer = (await signerOf(domainOf(origin), checkpoint, signature)) ?? null;
    this.cache.set(key, signer);
    return signer;
  }
}

/**
 * Collects signatures of one origin's checkpoint from the origin's entry nodes (the routing
 * table's `nodes`) and from our own store. Only signatures of signers the `signers` source allows
 * (mirrored on the destination) are looked at, and only those that name their signer: anything
 * else is dropped unread, so junk costs a set lookup. Each kept signature must recover to its
 * claimed signer over the checkpoint whose root our own index computed (a node cannot make us
 * carry a root our index does not hold). At most `maxPerCheckpoint` are kept; valid ones are
 * stored so our API serves them too.
 *
 * Entry nodes are asked at once (see `askNodes`): the asking stops as soon as every allowed signer
 * is covered, or a grace period after the first useful answer; a node that failed backs off.
 */
export class SignatureCollector {
  /** When each checkpoint's signatures were last fetched from the entry nodes (ms). */
  private readonly fetchedAt = new Lru<string, number>(1_000);
  readonly recovery: SignerRecovery;
  readonly backoff: NodeBackoff;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly graceMs: number;
  private readonly maxPerCheckpoint: number;

  constructor(
    private readonly store: CheckpointStore,
    private readonly signers: SignerSource,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
    options: CollectorOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.maxAnswerBytes = options.maxAnswerBytes ?? 1_000_000;
    this.graceMs = options.graceMs ?? 250;
    this.maxPerCheckpoint = options.maxPerCheckpoint ?? 256;
    this.recovery = new SignerRecovery(options.recoveryCacheSize ?? 10_000);
    this.backoff = options.backoff ?? new NodeBackoff();
  }

  async collect(origin: Chain, checkpoint: Checkpoint): Promise<SignerSignature[]> {
    const allowed = await this.signers.signers(origin);
    const cap = Math.min(this.maxPerCheckpoint, allowed.size);
    const known = new Map<Address, Hex>();
    const local = await this.store.get(origin.code, checkpoint.count);
    if (local && local.root === checkpoint.root && local.last === checkpoint.last)
      for (const s of local.signatures)
        if (known.size < cap && allowed.has(getAddress(s.signer))) known.set(s.signer, s.signature);
    const result = () => [...known.entries()].map(([signer, signature]) => ({ signer, signature }));
    if (known.size >= cap) return result();

    // Entry nodes are asked about a checkpoint at most once per poll interval while we hold
    // signatures for it: a relayer collects for every batch.
    const key = `${origin.codeHex}:${checkpoint.count}:${checkpoint.root}`;
    const now = Date.now();
    const last = this.fetchedAt.get(key);
    if (known.size > 0 && last !== undefined && now - last < Math.max(origin.pollIntervalMs, 200))
      return result();
    this.fetchedAt.set(key, now);
    const fetched: SignerSignature[] = [];

    const take = async (answer: CheckpointAnswer): Promise<boolean> => {
      if (
        !answer ||
        answer.count !== checkpoint.count ||
        typeof answer.root !== "string" ||
        answer.root.toLowerCase() !== checkpoint.root.toLowerCase() ||
        !Array.isArray(answer.signatures)
      )
        return false;
      let added = 0;
      // One signature per named signer: an honest node serves no more, so more is junk.
      const tried = new Set<Address>();
      for (const s of answer.signatures) {
        if (known.size >= cap) break;
        if (!s || typeof s.signature !== "string" || !SIGNATURE.test(s.signature)) continue;
        if (typeof s.signer !== "string" || !isAddress(s.signer, { strict: false })) continue;
        const claimed = getAddress(s.signer);
        if (!allowed.has(claimed) || known.has(claimed) || tried.has(claimed)) continue;
        tried.add(claimed);
        const signer = await this.recovery.recover(origin, checkpoint, s.signature as Hex);
        if (signer !== claimed || known.has(signer) || known.size >= cap) continue;
        known.set(signer, s.signature as Hex);
        fetched.push({ signer, signature: s.signature as Hex });
        added++;
      }
      return added > 0 || known.size > 0;
    };

    await askNodes(
      origin.nodes,
      async (node, signal) => {
        // At its count, else the node's newest; a 404 (not signed there yet) is an answer.
        for (const count of [checkpoint.count, undefined]) {
          const answer: CheckpointAnswer | undefined = await getCheckpoint(
            node,
            { origin: origin.codeHex, count },
            { timeoutMs: this.timeoutMs, maxBytes: this.maxAnswerBytes, signal },
          );
          if (answer && answer.count === checkpoint.count) return take(answer);
        }
        return false;
      },
      {
        backoff: this.backoff,
        graceMs: this.graceMs,
        enough: () => known.size >= cap,
        onFailure: (node, e) =>
          this.log.debug({ node, err: errorText(e) }, "entry node did not answer"),
      },
    );
    if (fetched.length) {
      await this.store.add(checkpoint, fetched);
      this.metrics?.signaturesFetched.inc({ origin: origin.codeHex }, fetched.length);
      this.log.debug(
        { origin: origin.codeHex, count: checkpoint.count, fetched: fetched.length },
        "signatures fetched from entry nodes",
      );
    }
    return result();
  }
}
