import { encodeFunctionData, getAddress, isAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

import { IStakingHubAbi } from "../chain/abis.js";
import { walletClientFor } from "../chain/clients.js";
import { revertOf } from "../chain/errors.js";
import { TxRevertedError, TxSender } from "../chain/sender.js";
import type { Chain, ChainEntry } from "../config/load.js";
import { errorText, type Logger } from "../log.js";
import { Lru } from "../lru.js";
import type { NodeContext } from "../node.js";
import { getCheckpoint } from "../nodeApi/endpoints.js";
import { askNodes, NodeBackoff } from "../peers/entryNodes.js";
import type { Checkpoint } from "../protocol/index.js";
import { SignerRecovery } from "../relay/signatures.js";
import { StakedSigners, type SignerSource } from "../relay/signers.js";
import { peerChain, peerEntryNodes } from "../handover/peers.js";
import { readAcceptedCheckpoints } from "./accepted.js";
import { AcceptedFromNodes } from "./acceptedFromNodes.js";

/** Signatures (checked, or proven) remembered so they are not read about again. */
const SEEN_MAX = 20_000;
/** Entry-node signatures naming no staked signer that are still recovered per round, at most. */
const UNNAMED_PER_ROUND = 16;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

interface CheckpointAnswer {
  origin?: string;
  root?: Hex;
  count?: number;
  last?: Hex;
  signatures?: { signer?: string; signature?: string }[];
}

/**
 * The watcher role: checks every checkpoint signature of our home chain that it meets against the
 * home Outbox (StakingHub.isFraudulent) and proves the false ones on the home StakingHub, which
 * slashes the signer. It meets signatures
 * - on the APIs of the home chain's entry nodes (and in our own checkpoint store), and
 * - in the `CheckpointAccepted` logs of every peer chain's Inbox: each checkpoint of our home chain
 *   it accepted, with its signatures (a false root that was used to forge a delivery), however the
 *   delivery was made. Read from the peer chain where the config gives its RPC; otherwise as the
 *   peer's entry nodes report them (GET /v1/checkpoints/accepted), checked all the same.
 *
 * Only signatures of attesters staked on the home StakingHub can be proven, so only those are read
 * about on chain: entry nodes' signatures that name a staked signer are checked first, a few
 * others are recovered per round (a liar's node may misname its signer), and junk costs nothing
 * more. Entry nodes are asked at once, with time and size limits and a backoff per node. Memory is
 * bounded: what was checked is remembered in an LRU, and a checkpoint found honest (one
 * `isFraudulent` read) is not read about again for its other signatures.
 */
export class Watcher {
  readonly account: PrivateKeyAccount;
  private readonly sender: TxSender;
  private readonly log: Logger;
  /** Per peer without an RPC here: its entry nodes' reports of what its Inbox accepted from us. */
  private readonly fromNodes = new Map<bigint, AcceptedFromNodes>();
  private readonly seen = new Lru<string, true>(SEEN_MAX);
  /** Checkpoints (count:root) `isFraudulent` found honest: a snapshotted root never changes. */
  private readonly honest = new Lru<string, true>(1_000);
  /** Checkpoints whose last leaf waits for our index (said once each, not every round). */
  private readonly unjudged = new Lru<string, true>(1_000);
  readonly recovery = new SignerRecovery(SEEN_MAX);
  readonly backoff = new NodeBackoff();
  readonly staked: SignerSource;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly ctx: NodeContext,
    key: Hex,
    staked?: SignerSource,
  ) {
    this.account = privateKeyToAccount(key);
    const home = ctx.cfg.homeChain;
    this.staked = staked ?? new StakedSigners(ctx.client(home.code), home);
    this.log = ctx.log.child({ role: "watcher" });
    this.sender = new TxSender(
      ctx.client(home.code),
      walletClientFor(home, this.account),
      this.account,
      {
        log: this.log,
        metrics: ctx.metrics,
        signal: ctx.shutdown.signal,
        chainLabel: home.codeHex,
      },
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    this.log.info({ prover: this.account.address }, "watcher started");
    while (!this.stopped) {
      try {
        await this.round();
      } catch (e) {
        this.log.warn({ err: errorText(e) }, "watcher round failed, retrying");
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.ctx.cfg.watcher.pollIntervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** One pass over every source. */
  async round(): Promise<void> {
    const home = this.ctx.cfg.homeChain;
    await this.checkNodeApis(home);
    // A peer's Inbox is read where the config gives the peer's RPC, at the address the home
    // RouteRegistry enrolled (never the config's): every log is seen, whatever its nodes do.
    // Without one (a home-only node), the peer's entry nodes say what it accepted: a node can
    // withhold, never forge (docs/protocol.md, A2).
    for (const peer of this.ctx.cfg.chainList) {
      if (peer.code === home.code) continue;
      if (peer.rpc.length > 0)
        await this.checkDeliveries(home, await peerChain(this.ctx, peer.code));
      else await this.checkReportedDeliveries(home, peer);
    }
  }

  private async checkNodeApis(home: Chain): Promise<void> {
    const own = await this.ctx.checkpoints.latest(home.code);
    if (own)
      for (const s of own.signatures)
        await this.check(
          { origin: home.code, root: own.root, count: own.count, last: own.last },
          s.signature,
          "store",
        );
    const staked = await this.staked.signers(home);
    const named: { checkpoint: Checkpoint; signature: Hex }[] = [];
    const unnamed: { checkpoint: Checkpoint; signature: Hex }[] = [];
    await askNodes(
      home.nodes,
      async (node, signal) => {
        // Typed by the client, but an entry node wrote it: checked field by field below.
        const answer = (await getCheckpoint(
          node,
          { origin: home.codeHex },
          { timeoutMs: 5_000, maxBytes: 1_000_000, signal },
        )) as CheckpointAnswer | undefined;
        if (!answer || typeof answer.root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(answer.root))
          return false;
        if (typeof answer.last !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(answer.last))
          return false;
        if (
          typeof answer.count !== "number" ||
          !Number.isInteger(answer.count) ||
          answer.count < 0 ||
          answer.count > 0xffffffff ||
          !Array.isArray(answer.signatures)
        )
          return false;
        const checkpoint: Checkpoint = {
          origin: home.code,
          root: answer.root,
          count: answer.count,
          last: answer.last,
        };
        // One signature per named signer: an honest node serves no more, so more is junk.
        const tried = new Set<Address>();
        for (const s of answer.signatures) {
          if (!s || typeof s.signature !== "string" || !SIGNATURE.test(s.signature)) continue;
          const claimed =
            typeof s.signer === "string" && isAddress(s.signer, { strict: false })
              ? getAddress(s.signer)
              : undefined;
          const entry = { checkpoint, signature: s.signature as Hex };
          if (claimed && staked.has(claimed)) {
            if (!tried.has(claimed)) named.push(entry);
            tried.add(claimed);
          } else if (unnamed.length < UNNAMED_PER_ROUND) unnamed.push(entry);
        }
        return true;
      },
      {
        backoff: this.backoff,
        graceMs: 5_000,
        onFailure: (node, e) =>
          this.log.debug({ node, err: errorText(e) }, "entry node did not answer"),
      },
    );
    // Signatures that name a staked signer first; a few others after them (junk last).
    for (const e of [...named, ...unnamed]) await this.check(e.checkpoint, e.signature, "api");
  }

  /**
   * Reads the peer Inbox's `CheckpointAccepted` logs for our home chain: every checkpoint it
   * accepted from us with the signatures it accepted, however `deliver` was called (directly or
   * through any contract — calldata would miss the latter).
   */
  private async checkDeliveries(home: Chain, peer: Chain): Promise<void> {
    const client = this.ctx.client(peer.code);
    const key = `${this.ctx.cfg.redis.prefix}:watcher:${home.codeHex}:deliveries:${peer.codeHex}`;
    const stored = await this.ctx.redis.get(key);
    const from = stored === null ? peer.startBlock : Number(stored) + 1;
    const tip = Number(await client.getBlockNumber());
    if (from > tip) return;
    const to = Math.min(tip, from + peer.maxLogRange - 1);
    const accepted = await readAcceptedCheckpoints(
      client,
      peer.contracts.inbox,
      home.code,
      from,
      to,
    );
    for (const { root, count, last, signatures } of accepted)
      for (const signature of signatures)
        await this.check({ origin: home.code, root, count, last }, signature, "log");
    await this.ctx.redis.set(key, String(to));
  }

  /**
   * What the peer's entry nodes report its Inbox accepted from us, each node from its own cursor:
   * every signature is checked against the home chain, then that node's cursor moves on.
   */
  private async checkReportedDeliveries(home: Chain, peer: ChainEntry): Promise<void> {
    let poller = this.fromNodes.get(peer.code);
    if (!poller)
      this.fromNodes.set(
        peer.code,
        (poller = new AcceptedFromNodes(this.ctx, home, peer, this.log)),
      );
    for (const report of await poller.poll(peerEntryNodes(this.ctx, peer.code))) {
      for (const { root, count, last, signatures } of report.checkpoints)
        for (const signature of signatures)
          await this.check({ origin: home.code, root, count, last }, signature, "peer-node");
      await poller.commit(report);
    }
  }

  /**
   * Checks one signature; proves fraud when the checkpoint is false and the signer not slashed.
   * A checkpoint lies by its root (or count), judged by the home StakingHub alone, or by its last
   * leaf under a true root, judged against our own index of the home Outbox: the true leaf at
   * `count - 1` and its proof are what `proveLastLeafFraud` needs.
   */
  async check(
    checkpoint: Checkpoint,
    signature: Hex,
    source: string,
  ): Promise<"honest" | "proven" | "skipped"> {
    const home = this.ctx.cfg.homeChain;
    const checkpointKey = `${checkpoint.count}:${checkpoint.root}:${checkpoint.last}`.toLowerCase();
    const seenKey = `${checkpointKey}:${signature}`.toLowerCase();
    if (this.seen.has(seenKey)) return "skipped";
    const signer = await this.recovery.recover(home, checkpoint, signature);
    // Not a signature the contracts would accept, or of no one staked: nothing to prove.
    if (!signer || !(await this.staked.signers(home)).has(signer)) return "skipped";
    if (this.honest.has(checkpointKey)) {
      this.seen.set(seenKey, true);
      return "honest";
    }
    this.ctx.metrics.watcherChecked.inc({ source });
    const client = this.ctx.client(home.code);
    let lie: FraudProof | undefined;
    const fraudulent = await client.readContract({
      address: home.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "isFraudulent",
      args: [checkpoint],
    });
    if (fraudulent) lie = { functionName: "proveFraud", args: [checkpoint, signature] };
    else {
      const last = await this.lastLeafLie(checkpoint);
      if (last === "unknown") {
        // Judged next round; said once, since a node without the indexer role on this Redis
        // never gets there and could not prove a false last leaf at all.
        if (!this.unjudged.has(checkpointKey)) {
          this.unjudged.set(checkpointKey, true);
          this.log.warn(
            { count: checkpoint.count, root: checkpoint.root, source },
            "cannot judge this checkpoint's last leaf yet: our index of the home Outbox is behind " +
              "it or disagrees with its root; a watcher needs the indexer role on its Redis",
          );
        }
        return "skipped";
      }
      if (last)
        lie = {
          functionName: "proveLastLeafFraud",
          args: [checkpoint, signature, last.leaf, last.proof],
        };
    }
    if (!lie) {
      this.honest.set(checkpointKey, true);
      this.seen.set(seenKey, true);
      return "honest";
    }
    const slashed = await client.readContract({
      address: home.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "slashed",
      args: [signer],
    });
    if (slashed) {
      this.seen.set(seenKey, true);
      return "skipped";
    }
    this.log.warn(
      { signer, count: checkpoint.count, root: checkpoint.root, last: checkpoint.last, source },
      lie.functionName === "proveFraud"
        ? "false checkpoint signature found: proving fraud"
        : "checkpoint signature with a false last leaf found: proving fraud",
    );
    return this.prove(lie, signer, seenKey);
  }

  /**
   * Whether the true-rooted `checkpoint` names a last leaf other than the home Outbox's leaf at
   * `count - 1`, from our own index: that leaf with its proof, undefined when `last` is right,
   * "unknown" when the index has not reached `count` yet or disagrees with the chain's root there
   * (a reorganisation it has not followed yet).
   */
  private async lastLeafLie(
    checkpoint: Checkpoint,
  ): Promise<{ leaf: Hex; proof: Hex[] } | undefined | "unknown"> {
    const { tree } = await this.ctx.view(this.ctx.cfg.homeChain.code).sync();
    if (tree.count < checkpoint.count) return "unknown";
    if (tree.rootAt(checkpoint.count).toLowerCase() !== checkpoint.root.toLowerCase())
      return "unknown";
    const leaf = tree.leaf(checkpoint.count - 1);
    if (leaf.toLowerCase() === checkpoint.last.toLowerCase()) return undefined;
    return { leaf, proof: tree.multiproof([checkpoint.count - 1], checkpoint.count) };
  }

  private async prove(
    lie: FraudProof,
    signer: Address,
    seenKey: string,
  ): Promise<"proven" | "skipped"> {
    const home = this.ctx.cfg.homeChain;
    try {
      const receipt = await this.sender.send({
        to: home.contracts.stakingHub,
        data: encodeFunctionData({ abi: IStakingHubAbi, ...lie }),
        label: lie.functionName,
      });
      this.ctx.metrics.fraudProofs.inc({ outcome: "slashed" });
      this.log.warn({ signer, tx: receipt.transactionHash }, "fraud proven: attester slashed");
      this.seen.set(seenKey, true);
      return "proven";
    } catch (e) {
      // Someone else proved it first (AttesterSlashed / nothing to slash), or the call failed: a
      // revert is final, a transport error is retried on the next round.
      if (e instanceof TxRevertedError || revertOf(e)) this.seen.set(seenKey, true);
      this.ctx.metrics.fraudProofs.inc({ outcome: "failed" });
      this.log.warn({ signer, err: errorText(e) }, `${lie.functionName} failed`);
      return "skipped";
    }
  }
}

/** The StakingHub call that slashes a false checkpoint's signer. */
type FraudProof =
  | { functionName: "proveFraud"; args: readonly [Checkpoint, Hex] }
  | { functionName: "proveLastLeafFraud"; args: readonly [Checkpoint, Hex, Hex, readonly Hex[]] };
