/** Typed access to the shared vectors (written by generate.ts, checked by both codecs). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Address, Hex } from "viem";

const here = dirname(fileURLToPath(import.meta.url));
const load = <T>(name: string): T => JSON.parse(readFileSync(join(here, name), "utf8")) as T;

export type ChainAddressVectors = {
  valid: { input: string; code: Hex; account: Address; formatted: string; bytes32: Hex }[];
  invalid: { input: string; reason: string }[];
  notEvmAccounts: Hex[];
};

export type MessageVectors = {
  headerLength: number;
  messages: {
    name: string;
    fields: {
      version: number;
      nonce: number;
      origin: string;
      sender: Hex;
      destination: string;
      recipient: Hex;
      amount: string;
      fee: string;
      body: Hex;
    };
    encoded: Hex;
    id: Hex;
  }[];
  malformed: { name: string; encoded: Hex; reason: string }[];
};

export type CheckpointVectors = {
  typeHash: Hex;
  testKey: Hex;
  checkpoints: {
    name: string;
    domain: { evmChainId: string; outbox: Address };
    checkpoint: { origin: string; root: Hex; count: number; last: Hex };
    domainSeparator: Hex;
    structHash: Hex;
    digest: Hex;
    signature: Hex;
    highSSignature: Hex;
    signer: Address;
  }[];
};

export type MerkleVectors = {
  emptyRoot: Hex;
  zeroHashes: Hex[];
  leaves: Hex[];
  rootsAtCount: Hex[];
  proofs: { index: number; count: number; leaf: Hex; root: Hex; proof: Hex[] }[];
  multiproofs: { indices: number[]; count: number; leaves: Hex[]; root: Hex; proof: Hex[] }[];
  invalidMultiproofs: {
    name: string;
    leaves: Hex[];
    indices: number[];
    count: number;
    proof: Hex[];
    reason: string;
  }[];
};

export type SystemBodyVectors = {
  stakeReports: { attester: Address; allocation: string; encoded: Hex }[];
  transfers: { sender: Hex; body: Hex; encoded: Hex }[];
  reserveReports: {
    reserve: string;
    pending: string;
    received: string;
    suspended: boolean;
    perGas: string;
    base: string;
    premiumPpm: number;
    encoded: Hex;
  }[];
  nettingRequests: { amount: string; encoded: Hex }[];
  nettingReplies: { amount: string; encoded: Hex }[];
  invalid: { decoder: string; body: Hex; reason: string }[];
};

export const chainAddressVectors = load<ChainAddressVectors>("chain-addresses.json");
export const messageVectors = load<MessageVectors>("messages.json");
export const checkpointVectors = load<CheckpointVectors>("checkpoints.json");
export const merkleVectors = load<MerkleVectors>("merkle.json");
export const systemBodyVectors = load<SystemBodyVectors>("system-bodies.json");
