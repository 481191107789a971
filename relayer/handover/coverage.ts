/**
 * Which signatures a bundle needs (docs/protocol.md 4.2): what the destination's Inbox will demand
 * for one of our messages, read from the message alone, against our attesters' vouching stakes for
 * the destination, and the verdict for one message under one checkpoint's signers: handed now,
 * waiting for more signatures, or refused (no set of our attesters can carry it).
 */
import { getAddress, hexToBigInt, slice, type Address } from "viem";

import { IStakingHubAbi } from "../chain/abis.js";
import type { StoredMessage } from "../indexer/store.js";
import type { NodeContext } from "../node.js";
import { addressToBytes32, decodeMessage, formatChainCode } from "../protocol/index.js";
import { needsOf, type MessageKind } from "../relay/plan.js";
import { formatTokens, MESSAGE_DECIMALS } from "../sdk/units.js";
import type { StakedSigners } from "../relay/signers.js";
import type { PeerRecord } from "./peers.js";

/** How long our attesters' vouching stakes for a destination are believed before reread (ms). */
const STAKES_TTL_MS = 2_000;

/** What the destination's Inbox will demand for one of our messages, as our own chain shows it. */
export interface OriginNeeds {
  kind: MessageKind;
  minSigners: number;
  /** Value at risk (fee included); for a stake report 0: it needs a majority instead. */
  valueAtRisk: bigint;
  /**
   * The value at risk is an upper bound (a reserve report's, whose real figure is the credit it
   * grants on the destination): never refused for it, handed with every signature at worst.
   */
  bound: boolean;
}

/** Our attesters' vouching stake per destination (checksummed; stake > 0 only), cached briefly. */
export class VouchingStakes {
  private readonly stakes = new Map<bigint, { at: number; stakes: Map<Address, bigint> }>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly staked: StakedSigners,
  ) {}

  /**
   * Our attesters' vouching stake for `destination` as our own StakingHub shows it (what the
   * destination's mirror of them is made from, protocol.md 3.5-3.6), read every STAKES_TTL_MS.
   */
  async of(destination: bigint): Promise<Map<Address, bigint>> {
    const hit = this.stakes.get(destination);
    if (hit && Date.now() - hit.at < STAKES_TTL_MS) return hit.stakes;
    const home = this.ctx.cfg.homeChain;
    const client = this.ctx.client(home.code);
    const attesters = [...(await this.staked.signers())];
    const values = await Promise.all(
      attesters.map((a) =>
        client.readContract({
          address: home.contracts.stakingHub,
          abi: IStakingHubAbi,
          functionName: "vouchingStake",
          args: [a, destination],
        }),
      ),
    );
    const stakes = new Map(
      attesters.flatMap((a, i) => (values[i]! > 0n ? [[getAddress(a), values[i]!] as const] : [])),
    );
    this.stakes.set(destination, { at: Date.now(), stakes });
    return stakes;
  }
}

/**
 * What the destination's Inbox will demand for `m` at least (protocol.md 3.4), from the message
 * alone (planned like the destination's relayer does, relay/plan.ts): its amount, a peer bank
 * report's figure, its fee, a stake report's majority. The route's policy and a recipient's
 * own live on the destination and are not known here: a message they stop is reported back
 * and handed again with more signatures (`follow`, `rehand`).
 */
