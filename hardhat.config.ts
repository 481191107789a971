import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { configVariable, defineConfig, task } from "hardhat/config";

// Hardhat cannot download compilers on these machines (HHE905): point it at the wasm build that
// the npm `solc` package ships, so a fresh `npm ci` is all a build needs.
const SOLC_VERSION = "0.8.30";
const solcWasmPath = createRequire(import.meta.url).resolve("solc/soljson.js");

// One compiler profile for tests, deployment and gas figures, so what is tested is what ships.
const compiler = {
  version: SOLC_VERSION,
  path: solcWasmPath,
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 10_000 },
  },
};
// The CorrespondentBank is optimised for size: at 10,000 runs it passes the 24,576-byte limit
// (EIP-170) since it pays fees, premiums and gates price raises (issue 17).
// SecurityLens (test-only) compiles the bank as a dependency: the same settings there.
const BANK_RUNS = 1_000;
const bankCompiler = {
  ...compiler,
  settings: { ...compiler.settings, optimizer: { enabled: true, runs: BANK_RUNS } },
};
const profile = {
  compilers: [compiler],
  overrides: {
    "contracts/correspondent/CorrespondentBank.sol": bankCompiler,
    "contracts/test/SecurityLens.sol": bankCompiler,
  },
};

/** Local simulated chains for multi-chain tests; chain ids double as DistPOS chain codes. */
export const LOCAL_CHAINS = {
  chainA: 0xa0a1,
  chainB: 0xb0b1,
  chainC: 0xc0c1,
  // Five more for the network-size benchmark (N = 8, bench/relayer/networkSize.ts).
  chainD: 0xd0d1,
  chainE: 0xe0e1,
  chainF: 0xf0f1,
  chainG: 0xa2a1,
  chainH: 0xb2b1,
} as const;

const simulated = (chainId: number) => ({
  type: "edr-simulated" as const,
  chainType: "l1" as const,
  chainId,
  hardfork: "cancun",
  allowUnlimitedContractSize: false,
});

const optional = <NameT extends string>(name: NameT, description: string) => ({
  name,
  description,
  defaultValue: "",
});

const deployTask = task(
  "distpos:deploy",
  "Deploy a DistPOS suite on --network and write its record",
)
  .addOption(optional("name", "a name for this chain"))
  .addOption(optional("token", "the chain's settlement token (ERC20)"))
  .addFlag({ name: "testToken", description: "deploy a mintable test token instead (test chains)" })
  .addOption(optional("code", "DistPOS chain code in hex (default: the EVM chain id)"))
  .addOption(optional("governor", "timelock proposer (default: the deployer)"))
  .addOption(optional("executor", "timelock executor (default: the deployer)"))
  .addOption(optional("timelockDelay", "timelock delay in seconds (default: 2 days)"))
  .addOption(optional("unbondingDelay", "unbonding delay U in seconds (default: 7 days)"))
  .addOption(optional("exposureWindow", "exposure window W in seconds, < every peer's U"))
  .addOption(optional("out", "deployment record file (default: deployments/<name>.json)"))
  .addOption(optional("deploymentId", "Ignition deployment id (resumable journal)"))
  .setAction(() => import("./deploy/tasks/deploy.js"))
  .build();

const connectTask = task("distpos:connect", "Connect this chain's suite to a peer (this side)")
  .addOption(optional("local", "our deployment record"))
  .addOption(optional("peer", "the peer's deployment record"))
  .addOption(optional("peerRpc", "a JSON-RPC URL of the peer chain"))
  .addOption(optional("minSigners", "default minimum signers for the peer's messages"))
  .addOption(optional("reserve", "top our reserve on the peer up to this many tokens"))
  .setAction(() => import("./deploy/tasks/connect.js"))
  .build();

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, hardhatViem],
  tasks: [deployTask, connectTask],
  solidity: {
    profiles: {
      default: profile,
      production: profile,
    },
  },
  networks: {
    hardhat: simulated(31337),
    chainA: simulated(LOCAL_CHAINS.chainA),
    chainB: simulated(LOCAL_CHAINS.chainB),
    chainC: simulated(LOCAL_CHAINS.chainC),
    chainD: simulated(LOCAL_CHAINS.chainD),
    chainE: simulated(LOCAL_CHAINS.chainE),
    chainF: simulated(LOCAL_CHAINS.chainF),
    chainG: simulated(LOCAL_CHAINS.chainG),
    chainH: simulated(LOCAL_CHAINS.chainH),
    // An anvil process the tests started (test/anvil/anvil.ts passes its URL as an override);
    // anvil's own unlocked dev accounts sign.
    anvil: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
      accounts: "remote",
    },
    // Any existing EVM chain: `DISTPOS_RPC_URL` and `DISTPOS_DEPLOYER_KEY` from the environment.
    distpos: {
      type: "http",
      chainType: "l1",
      url: configVariable("DISTPOS_RPC_URL"),
      accounts: [configVariable("DISTPOS_DEPLOYER_KEY")],
    },
  },
  paths: {
    tests: { mocha: "test" },
  },
  typechain: {
    outDir: "typechain-types",
  },
  test: {
    mocha: {
      timeout: 120_000,
    },
  },
});
