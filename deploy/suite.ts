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
import {
  DistposLocalSuiteModule,
  DistposSuiteModule,
  SUITE_DEFAULTS,
} from "./modules/DistposSuite.js";

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

/** Parameters of a suite (defaults: `SUITE_DEFAULTS`, chain code = EVM chain id). */
export interface SuiteParameters {
  /** Defaults to the EVM chain id. */
  chainCode?: bigint;
  unbondingDelay?: bigint;
  exposureWindow?: bigint;
  bountyBps?: bigint;
  handlerGasLimit?: bigint;
  timelockDelay?: bigint;
  /** Who may propose governance operations on the timelock (default: the deployer). */
  governor?: string;
  /** Who may execute ready operations (default: the deployer; the zero address: anyone). */
  executor?: string;
  /**
   * Ignition deployment id: its journal under ignition/deployments/<id> lets an interrupted
   * deployment resume. Default: Ignition's own (`chain-<chain id>`).
   */
  deploymentId?: string;
}

export interface LocalSuiteParameters extends SuiteParameters {
  tokenDecimals?: number;
  tokenSymbol?: string;
}

/** Deploys a suite with a mintable test token on a local or test chain (no governance delay). */
export async function deployLocalSuite(
  connection: NetworkConnection,
  name: string,
  parameters: LocalSuiteParameters = {},
): Promise<Suite> {
  return deploy(connection, name, DistposLocalSuiteModule, "DistposLocalSuite", parameters, {
    ...suiteModuleParameters(await chainCodeOf(connection, parameters), {
      timelockDelay: 0n,
      ...parameters,
    }),
    tokenDecimals: BigInt(parameters.tokenDecimals ?? 18),
    tokenSymbol: parameters.tokenSymbol ?? `${name.toUpperCase()}T`,
  });
}

/** Deploys a suite on an existing chain around its settlement token `settlementToken`. */
export async function deploySuite(
  connection: NetworkConnection,
  name: string,
  settlementToken: string,
  parameters: SuiteParameters = {},
): Promise<Suite> {
  return deploy(connection, name, DistposSuiteModule, "DistposSuite", parameters, {
    ...suiteModuleParameters(await chainCodeOf(connection, parameters), parameters),
    settlementToken,
  });
}

async function chainCodeOf(
  connection: NetworkConnection,
  parameters: SuiteParameters,
): Promise<bigint> {
  return parameters.chainCode ?? (await connection.ethers.provider.getNetwork()).chainId;
}

function suiteModuleParameters(localCode: bigint, p: SuiteParameters) {
  return {
    localCode,
    unbondingDelay: p.unbondingDelay ?? SUITE_DEFAULTS.unbondingDelay,
    exposureWindow: p.exposureWindow ?? SUITE_DEFAULTS.exposureWindow,
    bountyBps: p.bountyBps ?? SUITE_DEFAULTS.bountyBps,
    handlerGasLimit: p.handlerGasLimit ?? SUITE_DEFAULTS.handlerGasLimit,
    timelockDelay: p.timelockDelay ?? SUITE_DEFAULTS.timelockDelay,
    ...(p.governor ? { governor: p.governor } : {}),
    ...(p.executor ? { executor: p.executor } : {}),
  };
}

/** Runs an Ignition suite module and returns typed handles plus the deployment record. */
async function deploy(
  connection: NetworkConnection,
  name: string,
  module: typeof DistposSuiteModule | typeof DistposLocalSuiteModule,
  moduleId: string,
  suiteParameters: SuiteParameters,
  parameters: Record<string, bigint | string>,
): Promise<Suite> {
  const { ethers, ignition } = connection;
  const evmChainId = (await ethers.provider.getNetwork()).chainId;
  const startBlock = await ethers.provider.getBlockNumber();
  const deployed = (await ignition.deploy(module, {
    displayUi: false,
    parameters: { [moduleId]: parameters },
    ...(suiteParameters.deploymentId ? { deploymentId: suiteParameters.deploymentId } : {}),
  })) as Record<string, { getAddress(): Promise<string> }>;
  const [deployer] = await ethers.getSigners();
  const token =
    "token" in deployed ? await deployed.token.getAddress() : String(parameters.settlementToken);
  const addresses: SuiteAddresses = {
    name,
    chainCode: formatChainCode(BigInt(parameters.localCode)),
    evmChainId: Number(evmChainId),
    registry: await deployed.registry.getAddress(),
    outbox: await deployed.outbox.getAddress(),
    inbox: await deployed.inbox.getAddress(),
    stakingHub: await deployed.stakingHub.getAddress(),
    bank: await deployed.bank.getAddress(),
    timelock: await deployed.timelock.getAddress(),
    settlementToken: token,
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
