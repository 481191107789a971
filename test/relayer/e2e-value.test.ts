/**
 * Value across chains with two communities' nodes, as operators run them: B's community funds A's
 * correspondent account on B (`distpos fund`), B's node carries the reserve report to A, then a user
 * on A sends value to an account on B (`distpos send --amount`), carried by A's node. Each node
 * finds the other's checkpoints through the routing table's entry nodes. Plus the staking commands.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";

import { formatChainAddress } from "../../relayer/protocol/index.js";
import { fundedWallets, ONE } from "../helpers/suite.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { freePort, runCli } from "./helpers/proc.js";
import { fundedKey, nodeConfigFile, runNode } from "./helpers/scenario.js";

describe("relayer e2e: value between two communities' nodes", function () {
  const net = useServedNetwork({ name: "value", confirmations: 1, intervalMiningMs: 100 });
  let prefixA: string;
  let prefixB: string;
  beforeEach(() => {
    prefixA = net.newPrefix("valueA");
    prefixB = net.newPrefix("valueB");
  });

  it("funds a correspondent account, carries the reserve report, then a value transfer paid from it", async function () {
    const [portA, portB] = [await freePort(), await freePort()];
    const codeA = net.a.suite.addresses.chainCode;
    const codeB = net.b.suite.addresses.chainCode;
    net.chainEntries[codeA]!.nodes = [`http://127.0.0.1:${portA}`];
    net.chainEntries[codeB]!.nodes = [`http://127.0.0.1:${portB}`];
    const roles = ["indexer", "api", "attester", "relayer"] as (
      "indexer" | "api" | "attester" | "relayer"
    )[];
    // Each community's node knows its home chain's RPC only and delivers into it what the other
    // hands it as bundles (A's node never holds a key of B's attesters, nor B's of A's); the CLI
    // works from the same home-only configs.
    const nodeA = nodeConfigFile(
      net,
      codeA,
      prefixA,
      { attester: net.a.attesters[0]!.privateKey as Hex, relayer: await fundedKey(net) },
      {
        roles,
        api: { host: "127.0.0.1", port: portA },
        relayer: { handover: "bundles" },
      },
    );
    const nodeB = nodeConfigFile(
      net,
      codeB,
      prefixB,
      { attester: net.b.attesters[0]!.privateKey as Hex, relayer: await fundedKey(net) },
      {
        roles,
        api: { host: "127.0.0.1", port: portB },
        relayer: { handover: "bundles" },
      },
    );
    await Promise.all([
      runNode("value-a", nodeA.file, nodeA.env),
      runNode("value-b", nodeB.file, nodeB.env),
    ]);

    // B's community posts 50 tokens for A on B; B's bank reports it to A.
    const [funder] = await fundedWallets(net.b.connection, net.b.suite, 1, 50n * ONE);
    const funded = await runCli(
      ["-c", nodeB.file, "--json", "fund", codeA, "50", "--key-env", "FUNDER"],
      { FUNDER: funder!.privateKey },
    );
    expect(funded.code, funded.stderr).to.equal(0);
    expect(JSON.parse(funded.stdout)).to.deep.include({
      peer: codeA,
      reserve: (50n * ONE).toString(),
    });
    await waitFor(
      "A's credit view of its reserve on B",
      async () => (await net.a.suite.bank.creditView(net.b.suite.code)) === 50n * ONE,
      60_000,
      200,
    );

    // A user on A sends 10 tokens to an account on B.
    const [user] = await fundedWallets(net.a.connection, net.a.suite, 1, 10n * ONE);
    const receiver = ethers.Wallet.createRandom().address;
    const to = formatChainAddress({ code: net.b.suite.code, account: receiver as Hex });
    const sent = await runCli(
      [
        "-c",
        nodeA.file,
        "--json",
        "send",
        to,
        "--amount",
        "10",
        "--text",
        "invoice 42",
        "--key-env",
        "USER",
        "--wait",
        "--timeout",
        "120",
      ],
      { USER: user!.privateKey },
    );
    expect(sent.code, sent.stderr).to.equal(0);
    expect(JSON.parse(sent.stdout)).to.deep.include({
      status: "delivered",
      amount: (10n * ONE).toString(),
    });
    expect(await net.b.suite.token.balanceOf(receiver)).to.equal(10n * ONE);
    expect(await net.b.suite.bank.reserve(net.a.suite.code)).to.equal(40n * ONE);
    expect(await net.a.suite.token.balanceOf(user!.address)).to.equal(0n);

    // More than the credit view: refused on A before any token moves (exit code 3, reason named).
    const [rich] = await fundedWallets(net.a.connection, net.a.suite, 1, 100n * ONE);
    const refused = await runCli(
      ["-c", nodeA.file, "send", to, "--amount", "45", "--key-env", "RICH"],
      { RICH: rich!.privateKey },
    );
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.contain(
      `credit of chain ${net.a.suite.addresses.chainCode} at ${net.b.suite.addresses.chainCode} is 40 `,
    );
  });

  it("stakes, allocates and unstakes an attester's tokens with the CLI", async function () {
    const { file } = nodeConfigFile(
      net,
      net.a.suite.addresses.chainCode,
      prefixA,
      {},
      { roles: ["api"] },
    );
    const [attester] = await fundedWallets(net.a.connection, net.a.suite, 1, 30n * ONE);
    const env = { ATT: attester!.privateKey };
    const staked = await runCli(["-c", file, "--json", "stake", "20", "--key-env", "ATT"], env);
    expect(staked.code, staked.stderr).to.equal(0);
    expect(await net.a.suite.stakingHub.bonded(attester!.address)).to.equal(20n * ONE);
    const allocated = await runCli(
      ["-c", file, "allocate", net.b.suite.addresses.chainCode, "12.5", "--key-env", "ATT"],
      env,
    );
    expect(allocated.code, allocated.stderr).to.equal(0);
    expect(await net.a.suite.stakingHub.allocation(attester!.address, net.b.suite.code)).to.equal(
      (125n * ONE) / 10n,
    );
    const unstaked = await runCli(["-c", file, "unstake", "5", "--key-env", "ATT"], env);
    expect(unstaked.code, unstaked.stderr).to.equal(0);
    expect(await net.a.suite.stakingHub.freeStake(attester!.address)).to.equal((25n * ONE) / 10n);
    // Nothing matured yet: the revert is named and the exit code says "chain error".
    const early = await runCli(["-c", file, "withdraw", "--key-env", "ATT"], env);
    expect(early.code).to.equal(3);
    expect(early.stderr).to.contain("NothingToWithdraw");
    const tooMuch = await runCli(
      ["-c", file, "allocate", net.b.suite.addresses.chainCode, "1000", "--key-env", "ATT"],
      env,
    );
    expect(tooMuch.code).to.equal(3);
    expect((await runCli(["-c", file, "stake", "abc", "--key-env", "ATT"], env)).code).to.equal(2);
  });
});
