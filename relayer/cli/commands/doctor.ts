/**
 * `distpos doctor`: checks what a node and its operator depend on, one line each, `ok` or
 * `problem`, and for a problem what to do. Exit 0 when every check passed, 3 when one did not
 * (2 when the config itself cannot be read).
 */
import type { Command } from "commander";
import { formatEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ConfigError, readKey, type ChainEntry } from "../../config/load.js";
import { publicClientFor } from "../../chain/clients.js";
import { getNodeHealth } from "../../sdk/index.js";
import { onChain } from "../../sdk/client.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";
import { routeReport } from "./credit.js";

interface Check {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export function defineDoctor(program: Command, exec: Exec): void {
  program
    .command("doctor")
    .description(
      "check config, keys, balances, RPCs, Redis, peers' entry nodes, reserves and headroom",
    )
    .action(exec(runDoctor));
}

const KEY_ROLES = ["attester", "relayer", "watcher", "user"] as const;

export async function runDoctor(ctx: Context): Promise<number> {
  const checks: Check[] = [];
  const add = (c: Check) => {
    checks.push(c);
    if (!ctx.json)
      process.stdout.write(
        `${c.ok ? "ok     " : "problem"}  ${c.check}: ${c.detail}${c.fix ? `\n         -> ${c.fix}` : ""}\n`,
      );
  };
  const cfg = ctx.config(); // a ConfigError exits 2, naming every field at fault
  add({
    check: "config",
    ok: true,
    detail: `${cfg.file}: home ${cfg.home}, roles ${cfg.roles.join(", ")}, ${cfg.chainList.length} chains`,
  });

  // Keys: every role run needs its key; user is optional.
  const keys = new Map<string, Address>();
  for (const role of KEY_ROLES) {
    const needed = role !== "user" && cfg.roles.includes(role);
    if (!cfg.keys[role] && !needed) continue;
    try {
      const address = privateKeyToAccount(readKey(cfg, role)).address;
      keys.set(role, address);
      add({
        check: `keys.${role}`,
        ok: true,
        detail: `${cfg.keys[role]} holds the key of ${address}`,
      });
    } catch (e) {
      add({
        check: `keys.${role}`,
        ok: false,
        detail:
          e instanceof ConfigError
            ? e.issues.map((i) => i.message).join("; ")
            : (e as Error).message,
        fix: cfg.keys[role]
          ? `export ${cfg.keys[role]}=0x<64 hex digits> before running distpos`
          : `set keys.${role} in ${cfg.file} to the name of the env var holding the key`,
      });
    }
  }

  // Every RPC endpoint of every chain, one by one (the home chain first).
  const reachable = new Set<bigint>();
  const chains = [cfg.homeChain, ...cfg.chainList.filter((c) => c.code !== cfg.homeChain.code)];
  for (const chain of chains) {
    for (const url of chain.rpc) {
      // Each endpoint alone; a peer's entry may have no contracts (bundles), none are read here.
      const single = { ...chain, rpc: [url] };
      const client = publicClientFor(single);
      try {
        const [block, chainId] = await onChain(single, "eth_blockNumber", () =>
          Promise.all([client.getBlockNumber(), client.getChainId()]),
        );
        if (chainId !== chain.chainId)
          add({
            check: `chains.${chain.codeHex}.rpc ${url}`,
            ok: false,
            detail: `answers for chain id ${chainId}, the config says ${chain.chainId}`,
            fix: `point chains.${chain.codeHex}.rpc at chain ${chain.chainId}, or correct chains.${chain.codeHex}.chainId`,
          });
        else {
          reachable.add(chain.code);
          add({
            check: `chains.${chain.codeHex}.rpc ${url}`,
            ok: true,
            detail: `${chain.name}${chain === cfg.homeChain ? " (home)" : ""}, block ${block}`,
          });
        }
      } catch (e) {
        add({
          check: `chains.${chain.codeHex}.rpc ${url}`,
          ok: false,
          detail: (e as Error).message,
          fix: `start the endpoint or fix chains.${chain.codeHex}.rpc in ${cfg.file}`,
        });
      }
    }
  }

  // Gas: each key on the chains its role sends on (the relayer: its configured destinations).
  const relayed = cfg.relayer.destinations;
  const gasChains = (role: string): ChainEntry[] =>
    role !== "relayer"
      ? [cfg.homeChain]
      : relayed
        ? cfg.chainList.filter((c) => relayed.includes(c.codeHex))
        : cfg.chainList.filter((c) => c.code !== cfg.homeChain.code || cfg.chainList.length === 1);
  for (const [role, address] of keys) {
    for (const chain of gasChains(role)) {
      if (!reachable.has(chain.code)) continue;
      try {
        const balance = await onChain(chain, "eth_getBalance", () =>
          publicClientFor(chain).getBalance({ address }),
        );
        add({
          check: `gas of keys.${role} on ${chain.codeHex}`,
          ok: balance > 0n,
          detail: `${address} holds ${formatEther(balance)} ETH`,
          ...(balance > 0n ? {} : { fix: `send gas money to ${address} on ${chain.name}` }),
        });
      } catch (e) {
        add({
          check: `gas of keys.${role} on ${chain.codeHex}`,
          ok: false,
          detail: (e as Error).message,
        });
      }
    }
  }

  // Redis.
  try {
    const redis = await ctx.redis();
    redis.disconnect();
    add({ check: "redis.url", ok: true, detail: `${cfg.redis.url} answers` });
  } catch (e) {
    add({
      check: "redis.url",
      ok: false,
      detail: (e as Error).message,
      fix: `start Redis at ${cfg.redis.url} or fix redis.url in ${cfg.file}`,
    });
  }

  // Entry nodes of every community.
  for (const chain of cfg.chainList) {
    for (const url of chain.nodes) {
      try {
        const health = await getNodeHealth(url, { timeoutMs: 5_000 });
        add({
          check: `chains.${chain.codeHex}.nodes ${url}`,
          ok: true,
          detail: `status ${String(health.status)}`,
        });
      } catch (e) {
        add({
          check: `chains.${chain.codeHex}.nodes ${url}`,
          ok: false,
          detail: (e as Error).message,
          fix: `ask ${chain.name}'s community, or drop the entry from chains.${chain.codeHex}.nodes`,
        });
      }
    }
  }

  // Routes from home: open, credit, our reserve there, attesters' headroom.
  const home = cfg.homeChain;
  for (const peer of cfg.chainList.filter((c) => c.code !== home.code)) {
    if (!reachable.has(home.code) || !reachable.has(peer.code)) continue;
    try {
      const [r] = await routeReport(ctx, home.code, [peer.code]);
      const route = `route ${home.codeHex} -> ${peer.codeHex}`;
      add({
        check: `${route} status`,
        ok: r!.status === "active",
        detail: r!.status,
        ...(r!.status === "active"
          ? {}
          : { fix: "governance enrolls or resumes the route (distpos:connect)" }),
      });
      add({
        check: `${route} credit`,
        ok: r!.credit.credit > 0n && !r!.ourReserve.suspended,
        detail: `${r!.credit.creditText} ${r!.credit.symbol}; our reserve on ${peer.codeHex} ${r!.ourReserve.reserveText} ${r!.ourReserve.symbol}${r!.ourReserve.suspended ? ", suspended" : ""}`,
        ...(r!.credit.credit > 0n && !r!.ourReserve.suspended
          ? {}
          : {
              fix: `fund our reserve on ${peer.codeHex}: distpos -c <${peer.name}'s config> fund ${home.codeHex} <amount>`,
            }),
      });
      add({
        check: `${route} headroom`,
        ok: r!.headroom.total > 0n,
        detail: `our attesters can vouch for ${r!.headroom.totalText} more on ${peer.codeHex} (${r!.headroom.attesters.length} attesters)`,
        ...(r!.headroom.total > 0n
          ? {}
          : {
              fix: `attesters stake and allocate to ${peer.codeHex}: distpos stake / allocate ${peer.codeHex} <amount>`,
            }),
      });
    } catch (e) {
      add({
        check: `route ${home.codeHex} -> ${peer.codeHex}`,
        ok: false,
        detail: (e as Error).message,
      });
    }
  }

  const problems = checks.filter((c) => !c.ok).length;
  if (ctx.json) ctx.print("", { ok: problems === 0, problems, checks });
  else
    process.stdout.write(
      problems ? `${problems} problem${problems > 1 ? "s" : ""}\n` : "all checks passed\n",
    );
  if (problems) throw new CliError("", EXIT.chain);
  return EXIT.ok;
}
