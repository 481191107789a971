import { encodeFunctionData, type Address } from "viem";

import { ICorrespondentBankAbi } from "../chain/abis.js";
import { isTransient, revertOf } from "../chain/errors.js";
import type { TxSender } from "../chain/sender.js";
import { errorText, type Logger } from "../log.js";
import type { NodeContext } from "../node.js";
import { formatChainCode } from "../protocol/index.js";

/** How often the home bank is asked about pending price raises (one eth_call per peer). */
const CHECK_EVERY_MS = 5_000;

/**
 * Applies the peers' pending price raises on the home bank once their exposure window has passed
 * (docs/protocol.md 3.9, "Price delay"): a raise a peer's reserve report brought waits W in
 * `CorrespondentBank.pendingPrice(peer)` and then needs someone to call `applyPendingPrice(peer)`,
 * or our senders keep paying the old quote. Run by the attester role, which already sends
 * transactions on the home chain with its fee-capped sender.
 *
 * The call is simulated first, and the simulation is the read: `PriceNotReady(peer, readyAt)`
 * says when to look again (nothing is simulated before the home chain's time reaches it),
 * `NoPendingPrice` that nothing waits. A raise is sent once; a refusal (`PeerNotActive`, a
 * failed send) is logged once per peer and reason, naming the chain and the peer.
 */
export class PendingPrices {
  /** When each peer's pending raise is ready (home chain time, seconds). */
  private readonly readyAt = new Map<bigint, bigint>();
  /** Failures already logged, `peer:reason`. */
  private readonly reported = new Set<string>();
  private lastCheck = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly sender: TxSender,
    private readonly account: Address,
    private readonly log: Logger,
  ) {}

  /** One look at every peer of the routing table (at most every CHECK_EVERY_MS). */
  async round(): Promise<void> {
    if (Date.now() - this.lastCheck < CHECK_EVERY_MS) return;
    this.lastCheck = Date.now();
    const home = this.ctx.cfg.homeChain;
    const client = this.ctx.client(home.code);
    const now = (await client.getBlock({ blockTag: "latest" })).timestamp;
    for (const peer of this.ctx.cfg.chainList) {
      if (peer.code === home.code) continue;
      const ready = this.readyAt.get(peer.code);
      if (ready !== undefined && ready > now) continue;
      await this.apply(peer.code);
    }
  }

  private async apply(peer: bigint): Promise<void> {
    const home = this.ctx.cfg.homeChain;
    const where = { chain: home.codeHex, peer: formatChainCode(peer) };
    const bank = home.contracts.bank;
    try {
      await this.ctx.client(home.code).simulateContract({
        address: bank,
        abi: ICorrespondentBankAbi,
        functionName: "applyPendingPrice",
        args: [peer],
        account: this.account,
      });
    } catch (e) {
      const revert = revertOf(e);
      if (revert?.name === "NoPendingPrice") {
        this.readyAt.delete(peer);
        return;
      }
      if (revert?.name === "PriceNotReady") {
        this.readyAt.set(peer, revert.args[1] as bigint);
        return;
      }
      if (isTransient(e)) return; // asked again next round
      this.failedOnce(peer, revert?.name ?? "simulation", e);
      return;
    }
    try {
      const receipt = await this.sender.send({
        to: bank,
        data: encodeFunctionData({
          abi: ICorrespondentBankAbi,
          functionName: "applyPendingPrice",
          args: [peer],
        }),
        label: "applyPendingPrice",
      });
      this.readyAt.delete(peer);
      this.log.info(
        { ...where, tx: receipt.transactionHash },
        "pending price of the peer applied (or dropped: its signer left the mirror)",
      );
    } catch (e) {
      this.failedOnce(peer, "send", e);
    }
  }

  private failedOnce(peer: bigint, reason: string, e: unknown): void {
    const key = `${peer}:${reason}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const home = this.ctx.cfg.homeChain;
    this.log.warn(
      { chain: home.codeHex, peer: formatChainCode(peer), err: errorText(e) },
      `cannot apply chain ${formatChainCode(peer)}'s pending price on chain ${home.codeHex} (CorrespondentBank ${home.contracts.bank}.applyPendingPrice): ${reason}; senders keep the old quote until it is applied (anyone may call it)`,
    );
  }
}
