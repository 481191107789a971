/**
 * A bundle carries enough signatures for what it asks the destination to deliver (issue 14):
 * chain A has two attesters with equal vouching stake, and the second one's node starts late.
 * Stake reports need signers holding a majority of the mirrored stake (protocol.md 3.5), which
 * one attester alone never holds here. `distpos node` processes on real chains over JSON-RPC,
 * real Redis.
 *
 * - A's node holds a report its one signature cannot carry (value judged on A's own chain) and
 *   says why, instead of handing it over (outbound.ts `build`);
 * - a report A's node judges covered but B's mirror does not (A's view is ahead of B's) is
 *   reported back by B (`wait-signers`) and handed again once the second attester signs
 *   (outbound.ts `rehand`, inbound.ts `accept`);
 * - meanwhile B's relayer re-simulates it a few times, not on every poll (relay.ts `backOff`);
 * - each report is delivered exactly once.
 */
import { expect } from "chai";
import type { Hex } from "viem";

import { DEFAULT_ALLOCATION } from "../../deploy/network.js";
import { getNodeMessage } from "../../relayer/nodeApi/index.js";
import { metric, scrape } from "../faults/helpers.js";
import type { TestChain } from "../helpers/suite.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { freePort, type NodeProcess } from "./helpers/proc.js";
import { deliveries, fundedKey, nodeConfigFile, runNode } from "./helpers/scenario.js";

