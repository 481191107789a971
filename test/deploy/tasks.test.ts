/**
 * The community's path to a live network, run as a community runs it: `hardhat distpos:deploy`
 * and `hardhat distpos:connect` as separate processes against chains served over JSON-RPC, with the
 * RPC URL and key from the environment.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";
import { ethers } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";

import { attachSuite, readDeploymentRecord, suiteAs, type Suite } from "../../deploy/suite.js";
import { serveChain, type RpcEndpoint } from "../../deploy/rpcServer.js";
import { runCli } from "../../deploy/nodeProcess.js";
import { loadConfig } from "../../relayer/config/load.js";

const HARDHAT = fileURLToPath(
  new URL("../../node_modules/hardhat/dist/src/cli.js", import.meta.url),
);
const ONE = 10n ** 18n;

interface Chain {
  name: string;
  connection: NetworkConnection;
  rpc: RpcEndpoint;
  deployer: ethers.HDNodeWallet;
  record: string;
  suite?: Suite;
}

/** Runs `hardhat --network distpos <args>` against `chain` and returns its output. */
function hardhat(chain: Chain, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [HARDHAT, "--network", "distpos", ...args], {
      env: {
        ...process.env,
        DISTPOS_RPC_URL: chain.rpc.url,
        DISTPOS_DEPLOYER_KEY: chain.deployer.privateKey,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
    proc.on("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`hardhat ${args.join(" ")} exited ${code}:\n${out}`)),
    );
  });
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

describe("distpos:deploy and distpos:connect against chains over JSON-RPC", function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), "distpos-tasks-"));
  const runId = `t${Date.now()}`;
  let a: Chain;
  let b: Chain;

  before(async function () {
    const make = async (name: string): Promise<Chain> => {
      const connection = await network.create(name);
      const rpc = await serveChain(connection.provider);
      const deployer = ethers.Wallet.createRandom();
      await connection.networkHelpers.setBalance(deployer.address, 10n ** 21n);
      return { name, connection, rpc, deployer, record: join(dir, `${name}.json`) };
    };
    a = await make("chainA");
    b = await make("chainB");
  });

  after(async function () {
    await a?.rpc.close();
    await b?.rpc.close();
    // Ignition keeps a resumable journal per deployment id; these chains are gone.
    for (const name of ["chainA", "chainB"]) {
      rmSync(
        fileURLToPath(new URL(`../../ignition/deployments/${runId}-${name}`, import.meta.url)),
        {
          recursive: true,
          force: true,
        },
      );
    }
  });

  it("deploys a suite per chain and writes records a peer can read", async function () {
    for (const chain of [a, b]) {
      const out = await hardhat(chain, [
        "distpos:deploy",
        "--name",
        chain.name,
        "--test-token",
        "--timelock-delay",
        "0",
        "--out",
        chain.record,
        "--deployment-id",
        `${runId}-${chain.name}`,
      ]);
      expect(out).to.contain("deployment record written");
      const [signer] = await chain.connection.ethers.getSigners();
      chain.suite = attachSuite(await readDeploymentRecord(chain.record), signer);
      expect(await chain.suite.registry.owner()).to.equal(chain.suite.addresses.timelock);
    }
  });

  it("refuses to deploy without a settlement token", async function () {
    const failure = await hardhat(a, ["distpos:deploy", "--name", "x"]).catch(
      (e: Error) => e.message,
    );
    expect(failure).to.contain("--token <settlement token address> is required");
  });

  it("distpos:deploy --test-token gives a settlement token anyone can mint on a test chain", async function () {
    const [user] = await a.connection.ethers.getSigners();
    const token = a.suite!.token.connect(user!);
    const before = await token.balanceOf(user!.address);
    await (await token.mint(user!.address, 5n * ONE)).wait();
    expect(await token.balanceOf(user!.address)).to.equal(before + 5n * ONE);
  });

  it("distpos config init writes a node config from the deployment records that the node loads", async function () {
    const file = join(dir, "node.yaml");
    /** `distpos config init` with A as home, writing `out`; `peers` name the peers and their RPCs. */
    const initTo = (out: string, ...peers: string[]) =>
      runCli(["config", "init", "--home", a.record, "--rpc", a.rpc.url, "--out", out, ...peers]);
    const init = (extra: string[] = []) =>
      initTo(file, "--peer", b.record, "--peer-rpc", b.rpc.url, ...extra);
    const done = await init();
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.contain(`wrote ${file}`);
    const cfg = loadConfig(file);
    const [ra, rb] = [await readDeploymentRecord(a.record), await readDeploymentRecord(b.record)];
    expect(cfg.home).to.equal(ra.chainCode);
    expect(cfg.roles).to.have.members(["indexer", "api", "attester", "relayer", "watcher"]);
    expect(cfg.relayer.destinations).to.deep.equal([ra.chainCode]);
    for (const [r, rpc] of [
      [ra, a.rpc.url],
      [rb, b.rpc.url],
    ] as const) {
      const c = cfg.chain(r.chainCode);
      expect(c.rpc).to.deep.equal([rpc]);
      expect(c.chainId).to.equal(r.evmChainId);
      expect(c.startBlock).to.equal(r.deployedAtBlock);
    }
    // Contracts for the home chain only: a node reads a peer's from its home RouteRegistry.
    expect(cfg.homeChain.contracts).to.deep.equal({
      registry: ra.registry,
      outbox: ra.outbox,
      inbox: ra.inbox,
      stakingHub: ra.stakingHub,
      bank: ra.bank,
      token: ra.settlementToken,
    });
    expect(cfg.chain(rb.chainCode).contracts).to.equal(undefined);
    // The node's own commands read it (`routes` asks a running node now, docs/protocol.md 4.1; a
    // balance read needs only the config); one that needs a peer's contracts names the field.
    const balance = await runCli(["-c", file, "balance", ZERO_ADDRESS, "--chain", ra.chainCode]);
    expect(balance.code, balance.stderr).to.equal(0);
    expect(balance.stdout).to.contain(ra.chainCode);
    const peerBalance = await runCli([
      "-c",
      file,
      "balance",
      ZERO_ADDRESS,
      "--chain",
      rb.chainCode,
    ]);
    expect(peerBalance.code).to.equal(2);
    expect(peerBalance.stderr).to.contain(`chains.${rb.chainCode}.contracts`);

    // Without --peer-rpc (relaying needs only the home chain's RPC): the peer has no RPC, the
    // node's commands still read the home chain, and half a list of peer RPCs is refused.
    const homeOnly = join(dir, "home-only.yaml");
    const noPeerRpc = await initTo(homeOnly, "--peer", b.record);
    expect(noPeerRpc.code, noPeerRpc.stderr).to.equal(0);
    const homeOnlyCfg = loadConfig(homeOnly);
    expect(homeOnlyCfg.chain(ra.chainCode).rpc).to.deep.equal([a.rpc.url]);
    expect(homeOnlyCfg.chain(rb.chainCode).rpc).to.deep.equal([]);
    expect(homeOnlyCfg.chain(rb.chainCode).chainId).to.equal(rb.evmChainId);
    const homeBalance = await runCli([
      "-c",
      homeOnly,
      "balance",
      ZERO_ADDRESS,
      "--chain",
      ra.chainCode,
    ]);
    expect(homeBalance.code, homeBalance.stderr).to.equal(0);
    const halfRpcs = await initTo(
      join(dir, "half.yaml"),
      "--peer",
      b.record,
      "--peer",
      a.record,
      "--peer-rpc",
      b.rpc.url,
    );
    expect(halfRpcs.code).to.equal(2);
    expect(halfRpcs.stderr).to.contain("--peer-rpc: give none, or one per --peer");

    const again = await init();
    expect(again.code).to.equal(2);
    expect(again.stderr).to.contain(`--out ${file}: the file exists (--force overwrites it)`);
    expect((await init(["--force"])).code).to.equal(0);
    const junk = join(dir, "junk.json");
    writeFileSync(junk, "{}");
    const bad = await runCli(["config", "init", "--home", junk, "--rpc", a.rpc.url, "--out", file]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--home .*junk\.json: not a deployment record .*missing name/);
  });

  it("enrolls both ways, seeds mirrors once attesters allocated, tops reserves up, and changes nothing when run again", async function () {
    const connect = (
      local: Chain,
      peer: Chain,
      extra: string[] = [],
      env: Record<string, string> = {},
    ) =>
      hardhat(
        local,
        [
          "distpos:connect",
          "--local",
          local.record,
          "--peer",
          peer.record,
          "--peer-rpc",
          peer.rpc.url,
          ...extra,
        ],
        env,
      );

    expect(await connect(a, b))
      .to.contain("enroll → executed")
      .and.to.contain("mirror → no-allocations");
    expect(await connect(b, a)).to.contain("enroll → executed");

    // The attesters of each chain stake and allocate to the peer, which they can only now.
    for (const [chain, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const attester = ethers.Wallet.createRandom().connect(chain.connection.ethers.provider);
      await chain.connection.networkHelpers.setBalance(attester.address, 10n ** 21n);
      const own = suiteAs(chain.suite!, attester);
      await (await own.token.mint(attester.address, 1_000n * ONE)).wait();
      await (await own.token.approve(chain.suite!.addresses.stakingHub, ethers.MaxUint256)).wait();
      await (await own.stakingHub.stake(1_000n * ONE)).wait();
      await (await own.stakingHub.allocate(peer.suite!.code, 300n * ONE)).wait();
    }

    // B's treasury key pays for A's reserve on B.
    const payer = ethers.Wallet.createRandom();
    await b.connection.networkHelpers.setBalance(payer.address, 10n ** 21n);
    await (await b.suite!.token.mint(payer.address, 500n * ONE)).wait();
    const env = { DISTPOS_PEER_KEY: payer.privateKey };

    // B's attester vouches for 270 on A (300 allocated less the 10% bounty): a top-up of 300 would
    // be a reserve report no relayer could ever deliver, so it is refused before any token moves.
    const tooMuch = await connect(a, b, ["--reserve", "300"], env).catch((e: Error) => e.message);
    expect(tooMuch)
      .to.contain("mirror → seeded (1 attesters)")
      .and.to.contain("would add 300.0 of credit in one reserve report")
      .and.to.contain("vouch for at most 270.0");
    expect(await b.suite!.bank.reserve(a.suite!.code)).to.equal(0n);

    const first = await connect(a, b, ["--reserve", "200"], env);
    expect(first).to.contain("enroll → already-done").and.to.contain("mirror → already-seeded");
    expect(first).to.contain("topped up by 200");
    expect(await connect(b, a)).to.contain("mirror → seeded (1 attesters)");
    expect(await a.suite!.inbox.isMirrorInitialized(b.suite!.code)).to.equal(true);
    expect(await b.suite!.bank.reserve(a.suite!.code)).to.equal(200n * ONE);

    const again = await connect(a, b, ["--reserve", "200"], env);
    expect(again).to.contain("enroll → already-done").and.to.contain("mirror → already-seeded");
    expect(again).to.contain("(≥ target)");
    expect(await b.suite!.bank.reserve(a.suite!.code)).to.equal(200n * ONE);
    expect(await a.suite!.registry.peers()).to.deep.equal([b.suite!.code]);
  });

  it("refuses a peer record that does not match the peer's chain", async function () {
    const failure = await hardhat(a, [
      "distpos:connect",
      "--local",
      a.record,
      "--peer",
      b.record,
      "--peer-rpc",
      a.rpc.url,
    ]).catch((e: Error) => e.message);
    expect(failure).to.contain("--peer record is for chain id");
  });
});
