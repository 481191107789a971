/**
 * `npx hardhat --network <net> distpos:connect --local <record> --peer <record> --peer-rpc <url>`:
 * connects this chain's suite to a peer's, on this chain's side: enrolls the peer through our
 * timelock, seeds our mirror of the peer's attester set from the peer's StakingHub (once its
 * attesters allocated stake to us), and with `--reserve <tokens>` tops our reserve held on the peer
 * up to that amount (paid by the key in DISTPOS_PEER_KEY on the peer chain).
 *
 * Every step reads the state first: running it again changes nothing. With a timelock delay the
 * first run schedules the governance operations; run it again after the delay to execute them.
 */
import { ethers } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { enrollPeer, seedMirror } from "../connect.js";
import { attachSuite, readDeploymentRecord, suiteAs, type Suite } from "../suite.js";

export interface ConnectTaskArguments {
  local: string;
  peer: string;
  peerRpc: string;
  minSigners: string;
  reserve: string;
}

export default async function connectTask(
  args: ConnectTaskArguments,
  hre: HardhatRuntimeEnvironment,
) {
  if (!args.local || !args.peer)
    throw new Error("--local and --peer deployment records are required");
  if (!args.peerRpc)
    throw new Error("--peer-rpc <url> is required: the peer's state is read from its chain");
  const connection = await hre.network.connect();
  const [signer] = await connection.ethers.getSigners();
  const local = attachSuite(await readDeploymentRecord(args.local), signer);
  // No request cache: ethers reuses an identical call's answer for 250 ms by default, which hands
  // two transactions sent in a row the same nonce.
  const peerProvider = new ethers.JsonRpcProvider(args.peerRpc, undefined, { cacheTimeout: -1 });
  const peer = attachSuite(await readDeploymentRecord(args.peer), peerProvider);

  const localChainId = (await connection.ethers.provider.getNetwork()).chainId;
  if (localChainId !== local.evmChainId) {
    throw new Error(
      `--local record is for chain id ${local.evmChainId}, but this network is ${localChainId}`,
    );
  }
  const peerChainId = (await peerProvider.getNetwork()).chainId;
  if (peerChainId !== peer.evmChainId) {
    throw new Error(
      `--peer record is for chain id ${peer.evmChainId}, but --peer-rpc serves ${peerChainId}`,
    );
  }

  const name = `${local.addresses.name} ← ${peer.addresses.name}`;
  const minSigners = args.minSigners ? Number(args.minSigners) : 1;
  console.log(`${name}: enroll → ${await enrollPeer(local, peer, { minSigners })}`);
  const seeded = await seedMirror(local, peer);
  console.log(`${name}: mirror → ${seeded.status} (${seeded.attesters.length} attesters)`);

  if (args.reserve) {
    const key = process.env.DISTPOS_PEER_KEY;
    if (!key)
      throw new Error(
        "--reserve needs DISTPOS_PEER_KEY: a key with the peer's tokens on the peer chain",
      );
    const payer = suiteAs(peer, new ethers.Wallet(key, peerProvider));
    const decimals = await payer.token.decimals();
    const target = ethers.parseUnits(args.reserve, decimals);
    const current = await payer.bank.reserve(local.code);
    if (current >= target) {
      console.log(
        `${name}: our reserve on the peer is ${ethers.formatUnits(current, decimals)} (≥ target)`,
      );
    } else {
      const missing = target - current;
      await requireVouchingFor(local, peer, name, missing, decimals);
      await (await payer.token.approve(peer.addresses.bank, missing)).wait();
      await (await payer.bank.fund(local.code, missing)).wait();
      console.log(
        `${name}: our reserve on the peer topped up by ${ethers.formatUnits(missing, decimals)}`,
      );
    }
  }
  peerProvider.destroy();
}

/**
 * Refuses a top-up that the peer's bank could never report to us: its report grants the top-up as
 * credit in one message, value at risk charged to the peer's attesters as mirrored by our Inbox
 * (protocol.md 3.4, 3.7), which can never exceed their mirrored total. Funding it would lock the
 * tokens behind a report no relayer can deliver.
 */
async function requireVouchingFor(
  local: Suite,
  peer: Suite,
  name: string,
  missing: bigint,
  decimals: bigint,
): Promise<void> {
  const scale = 10n ** (18n - decimals);
  const vouching = await local.inbox.totalMirroredStake(peer.code);
  if (missing * scale <= vouching) return;
  const window = await local.inbox.exposureWindow();
  const tokens = (v18: bigint) => ethers.formatUnits(v18, 18);
  throw new Error(
    `${name}: --reserve would add ${tokens(missing * scale)} of credit in one reserve report, ` +
      `but ${peer.addresses.name}'s attesters vouch for at most ${tokens(vouching)} on ` +
      `${local.addresses.name} (our Inbox's mirror of chain ${peer.code.toString(16)}), so that ` +
      `report could never be delivered. Top up at most ${tokens(vouching)} now and the rest after ` +
      `each exposure window (${window} s), or ask ${peer.addresses.name}'s attesters to allocate more ` +
      `to us (each vouches for its allocation less the fraud-proof bounty share).`,
  );
}
