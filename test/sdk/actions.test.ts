/**
 * The SDK's actions against chains served over JSON-RPC: what each returns, and each failure as its
 * own error class naming what is at fault.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { erc20Abi } from "../../relayer/sdk/abis.js";
import {
  ContractRevertError,
  createDistposClient,
  DeliveryTimeoutError,
  getCredit,
  getHeadroom,
  getMessage,
  getReserve,
  InsufficientCreditError,
  InvalidArgumentError,
  NotFoundError,
  parseTokens,
  RpcError,
  sendMessage,
  sendValue,
  waitForDelivery,
  type DistposClient,
} from "../../relayer/sdk/index.js";
import { simulate } from "../../relayer/sdk/transact.js";
import { formatChainAddress } from "../../relayer/protocol/index.js";
import { relay } from "../helpers/suite.js";
import { creditedNetwork, ONE, type CreditedNetwork } from "./helpers.js";

describe("SDK actions over JSON-RPC", function () {
  this.timeout(120_000);
  let net: CreditedNetwork;
  let client: DistposClient;
  let codeA: string;
  let codeB: string;
  let symbol: string;
  const alice = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();
  const key = () => alice.privateKey as Hex;
  const to = () => formatChainAddress({ code: net.b.suite.code, account: bob.address as Hex });

  before(async function () {
    net = await creditedNetwork(50n * ONE);
    client = createDistposClient({ chains: net.chains, pollingIntervalMs: 100 });
    codeA = net.a.suite.addresses.chainCode;
    codeB = net.b.suite.addresses.chainCode;
    symbol = await net.a.suite.token.symbol();
    await net.a.connection.networkHelpers.setBalance(alice.address, 10n ** 20n);
    await (await net.a.suite.token.mint(alice.address, 100n * ONE)).wait();
  });
  after(async () => net?.close());

  it("reads the route: credit, the reserve behind it, and the attesters' headroom, in token units", async function () {
    const credit = await getCredit(client, { origin: codeA, destination: codeB });
    expect(credit).to.deep.include({ credit: 50n * ONE, creditText: "50", symbol });
    const reserve = await getReserve(client, { chain: codeB, peer: codeA });
    expect(reserve).to.deep.include({ reserve: 50n * ONE, reserveText: "50", suspended: false });
    const headroom = await getHeadroom(client, { origin: codeA, destination: codeB });
    expect(headroom.attesters.length).to.be.greaterThan(0);
    expect(headroom.total).to.be.greaterThan(0n);
  });

  it("sendValue above the credit throws InsufficientCreditError before any transaction", async function () {
    const nonce = await net.a.connection.ethers.provider.getTransactionCount(alice.address);
    const e = await sendValue(client, {
      from: codeA,
      to: to(),
      amount: parseTokens("60", 18),
      account: key(),
    }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(InsufficientCreditError);
    expect((e as InsufficientCreditError).message).to.equal(
      `credit of chain ${codeA} at ${codeB} is 50 ${symbol}, 60 ${symbol} needed (fund the reserve of ${codeA} on ${codeB}, or send less)`,
    );
    expect(await net.a.connection.ethers.provider.getTransactionCount(alice.address)).to.equal(
      nonce,
    );
  });

  it("decodes an ERC20 error (0xe450d38c) with its argument names and token units", async function () {
    const chain = client.chain(codeA);
    const poor = privateKeyToAccount(ethers.Wallet.createRandom().privateKey as Hex);
    const e = await simulate(client, chain, poor, {
      address: net.a.suite.addresses.settlementToken as Hex,
      abi: erc20Abi,
      functionName: "transfer",
      args: [bob.address, 5n * ONE],
      call: "token.transfer",
      units: { decimals: 18, symbol },
    }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as ContractRevertError).data?.slice(0, 10)).to.equal("0xe450d38c");
    expect((e as Error).message).to.equal(
      `token.transfer on chain ${codeA} reverted: ERC20InsufficientBalance(sender ${poor.address}, balance 0 ${symbol}, needed 5 ${symbol})`,
    );
  });

  it("refuses a body that is not whole bytes of hex, naming the parameter", async function () {
    const e = await sendMessage(client, {
      from: codeA,
      to: to(),
      body: "0xZZ" as Hex,
      account: key(),
    }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).field).to.equal("body");
  });

  it("finds a message by id and by dispatch transaction, and follows it to delivery through its stages", async function () {
    const sent = await sendValue(client, {
      from: codeA,
      to: to(),
      amount: parseTokens("2.5", 18),
      account: key(),
    });
    const byId = await getMessage(client, { id: sent.id });
    const byTx = await getMessage(client, { transactionHash: sent.transactionHash });
    expect(byTx.id).to.equal(sent.id);
    expect(byId).to.deep.include({ amountText: "2.5", to: to() });
    expect(byId.destination.status).to.equal("pending");

    const timedOut = await waitForDelivery(client, {
      id: sent.id,
      timeoutMs: 300,
      pollIntervalMs: 100,
    }).catch((x: unknown) => x);
    expect(timedOut).to.be.instanceOf(DeliveryTimeoutError);
    expect((timedOut as DeliveryTimeoutError).stage).to.equal("dispatched");

    const stages: string[] = [];
    const waiting = waitForDelivery(client, {
      id: sent.id,
      timeoutMs: 60_000,
      pollIntervalMs: 100,
      onProgress: ({ stage }) => stages.at(-1) !== stage && stages.push(stage),
    });
    await relay(net.a, net.b);
    const info = await waiting;
    expect(info.destination.status).to.equal("delivered");
    expect(info.destination.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(stages).to.include("snapshotted").and.to.include("delivered");
  });

  it("an id no chain dispatched is NotFoundError; with a chain down it is RpcError naming chain and URL", async function () {
    const id = `0x${"34".repeat(32)}` as Hex;
    const nf = await getMessage(client, { id }).catch((x: unknown) => x);
    expect(nf).to.be.instanceOf(NotFoundError);
    net.rpcB.down();
    try {
      const down = await getMessage(client, { id }).catch((x: unknown) => x);
      expect(down).to.be.instanceOf(RpcError);
      expect(down).to.deep.include({ chain: codeB, url: net.rpcB.url });
      expect((down as Error).message)
        .to.contain(`chain ${codeB}`)
        .and.to.contain(net.rpcB.url);
    } finally {
      net.rpcB.up();
    }
  });
});
