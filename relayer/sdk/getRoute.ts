/**
 * What a route can carry now, read from both ends: its status at the origin, the origin
 * community's credit (its reserve on the destination, as last reported), that reserve as the
 * destination holds it, and the vouching headroom of the origin's attesters on the destination.
 */
import type { Address } from "viem";

import { ICorrespondentBankAbi, IInboxAbi, IOutboxAbi, IStakingHubAbi } from "./abis.js";
import { codeOf, onChain, type DistposClient } from "./client.js";
import { getToken } from "./getToken.js";
import { formatTokens, MESSAGE_DECIMALS } from "./units.js";

const ROUTE_STATUS = ["none", "active", "paused"] as const;
export type RouteStatus = (typeof ROUTE_STATUS)[number] | `unknown(${number})`;

export interface Credit {
  origin: string;
  destination: string;
  /** What the origin may still send to the destination (18 decimals). */
  credit: bigint;
  creditText: string;
  symbol: string;
}

/** The origin's credit at `destination`, as the origin's bank knows it (what `send` checks). */
export async function getCredit(
  client: DistposClient,
  params: { origin: bigint | string; destination: bigint | string },
): Promise<Credit> {
  const origin = client.chain(params.origin);
  const destination = client.chain(params.destination);
  const token = await getToken(client, { chain: origin.code });
  const credit = await onChain(origin, "CorrespondentBank.creditView", () =>
    client.publicClient(origin).readContract({
      address: origin.contracts.bank,
      abi: ICorrespondentBankAbi,
      functionName: "creditView",
      args: [destination.code],
    }),
  );
  return {
    origin: codeOf(origin),
    destination: codeOf(destination),
    credit,
    creditText: formatTokens(credit, MESSAGE_DECIMALS),
    symbol: token.symbol,
  };
}

export interface Reserve {
  /** The chain holding the reserve. */
  chain: string;
  /** The community it belongs to. */
  peer: string;
  /** Token units of `chain`'s settlement token. */
  reserve: bigint;
  reserveText: string;
  /** Payouts to the peer's recipients waiting for the reserve (token units). */
  pending: bigint;
  pendingText: string;
  /** Whether `chain` suspended the peer's route (reserve below its floor). */
  suspended: boolean;
  symbol: string;
  decimals: number;
}

/** The reserve `peer`'s community posted on `chain`. */
export async function getReserve(
  client: DistposClient,
  params: { chain: bigint | string; peer: bigint | string },
): Promise<Reserve> {
  const chain = client.chain(params.chain);
  const peer = client.chain(params.peer);
  const token = await getToken(client, { chain: chain.code });
  const pc = client.publicClient(chain);
  const bank = chain.contracts.bank;
  const [reserve, pending, suspended] = await onChain(chain, "CorrespondentBank reserve", () =>
    Promise.all([
      pc.readContract({
        address: bank,
        abi: ICorrespondentBankAbi,
        functionName: "reserve",
        args: [peer.code],
      }),
      pc.readContract({
        address: bank,
        abi: ICorrespondentBankAbi,
        functionName: "pendingPayouts",
        args: [peer.code],
      }),
      pc.readContract({
        address: bank,
        abi: ICorrespondentBankAbi,
        functionName: "suspended",
        args: [peer.code],
      }),
    ]),
  );
  return {
    chain: codeOf(chain),
    peer: codeOf(peer),
    reserve,
    reserveText: formatTokens(reserve, token.decimals),
    pending,
    pendingText: formatTokens(pending, token.decimals),
    suspended,
    symbol: token.symbol,
    decimals: token.decimals,
  };
}

export interface Headroom {
  origin: string;
  destination: string;
  /** Per attester of the origin: stake mirrored on the destination and what it can still vouch for (18 decimals). */
  attesters: { attester: Address; mirrored: bigint; free: bigint; freeText: string }[];
  /** Σ free: the value the origin's attesters can vouch for on the destination now. */
  total: bigint;
  totalText: string;
}

/** How much value the origin's attesters can still vouch for on `destination` (Inbox.freeCapacity). */
export async function getHeadroom(
  client: DistposClient,
  params: { origin: bigint | string; destination: bigint | string },
): Promise<Headroom> {
  const origin = client.chain(params.origin);
  const destination = client.chain(params.destination);
  const attesters = await onChain(origin, "StakingHub.attesters", () =>
    client.publicClient(origin).readContract({
      address: origin.contracts.stakingHub,
      abi: IStakingHubAbi,
      functionName: "attesters",
    }),
  );
  const dc = client.publicClient(destination);
  const rows = await onChain(destination, "Inbox.freeCapacity", () =>
    Promise.all(
      attesters.map(async (attester) => {
        const [mirrored, free] = await Promise.all([
          dc.readContract({
            address: destination.contracts.inbox,
            abi: IInboxAbi,
            functionName: "mirroredStake",
            args: [origin.code, attester],
          }),
          dc.readContract({
            address: destination.contracts.inbox,
            abi: IInboxAbi,
            functionName: "freeCapacity",
            args: [origin.code, attester],
          }),
        ]);
        return { attester, mirrored, free, freeText: formatTokens(free, MESSAGE_DECIMALS) };
      }),
    ),
  );
  const total = rows.reduce((s, r) => s + r.free, 0n);
  return {
    origin: codeOf(origin),
    destination: codeOf(destination),
    attesters: rows,
    total,
    totalText: formatTokens(total, MESSAGE_DECIMALS),
  };
}

/** The route's status as the origin's Outbox holds it (what every dispatch checks). */
export async function getRouteStatus(
  client: DistposClient,
  params: { origin: bigint | string; destination: bigint | string },
): Promise<RouteStatus> {
  const origin = client.chain(params.origin);
  const destination = client.chain(params.destination);
  const status = await onChain(origin, "Outbox.routeStatus", () =>
    client.publicClient(origin).readContract({
      address: origin.contracts.outbox,
      abi: IOutboxAbi,
      functionName: "routeStatus",
      args: [destination.code],
    }),
  );
  return ROUTE_STATUS[status] ?? `unknown(${status})`;
}