describe("relayer e2e: a second attester signs late; bundles wait for the signatures they need", function () {
  // Two attesters per chain, 100 tokens of vouching each: neither alone holds a majority.
  const net = useServedNetwork({
    name: "late-signer",
    nodesPerSuite: true,
    confirmations: 1,
    intervalMiningMs: 100,
    chains: ["chainA", "chainB"],
    attestersPerChain: 2,
    allocations: [DEFAULT_ALLOCATION, DEFAULT_ALLOCATION],
  });
  let a: TestChain;
  let b: TestChain;
  const url: Record<"a1" | "a2" | "b", string> = { a1: "", a2: "", b: "" };
  const nodes: Partial<Record<"a1" | "a2" | "b", NodeProcess>> = {};
  let lateConfig: { file: string; env: Record<string, string> };

  before(async function () {
    [a, b] = [net.a, net.b];
    for (const k of ["a1", "a2", "b"] as const) url[k] = `http://127.0.0.1:${await freePort()}`;
    const aCode = a.suite.addresses.chainCode;
    const bCode = b.suite.addresses.chainCode;
    // A's entry nodes: both attesters' nodes (the second is down until it starts).
    net.chainEntries[aCode]!.nodes = [url.a1, url.a2];
    net.chainEntries[bCode]!.nodes = [url.b];
    const config = (chain: TestChain, name: "a1" | "a2" | "b", attester: number, relayer?: Hex) => {
      return nodeConfigFile(
        net,
        chain.suite.addresses.chainCode,
        net.newPrefix(`late-signer-${name}`),
        { attester: chain.attesters[attester]!.privateKey as Hex, relayer },
        {
          roles: relayer
            ? ["indexer", "api", "attester", "relayer"]
            : ["indexer", "api", "attester"],
          api: { host: "127.0.0.1", port: Number(new URL(url[name]).port) },
          relayer: { handover: "bundles", pullIntervalMs: 1_000 },
        },
      );
    };
    const a1 = config(a, "a1", 0);
    lateConfig = config(a, "a2", 1);
    const bConfig = config(b, "b", 0, await fundedKey(net));
    nodes.b = await runNode("late-signer-b", bConfig.file, bConfig.env);
    nodes.a1 = await runNode("late-signer-a1", a1.file, a1.env);
  });

  /** Sets `attester`'s allocation to B on A's StakingHub; returns the stake report's id. */
  const allocate = async (attester: number, tokens: bigint): Promise<string> => {
    const hub = a.suite.stakingHub.connect(a.attesters[attester]!);
    const receipt = await (await hub.allocate(b.suite.code, tokens * 10n ** 18n)).wait();
    const outbox = a.suite.outbox;
    const dispatch = receipt!.logs
      .map((l) => {
        try {
          return outbox.interface.parseLog(l);
        } catch {
          return null;
        }
      })
      .find((p) => p?.name === "Dispatch");
    return (dispatch!.args.id as string).toLowerCase();
  };

  /** B's relayer's simulations that reverted so far (its metric: a repeat is not logged again). */
  const reverted = async () =>
    metric(await scrape(url.b), "distpos_relay_simulation_reverts_total");
  /** B's relayer's info lines for them: one per change of revert. */
  const revertLines = () =>
    nodes.b!.lines.filter((l) => l.msg === "deliver simulation reverted" && l.level === "info");

  it("holds what one signature cannot carry, re-hands what B cannot deliver, delivers each once", async function () {
    this.timeout(360_000);
    // 1. The second attester raises its allocation: the report needs both signatures (100 of
    //    220 is no majority), A's node has only its own. It waits at A, saying why.
    const held = await allocate(1, 120n);
    const waiting = await waitFor(
      "A's node to hold the stake report for want of signatures",
      async () => {
        const j = await getNodeMessage(url.a1, held);
        return j?.handover?.state === "waiting" && j.handover.waitReason ? j : undefined;
      },
      120_000,
      500,
    );
    expect(waiting.handover!.waitReason).to.match(/majority/);
    expect(await reverted(), "B never simulated a bundle it could not deliver").to.equal(0);

    // 2. The first attester raises its own to 300: on A's chain it now holds a majority (300 of
    //    420), so A's node hands both reports with its one signature; B's mirror still shows
    //    100 and 100, so B's relayer cannot deliver them and reports it back.
    const ahead = await allocate(0, 300n);
    for (const id of [held, ahead])
      await waitFor(
        `B to report ${id} waiting for signers`,
        async () => (await getNodeMessage(url.b, id))?.destination.status === "wait-signers",
        120_000,
        500,
      );
    const firstRevert = await reverted();
    expect(firstRevert).to.be.greaterThan(0);
    // Time for many polls of B's relayer (every 200 ms without backoff) before the second
    // attester's node starts. (A's setup stake reports wait with them: same quorum.)
    await new Promise((r) => setTimeout(r, 12_000));
    const beforeLate = await reverted();
    expect(
      beforeLate,
      `B's relayer re-simulated the two waiting reports ${beforeLate} times in 12 s`,
    ).to.be.at.most(10);
    // Logged once per change of revert, amounts in tokens; the repeats only counted.
    const lines = revertLines();
    expect(lines.length, "info lines for the reverted simulations").to.be.below(beforeLate);
    for (const l of lines)
      expect(String(l.revert)).to.match(/^StakeReportNeedsQuorum\(signerStake \d+ tokens, /);
    expect((await deliveries(b)).has(held)).to.equal(false);

    // 3. The second attester's node starts and signs: A's node hands both again with both
    //    signatures, B's node replaces their bundles and delivers them, once each.
    nodes.a2 = await runNode("late-signer-a2", lateConfig.file, lateConfig.env);
    await waitFor(
      "both reports delivered on B",
      async () => {
        const d = await deliveries(b);
        return d.has(held) && d.has(ahead);
      },
      120_000,
      500,
    );
    const followed = await waitFor(
      "A's node to see both delivered",
      async () => {
        for (const id of [held, ahead])
          if ((await getNodeMessage(url.a1, id))?.handover?.state !== "delivered") return undefined;
        return true;
      },
      60_000,
      500,
    );
    expect(followed).to.equal(true);
    const delivered = await deliveries(b);
    for (const id of [held, ahead]) expect(delivered.get(id), id).to.have.length(1);
    const rehanded = nodes.a1!.lines.filter(
      (l) =>
        l.msg ===
        "destination cannot deliver it with the signatures it holds: handed again with more",
    );
    expect(rehanded.length).to.be.greaterThan(0);
    // The waits were logged once per message and reason, not per try.
    const waits = nodes.b!.lines.filter((l) => l.msg === "message waits");
    expect(waits.length).to.be.at.most(8);
  });
});
