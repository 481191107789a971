/**
 * The checkpoints of our home chain a peer's Inbox accepted, as the peer's entry nodes report them
 * (GET /v1/checkpoints/accepted, read by each node from its own chain): what a watcher without an
 * RPC of the peer reads instead of the peer Inbox's logs. Nothing an answer says is trusted (the
 * watcher checks every signature and root against the home chain); a node can only withhold.
 *
 * Each entry node has its own cursor (the next peer block to ask it about), kept in Redis: the
 * nodes answer about the same chain but each as far as it has confirmed, so one node's progress
 * must not move another's. Everything a truthful node has confirmed is then seen, whatever the
 * others answer. A cursor moves only after what its answer held was checked (`commit`).
 *
 * Bounded: answers are read with a time and size limit, a failing node backs off, and an answer's
 * checkpoints and signatures are capped, so a node answering junk costs a bounded number of
 * signature recoveries per round.
 */
import type { Hex } from "viem";

import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { getAcceptedCheckpoints } from "../nodeApi/nodeTyped.js";
import { askNodes, NodeBackoff } from "../peers/entryNodes.js";
import type { Chain, ChainEntry } from "../config/load.js";

/** Checkpoints read from one answer at most; the cursor then stops at the first one left. */
export const MAX_CHECKPOINTS_PER_ANSWER = 256;
/**
 * Signatures read per checkpoint (a route's signer set is far smaller) and per answer: each costs
 * one recovery (about a millisecond), so a node answering random signatures costs at most this
 * many per round; a truthful answer with more is read on from where it was cut, next round.
 */
export const MAX_SIGNATURES_PER_CHECKPOINT = 64;
export const MAX_SIGNATURES_PER_ANSWER = 256;
/** Body of one answer, read at most (one peer `maxLogRange` of accepted checkpoints). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 5_000;
/** Highest block the serving API accepts in `from` (10 digits). */
const MAX_BLOCK = 9_999_999_999;
const ROOT = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

export interface ReportedCheckpoint {
  root: Hex;
  count: number;
  last: Hex;
  signatures: Hex[];
}

/** One entry node's answer, read: what to check, and where its cursor goes once checked. */
export interface NodeReport {
  node: string;
  checkpoints: ReportedCheckpoint[];
  next: number;
}

export class JunkAnswer extends Error {
  constructor(url: string, why: string) {
    super(`${url} answered junk: ${why}`);
    this.name = "JunkAnswer";
  }
}

const isBlock = (n: unknown): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= MAX_BLOCK;

/**
 * Reads an answer to `from` (throws JunkAnswer when it is not one). At most the caps are kept;
 * when checkpoints are left out, `next` is the block of the first one left out (asked again next
 * time), or the block after it when every kept one is in that same block (so a node cannot pin its
 * cursor with one block of junk).
 */
export function readAcceptedAnswer(
  url: string,
  from: number,
  body: unknown,
): Omit<NodeReport, "node"> {
  const a = body as { to?: unknown; next?: unknown; checkpoints?: unknown } | null;
  if (!a || typeof a !== "object") throw new JunkAnswer(url, "not an object");
  if (!isBlock(a.next) || a.next < from) throw new JunkAnswer(url, "next is not a block ≥ from");
  if (!Array.isArray(a.checkpoints)) throw new JunkAnswer(url, "checkpoints is not a list");
  const checkpoints: ReportedCheckpoint[] = [];
  let signatures = 0;
  let next = a.next;
  for (const c of a.checkpoints as unknown[]) {
    const cp = c as {
      block?: unknown;
      root?: unknown;
      count?: unknown;
      last?: unknown;
      signatures?: unknown;
    };
    if (!cp || typeof cp !== "object" || !isBlock(cp.block) || cp.block < from || cp.block >= next)
      throw new JunkAnswer(url, "a checkpoint's block is outside [from, next)");
    if (
      typeof cp.root !== "string" ||
      !ROOT.test(cp.root) ||
      typeof cp.last !== "string" ||
      !ROOT.test(cp.last) ||
      typeof cp.count !== "number" ||
      !Number.isInteger(cp.count) ||
      cp.count < 0 ||
      cp.count > 0xffffffff ||
      !Array.isArray(cp.signatures)
    )
      throw new JunkAnswer(url, "a checkpoint is not {block, root, count, last, signatures}");
    const sigs = (cp.signatures as unknown[])
      .slice(0, MAX_SIGNATURES_PER_CHECKPOINT)
      .filter((s): s is Hex => typeof s === "string" && SIGNATURE.test(s));
    // Over a cap: stop before this checkpoint (never read half of one), asked again next time.
    if (
      checkpoints.length >= MAX_CHECKPOINTS_PER_ANSWER ||
      (checkpoints.length > 0 && signatures + sigs.length > MAX_SIGNATURES_PER_ANSWER)
    ) {
      next = cp.block > from ? cp.block : from + 1;
      break;
    }
    signatures += sigs.length;
    checkpoints.push({
      root: cp.root as Hex,
      count: cp.count,
      last: cp.last as Hex,
      signatures: sigs,
    });
  }
  return { checkpoints, next };
}

