/**
 * `npm run demo`: three local chains, each with its own DistPOS suite and two attester nodes, and
 * the whole protocol shown end to end — value across chains to chain-qualified addresses, a transfer
 * underwritten by a second attester, a dApp call, an attester lying about a root (its forgery can
 * only drain its own community's reserve; it is caught and slashed), and the honest transfer the
 * forgery left unpaid, pending until a top-up and then claimed.
 *
 * Exits 0 only if every step landed as expected. `npm run demo -- --keep` leaves the chains and
 * nodes running and prints how to reach them. `npm run demo -- --client anvil` runs the chains on
 * anvil (Foundry's client: a block per transaction and one every second) instead of Hardhat's
 * in-process simulator.
 */
import { rmSync } from "node:fs";

import { ethers, type Wallet } from "ethers";

import { governThroughTimelock } from "./governance.js";
import { startDevnet, fundReserve, type Devnet, type DevnetChain } from "./devnet.js";
import { forgeTransfer } from "./forgery.js";
import { suiteAs } from "./suite.js";
import { formatChainAddress, type Hex } from "../relayer/protocol/index.js";
import { runCli } from "./nodeProcess.js";
import { PingPong__factory } from "../typechain-types/index.js";

const ONE = 10n ** 18n;
const tokens = (n: bigint | string) => (typeof n === "bigint" ? n * ONE : ethers.parseUnits(n));
const fmt = (v: bigint) => ethers.formatUnits(v, 18).replace(/\.0$/, "");

/** Pending payout: the Inbox records the handler as waiting for the reserve (IInbox.FailureKind). */
const PAYOUT_PENDING = 2n;

export interface DemoStep {
  title: string;
  ok: boolean;
  detail: string;
}

export interface DemoOptions {
  keep?: boolean;
  /** The chains' client (deploy/devnet.ts): Hardhat's simulator (default) or anvil. */
  client?: "hardhat" | "anvil";
  log?: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  steps: DemoStep[];
  table: string;
}

/**
 * Reserves, sized against what attesters vouch for: a reserve report is value at risk equal to the
 * credit it grants, charged to the reporting chain's attesters (2 × 100 allocated to each peer, of
 * which each vouches for 90: the allocation less the 10% bounty a liar could claim back, protocol.md
 * 3.8).
 */
