/**
 * Privileged functions (docs/security.md, "Privileged functions"): a reviewed list of every
 * state-changing external function of every deployed contract that only some caller may call
 * (owner, governance, a role, the Inbox, the registry, the bank, the hub), read from the compiled
 * artifacts and the compiler's AST, so a new gate or a removed one fails CI until it is reviewed.
 * Then the proof that none of them moves a reserve, a pool or a stake:
 * - statically: no governance function can reach a token transfer (call graph over the AST,
 *   following external calls into every deployed implementation);
 * - dynamically: the timelock calls every governance function, with hostile arguments, on a funded
 *   network, and tries every function gated on another contract; no balance or book moves.
 * And solhint's security rules, run on the deployed contracts with the repository's configuration.
 */
import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import { ethers } from "ethers";

import { governThroughTimelock } from "../../deploy/governance.js";
import {
  externalFunctions,
  reachableSinks,
  PRODUCTION_DIRS,
  type ExternalFunction,
} from "./ast.js";
import { ONE, U, World, recipientBody, type Hex } from "./world.js";
import { addressToBytes32 } from "../../relayer/protocol/index.js";

/**
 * Reviewed: every gated function, and the check that gates it. Governance = the registry's owner
 * (the community's timelock); the timelock's own functions are role-gated.
 */
const EXPECTED_GATES: Record<string, string> = {
  "CommunityTimelock.cancel": "onlyRole",
  "CommunityTimelock.execute": "onlyRoleOrOpenRole",
  "CommunityTimelock.executeBatch": "onlyRoleOrOpenRole",
  "CommunityTimelock.grantRole": "onlyRole",
  "CommunityTimelock.revokeRole": "onlyRole",
  "CommunityTimelock.schedule": "onlyRole",
  "CommunityTimelock.scheduleBatch": "onlyRole",
  "CommunityTimelock.updateDelay": "sender != address(this)",
  "CorrespondentBank.onBankMessage": "onlyInbox",
  "CorrespondentBank.payFees": "onlyInbox", // issue 17: books fees to the deliverer, moves no tokens
  "CorrespondentBank.payout": "onlyInbox",
  "CorrespondentBank.setDeliveryPrice": "onlyGovernance", // issue 17: a price, moves no tokens
  "CorrespondentBank.setNetting": "onlyGovernance", // moves no tokens: enables net() and answers
  "CorrespondentBank.setThresholds": "onlyGovernance",
  "Inbox.initializeMirror": "msg.sender != address(registry)",
  "Inbox.reseedMirror": "msg.sender != address(registry)", // issue 13, R2: moves no tokens
  "Inbox.setRoute": "msg.sender != address(registry)", // the registry's push of a route; moves no tokens
  "Invoices.handle": "msg.sender != inbox", // example: forwards what the bank paid it
  "Invoices.issue": "msg.sender != merchant", // example: moves no tokens
  "Outbox.creditFees": "msg.sender != _localBank()", // issue 17: the bank took the tokens
  "Outbox.dispatchSystem": "msg.sender != stakingHub",
  "Outbox.handle": "msg.sender != inbox", // issue 17: a fee top-up arriving (Outbox.topUp)
  "Outbox.dispatchValue": "msg.sender != _localBank()",
  "Outbox.dispatchValueWithFee": "msg.sender != _localBank()",
  "Outbox.setPrice": "msg.sender != _localBank()", // from an applied reserve report
  "Outbox.setRouteStatus": "msg.sender != address(registry)",
  "PingPong.handle": "msg.sender != address(inbox)",
  "RouteRegistry.bindLocalContracts": "onlyOwner",
  "RouteRegistry.enrollRoute": "onlyOwner",
  "RouteRegistry.initializeMirror": "onlyOwner",
  "RouteRegistry.pauseRoute": "onlyOwner",
  "RouteRegistry.renounceOwnership": "onlyOwner",
  "RouteRegistry.reseedMirror": "onlyOwner", // only on a paused route; delivers nothing
  "RouteRegistry.resumeRoute": "onlyOwner",
  "RouteRegistry.setRoutePolicy": "onlyOwner",
  "RouteRegistry.transferOwnership": "onlyOwner",
};

/** Gates held by the community's governance (everything else is held by one of the suite's contracts). */
const GOVERNANCE_GATES = new Set([
  "onlyOwner",
  "onlyGovernance",
  "onlyRole",
  "onlyRoleOrOpenRole",
  "sender != address(this)",
]);

