/**
 * A forged delivery of value, as a lying attester would make it: the demo's liar and the tests of
 * the watcher use this one forgery.
 */
import { ethers, type Wallet } from "ethers";

import {
  MerkleTree,
  addressToBytes32,
  buildDelivery,
  deliverArgs,
  encodeMessage,
  encodeTransferBody,
  messageId,
  signCheckpoint,
  treeCheckpoint,
  type Hex,
} from "../relayer/protocol/index.js";
import type { NetworkMember } from "./network.js";
import { suiteAs } from "./suite.js";

/**
 * What a lying attester does: signs a checkpoint of a tree `origin`'s Outbox never had, holding a
 * transfer "from" the origin's bank to `thief`, and delivers it on `victim` itself. The forged
 * leaf sits far beyond the real count so it collides with no real message.
 */
export async function forgeTransfer(
  origin: NetworkMember,
  victim: NetworkMember,
  liar: Wallet,
  thief: ethers.Signer & { address: string },
  amount: bigint,
) {
  const nonce = Number(await origin.suite.outbox.count()) + 500;
  const forged = encodeMessage({
    nonce,
    origin: origin.suite.code,
    sender: addressToBytes32(origin.suite.addresses.bank as Hex),
    destination: victim.suite.code,
    recipient: addressToBytes32(thief.address as Hex),
    amount,
    body: encodeTransferBody({ sender: addressToBytes32(thief.address as Hex), body: "0x" }),
  });
  const tree = new MerkleTree();
  for (let i = 0; i < nonce; i++) tree.append(ethers.ZeroHash as Hex);
  tree.append(messageId(forged));
  const checkpoint = treeCheckpoint(origin.suite.code, tree);
  const domain = {
    evmChainId: origin.suite.evmChainId,
    outbox: origin.suite.addresses.outbox as Hex,
  };
  const signature = await signCheckpoint(liar.privateKey as Hex, domain, checkpoint);
  const delivery = buildDelivery({ tree, count: tree.count, messages: [forged] });
  const inbox = suiteAs(victim.suite, thief).inbox;
  const receipt = await (
    await inbox.deliver(...deliverArgs(checkpoint, [signature], delivery))
  ).wait();
  if (!receipt) throw new Error("forged delivery: no receipt");
  return receipt;
}
