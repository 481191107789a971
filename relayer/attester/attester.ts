import { encodeFunctionData, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

import { IOutboxAbi, IStakingHubAbi } from "../chain/abis.js";
import { publicClientFor, walletClientFor } from "../chain/clients.js";
import { TxSender } from "../chain/sender.js";
import { domainOf } from "../checkpoints.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { signCheckpoint, type Checkpoint } from "../protocol/index.js";
import { signableBlock } from "./finality.js";
import { PendingPrices } from "./prices.js";

/**
 * The attester role: with a key staked in the home StakingHub it
 * - calls Outbox.snapshot() when enough messages are not snapshotted yet (and not too often), and
 * - signs the checkpoint of every snapshot the indexer confirmed, but only
 *   - when the snapshot's block is at or below the chain's finalized (or safe) block, or
 *     `reorgBound` blocks below the tip where the client has no such tag (finality.ts): a reorg the
 *     config admits cannot replace it;
 *   - and the root it computes from its own leaves equals both the Snapshot event's root and the
 *     Outbox's rootAt(count) read at that block (not at the tip);
 *   - and, where `witnessRpc` is configured, an independent RPC calls that block final too and has
 *     the same block hash there and the same rootAt(count): one lying RPC cannot get a false root
 *     (or a root of a block it merely calls final) signed.
 *   An honest attester signs nothing the final chain does not hold, so it can never be slashed.
 * Signatures go to the node's checkpoint store, which the API serves.
 */
export class Attester {
  readonly account: PrivateKeyAccount;
  private readonly sender: TxSender;
  private readonly log: Logger;
  private lastSnapshotCall = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private refused = new Set<number>();
  /** Counts known to be signed by us (in the store): not asked about again every round. */
  private signed = new Set<number>();
  private signedGen: string | undefined;
  /** An RPC of another provider (chains.<home>.witnessRpc), when configured. */
  private readonly witness: PublicClient | undefined;
  private lastSignableBy: string | undefined;
  private readonly prices: PendingPrices;

  constructor(
    private readonly ctx: NodeContext,
    key: Hex,
  ) {
    this.account = privateKeyToAccount(key);
    const home = ctx.cfg.homeChain;
    this.log = ctx.log.child({ role: "attester", attester: this.account.address });
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
    this.prices = new PendingPrices(ctx, this.sender, this.account.address, this.log);
    this.witness = home.witnessRpc.length
      ? publicClientFor({ ...home, rpc: home.witnessRpc })
      : undefined;
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
    const home = this.ctx.cfg.homeChain;
    const bonded = await this.ctx
      .client(home.code)
      .readContract({
        address: home.contracts.stakingHub,
        abi: IStakingHubAbi,
        functionName: "bonded",
        args: [this.account.address],
      })
      .catch(() => undefined);
    if (bonded === 0n)
      this.log.warn(
        "attester key has no bonded stake on the home StakingHub: its signatures vouch for nothing",
      );
    this.log.info({ bonded: bonded?.toString() }, "attester started");
    while (!this.stopped) {
      try {
        await this.maybeSnapshot();
        await this.signConfirmedSnapshots();
        // Peers' price raises whose window passed (prices.ts).
        await this.prices.round();
      } catch (e) {
        this.log.warn({ err: errorText(e) }, "attester round failed, retrying");
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, home.pollIntervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Calls Outbox.snapshot() when the cadence allows and enough messages wait. */
  async maybeSnapshot(): Promise<void> {
    const { cfg } = this.ctx;
    if (!cfg.attester.snapshot) return;
    if (Date.now() - this.lastSnapshotCall < cfg.attester.snapshotIntervalMs) return;
    const home = cfg.homeChain;
    const client = this.ctx.client(home.code);
    const [count, [, snapped]] = await Promise.all([
      client.readContract({
        address: home.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "count",
      }),
      client.readContract({
        address: home.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "latestSnapshot",
      }),
    ]);
    if (count - snapped < cfg.attester.minNewMessages) return;
    this.lastSnapshotCall = Date.now();
    const receipt = await this.sender.send({
      to: home.contracts.outbox,
      data: encodeFunctionData({ abi: IOutboxAbi, functionName: "snapshot" }),
      label: "snapshot",
    });
    this.ctx.metrics.snapshotsCalled.inc();
    this.log.info({ count, tx: receipt.transactionHash }, "Outbox snapshot taken");
  }

  /** Signs every confirmed snapshot not signed yet whose root we reproduce. Returns counts signed. */
  async signConfirmedSnapshots(): Promise<number[]> {
    const { cfg, checkpoints } = this.ctx;
    const home = cfg.homeChain;
    const view = this.ctx.view(home.code);
    const { tree, cursor } = await view.sync();
    const snapshots = (await view.snapshots()).reverse().slice(0, 64);
    // A rewritten index (reorg, rebuild, a Redis that came back empty) may have lost our
    // signatures: ask the store again. Only the counts still in view are remembered.
    if (cursor?.gen !== this.signedGen) this.signed.clear();
    this.signedGen = cursor?.gen;
    const inView = new Set(snapshots.map((s) => s.count));
    for (const count of this.signed) if (!inView.has(count)) this.signed.delete(count);
    const signed: number[] = [];
    const domain = domainOf(home);
    const client = this.ctx.client(home.code);
    /** The block reads are made at: the signable block, or the indexed one when lower. */
    let at: { number: number; hash: Hex } | undefined;
    for (const snap of snapshots) {
      if (this.refused.has(snap.count) || this.signed.has(snap.count)) continue;
      if (await checkpoints.has(home.code, snap.count, this.account.address)) {
        this.signed.add(snap.count);
        continue;
      }
      if (snap.count > tree.count) continue; // the indexer has not stored those leaves yet
      if (snap.count === 0) continue; // nothing to vouch for (the Inbox takes no empty checkpoint)
      at ??= await this.readBlock(cursor?.block);
      if (!at || snap.block > at.number) continue; // not final yet: a reorg could still replace it
      const ours = tree.rootAt(snap.count);
      const onChain = await this.rootAt(client, snap.count, at.number);
      if (ours !== onChain || ours !== snap.root) {
        this.refuse(snap.count, "refusing to sign: our root differs from the chain's", {
          ours,
          onChain,
          event: snap.root,
          block: at.number,
        });
        continue;
      }
      if (this.witness) {
        const seen = await this.witnessed(snap.count, at).catch((e: unknown) => {
          this.log.warn(
            { count: snap.count, block: at!.number, err: errorText(e) },
            "witness RPC did not answer: not signing yet",
          );
          return undefined;
        });
        if (!seen) continue;
        if (seen.hash !== at.hash || seen.root !== ours) {
          this.refuse(snap.count, "refusing to sign: the witness RPC disagrees with the RPC", {
            ours,
            witnessRoot: seen.root,
            block: at.number,
            hash: at.hash,
            witnessHash: seen.hash,
          });
          continue;
        }
      }
      const checkpoint: Checkpoint = {
        origin: home.code,
        root: ours,
        count: snap.count,
        last: tree.leaf(snap.count - 1),
      };
      const signature = await signCheckpoint(this.account, domain, checkpoint);
      await checkpoints.add(checkpoint, [{ signer: this.account.address, signature }]);
      this.signed.add(snap.count);
      this.ctx.metrics.checkpointsSigned.inc();
      this.ctx.metrics.signedCount.set(Math.max(snap.count, signed[0] ?? 0));
      this.log.info({ count: snap.count, root: ours }, "checkpoint signed");
      signed.push(snap.count);
    }
    return signed;
  }

  /** The block to read at: the lower of the signable (final) block and the indexed block. */
  private async readBlock(
    indexed: number | undefined,
  ): Promise<{ number: number; hash: Hex } | undefined> {
    const home = this.ctx.cfg.homeChain;
    const client = this.ctx.client(home.code);
    const final = await signableBlock(client, home);
    if (!final || indexed === undefined) return undefined;
    if (final.by !== this.lastSignableBy) {
      this.lastSignableBy = final.by;
      this.log.info(
        { by: final.by, block: final.number, reorgBound: home.reorgBound },
        "signing snapshots at or below this block",
      );
    }
    if (final.number <= indexed) return final;
    const block = await client.getBlock({ blockNumber: BigInt(indexed) });
    return { number: indexed, hash: block.hash };
  }

  private rootAt(client: PublicClient, count: number, block: number): Promise<Hex> {
    const home = this.ctx.cfg.homeChain;
    return client.readContract({
      address: home.contracts.outbox,
      abi: IOutboxAbi,
      functionName: "rootAt",
      args: [count],
      blockNumber: BigInt(block),
    });
  }

  /**
   * What the witness RPC holds at `at`: its block hash and the Outbox's rootAt(count); undefined
   * while `at` is not final by the witness's own account either (a lying RPC's "finalized" block
   * may be its tip).
   */
  private async witnessed(count: number, at: { number: number }) {
    const witness = this.witness!;
    const final = await signableBlock(witness, this.ctx.cfg.homeChain);
    if (!final || final.number < at.number) return undefined;
    const [block, root] = await Promise.all([
      witness.getBlock({ blockNumber: BigInt(at.number) }),
      this.rootAt(witness, count, at.number),
    ]);
    return { hash: block.hash, root };
  }

  private refuse(count: number, msg: string, detail: Record<string, unknown>): void {
    this.refused.add(count);
    this.ctx.metrics.signRefused.inc();
    this.log.error({ count, ...detail }, msg);
  }
}
