/**
 * Connecting two deployments pairwise, the way correspondent banks open accounts with each other:
 * each side enrolls the other's contracts, then seeds its mirror of the other's attester set from
 * a trusted read of the other's StakingHub, and optionally funds its reserve on the other.
 *
 * Every step reads the current state first, so running `connect` twice changes nothing.
 */
import { ethers } from "ethers";

import type { IRouteRegistry } from "../typechain-types/index.js";
import { governThroughTimelock, type GovernanceOutcome } from "./governance.js";
import type { Suite } from "./suite.js";

export interface ConnectOptions {
  /** Default minimum number of signers per checkpoint for messages from the peer. */
  minSigners?: number;
  /** Default value at risk (18 decimals) of any message from the peer. */
  defaultCoverage?: bigint;
  /** Progress lines, e.g. `console.log`. */
  log?: (line: string) => void;
}

export interface SeedOutcome {
  status: "seeded" | "already-seeded" | "no-allocations" | GovernanceOutcome;
  attesters: string[];
  stakes: bigint[];
}

const STATUS_NONE = 0n;

/** The route record `local` keeps about `peer`, read from the peer chain itself. */
export async function routeRecordOf(
  peer: Suite,
  options: ConnectOptions = {},
): Promise<IRouteRegistry.RouteStruct> {
  return {
    evmChainId: peer.evmChainId,
    outbox: peer.addresses.outbox,
    inbox: peer.addresses.inbox,
    stakingHub: peer.addresses.stakingHub,
    bank: peer.addresses.bank,
    settlementDecimals: await peer.token.decimals(),
    minSigners: options.minSigners ?? 1,
    defaultCoverage: options.defaultCoverage ?? 0n,
    unbondingDelay: await peer.stakingHub.unbondingDelay(),
  };
}

/** Enrolls `peer` on `local` unless it is enrolled already. */
export async function enrollPeer(
  local: Suite,
  peer: Suite,
  options: ConnectOptions = {},
): Promise<GovernanceOutcome> {
  if ((await local.registry.status(peer.code)) !== STATUS_NONE) return "already-done";
  const record = await routeRecordOf(peer, options);
  const data = local.registry.interface.encodeFunctionData("enrollRoute", [peer.code, record]);
  return governThroughTimelock(
    local,
    [{ target: local.addresses.registry, data }],
    saltFor("enroll", local, peer),
  );
}

/**
 * Seeds `local`'s mirror of `peer`'s attester set with each attester's vouching stake for `local`
 * on the peer's StakingHub (its allocation in 18 decimals less the bounty share, as its reports say). Skipped while no attester of the peer has
 * allocated to us yet (seeding an empty set would leave new stake nothing to vouch for it).
 */
export async function seedMirror(local: Suite, peer: Suite): Promise<SeedOutcome> {
  if (await local.inbox.isMirrorInitialized(peer.code)) {
    return { status: "already-seeded", attesters: [], stakes: [] };
  }
  const attesters: string[] = [];
  const stakes: bigint[] = [];
  for (const attester of await peer.stakingHub.attesters()) {
    if (await peer.stakingHub.slashed(attester)) continue;
    // The figure the peer's stake reports carry: the allocation less the prover's bounty share.
    const stake = await peer.stakingHub.vouchingStake(attester, local.code);
    if (stake === 0n) continue;
    attesters.push(attester);
    stakes.push(stake);
  }
  if (attesters.length === 0) return { status: "no-allocations", attesters, stakes };
  const data = local.registry.interface.encodeFunctionData("initializeMirror", [
    peer.code,
    attesters,
    stakes,
  ]);
  const status = await governThroughTimelock(
    local,
    [{ target: local.addresses.registry, data }],
    saltFor("seed", local, peer),
  );
  return { status: status === "executed" ? "seeded" : status, attesters, stakes };
}

/** Enrolls both sides with each other (step 1 of connecting). */
export async function enrollBothWays(
  a: Suite,
  b: Suite,
  options: ConnectOptions = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  log(`${a.addresses.name}: enroll ${b.addresses.name} → ${await enrollPeer(a, b, options)}`);
  log(`${b.addresses.name}: enroll ${a.addresses.name} → ${await enrollPeer(b, a, options)}`);
}

/** Seeds both mirrors (step 2, once the attesters allocated to each other). */
export async function seedBothWays(
  a: Suite,
  b: Suite,
  options: ConnectOptions = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  const ab = await seedMirror(a, b);
  log(
    `${a.addresses.name}: mirror of ${b.addresses.name} → ${ab.status} (${ab.attesters.length} attesters)`,
  );
  const ba = await seedMirror(b, a);
  log(
    `${b.addresses.name}: mirror of ${a.addresses.name} → ${ba.status} (${ba.attesters.length} attesters)`,
  );
}

/** A deterministic salt per step and pair, so that re-running a step finds it done. */
function saltFor(step: string, local: Suite, peer: Suite): string {
  return ethers.solidityPackedKeccak256(
    ["string", "address", "uint64"],
    [`distpos.connect.${step}`, local.addresses.registry, peer.code],
  );
}