const RESERVES: Record<string, bigint> = {
  "chainB:chainA": tokens(180n), // A's credit on B: room for 25 + 120, within 2 × 90
  "chainA:chainB": tokens(20n),
  "chainA:chainC": tokens(100n), // C's credit on A: the reserve the forgery drains
  "chainC:chainA": tokens(20n),
  "chainB:chainC": tokens(20n),
  "chainC:chainB": tokens(20n),
};

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const steps: DemoStep[] = [];
  const step = async (title: string, body: () => Promise<string>) => {
    log(`\n▶ ${title}`);
    try {
      const detail = await body();
      steps.push({ title, ok: true, detail });
      log(`  ✔ ${detail}`);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      steps.push({ title, ok: false, detail });
      log(`  ✘ ${detail}`);
      log(`    (node configs and logs: ${devnet.home})`);
    }
  };

  log(
    "Starting three chains, deploying and connecting DistPOS, staking attesters, funding reserves…",
  );
  const devnet = await startDevnet({
    client: options.client,
    reserve: 0n,
    reserveOverrides: RESERVES,
    log: (l) => log(`  ${l}`),
  });
  let table = "";
  try {
    const [a, b, c] = ["chainA", "chainB", "chainC"].map((n) => devnet.chain(n));
    const alice = await user(a, tokens(1_000n));
    const bob = await user(b, 0n);
    const carol = await user(c, tokens(1_000n));
    const mallory = await user(a, 0n);

    await step(
      "Nodes relay each community's reserve report: credit appears on every chain",
      async () => {
        await waitUntil(
          "A's credit on B",
          async () => (await a.suite.bank.creditView(b.suite.code)) >= tokens(145n),
        );
        await waitUntil(
          "C's credit on A",
          async () => (await c.suite.bank.creditView(a.suite.code)) >= tokens(100n),
        );
        return `A may send ${fmt(await a.suite.bank.creditView(b.suite.code))} to B; C may send ${fmt(await c.suite.bank.creditView(a.suite.code))} to A`;
      },
    );

    await step("Value A→B to a chain-qualified address, with the distpos CLI", async () => {
      const to = formatChainAddress({ code: b.suite.code, account: bob.address as Hex });
      const reserveBefore = await b.suite.bank.reserve(a.suite.code);
      const out = await cli(devnet, a, alice, [
        "send",
        to,
        "--amount",
        "25",
        "--wait",
        "--timeout",
        "120",
      ]);
      expectEqual("bob's balance on B", await b.suite.token.balanceOf(bob.address), tokens(25n));
      expectEqual(
        "A's reserve on B",
        await b.suite.bank.reserve(a.suite.code),
        reserveBefore - tokens(25n),
      );
      return `${to} received 25 from A's reserve on B (message ${String(out.id).slice(0, 10)}…)`;
    });

    await step(
      "A transfer too big for one attester (120 > the 90 it vouches for): a second one underwrites it",
      async () => {
        const to = formatChainAddress({ code: b.suite.code, account: bob.address as Hex });
        const out = await cli(devnet, a, alice, [
          "send",
          to,
          "--amount",
          "120",
          "--wait",
          "--timeout",
          "120",
        ]);
        expectEqual("bob's balance on B", await b.suite.token.balanceOf(bob.address), tokens(145n));
        const charged = await signersCharged(b, String(out.id));
        if (charged.length < 2)
          throw new Error(`expected two attesters charged, saw ${charged.length}`);
        return `delivered under ${charged.length} signatures; charged ${charged.map((x) => `${x.attester.slice(0, 8)}… ${fmt(x.amount)}`).join(", ")}`;
      },
    );

    await step("A dApp call B→C: PingPong on B pings PingPong on C, which pongs back", async () => {
      const pingB = await deployPingPong(b);
      const pingC = await deployPingPong(c);
      await (await pingB.ping(c.suite.code, await pingC.getAddress())).wait();
      await waitUntil("the pong on B", async () => (await pingB.pongsReceived()) === 1n);
      return `ping delivered on C, pong delivered back on B`;
    });

    let honestId = "";
    const liar = c.attesters[1];
    await step(
      "An attester of C lies: signs a root C never had, forging a transfer to A",
      async () => {
        await governThroughTimelock(a.suite, [
          {
            target: a.suite.addresses.bank,
            data: a.suite.bank.interface.encodeFunctionData("setThresholds", [
              c.suite.code,
              0n,
              tokens(50n),
              0n,
            ]),
          },
        ]);
        // An honest transfer C→A is under way when the forgery lands first.
        const to = formatChainAddress({ code: a.suite.code, account: alice.address as Hex });
        const out = await cli(devnet, c, carol, ["send", to, "--amount", "50"]);
        honestId = String(out.id);
        const before = await a.suite.bank.reserve(c.suite.code);
        const receipt = await forgeTransfer(c, a, liar, mallory, tokens(60n));
        expectEqual(
          "mallory's balance on A",
          await a.suite.token.balanceOf(mallory.address),
          tokens(60n),
        );
        expectEqual(
          "C's reserve on A",
          await a.suite.bank.reserve(c.suite.code),
          before - tokens(60n),
        );
        const topUp = receipt.logs.some(
          (l) => l.topics[0] === a.suite.bank.interface.getEvent("TopUpRequested").topicHash,
        );
        if (!topUp) throw new Error("A's bank did not request a top-up below its low-water mark");
        return `60 forged out of C's reserve on A only (A's and B's money untouched); A's bank asked C for a top-up`;
      },
    );

    await step(
      "The watcher on C, with no RPC of A, hears from A's entry nodes what A's Inbox accepted, finds the false checkpoint and slashes the liar on C",
      async () => {
        await waitUntil("the slashing", () => c.suite.stakingHub.slashed(liar.address), 180_000);
        await waitUntil(
          "A's mirror of the liar at zero",
          async () => (await a.suite.inbox.mirroredStake(c.suite.code, liar.address)) === 0n,
          180_000,
        );
        return `stake of ${liar.address.slice(0, 10)}… slashed on C; A's mirror of it is now 0`;
      },
    );

    await step(
      "The honest C→A transfer found the reserve short: pending, then claimed after C tops up",
      async () => {
        await waitUntil(
          "the honest transfer on A",
          async () => (await a.suite.inbox.failure(honestId)) === PAYOUT_PENDING,
          180_000,
        );
        await fundReserve(a, c, tokens(100n));
        await (await suiteAs(a.suite, alice).bank.claim(honestId)).wait();
        expectEqual(
          "alice's balance on A",
          await a.suite.token.balanceOf(alice.address),
          tokens(1_000n - 145n + 50n),
        );
        await expectRevert("a second claim", suiteAs(a.suite, alice).bank.claim(honestId));
        return `pending 50 paid to alice once C's community topped up its reserve on A; a second claim is refused`;
      },
    );

    table = await balanceTable(devnet, { alice, bob, carol, mallory });
    log(`\n${table}`);
    if (options.keep) {
      printHowToReach(devnet, log);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    }
  } finally {
    await devnet.stop();
  }
  const ok = steps.every((s) => s.ok) && steps.length === 7;
  // Node logs are kept for a post-mortem only.
  if (ok) rmSync(devnet.home, { recursive: true, force: true });
  log(
    ok
      ? "\nDemo complete: every step landed as expected."
      : "\nDemo FAILED: see the ✘ steps above.",
  );
  return { ok, steps, table };
}

