/**
 * Bundles made by hand for the tests of the hand-over (docs/protocol.md 4.2): an honest bundle of
 * one of chain A's messages, built from A's Outbox events and signed by A's first attester, and the
 * forgeries made from it (a stranger's signature, a signature that does not recover to the mirrored
 * attester it names, a wrong proof), with the poster every test reads refusals with.
 */
import { pad, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { buildBundle, bundleToJson, type BundleJson } from "../../../relayer/handover/bundle.js";
import {
  MerkleTree,
  signCheckpoint,
  type SignerSignature,
  treeCheckpoint,
} from "../../../relayer/protocol/index.js";
import type { TestChain } from "../../helpers/suite.js";

export interface HandMadeBundles {
  good: BundleJson;
  /** Signed by a key that is no attester of the origin: `unknown-signer`. */
  stranger: BundleJson;
  /** Names the mirrored attester, signed by another key: `bad-signature`. */
  badSignature: BundleJson;
  /** The honest signature over a proof with one element changed: `wrong-proof`. */
  wrongProof: BundleJson;
}

/** The bundles of `message` (dispatched on `origin`) at `origin`'s current Outbox count. */
export async function handMadeBundles(origin: TestChain, message: Hex): Promise<HandMadeBundles> {
  const logs = await origin.suite.outbox.queryFilter(origin.suite.outbox.filters.Dispatch());
  const ids = logs
    .map((l) => ({ nonce: Number(l.args.nonce), id: l.args.id as Hex }))
    .sort((x, y) => x.nonce - y.nonce)
    .map((x) => x.id);
  const tree = MerkleTree.from(ids);
  const checkpoint = treeCheckpoint(origin.suite.code, tree);
  const domain = {
    evmChainId: origin.suite.evmChainId,
    outbox: origin.suite.addresses.outbox as Hex,
  };
  const attester = privateKeyToAccount(origin.attesters[0]!.privateKey as Hex);
  const signatures: SignerSignature[] = [
    { signer: attester.address, signature: await signCheckpoint(attester, domain, checkpoint) },
  ];
  const good = bundleToJson(buildBundle({ tree, checkpoint, signatures, messages: [message] }));
  const strangerKey = privateKeyToAccount(pad("0x4242", { size: 32 }) as Hex);
  const strangerSignature = await signCheckpoint(strangerKey, domain, checkpoint);
  const wrongProof: BundleJson = { ...good, proof: [...good.proof] };
  wrongProof.proof[0] = pad("0x05", { size: 32 });
  return {
    good,
    stranger: {
      ...good,
      signatures: [{ signer: strangerKey.address, signature: strangerSignature }],
    },
    badSignature: {
      ...good,
      signatures: [{ signer: attester.address, signature: strangerSignature }],
    },
    wrongProof,
  };
}

/** POSTs `bundle` (any JSON, or a raw string) to a node's /v1/bundles. */
export async function postBundle(
  node: string,
  bundle: unknown,
): Promise<{ status: number; body: { reason?: string } }> {
  const res = await fetch(`${node}/v1/bundles`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof bundle === "string" ? bundle : JSON.stringify(bundle),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { reason?: string } };
}
