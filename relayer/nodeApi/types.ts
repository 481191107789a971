/**
 * The shapes of the node API's answers, declared once: the server builds them (relayer/api/,
 * relayer/handover/) and the client reads them (./endpoints.ts). Types only, importing nothing of
 * the node's runtime, so that the SDK's declarations (tsconfig.sdk.json) stay self-contained.
 */
import type { Address, Hex } from "viem";

import type { StoredDelivery } from "../indexer/store.js";
import type { UnderpaidRecord } from "../relay/underpaid.js";
import type { RouteRecordJson } from "../routes/record.js";

export interface ChainHealth {
  name: string;
  indexedBlock: number | null;
  leaves: number;
  /** The chain's latest block, when its RPC answered. */
  tip: number | null;
  /** Blocks the index is behind `tip - confirmations` (null when the tip is unknown). */
  lag: number | null;
  rpc: "ok" | string;
}

export interface Health {
  status: "ok" | "unhealthy";
  home: string;
  roles: string[];
  checks: {
    redis: { ok: boolean; error?: string };
    homeRpc: { ok: boolean; chain: string; block?: number; error?: string };
    indexer: { ok: boolean; maxLag: number; error?: string };
    /** Keys of this process with a transaction stuck, by chain code and address. */
    senders: { ok: boolean; stuck: { chain: string; sender: string }[] };
  };
  /** One line per failed check (what makes the answer 503). */
  problems: string[];
  /** Things that do not make the node unhealthy but an operator should see (a peer RPC down). */
  warnings: string[];
  chains: Record<string, ChainHealth>;
}

/** One message's state as the destination's node knows it (`POST /v1/messages/status`). */
export interface DestinationStatus {
  /**
   * `delivered`, `failed` or `retried` (a confirmed Inbox event, with its transaction and block);
   * `queued` (taken from a bundle here, not delivered yet); `wait-signers` (queued, but the
   * bundle's signatures cannot carry it: `signers` held); `underpaid` (queued, held for its fees:
   * `fees`); `unknown` (never seen here).
   */
  status: StoredDelivery["status"] | "queued" | "wait-signers" | "underpaid" | "unknown";
  /** wait-signers: the signatures the relayer holds for it. */
  signers?: number;
  /** underpaid: what its fees and top-ups carry against what our relayer asks. */
  fees?: UnderpaidRecord;
  tx?: Hex;
  block?: number;
  /** Always true for delivered and failed: the delivery index holds confirmed events only. */
  confirmed?: boolean;
  failureKind?: string;
  reason?: Hex;
  reasonText?: string;
}

/** What the origin's node knows of one message it hands over (`P:out:msg:<id>`). */
export interface HandoverState {
  /**
   * `refused`: no set of our staked attesters could ever cover it (its value at risk is above
   * their whole vouching stake for the destination, or it needs more signers than are staked); it
   * is kept and handed over as soon as that changes (`waitReason` says what it needs).
   */
  state: "waiting" | "accepted" | "delivered" | "failed" | "refused";
  destination: string;
  /** The checkpoint count its bundle was proven at. */
  count?: number;
  /** The entry node that accepted it. */
  node?: string;
  acceptedAt?: number;
  tx?: Hex;
  block?: number;
  failureKind?: string;
  /** A failed handler's revert data and its decoding, as the destination's node reported them. */
  reason?: Hex;
  reasonText?: string;
  /** The last refusal by the destination's nodes (reason code), while it waits. */
  refused?: string;
  /** Why it is not handed over yet: the signatures it needs that no signed checkpoint has yet. */
  waitReason?: string;
  /** Signatures the bundle it was last handed in carried. */
  signers?: number;
  /**
   * The destination's relayer reported it cannot deliver it with this many signatures: it is
   * handed again only under a checkpoint with more.
   */
  rehandAbove?: number;
  /** The destination's relayer holds it for its fees, as its node last reported (relay/underpaid.ts). */
  underpaid?: UnderpaidRecord;
}

/** What became of a bundle's messages at the receiver. */
export interface Acceptance {
  /** Queued for delivery by this call. */
  accepted: Hex[];
  /** Already queued (by an earlier bundle): nothing done. */
  known: Hex[];
  /** Already delivered on the home Inbox. */
  delivered: Hex[];
  /**
   * Queued already but not deliverable with the signatures of the bundle it came in: its job now
   * delivers from this bundle, which carries more (a re-hand, docs/protocol.md 4.2).
   */
  replaced: Hex[];
}

/** A message as JSON (relayer/api/server.ts `messageJson`): big numbers as strings, codes in hex. */
export interface MessageJson {
  version: number;
  nonce: number;
  origin: string;
  sender: Hex;
  from: string;
  destination: string;
  recipient: Hex;
  to: string;
  amount: string;
  /** Delivery fee it carries (18 decimals; top-ups are messages of their own). */
  fee: string;
  body: Hex;
}

/** The `destination` part of a journey: the delivery state, with where it was read. */
export type JourneyDestination = Partial<Omit<DestinationStatus, "status">> & {
  chain: string;
  /** DestinationStatus's states, `unverified`, or the destination Inbox's own reading. */
  status: string;
  /** The destination's node that reported it (a bundle this node handed over). */
  reportedBy?: string;
  /** Why the destination could not be read. */
  error?: string;
};

/** A message's journey as a node describes it (`GET /v1/messages/:id`, relayer/api/journey.ts). */
export interface MessageJourney {
  id: Hex;
  /** The destination's status (`delivered`, `queued`, `wait-signers`, `unverified`, …). */
  status: string;
  /** Whether the origin's chain (or a verified bundle, or a delivery) proves the message. */
  verified: boolean;
  message: MessageJson;
  encoded: Hex;
  /** Where it comes from: `chain`, `status` (dispatched, handed-over), nonce, block, tx. */
  origin: Record<string, unknown>;
  /** The checkpoint covering it: count, root, block, signers. */
  checkpoint: Record<string, unknown> | null;
  /** Bundles: waiting → accepted by which entry node (at which checkpoint) → delivered/failed. */
  handover: HandoverState | null;
  destination: JourneyDestination;
  /** Attesters charged for the batch that delivered it (their vouching for it). */
  coverage: unknown;
  /** What to do next, in words. */
  next: string[];
  notes: string[];
}

/**
 * The route records a node holds (`GET /v1/routes`): per community, its entry nodes signed by one
 * of its staked attesters. A reader verifies them against its own home chain before using them
 * (relayer/routes/); a node never serves RPC URLs or contract addresses.
 */
export interface NodeRoutes {
  home: string;
  records: RouteRecordJson[];
}

/** A signed checkpoint of an origin's Outbox with the signatures a node knows of it. */
export interface NodeCheckpoint {
  origin: string;
  evmChainId: number;
  outbox: Address;
  root: Hex;
  count: number;
  signatures: { signer: Address; signature: Hex }[];
}

/** A node's answer to a message handed over to it (`POST /v1/messages`). */
export interface PushAnswer {
  id: Hex;
  status: "accepted" | "known";
}

/** A Merkle proof of a message under a checkpoint count (`GET /v1/proofs/:id`). */
export interface NodeProof {
  id: Hex;
  origin: string;
  nonce: number;
  count: number;
  root: Hex;
  proof: Hex[];
}
