/**
 * Minimal deployments for the messaging unit tests: a registry, Outbox and Inbox on one chain,
 * with a peer route enrolled directly by the deployer (the registry's owner here). The cross-chain
 * tests use the full suite of test/helpers/suite.ts instead.
 */
import type { Signer } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

import {
  Inbox__factory,
  Outbox__factory,
  RouteRegistry__factory,
  type Inbox,
  type Outbox,
  type RouteRegistry,
} from "../../../typechain-types/index.js";

export interface MessagingUnit {
  deployer: Signer;
  registry: RouteRegistry;
  outbox: Outbox;
  inbox: Inbox;
  code: bigint;
  /** Stand-ins for the local StakingHub and bank (plain accounts, so tests can call as them). */
  stakingHub: Signer;
  bank: Signer;
}

export const PEER = 0xbeefn;

/** Deploys registry, Outbox and Inbox; binds plain accounts as StakingHub and bank; enrolls PEER. */
export async function deployMessagingUnit(
  connection: NetworkConnection,
  options: { handlerGasLimit?: bigint; exposureWindow?: bigint } = {},
): Promise<MessagingUnit> {
  const { ethers } = connection;
  const [deployer, stakingHub, bank, peerContract] = await ethers.getSigners();
  const code = (await ethers.provider.getNetwork()).chainId;
  const registry = await new RouteRegistry__factory(deployer).deploy(code, deployer.address);
  const outbox = await new Outbox__factory(deployer).deploy(registry);
  const inbox = await new Inbox__factory(deployer).deploy(
    registry,
    options.exposureWindow ?? 800n,
    options.handlerGasLimit ?? 500_000n,
  );
  await (
    await registry.bindLocalContracts({
      outbox: await outbox.getAddress(),
      inbox: await inbox.getAddress(),
      stakingHub: stakingHub.address,
      bank: bank.address,
    })
  ).wait();
  await (
    await registry.enrollRoute(PEER, {
      evmChainId: 0xbeefn,
      outbox: peerContract.address,
      inbox: peerContract.address,
      stakingHub: peerContract.address,
      bank: peerContract.address,
      settlementDecimals: 18,
      minSigners: 1,
      defaultCoverage: 0n,
      unbondingDelay: 3600n,
    })
  ).wait();
  return { deployer, registry, outbox, inbox, code, stakingHub, bank };
}
