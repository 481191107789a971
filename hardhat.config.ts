import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { defineConfig } from "hardhat/config";

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

/** Local simulated chains for multi-chain tests; chain ids double as DistPOS chain codes. */
export const LOCAL_CHAINS = {
  chainA: 0xa0a1,
  chainB: 0xb0b1,
  chainC: 0xc0c1,
} as const;

const simulated = (chainId: number) => ({
  type: "edr-simulated" as const,
  chainType: "l1" as const,
  chainId,
  hardfork: "cancun",
  allowUnlimitedContractSize: false,
});

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, hardhatViem],
  solidity: {
    profiles: {
      default: compiler,
      production: compiler,
    },
  },
  networks: {
    hardhat: simulated(31337),
    chainA: simulated(LOCAL_CHAINS.chainA),
    chainB: simulated(LOCAL_CHAINS.chainB),
    chainC: simulated(LOCAL_CHAINS.chainC),
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
