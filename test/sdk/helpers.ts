/** Fixtures of the SDK tests: a served two-chain network with credit from A to B, as SDK chains. */
import type { Address } from "viem";

import { suiteAs } from "../../deploy/suite.js";
import { serveChain, type RpcEndpoint } from "../../deploy/rpcServer.js";
import type { DistposChain } from "../../relayer/sdk/index.js";
import { createTestNetwork, relay, type TestChain } from "../helpers/suite.js";

export const ONE = 10n ** 18n;

/** A chain of the test network as the SDK describes it. */
export function sdkChain(chain: TestChain, rpcUrl: string): DistposChain {
  const a = chain.suite.addresses;
  return {
    code: chain.suite.code,
    name: a.name,
    chainId: a.evmChainId,
    rpc: [rpcUrl],
    startBlock: a.deployedAtBlock,
    contracts: {
      registry: a.registry as Address,
      outbox: a.outbox as Address,
      inbox: a.inbox as Address,
      stakingHub: a.stakingHub as Address,
      bank: a.bank as Address,
      token: a.settlementToken as Address,
    },
  };
}

export interface CreditedNetwork {
  a: TestChain;
  b: TestChain;
  rpcA: RpcEndpoint;
  rpcB: RpcEndpoint;
  chains: DistposChain[];
  close(): Promise<void>;
}

/** Chains A and B served over JSON-RPC; A's community holds `credit` tokens of reserve on B. */
export async function creditedNetwork(credit = 50n * ONE): Promise<CreditedNetwork> {
  const [a, b] = await createTestNetwork({ chains: ["chainA", "chainB"] });
  const [treasuryB] = await b!.connection.ethers.getSigners();
  const bankB = suiteAs(b!.suite, treasuryB!);
  await (await bankB.token.mint(treasuryB!.address, credit)).wait();
  await (await bankB.token.approve(b!.suite.addresses.bank, credit)).wait();
  await (await bankB.bank.fund(a!.suite.code, credit)).wait();
  await relay(b!, a!);
  const rpcA = await serveChain(a!.connection.provider);
  const rpcB = await serveChain(b!.connection.provider);
  return {
    a: a!,
    b: b!,
    rpcA,
    rpcB,
    chains: [sdkChain(a!, rpcA.url), sdkChain(b!, rpcB.url)],
    async close() {
      await rpcA.close();
      await rpcB.close();
    },
  };
}
