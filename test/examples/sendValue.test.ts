import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { suiteAs } from "../../deploy/suite.js";
import { sendValue } from "../../relayer/examples/sendValue.js";
import { ChainAddressError, formatChainAddress } from "../../relayer/protocol/index.js";
import { createTestNetwork, relay, type TestChain } from "../helpers/suite.js";
import { serveChain, type RpcEndpoint } from "../../deploy/rpcServer.js";

const ONE = 10n ** 18n;

describe("README example: sending value from TypeScript", function () {
  let a: TestChain;
  let b: TestChain;
  let rpc: RpcEndpoint;
  const alice = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();

  before(async function () {
    [a, b] = await createTestNetwork({ chains: ["chainA", "chainB"] });
    // A's community posts a reserve on B; B's bank reports it to A: that is A's credit.
    const [treasuryB] = await b.connection.ethers.getSigners();
    const bankB = suiteAs(b.suite, treasuryB);
    await (await bankB.token.mint(treasuryB.address, 50n * ONE)).wait();
    await (await bankB.token.approve(b.suite.addresses.bank, 50n * ONE)).wait();
    await (await bankB.bank.fund(a.suite.code, 50n * ONE)).wait();
    await relay(b, a);
    await a.connection.networkHelpers.setBalance(alice.address, 10n ** 20n);
    await (await a.suite.token.mint(alice.address, 20n * ONE)).wait();
    rpc = await serveChain(a.connection.provider);
  });

  after(async () => rpc?.close());

  const params = () => ({
    rpcUrl: rpc.url,
    bank: a.suite.addresses.bank as Hex,
    token: a.suite.addresses.settlementToken as Hex,
    privateKey: alice.privateKey as Hex,
  });

  it("pays a chain-qualified address on the peer from the sender community's reserve", async function () {
    const to = formatChainAddress({ code: b.suite.code, account: bob.address as Hex });
    const { id, nonce } = await sendValue({ ...params(), to, amount: 12n * ONE });
    expect(id).to.match(/^0x[0-9a-f]{64}$/);
    expect(await a.suite.token.balanceOf(alice.address)).to.equal(8n * ONE);
    await relay(a, b);
    expect(await b.suite.inbox.isDelivered(a.suite.code, nonce)).to.equal(true);
    expect(await b.suite.token.balanceOf(bob.address)).to.equal(12n * ONE);
  });

  it("names what is wrong with a malformed recipient before sending anything", async function () {
    const bad = `${b.suite.addresses.chainCode}x${bob.address.slice(2, 40)}`;
    const error = await sendValue({ ...params(), to: bad, amount: ONE }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ChainAddressError);
    expect((error as ChainAddressError).reason).to.equal("account-wrong-length");
    expect(await a.suite.token.balanceOf(alice.address)).to.equal(8n * ONE);
  });
});
