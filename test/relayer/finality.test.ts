/**
 * Where the attester may sign up to (relayer/attester/finality.ts): the client's finalized (or
 * safe) block where it offers the tag, else `reorgBound` blocks below the tip.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { signableBlock } from "../../relayer/attester/finality.js";
import { publicClientFor } from "../../relayer/chain/clients.js";
import { parseConfig } from "../../relayer/config/load.js";
import { serveChain, type RpcEndpoint } from "../../deploy/rpcServer.js";
import { startLyingRpc, type LyingRpc } from "../helpers/lyingRpc.js";

const SINK = "0x000000000000000000000000000000000000dEaD";

describe("relayer/attester finality", function () {
  let rpc: RpcEndpoint;
  let liar: LyingRpc;
  let provider: Awaited<ReturnType<typeof network.create>>["provider"];

  before(async function () {
    provider = (await network.create("chainA")).provider;
    rpc = await serveChain(provider);
    liar = await startLyingRpc(rpc.url);
    await provider.request({ method: "hardhat_mine", params: ["0x40"] });
  });
  after(async function () {
    await liar.close();
    await rpc.close();
  });

  const chain = (extra: Record<string, unknown> = {}) =>
    parseConfig(
      {
        home: "a0a1",
        roles: ["indexer"],
        chains: {
          a0a1: {
            name: "A",
            chainId: 31337,
            rpc: [liar.url],
            contracts: { outbox: SINK, inbox: SINK, stakingHub: SINK, bank: SINK },
            ...extra,
          },
        },
      },
      "finality-test",
    ).homeChain;

  it("takes the client's finalized block where it offers the tag", async function () {
    liar.lie(undefined);
    const c = chain();
    const got = await signableBlock(publicClientFor(c), c);
    const finalized = (await provider.request({
      method: "eth_getBlockByNumber",
      params: ["finalized", false],
    })) as { number: string; hash: string };
    expect(got).to.deep.equal({
      number: Number(finalized.number),
      hash: finalized.hash,
      by: "finalized",
    });
  });

  it("signs only reorgBound blocks below the tip where the client has no such tag", async function () {
    // A client without the tag (answers no block for it).
    liar.lie((call, result) =>
      call.method === "eth_getBlockByNumber" &&
      ["finalized", "safe"].includes(String(call.params?.[0]))
        ? null
        : result,
    );
    const c = chain({ reorgBound: 20, finalityTag: "safe" });
    const tip = Number(await provider.request({ method: "eth_blockNumber", params: [] }));
    const got = await signableBlock(publicClientFor(c), c);
    expect(got?.by).to.equal("reorgBound");
    expect(got?.number).to.equal(tip - 20);
  });
});
