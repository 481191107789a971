import { encodeFunctionData, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

import { IOutboxAbi, IStakingHubAbi } from "../chain/abis.js";
import { walletClientFor } from "../chain/clients.js";
import { TxSender } from "../chain/sender.js";
import { domainOf } from "../checkpoints.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { signCheckpoint, type Checkpoint } from "../protocol/index.js";

/**
 * The attester role: with a key staked in the home StakingHub it
 * - calls Outbox.snapshot() when enough messages are not snapshotted yet (and not too often), and
 * - signs the checkpoint of every snapshot the indexer confirmed, but only when the root it computes
 *   from its own leaves equals both the Snapshot event's root and the Outbox's rootAt(count): an
 *   honest attester signs nothing the chain does not hold, so it can never be slashed.
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
    for (const snap of snapshots) {
      if (this.refused.has(snap.count) || this.signed.has(snap.count)) continue;
      if (await checkpoints.has(home.code, snap.count, this.account.address)) {
        this.signed.add(snap.count);
        continue;
      }
      if (snap.count > tree.count) continue; // the indexer has not stored those leaves yet
      const ours = tree.rootAt(snap.count);
      const onChain = await this.ctx.client(home.code).readContract({
        address: home.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "rootAt",
        args: [snap.count],
      });
      if (ours !== onChain || ours !== snap.root) {
        this.refused.add(snap.count);
        this.ctx.metrics.signRefused.inc();
        this.log.error(
          { count: snap.count, ours, onChain, event: snap.root },
          "refusing to sign: our root differs from the chain's",
        );
        continue;
      }
      const checkpoint: Checkpoint = { origin: home.code, root: ours, count: snap.count };
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
}
