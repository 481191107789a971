/**
 * `npx hardhat --network <net> distpos:deploy --name <name> --token <address> --out <file>`:
 * deploys a suite on an existing chain (or, with `--test-token`, around a new mintable test token)
 * and writes the deployment record that node configs and peers' `distpos:connect` read.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { parseChainCode } from "../../relayer/protocol/index.js";
import {
  deployLocalSuite,
  deploySuite,
  writeDeploymentRecord,
  type SuiteParameters,
} from "../suite.js";

export interface DeployTaskArguments {
  name: string;
  token: string;
  testToken: boolean;
  code: string;
  governor: string;
  executor: string;
  timelockDelay: string;
  unbondingDelay: string;
  exposureWindow: string;
  out: string;
  deploymentId: string;
}

export default async function deployTask(
  args: DeployTaskArguments,
  hre: HardhatRuntimeEnvironment,
) {
  if (!args.name)
    throw new Error("--name is required (a name for this chain, e.g. its network name)");
  if (!args.token && !args.testToken) {
    throw new Error(
      "--token <settlement token address> is required (or --test-token on a test chain)",
    );
  }
  const connection = await hre.network.connect();
  const parameters: SuiteParameters = {
    ...(args.code ? { chainCode: parseChainCode(args.code) } : {}),
    ...(args.governor ? { governor: args.governor } : {}),
    ...(args.executor ? { executor: args.executor } : {}),
    ...(args.timelockDelay ? { timelockDelay: BigInt(args.timelockDelay) } : {}),
    ...(args.unbondingDelay ? { unbondingDelay: BigInt(args.unbondingDelay) } : {}),
    ...(args.exposureWindow ? { exposureWindow: BigInt(args.exposureWindow) } : {}),
    ...(args.deploymentId ? { deploymentId: args.deploymentId } : {}),
  };
  const suite = args.testToken
    ? await deployLocalSuite(connection, args.name, parameters)
    : await deploySuite(connection, args.name, args.token, parameters);
  const out = args.out || `deployments/${args.name}.json`;
  await writeDeploymentRecord(out, suite.addresses);
  console.log(`DistPOS suite deployed on ${args.name} (chain code ${suite.addresses.chainCode}):`);
  console.log(JSON.stringify(suite.addresses, null, 2));
  console.log(`deployment record written to ${out}`);
}