/**
 * Reviewed: every function that can move tokens (or call out arbitrarily), and what it reaches.
 * None is governance-gated except the timelock's `execute`, whose arbitrary call is the subject of
 * the dynamic test below.
 */
const EXPECTED_TOKEN_MOVERS: Record<string, string[]> = {
  "CommunityTimelock.execute": ["low-level call in CommunityTimelock.execute"],
  "CommunityTimelock.executeBatch": ["low-level call in CommunityTimelock.executeBatch"],
  "CorrespondentBank.claim": ["token safeTransfer in CorrespondentBank.claim"],
  "CorrespondentBank.fund": ["token safeTransferFrom in CorrespondentBank.fund"],
  "CorrespondentBank.payout": ["token trySafeTransfer in CorrespondentBank.payout"],
  "CorrespondentBank.prepayFees": ["token safeTransferFrom in CorrespondentBank.prepayFees"],
  "CorrespondentBank.send": ["token safeTransferFrom in CorrespondentBank.send"],
  "CorrespondentBank.sendWithFee": ["token safeTransferFrom in CorrespondentBank.sendWithFee"],
  "CorrespondentBank.withdrawEarned": ["token safeTransfer in CorrespondentBank.withdrawEarned"],
  "Inbox.deliver": [
    "assembly call in Inbox.deliver",
    "token trySafeTransfer in CorrespondentBank.payout",
  ],
  // The same execution path as deliver (Inbox._execute): the handler's call in assembly.
  "Inbox.retry": [
    "assembly call in Inbox.retry",
    "token trySafeTransfer in CorrespondentBank.payout",
  ],
  // Examples (contracts/examples): the caller's own tokens into the bank, and what a payout paid
  // the recipient on to its merchant.
  "InvoicePayer.pay": [
    "token forceApprove in InvoicePayer.pay",
    "token safeTransferFrom in CorrespondentBank.send",
    "token safeTransferFrom in InvoicePayer.pay",
  ],
  "Invoices.handle": ["token safeTransfer in Invoices.handle"],
  // Open to anyone: a proven liar's stake, the bounty to the prover and the rest to the vault.
  "StakingHub.proveFraud": ["token safeTransfer in StakingHub.proveFraud"],
  "StakingHub.proveLastLeafFraud": ["token safeTransfer in StakingHub.proveLastLeafFraud"],
  "StakingHub.stake": ["token safeTransferFrom in StakingHub.stake"],
  "StakingHub.withdraw": ["token safeTransfer in StakingHub.withdraw"],
};

