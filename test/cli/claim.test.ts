/**
 * `distpos claim` paying a real pending payout. A transfer A -> B is sent with `distpos send` and
 * delivered; B's settlement token refuses to pay its recipient (a blocklist like USDC's: B's
 * TestToken's code is swapped for BankQuirkToken's, which keeps the same storage layout and adds
 * `setBlocked`), so the bank books the payout pending. `status` then says PayoutPending (exit 7)
 * and points at `claim`; `claim` is refused while the token still refuses (exit 3, the token's
 * error decoded) and pays once it accepts: balances and exit code asserted.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { suiteAs } from "../../deploy/suite.js";
import { formatChainAddress } from "../../relayer/protocol/index.js";
import { BankQuirkToken__factory } from "../../typechain-types/index.js";
import { fundedWallets, ONE, relay, type TestChain } from "../helpers/suite.js";
import {
  serveNetwork,
  testPrefix,
  writeConfigFile,
  type ServedNetwork,
} from "../relayer/helpers/net.js";
import { killAll, runCli } from "../relayer/helpers/proc.js";

const KEY = "DISTPOS_CLI_CLAIM_KEY";

describe("distpos claim: a pending payout paid once the token accepts it", function () {
  this.timeout(300_000);
  let net: ServedNetwork;
  let a: TestChain, b: TestChain;
  let user: ethers.Wallet;
  let file: string;
  const bob = ethers.Wallet.createRandom();
  const claimer = ethers.Wallet.createRandom();
  const cli = (args: string[], key = user.privateKey) =>
    runCli(["-c", file, ...args], { [KEY]: key });

  before(async function () {
    net = await serveNetwork();
    [a, b] = net.chains as [TestChain, TestChain];
    // A's community holds 50 tokens of reserve on B: A's credit there.
    const [treasuryB] = await b.connection.ethers.getSigners();
    const bankB = suiteAs(b.suite, treasuryB!);
    await (await bankB.token.mint(treasuryB!.address, 50n * ONE)).wait();
    await (await bankB.token.approve(b.suite.addresses.bank, 50n * ONE)).wait();
    await (await bankB.bank.fund(a.suite.code, 50n * ONE)).wait();
    await relay(b, a);
    [user] = (await fundedWallets(
      a.connection,
      a.suite,
      1,
      20n * ONE,
    )) as unknown as ethers.Wallet[];
    await b.connection.networkHelpers.setBalance(claimer.address, ONE);
    file = writeConfigFile({
      home: a.suite.addresses.chainCode,
      roles: ["indexer", "api"],
      chains: net.chainEntries,
      redis: { url: "redis://127.0.0.1:6379", prefix: testPrefix("cli-claim") },
      keys: { user: KEY },
    });
    // B's token gets a blocklist, its balances and supply kept (same ERC20 storage layout).
    const [deployerB] = await b.connection.ethers.getSigners();
    const quirk = await new BankQuirkToken__factory(deployerB).deploy(18);
    const code = await b.connection.ethers.provider.getCode(await quirk.getAddress());
    await b.connection.networkHelpers.setCode(b.suite.addresses.settlementToken, code);
  });
  after(async function () {
    await killAll();
    await net?.close();
  });

  it("status says PayoutPending (exit 7); claim pays it once the token accepts the recipient", async function () {
    const tokenB = BankQuirkToken__factory.connect(
      b.suite.addresses.settlementToken,
      (await b.connection.ethers.getSigners())[0],
    );
    await (await tokenB.setBlocked(bob.address, true)).wait();
    const to = formatChainAddress({ code: b.suite.code, account: bob.address as Hex });
    const sent = await cli(["--json", "send", to, "--amount", "7"]);
    expect(sent.code, sent.stderr).to.equal(0);
    const id = (JSON.parse(sent.stdout) as { id: Hex }).id;
    await relay(a, b);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(7n * ONE);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(50n * ONE);

    const status = await cli(["status", id]);
    expect(status.code, status.stderr).to.equal(7);
    expect(status.stdout).to.contain("PayoutPending").and.to.contain(`distpos claim ${id}`);

    // The token still refuses: nothing is sent, the token's error is named (exit 3).
    const nonce = await b.connection.ethers.provider.getTransactionCount(claimer.address);
    const refused = await cli(["claim", id], claimer.privateKey);
    expect(refused.code, refused.stderr).to.equal(3);
    expect(refused.stderr)
      .to.contain(b.suite.addresses.chainCode)
      .and.to.contain("CorrespondentBank.claim");
    expect(await b.connection.ethers.provider.getTransactionCount(claimer.address)).to.equal(nonce);

    await (await tokenB.setBlocked(bob.address, false)).wait();
    // Anyone may claim: the tokens go to the recipient.
    const claimed = await cli(["claim", id], claimer.privateKey);
    expect(claimed.code, claimed.stderr).to.equal(0);
    expect(claimed.stdout).to.contain(`paid 7`).and.to.contain(bob.address);
    expect(await b.suite.token.balanceOf(bob.address)).to.equal(7n * ONE);
    expect(await b.suite.token.balanceOf(claimer.address)).to.equal(0n);
    expect(await b.suite.bank.pendingPayouts(a.suite.code)).to.equal(0n);
    expect(await b.suite.bank.reserve(a.suite.code)).to.equal(43n * ONE);

    const again = await cli(["claim", id], claimer.privateKey);
    expect(again.code, again.stderr).to.equal(3);
    expect(again.stderr).to.contain("NotPending");
  });
});
