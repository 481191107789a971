/**
 * Hardhat Ignition modules that deploy one chain's DistPOS suite.
 *
 * - `DistposSuite`: for an existing chain; the settlement token's address is a parameter.
 * - `DistposLocalSuite`: for local chains and tests; deploys a mintable test token first.
 *
 * Both build the same suite through `buildSuite`: route registry, Outbox, Inbox, StakingHub,
 * CorrespondentBank and a CommunityTimelock that ends up owning the registry. The timelock is also
 * the community's insurance vault (slashed stake lands there, under the community's governance).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** Defaults suited to a public chain; the local demo and tests override the delays. */
export const SUITE_DEFAULTS = {
  unbondingDelay: 7n * 24n * 3600n, // U: 7 days
  exposureWindow: 7n * 12n * 3600n, // W = U / 2
  bountyBps: 1_000n, // 10% of a slashed stake to the prover
  handlerGasLimit: 500_000n,
  timelockDelay: 2n * 24n * 3600n,
} as const;

function buildSuite(m: IgnitionModuleBuilder, settlementToken: ArgumentType) {
  const deployer = m.getAccount(0);
  const localCode = m.getParameter<bigint>("localCode");
  const unbondingDelay = m.getParameter<bigint>("unbondingDelay", SUITE_DEFAULTS.unbondingDelay);
  const exposureWindow = m.getParameter<bigint>("exposureWindow", SUITE_DEFAULTS.exposureWindow);
  const bountyBps = m.getParameter<bigint>("bountyBps", SUITE_DEFAULTS.bountyBps);
  const handlerGasLimit = m.getParameter<bigint>("handlerGasLimit", SUITE_DEFAULTS.handlerGasLimit);
  const timelockDelay = m.getParameter<bigint>("timelockDelay", SUITE_DEFAULTS.timelockDelay);
  const proposer = m.getParameter("governor", deployer);
  const executor = m.getParameter("executor", deployer);

  const timelock = m.contract("CommunityTimelock", [
    timelockDelay,
    [proposer],
    [executor],
    "0x0000000000000000000000000000000000000000",
  ]);
  const registry = m.contract("RouteRegistry", [localCode, deployer]);
  const outbox = m.contract("Outbox", [registry]);
  const inbox = m.contract("Inbox", [registry, exposureWindow, handlerGasLimit]);
  const stakingHub = m.contract("StakingHub", [
    registry,
    settlementToken,
    unbondingDelay,
    bountyBps,
    timelock,
  ]);
  const bank = m.contract("CorrespondentBank", [registry, settlementToken]);

  const bind = m.call(registry, "bindLocalContracts", [{ outbox, inbox, stakingHub, bank }]);
  m.call(registry, "transferOwnership", [timelock], { after: [bind] });

  return { registry, outbox, inbox, stakingHub, bank, timelock };
}

export const DistposSuiteModule = buildModule("DistposSuite", (m) => {
  const token = m.getParameter<string>("settlementToken");
  return buildSuite(m, token);
});

export const DistposLocalSuiteModule = buildModule("DistposLocalSuite", (m) => {
  const token = m.contract("TestToken", [
    m.getParameter<string>("tokenName", "Local Settlement Token"),
    m.getParameter<string>("tokenSymbol", "LST"),
    m.getParameter<bigint>("tokenDecimals", 18n),
  ]);
  return { ...buildSuite(m, token), token };
});

export default DistposSuiteModule;
