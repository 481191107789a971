/**
 * `distpos mint` as a process against chains served over JSON-RPC: it mints the devnet's
 * settlement token (TestToken, which declares DEVNET_MINTABLE) and refuses any other token,
 * naming the chain and the token, before any transaction (exit 2, relayer/README.md).
 */
import { expect } from "chai";
import { ethers } from "ethers";

import { BankQuirkToken__factory } from "../../typechain-types/index.js";
import { ONE, type TestChain } from "../helpers/suite.js";
import {
  serveNetwork,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { killAll, runCli } from "../relayer/helpers/proc.js";

const KEY = "DISTPOS_CLI_MINT_KEY";

describe("distpos mint: devnet settlement token only", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let a: TestChain, b: TestChain;
  let codeA: string, codeB: string;
  const user = ethers.Wallet.createRandom();
  const bob = ethers.Wallet.createRandom();

  const config = (edit: (chains: ServedNetwork["chainEntries"]) => void = () => undefined) => {
    const chains = structuredClone(net.chainEntries);
    edit(chains);
    return writeConfigFile({
      home: codeA,
      roles: ["indexer", "api"],
      chains,
      redis: { url: "redis://127.0.0.1:6379", prefix: testPrefix("cli-mint") },
      keys: { user: KEY },
    });
  };
  const cli = (args: string[]) => runCli(args, { [KEY]: user.privateKey });

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    codeA = a.suite.addresses.chainCode;
    codeB = b.suite.addresses.chainCode;
    for (const chain of [a, b])
      await chain.connection.networkHelpers.setBalance(user.address, 10n ** 20n);
  });
  after(async function () {
    await killAll();
    await net?.close();
  });

  it("mints the home chain's devnet token to the key's address, in token units", async function () {
    const r = await cli(["-c", config(), "mint", "12.5"]);
    expect(r.code, r.stderr).to.equal(0);
    const symbol = await a.suite.token.symbol();
    expect(r.stdout).to.contain(`minted 12.5 ${symbol} to ${user.address} on ${codeA}`);
    expect(await a.suite.token.balanceOf(user.address)).to.equal((25n * ONE) / 2n);
  });

  it("mints on another chain of the table to --to", async function () {
    const r = await cli(["-c", config(), "mint", "3", "--chain", codeB, "--to", bob.address]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await b.suite.token.balanceOf(bob.address)).to.equal(3n * ONE);
  });

  it("refuses a settlement token that is not a devnet token, naming chain and token (exit 2)", async function () {
    // A token anyone could mint, but not one that declares itself a devnet token.
    const [deployer] = await a.connection.ethers.getSigners();
    const other = await new BankQuirkToken__factory(deployer).deploy(18);
    const otherAddress = await other.getAddress();
    const file = config((chains) => {
      chains[codeA]!.contracts!.token = otherAddress as `0x${string}`;
    });
    const nonce = await a.connection.ethers.provider.getTransactionCount(user.address);
    const r = await cli(["-c", file, "mint", "5"]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr)
      .to.contain(`chain ${codeA} (chainA)`)
      .and.to.contain(`settlement token QRK at ${otherAddress}`)
      .and.to.contain("is not a devnet token");
    expect(await a.connection.ethers.provider.getTransactionCount(user.address)).to.equal(nonce);
    expect(await other.balanceOf(user.address)).to.equal(0n);
  });

  it("refuses a malformed --to and amount, naming them (exit 2)", async function () {
    const to = await cli(["-c", config(), "mint", "1", "--to", "0x1234"]);
    expect(to.code).to.equal(2);
    expect(to.stderr).to.contain("--to must be");
    const amount = await cli(["-c", config(), "mint", "lots"]);
    expect(amount.code).to.equal(2);
    expect(amount.stderr).to.contain("<amount>");
  });
});