export function originNeeds(
  home: NodeContext["cfg"]["homeChain"],
  m: StoredMessage,
  route: PeerRecord,
): OriginNeeds {
  const decoded = decodeMessage(m.message);
  const sender = decoded.sender.toLowerCase();
  const recipient = decoded.recipient.toLowerCase();
  const stakeReport =
    sender === addressToBytes32(home.contracts.stakingHub).toLowerCase() &&
    recipient === addressToBytes32(route.inbox).toLowerCase();
  const bank = sender === addressToBytes32(home.contracts.bank).toLowerCase();
  const kind: MessageKind = stakeReport ? "stakeReport" : bank ? "bank" : "call";
  let amount = decoded.amount;
  let bound = false;
  const body = decoded.body;
  // Peer bank reports: a reserve report grants at most its reserve as credit; a netting
  // message moves at most its amount.
  const report = body.slice(0, 4);
  if (
    bank &&
    recipient === addressToBytes32(route.bank).toLowerCase() &&
    ["0x02", "0x03", "0x04"].includes(report) &&
    body.length >= 68
  ) {
    const figure = hexToBigInt(slice(body, 1, 33));
    if (report === "0x02") bound = true;
    if (figure > amount) amount = figure;
  }
  // The route's policy for our messages is the destination registry's record of us (its
  // minimum of signers and default coverage), not ours of it: only what the message itself
  // says is judged here.
  const needs = needsOf(
    { kind, amount, policy: { minSigners: 0, requiredCoverage: 0n } },
    { minSigners: 1, defaultCoverage: 0n },
  );
  return {
    kind,
    minSigners: needs.minSigners,
    valueAtRisk: kind === "stakeReport" ? 0n : needs.valueAtRisk + decoded.fee,
    bound,
  };
}

/**
 * Whether `signers` (with their vouching stakes `stakes`) can carry a message of `needs`: enough
 * of them, a majority of the whole vouching stake for a stake report (protocol.md 3.5), else
 * stake covering its value at risk.
 */
export function covers(
  needs: OriginNeeds,
  signers: readonly Address[],
  stakes: ReadonlyMap<Address, bigint>,
): boolean {
  const held = signers.filter((s) => (stakes.get(getAddress(s)) ?? 0n) > 0n);
  if (held.length < Math.max(1, needs.minSigners)) return false;
  const sum = held.reduce((t, s) => t + stakes.get(getAddress(s))!, 0n);
  if (needs.kind === "stakeReport") {
    const total = [...stakes.values()].reduce((t, v) => t + v, 0n);
    return sum * 2n > total;
  }
  return sum >= needs.valueAtRisk;
}

/** What becomes of one message under a checkpoint's signers. */
export type Verdict =
  { hand: true } | { hand: false; state: "waiting" | "refused"; reason: string };

/**
 * Whether a message of `needs` goes in a bundle signed by `signers` (`stakes`: every attester's
 * vouching stake for `destination`); `rehandAbove`: the destination reported it cannot deliver it
 * with that many signatures. Else whether it waits for more signatures or none could carry it.
 */
export function verdict(
  needs: OriginNeeds,
  signers: readonly Address[],
  stakes: ReadonlyMap<Address, bigint>,
  destination: bigint,
  rehandAbove: number | undefined,
): Verdict {
  const above = rehandAbove;
  const everyone = [...stakes.keys()];
  if (covers(needs, signers, stakes) && (above === undefined || signers.length > above))
    return { hand: true };
  const possible = covers(needs, everyone, stakes);
  if (possible || needs.bound || above !== undefined) {
    // Handed anyway when every staked signer signed and it is a bound or a re-hand: there is
    // nothing better to wait for, and the destination judges the real figure.
    if (signers.length >= everyone.length && (needs.bound || above !== undefined))
      return { hand: true };
    return {
      hand: false,
      state: "waiting",
      reason:
        above !== undefined
          ? `the destination cannot deliver it with ${above} signatures: waits for a checkpoint signed by more`
          : needs.kind === "stakeReport"
            ? `a stake report needs signers holding a majority of the vouching stake for chain ${formatChainCode(destination)}: waits for more signatures`
            : `value at risk ${formatTokens(needs.valueAtRisk, MESSAGE_DECIMALS)} tokens (min ${needs.minSigners} signers) above the ${signers.length} signers' vouching stake for chain ${formatChainCode(destination)}: waits for more signatures`,
    };
  }
  return {
    hand: false,
    state: "refused",
    reason: `no set of our staked attesters can carry it to chain ${formatChainCode(destination)}: value at risk ${formatTokens(needs.valueAtRisk, MESSAGE_DECIMALS)} tokens, min ${needs.minSigners} signers, against ${everyone.length} attesters vouching ${formatTokens(
      [...stakes.values()].reduce((t, v) => t + v, 0n),
      MESSAGE_DECIMALS,
    )} tokens in all (stake or allocate more)`,
  };
}