/** A user with gas and `amount` settlement tokens on `chain`. */
async function user(chain: DevnetChain, amount: bigint): Promise<Wallet> {
  const wallet = ethers.Wallet.createRandom().connect(
    chain.connection.ethers.provider,
  ) as unknown as Wallet;
  await chain.connection.networkHelpers.setBalance(wallet.address, 10n ** 20n);
  if (amount > 0n) await (await chain.suite.token.mint(wallet.address, amount)).wait();
  return wallet;
}

/** Runs `distpos <args> --json` against `chain`'s first node config as `who`. */
async function cli(
  devnet: Devnet,
  chain: DevnetChain,
  who: Wallet,
  args: string[],
): Promise<Record<string, unknown>> {
  const node = devnet.nodes.find((n) => n.chain === chain.name)!;
  const result = await runCli(
    ["-c", node.configFile, "--json", ...args],
    devnet.cliEnv(who.privateKey),
    180_000,
  );
  if (result.code !== 0)
    throw new Error(`distpos ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** The attesters charged for the batch that delivered message `id` on `destination`. */
async function signersCharged(destination: DevnetChain, id: string) {
  const inbox = destination.suite.inbox;
  const [delivered] = await inbox.queryFilter(inbox.filters.Delivered(id));
  if (!delivered) throw new Error(`message ${id} not delivered`);
  const receipt = await delivered.getTransactionReceipt();
  return receipt.logs
    .filter((l) => l.topics[0] === inbox.interface.getEvent("CoverageCharged").topicHash)
    .map((l) => inbox.interface.parseLog(l)!)
    .map((e) => ({ attester: e.args.attester as string, amount: e.args.amount as bigint }));
}

async function deployPingPong(chain: DevnetChain) {
  const [deployer] = await chain.connection.ethers.getSigners();
  const pingPong = await new PingPong__factory(deployer).deploy(
    chain.suite.addresses.outbox,
    chain.suite.addresses.inbox,
    0,
    0,
  );
  await pingPong.waitForDeployment();
  return pingPong;
}

/** Balances, reserves, credit and stakes per chain. */
async function balanceTable(devnet: Devnet, users: Record<string, Wallet>): Promise<string> {
  const rows: string[][] = [["chain", "what", "amount"]];
  for (const chain of devnet.chains) {
    const { suite } = chain;
    for (const [name, wallet] of Object.entries(users)) {
      const balance = await suite.token.balanceOf(wallet.address);
      if (balance > 0n) rows.push([chain.name, `${name}'s tokens`, fmt(balance)]);
    }
    for (const peer of devnet.chains) {
      if (peer === chain) continue;
      rows.push([
        chain.name,
        `reserve of ${peer.name} held here`,
        fmt(await suite.bank.reserve(peer.suite.code)),
      ]);
      rows.push([
        chain.name,
        `credit on ${peer.name}`,
        fmt(await suite.bank.creditView(peer.suite.code)),
      ]);
    }
    for (const [i, attester] of chain.attesters.entries()) {
      const slashed = await suite.stakingHub.slashed(attester.address);
      rows.push([
        chain.name,
        `attester ${i + 1} stake`,
        slashed ? "slashed" : fmt(await suite.stakingHub.bonded(attester.address)),
      ]);
    }
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows
    .map((r, i) => {
      const line = r
        .map((cell, col) => (col === 2 ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
        .join("  ");
      return i === 0 ? `${line}\n${"-".repeat(line.length)}` : line;
    })
    .join("\n");
}

function printHowToReach(devnet: Devnet, log: (line: string) => void): void {
  log("\nThe network keeps running (Ctrl-C stops everything):");
  for (const chain of devnet.chains)
    log(`  ${chain.name} (code ${chain.suite.addresses.chainCode}): JSON-RPC ${chain.rpc.url}`);
  for (const node of devnet.nodes)
    log(`  node ${node.name}: API ${node.apiUrl}, config ${node.configFile}`);
  const node = devnet.nodes[0];
  log("\nTry, with a funded key in DISTPOS_USER_KEY:");
  log(`  npx distpos -c ${node.configFile} routes`);
  log(
    `  npx distpos -c ${node.configFile} send ${devnet.chains[1].suite.addresses.chainCode}x<address> --amount 1 --wait`,
  );
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function expectEqual(what: string, actual: bigint, expected: bigint): void {
  if (actual !== expected)
    throw new Error(`${what}: expected ${fmt(expected)}, got ${fmt(actual)}`);
}

async function expectRevert(what: string, tx: Promise<unknown>): Promise<void> {
  try {
    await tx;
  } catch {
    return;
  }
  throw new Error(`${what} did not revert`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keep = process.argv.includes("--keep");
  const at = process.argv.indexOf("--client");
  const client = at > 0 ? process.argv[at + 1] : "hardhat";
  if (client !== "hardhat" && client !== "anvil") {
    console.error(`--client ${client}: expected hardhat or anvil`);
    process.exit(2);
  }
  const result = await runDemo({ keep, client });
  process.exit(result.ok ? 0 : 1);
}
