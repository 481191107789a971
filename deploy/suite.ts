/**
 * A chain's DistPOS suite as typed contract handles: deploy one (through the Ignition modules, the
 * one deploy routine), attach to one from a deployment record, and write that record.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

import type { ContractRunner } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";

import { formatChainCode } from "../relayer/protocol/index.js";
import {
  CommunityTimelock__factory,
  CorrespondentBank__factory,
  Inbox__factory,
  Outbox__factory,
  RouteRegistry__factory,
  StakingHub__factory,
  TestToken__factory,
  type CommunityTimelock,
  type CorrespondentBank,
  type Inbox,
  type Outbox,
  type RouteRegistry,
  type StakingHub,
  type TestToken,
} from "../typechain-types/index.js";
import { DistposLocalSuiteModule, SUITE_DEFAULTS } from "./modules/DistposSuite.js";

/** Where a chain's suite lives: what a node config and a peer's `connect` read. */
export interface SuiteAddresses {
  name: string;
  chainCode: string; // lower-case hex, as in chain-qualified addresses
  evmChainId: number;
  registry: string;
  outbox: string;
  inbox: string;
  stakingHub: string;
  bank: string;
  timelock: string;
  settlementToken: string;
  deployedAtBlock: number;
}

export interface Suite {
  addresses: SuiteAddresses;
  code: bigint;
  evmChainId: bigint;
  registry: RouteRegistry;
  outbox: Outbox;
  inbox: Inbox;
  stakingHub: StakingHub;
  bank: CorrespondentBank;
  timelock: CommunityTimelock;
  /** The settlement token, typed as the mintable test token (only `mint` is test-specific). */
  token: TestToken;
}

export interface LocalSuiteParameters {
  /** Defaults to the EVM chain id. */
  chainCode?: bigint;
  unbondingDelay?: bigint;
  exposureWindow?: bigint;
  bountyBps?: bigint;
  handlerGasLimit?: bigint;
  /** Local chains default to no delay so that governance calls run at once. */
  timelockDelay?: bigint;
  tokenDecimals?: number;
  tokenSymbol?: string;
}

/** Deploys a suite with a mintable test token on a local or test chain. */
export async function deployLocalSuite(
  connection: NetworkConnection,
  name: string,
  parameters: LocalSuiteParameters = {},
): Promise<Suite> {
  const { ethers, ignition } = connection;
  const evmChainId = (await ethers.provider.getNetwork()).chainId;
  const chainCode = parameters.chainCode ?? evmChainId;
  const startBlock = await ethers.provider.getBlockNumber();
  const deployed = await ignition.deploy(DistposLocalSuiteModule, {
    displayUi: false,
    parameters: {
      DistposLocalSuite: {
        localCode: chainCode,
        unbondingDelay: parameters.unbondingDelay ?? SUITE_DEFAULTS.unbondingDelay,
        exposureWindow: parameters.exposureWindow ?? SUITE_DEFAULTS.exposureWindow,
        bountyBps: parameters.bountyBps ?? SUITE_DEFAULTS.bountyBps,
        handlerGasLimit: parameters.handlerGasLimit ?? SUITE_DEFAULTS.handlerGasLimit,
        timelockDelay: parameters.timelockDelay ?? 0n,
        tokenDecimals: BigInt(parameters.tokenDecimals ?? 18),
        tokenSymbol: parameters.tokenSymbol ?? `${name.toUpperCase()}T`,
      },
    },
  });
  const [deployer] = await ethers.getSigners();
  const addresses: SuiteAddresses = {
    name,
    chainCode: formatChainCode(chainCode),
    evmChainId: Number(evmChainId),
    registry: await deployed.registry.getAddress(),
    outbox: await deployed.outbox.getAddress(),
    inbox: await deployed.inbox.getAddress(),
    stakingHub: await deployed.stakingHub.getAddress(),
    bank: await deployed.bank.getAddress(),
    timelock: await deployed.timelock.getAddress(),
    settlementToken: await deployed.token.getAddress(),
    deployedAtBlock: startBlock + 1,
  };
  return attachSuite(addresses, deployer);
}

/** Typed handles on a deployed suite, sending with `runner`. */
export function attachSuite(addresses: SuiteAddresses, runner: ContractRunner): Suite {
  return {
    addresses,
    code: BigInt(`0x${addresses.chainCode}`),
    evmChainId: BigInt(addresses.evmChainId),
    registry: RouteRegistry__factory.connect(addresses.registry, runner),
    outbox: Outbox__factory.connect(addresses.outbox, runner),
    inbox: Inbox__factory.connect(addresses.inbox, runner),
    stakingHub: StakingHub__factory.connect(addresses.stakingHub, runner),
    bank: CorrespondentBank__factory.connect(addresses.bank, runner),
    timelock: CommunityTimelock__factory.connect(addresses.timelock, runner),
    token: TestToken__factory.connect(addresses.settlementToken, runner),
  };
}

/** The same suite, sending with another account (an attester, a user). */
export function suiteAs(suite: Suite, runner: ContractRunner): Suite {
  return attachSuite(suite.addresses, runner);
}

/** Writes the deployment record a node config and a peer's `connect` read. */
export async function writeDeploymentRecord(
  path: string,
  addresses: SuiteAddresses,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(addresses, null, 2)}\n`);
}

/** Reads a deployment record written by `writeDeploymentRecord`. */
export async function readDeploymentRecord(path: string): Promise<SuiteAddresses> {
  return JSON.parse(await readFile(path, "utf8")) as SuiteAddresses;
}
