/**
 * The messaging tests' cross-chain fixture: chains A, B and C from test/helpers/suite.ts (full
 * suites, staked attesters, seeded mirrors, the initial stake reports already relayed), snapshots
 * of all chains at once, and small helpers to dispatch, re-sign and send deliveries.
 */
import type { Wallet } from "ethers";

import {
  addressToBytes32,
  signCheckpoint,
  sortSignaturesBySigner,
  type Checkpoint,
  type CheckpointDomainInput,
  type Hex,
} from "../../../relayer/protocol/index.js";
import {
  createTestNetwork,
  deliveryArgs,
  relay,
  type Delivery,
  type TestChain,
  type TestNetworkOptions,
} from "../../helpers/suite.js";

export const HANDLER_GAS_LIMIT = 200_000n;

export interface MessagingNetwork {
  a: TestChain;
  b: TestChain;
  c: TestChain;
  /** Reverts every chain to the state right after setup. */
  restore(): Promise<void>;
}

/** Chains A, B, C, connected pairwise, with all setup messages delivered. */
export async function createMessagingNetwork(
  options: TestNetworkOptions = {},
): Promise<MessagingNetwork> {
  const [a, b, c] = await createTestNetwork({
    chains: ["chainA", "chainB", "chainC"],
    handlerGasLimit: HANDLER_GAS_LIMIT,
    ...options,
  });
  for (const origin of [a, b, c]) {
    for (const destination of [a, b, c]) {
      if (origin !== destination) await relay(origin, destination);
    }
  }
  const snapshots = await Promise.all(
    [a, b, c].map((chain) => chain.connection.networkHelpers.takeSnapshot()),
  );
  return {
    a,
    b,
    c,
    restore: async () => {
      for (const snapshot of snapshots) await snapshot.restore();
    },
  };
}

/** A dispatched message as the Outbox logged it. */
export interface Sent {
  id: Hex;
  nonce: number;
  message: Hex;
}

/** Dispatches `body` from `origin`'s deployer to `recipient` on `destination`. */
export async function send(
  origin: TestChain,
  destination: TestChain,
  recipient: string,
  body: Hex = "0x",
): Promise<Sent> {
  const outbox = origin.suite.outbox;
  const receipt = await (
    await outbox.dispatch(destination.suite.code, addressToBytes32(recipient as Hex), body)
  ).wait();
  for (const log of receipt!.logs) {
    const parsed = outbox.interface.parseLog(log);
    if (parsed?.name === "Dispatch") {
      return { id: parsed.args.id, nonce: Number(parsed.args.nonce), message: parsed.args.message };
    }
  }
  throw new Error("no Dispatch event");
}

/** The checkpoint domain of `origin`'s Outbox. */
export function domainOf(origin: TestChain): CheckpointDomainInput {
  return { evmChainId: origin.suite.evmChainId, outbox: origin.suite.addresses.outbox as Hex };
}

/** Signatures of `checkpoint` by `signers` in `domain`, sorted by signer as the Inbox wants. */
export async function signAll(
  signers: Wallet[],
  domain: CheckpointDomainInput,
  checkpoint: Checkpoint,
): Promise<Hex[]> {
  const signatures = await Promise.all(
    signers.map((signer) => signCheckpoint(signer.privateKey as Hex, domain, checkpoint)),
  );
  return sortSignaturesBySigner(domain, checkpoint, signatures);
}

/** `deliver` on `destination` with `delivery` (returns the transaction promise, for `expect`). */
export function deliver(
  destination: TestChain,
  delivery: Delivery,
  overrides: { gasLimit?: bigint } = {},
) {
  return destination.suite.inbox.deliver(...deliveryArgs(delivery), overrides);
}