/** Polls one peer's entry nodes for the checkpoints of `home` its Inbox accepted. */
export class AcceptedFromNodes {
  readonly backoff = new NodeBackoff();
  /** Whether the peer's nodes answered last time it was known (logged once per change). */
  private reachable: boolean | undefined;

  constructor(
    private readonly ctx: NodeContext,
    private readonly home: Chain,
    private readonly peer: ChainEntry,
    private readonly log: Logger,
  ) {}

  private get key(): string {
    const { cfg } = this.ctx;
    return `${cfg.redis.prefix}:watcher:${this.home.codeHex}:accepted:${this.peer.codeHex}`;
  }

  /** Asks every entry node in `nodes` (not backing off) once, from its own cursor. */
  async poll(nodes: readonly string[]): Promise<NodeReport[]> {
    const reports: NodeReport[] = [];
    const origin = this.home.codeHex;
    const { asked, useful } = await askNodes(
      nodes,
      async (node, signal) => {
        const stored = await this.ctx.redis.hget(this.key, node);
        const from = stored === null ? 0 : Number(stored);
        const url = `${node}/v1/checkpoints/accepted?origin=${origin}&from=${from}`;
        // Typed by the client, but a peer's node wrote it: checked field by field all the same.
        const body: unknown = await getAcceptedCheckpoints(
          node,
          { origin, from },
          { timeoutMs: TIMEOUT_MS, maxBytes: MAX_ANSWER_BYTES, signal },
        );
        reports.push({ node, ...readAcceptedAnswer(url, from, body) });
        return true;
      },
      {
        backoff: this.backoff,
        graceMs: TIMEOUT_MS,
        onFailure: (node, e) =>
          this.log.debug(
            { peer: this.peer.codeHex, node, err: errorText(e) },
            "entry node did not answer for accepted checkpoints",
          ),
      },
    );
    // Every node backing off (asked 0) changes nothing; otherwise one state per round.
    if (nodes.length === 0 || asked > 0) this.state(nodes, useful > 0);
    return reports;
  }

  /** Moves a node's cursor past what its report held, once that was checked. */
  async commit(report: NodeReport): Promise<void> {
    await this.ctx.redis.hset(this.key, report.node, String(report.next));
  }

  private state(nodes: readonly string[], reachable: boolean): void {
    if (this.reachable === reachable) return;
    const first = this.reachable === undefined;
    this.reachable = reachable;
    const peer = this.peer.codeHex;
    if (!reachable)
      this.log.warn(
        { peer, nodes },
        nodes.length === 0
          ? `no entry node is known for peer chain ${peer} and it has no RPC here: checkpoints its Inbox accepts from us are not watched; give chains.${peer}.rpc, or pin chains.${peer}.nodes until its route record is held`
          : `no entry node of peer chain ${peer} answers GET /v1/checkpoints/accepted: checkpoints its Inbox accepts from us are not watched until one does; check those nodes, or give chains.${peer}.rpc so the watcher reads the peer Inbox itself`,
      );
    else if (!first)
      this.log.info({ peer, nodes }, `entry nodes of peer chain ${peer} answer again`);
  }
}