describe("Security: privileged functions cannot move funds", function () {
  let functions: ExternalFunction[];

  before(function () {
    functions = externalFunctions();
  });

  it("lists every gated external function of every deployed contract, equal to the reviewed list", function () {
    const contracts = new Set(functions.map((f) => f.contract));
    for (const name of [
      "RouteRegistry",
      "Outbox",
      "Inbox",
      "StakingHub",
      "CorrespondentBank",
      "CommunityTimelock",
    ]) {
      expect(contracts, `${name} was not analysed`).to.include(name);
    }
    const gated = Object.fromEntries(
      functions
        .filter((f) => f.gate !== undefined)
        .map((f) => [`${f.contract}.${f.name}`, f.gate!.replace(/\s+/g, " ")]),
    );
    expect(gated).to.deep.equal(EXPECTED_GATES);
  });

  it("finds no token movement reachable from any governance function (call graph over the AST)", function () {
    for (const f of functions) {
      if (!f.gate || !GOVERNANCE_GATES.has(f.gate.replace(/\s+/g, " "))) continue;
      const sinks = [...reachableSinks(f, functions)];
      const key = `${f.contract}.${f.name}`;
      if (key === "CommunityTimelock.execute" || key === "CommunityTimelock.executeBatch") {
        // The timelock runs whatever the community scheduled: an arbitrary call, no token code of
        // its own. What that call can reach with the timelock's privilege is the set of
        // governance functions here, each free of token movements (and tested live below).
        expect(sinks).to.deep.equal([`low-level call in ${key}`]);
        continue;
      }
      expect(sinks, `${key} reaches a token movement`).to.deep.equal([]);
    }
  });

  it("finds token movements only where the reviewed list expects them, none behind a governance gate", function () {
    const movers: Record<string, string[]> = {};
    for (const f of functions) {
      const sinks = [...reachableSinks(f, functions)].sort();
      if (sinks.length > 0) movers[`${f.contract}.${f.name}`] = sinks;
    }
    expect(movers).to.deep.equal(
      Object.fromEntries(Object.entries(EXPECTED_TOKEN_MOVERS).map(([k, v]) => [k, [...v].sort()])),
    );
    for (const key of Object.keys(movers)) {
      const gate = EXPECTED_GATES[key];
      if (key.startsWith("CommunityTimelock.")) continue;
      expect(
        gate === undefined || !GOVERNANCE_GATES.has(gate),
        `${key} moves tokens behind ${gate}`,
      ).to.equal(true);
    }
  });

  describe("governance on a funded network", function () {
    let world: World;

    before(async function () {
      this.timeout(300_000);
      world = await World.create();
    });

    it("changes no balance, reserve, pool or stake whatever the timelock calls", async function () {
      await world.reset();
      const [a, b, c] = world.chains;
      // Money everywhere: pools from sends both ways, pending payouts, stakes (from the baseline).
      for (const [o, d] of [
        [0, 1],
        [1, 0],
        [2, 1],
      ]) {
        const out = await world.tx(
          o,
          world.chains[o].users[0],
          world.chains[o].suite.bank,
          "send",
          [
            world.chains[d].code,
            addressToBytes32(world.chains[d].users[0].address as Hex),
            20n * ONE,
            "0x",
          ],
        );
        expect(out.ok, out.error).to.equal(true);
      }
      await world.dispatch(0, 1, b.recipientWord, recipientBody("honest"));
      const delivery = (await world.prepare(0, 1, { signers: a.attesters }))!;
      expect((await world.deliver(1, delivery)).ok).to.equal(true);

      const snapshot = async () =>
        Promise.all(
          world.chains.map(async (chain) => ({
            bank: await chain.suite.token.balanceOf(chain.suite.addresses.bank),
            hub: await chain.suite.token.balanceOf(chain.suite.addresses.stakingHub),
            books: await world.books(chain.index),
            stakes: await world.stakes(chain.index),
          })),
        );
      const before = await snapshot();
      expect(before[1].bank > 0n && before[1].hub > 0n).to.equal(true);

      const registry = b.suite.registry.interface;
      const bank = b.suite.bank.interface;
      const timelock = b.suite.timelock.interface;
      const attacker = ethers.Wallet.createRandom().address;
      const called = new Set<string>();
      /** Runs one call through B's timelock; returns whether it went through. */
      const govern = async (
        contract: string,
        target: string,
        iface: ethers.Interface,
        fn: string,
        args: unknown[],
      ) => {
        called.add(`${contract}.${fn}`);
        try {
          await governThroughTimelock(b.suite, [
            { target, data: iface.encodeFunctionData(fn, args) },
          ]);
          return true;
        } catch {
          return false;
        }
      };
      const R = b.suite.addresses.registry;
      const hostileRoute = {
        evmChainId: a.suite.evmChainId,
        outbox: attacker,
        inbox: attacker,
        stakingHub: attacker,
        bank: attacker,
        settlementDecimals: 0,
        minSigners: 1,
        defaultCoverage: 0n,
        unbondingDelay: U,
      };
      // Governance functions, with the most hostile arguments they accept.
      expect(await govern("RouteRegistry", R, registry, "pauseRoute", [a.code])).to.equal(true);
      expect(await govern("RouteRegistry", R, registry, "resumeRoute", [a.code])).to.equal(true);
      expect(
        await govern("RouteRegistry", R, registry, "setRoutePolicy", [
          a.code,
          65_535,
          2n ** 96n - 1n,
        ]),
      ).to.equal(true);
      expect(
        await govern("RouteRegistry", R, registry, "setRoutePolicy", [c.code, 1, 0n]),
      ).to.equal(true);
      expect(
        await govern("RouteRegistry", R, registry, "enrollRoute", [a.code, hostileRoute]),
      ).to.equal(false);
      expect(
        await govern("RouteRegistry", R, registry, "enrollRoute", [0xbad0n, hostileRoute]),
      ).to.equal(true);
      expect(
        await govern("RouteRegistry", R, registry, "initializeMirror", [
          a.code,
          [attacker],
          [10n ** 30n],
        ]),
      ).to.equal(false);
      expect(
        await govern("RouteRegistry", R, registry, "initializeMirror", [
          0xbad0n,
          [attacker],
          [10n ** 30n],
        ]),
      ).to.equal(true);
      // Reseeding a mirror (recovery, issue 13): refused on an active route; on a paused one it
      // may mirror anything, and still moves no token (checked below) and delivers nothing.
      const reseed = [a.code, [attacker], [10n ** 30n], 2 ** 32 - 1];
      expect(await govern("RouteRegistry", R, registry, "reseedMirror", reseed)).to.equal(false);
      expect(await govern("RouteRegistry", R, registry, "pauseRoute", [a.code])).to.equal(true);
      expect(await govern("RouteRegistry", R, registry, "reseedMirror", reseed)).to.equal(true);
      expect(await govern("RouteRegistry", R, registry, "resumeRoute", [a.code])).to.equal(true);
      expect(
        await govern("RouteRegistry", R, registry, "bindLocalContracts", [
          { outbox: attacker, inbox: attacker, stakingHub: attacker, bank: attacker },
        ]),
      ).to.equal(false);
      const B = b.suite.addresses.bank;
      expect(
        await govern("CorrespondentBank", B, bank, "setThresholds", [
          a.code,
          0n,
          2n ** 255n - 1n,
          2n ** 255n - 1n,
        ]),
      ).to.equal(true);
      expect(
        await govern("CorrespondentBank", B, bank, "setThresholds", [0xbad0n, 0n, 0n, 0n]),
      ).to.equal(true);
      // Enabling netting moves nothing by itself (only a later net() and the peer's answer do).
      expect(await govern("CorrespondentBank", B, bank, "setNetting", [a.code, true])).to.equal(
        true,
      );
      expect(await govern("CorrespondentBank", B, bank, "setNetting", [0xbad0n, true])).to.equal(
        true,
      );
      // A price moves nothing here; it reaches the peer in the next report (issue 17).
      expect(
        await govern("CorrespondentBank", B, bank, "setDeliveryPrice", [a.code, ONE, ONE, 10_000]),
      ).to.equal(true);
      const T = b.suite.addresses.timelock;
      const proposer = await b.suite.timelock.PROPOSER_ROLE();
      expect(
        await govern("CommunityTimelock", T, timelock, "grantRole", [proposer, attacker]),
      ).to.equal(true);
      expect(
        await govern("CommunityTimelock", T, timelock, "revokeRole", [proposer, attacker]),
      ).to.equal(true);
      expect(await govern("CommunityTimelock", T, timelock, "updateDelay", [0n])).to.equal(true);

      // Functions gated on the suite's own contracts: the timelock is none of them.
      const some = ethers.id("any");
      expect(
        await govern("CorrespondentBank", B, bank, "payout", [a.code, some, attacker, 10n * ONE]),
      ).to.equal(false);
      expect(
        await govern("CorrespondentBank", B, bank, "onBankMessage", [
          a.code,
          1,
          ethers.concat(["0x03", ethers.toBeHex(10n * ONE, 32)]),
          attacker,
        ]),
      ).to.equal(false);
      expect(
        await govern("CorrespondentBank", B, bank, "payFees", [
          a.code,
          attacker,
          10n * ONE,
          10n * ONE,
          [attacker],
          [10n * ONE],
        ]),
      ).to.equal(false);
      const outbox = b.suite.outbox.interface;
      for (const [name, args] of [
        ["creditFees", [attacker, 10n * ONE]],
        ["setPrice", [a.code, { perGas: 1n, base: 1n, premiumPpm: 0 }]],
        ["dispatchValueWithFee", [a.code, addressToBytes32(attacker as Hex), 10n * ONE, ONE, "0x"]],
      ] as const) {
        expect(
          await govern("Outbox", b.suite.addresses.outbox, outbox, name, [...args]),
          name,
        ).to.equal(false);
      }
      expect(
        await govern("Outbox", b.suite.addresses.outbox, outbox, "dispatchValue", [
          a.code,
          addressToBytes32(attacker as Hex),
          10n * ONE,
          "0x",
        ]),
      ).to.equal(false);
      expect(
        await govern("Outbox", b.suite.addresses.outbox, outbox, "dispatchSystem", [
          a.code,
          addressToBytes32(attacker as Hex),
          "0x",
        ]),
      ).to.equal(false);
      expect(
        await govern("Outbox", b.suite.addresses.outbox, outbox, "setRouteStatus", [a.code, 2]),
      ).to.equal(false);
      expect(
        await govern(
          "Inbox",
          b.suite.addresses.inbox,
          b.suite.inbox.interface,
          "initializeMirror",
          [0xbad1n, [attacker], [ONE]],
        ),
      ).to.equal(false);
      expect(
        await govern("Inbox", b.suite.addresses.inbox, b.suite.inbox.interface, "reseedMirror", [
          a.code,
          [attacker],
          [ONE],
          0,
        ]),
      ).to.equal(false);
      expect(
        await govern("Inbox", b.suite.addresses.inbox, b.suite.inbox.interface, "setRoute", [
          a.code,
          [1, 1, attacker, attacker, 0n, ethers.ZeroHash],
        ]),
      ).to.equal(false);
      // Nor can it take the bank's or the hub's tokens as an ordinary caller.
      const token = b.suite.token.interface;
      expect(
        await govern("Token", b.suite.addresses.settlementToken, token, "transferFrom", [
          B,
          attacker,
          ONE,
        ]),
      ).to.equal(false);
      expect(
        await govern("Token", b.suite.addresses.settlementToken, token, "transferFrom", [
          b.suite.addresses.stakingHub,
          attacker,
          ONE,
        ]),
      ).to.equal(false);
      const hub = b.suite.stakingHub.interface;
      expect(
        await govern("StakingHub", b.suite.addresses.stakingHub, hub, "withdraw", [attacker]),
      ).to.equal(false);
      // Ownership last: handing it away or renouncing it changes who governs, not what is held.
      expect(await govern("RouteRegistry", R, registry, "transferOwnership", [T])).to.equal(true);
      expect(await govern("RouteRegistry", R, registry, "renounceOwnership", [])).to.equal(true);

      // Every governance-gated function was tried (the timelock's scheduling and execution are the
      // mechanism every call above went through).
      const mechanism = ["schedule", "scheduleBatch", "execute", "executeBatch", "cancel"].map(
        (f) => `CommunityTimelock.${f}`,
      );
      for (const [key, gate] of Object.entries(EXPECTED_GATES)) {
        if (!GOVERNANCE_GATES.has(gate) || mechanism.includes(key)) continue;
        expect(called, `${key} was not tried through governance`).to.include(key);
      }
      const after = await snapshot();
      for (const [i, chain] of world.chains.entries()) {
        expect(after[i].bank, `${chain.name} bank balance`).to.equal(before[i].bank);
        expect(after[i].hub, `${chain.name} hub balance`).to.equal(before[i].hub);
        expect(after[i].books.reserve).to.deep.equal(before[i].books.reserve);
        expect(after[i].books.pool).to.deep.equal(before[i].books.pool);
        expect(after[i].books.pending).to.deep.equal(before[i].books.pending);
        expect(after[i].stakes.bonded).to.deep.equal(before[i].stakes.bonded);
        expect(after[i].stakes.unbonding).to.deep.equal(before[i].stakes.unbonding);
      }
    });
  });

  describe("solhint security rules", function () {
    /** Reviewed: security rules the repository's .solhint.json turns off, and why (docs/security.md). */
    const DISABLED = ["avoid-low-level-calls", "no-inline-assembly", "not-rely-on-time"];

    it("keeps every solhint security rule on except the reviewed ones, and the deployed contracts pass them", function () {
      const require = createRequire(import.meta.url);
      const solhint = require("solhint/lib/index.js");
      const { applyExtends } = require("solhint/lib/config/config-file.js");
      const root = join(import.meta.dirname, "..", "..");
      const config = applyExtends(JSON.parse(readFileSync(join(root, ".solhint.json"), "utf8")));
      const securityDir = join(root, "node_modules", "solhint", "lib", "rules", "security");
      const rules = readdirSync(securityDir)
        .filter((f) => f.endsWith(".js") && f !== "index.js")
        .map((f) => f.replace(/\.js$/, ""));
      const off = rules.filter((r) => {
        const setting = config.rules[r];
        const level = Array.isArray(setting) ? setting[0] : setting;
        return level === undefined || level === "off";
      });
      expect(off.sort()).to.deep.equal([...DISABLED].sort());

      // The repository's settings of the security rules, nothing else (no `extends`).
      const securityOnly = {
        rules: Object.fromEntries(
          rules.filter((r) => !off.includes(r)).map((r) => [r, config.rules[r]]),
        ),
      };
      const problems: string[] = [];
      for (const dir of [...PRODUCTION_DIRS, "libraries", "interfaces"]) {
        const base = join(root, "contracts", dir);
        for (const file of readdirSync(base).filter((f) => f.endsWith(".sol"))) {
          const report = solhint.processStr(
            readFileSync(join(base, file), "utf8"),
            securityOnly,
            file,
          );
          for (const r of report.reports)
            problems.push(`${dir}/${file}:${r.line} ${r.ruleId} ${r.message}`);
        }
      }
      expect(problems).to.deep.equal([]);
    });
  });
});
