/**
 * A flood of bogus bundles while honest traffic flows (issue 14): two `distpos node` processes on
 * the bundle flow, home RPC only; while A's node hands B's node its messages, a client POSTs
 * bundles of every kind of forgery to B's entry node. Each is refused with its reason, nothing of
 * them reaches the queue or the chain, and the honest messages' latency stays within twice the
 * quiet run's (medians over 20 messages each, compared as a ratio, never against a clock).
 */
import { spawn } from "node:child_process";

import { expect } from "chai";
import type { Hex } from "viem";

import type { TestChain } from "../helpers/suite.js";
import { handMadeBundles, postBundle, type HandMadeBundles } from "./helpers/bundles.js";
import { waitFor } from "./helpers/net.js";
import { useServedNetwork } from "./helpers/network.js";
import { freePort } from "./helpers/proc.js";
import {
  deliverTxs,
  deliveries,
  deploySink,
  dispatchMany,
  fundedKey,
  nodeConfigFile,
  queueCounts,
  runNode,
} from "./helpers/scenario.js";

/** Honest messages per run (quiet, then flooded). */
const RUN = 20;
/** The least quiet median the flooded one is compared with (ms). */
const FLOOR_MS = 1_500;

/** The median of `values`. */
function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

describe("relayer e2e: a flood of bogus bundles while honest bundles flow", function () {
  const net = useServedNetwork({
    name: "flood",
    confirmations: 1,
    intervalMiningMs: 100,
    nodesPerSuite: true,
  });
  let sinkB: string;
  let urlA: string;
  let urlB: string;
  let startBlock: number;
  /** B's node's Redis prefix (its relay queue). */
  let prefixB: string;

  before(async function () {
    sinkB = await deploySink(net.b);
    const urls = new Map<TestChain, string>();
    for (const chain of [net.a, net.b]) urls.set(chain, `http://127.0.0.1:${await freePort()}`);
    urlA = urls.get(net.a)!;
    urlB = urls.get(net.b)!;
    for (const chain of [net.a, net.b])
      net.chainEntries[chain.suite.addresses.chainCode]!.nodes = [urls.get(chain)!];
    startBlock = await net.b.connection.ethers.provider.getBlockNumber();
    for (const chain of [net.a, net.b]) {
      const code = chain.suite.addresses.chainCode;
      const prefix = net.newPrefix(`flood-${code}`);
      if (chain === net.b) prefixB = prefix;
      const { file, env } = nodeConfigFile(
        net,
        code,
        prefix,
        { attester: chain.attesters[0]!.privateKey as Hex, relayer: await fundedKey(net) },
        {
          roles: ["indexer", "api", "attester", "relayer"],
          // The flood and A's node share one address (127.0.0.1): the per-client limit is set
          // above the flood, so what is measured is the cost of refusing, not the 429s.
          api: {
            host: "127.0.0.1",
            port: Number(new URL(urls.get(chain)!).port),
            rateLimitMax: 1_000_000,
          },
          relayer: { handover: "bundles", pullIntervalMs: 60_000 },
        },
      );
      await runNode(`flood-${code}`, file, env);
    }
  });

  /** Sends RUN messages A -> B one after another; each one's time from dispatch to delivery. */
  const honestRun = async (tag: number): Promise<{ ids: string[]; latencies: number[] }> => {
    const ids: string[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < RUN; i++) {
      const sent = Date.now();
      const [id] = await dispatchMany(net.a, net.b, sinkB, 1, tag * 100 + i);
      await waitFor(
        `honest message ${i} of run ${tag} delivered`,
        async () =>
          (
            await net.b.suite.inbox.queryFilter(
              net.b.suite.inbox.filters.Delivered(id!),
              startBlock,
            )
          ).length > 0,
        120_000,
        50,
      );
      latencies.push(Date.now() - sent);
      ids.push(id!);
    }
    return { ids, latencies };
  };

  it("refuses every bogus bundle with its reason, sends nothing for them, and keeps honest latency within 2x", async function () {
    this.timeout(600_000);
    // Warm up (mirror and route read, first signatures), then the quiet run.
    const [first] = await dispatchMany(net.a, net.b, sinkB, 1, 99);
    await waitFor(
      "first delivery",
      async () => (await deliveries(net.b)).has(first!),
      120_000,
      200,
    );
    const quiet = await honestRun(1);

    const journey = (await (await fetch(`${urlB}/v1/messages/${first}`)).json()) as {
      encoded: Hex;
    };
    const made: HandMadeBundles = await handMadeBundles(net.a, journey.encoded);
    const kinds: [unknown, number, string][] = [
      [made.stranger, 403, "unknown-signer"],
      [made.badSignature, 403, "bad-signature"],
      [made.wrongProof, 422, "wrong-proof"],
      [{ ...made.good, messages: ["0x1234"] }, 400, "malformed"],
      ["{not json", 400, ""],
    ];
    const bCode = net.b.suite.addresses.chainCode;
    const jobs = async () =>
      Object.values(await queueCounts(net.redis, prefixB, bCode)).reduce((x, y) => x + y, 0);
    const jobsBefore = await jobs();
    const floodBlock = (await net.b.connection.ethers.provider.getBlockNumber()) + 1;
    const seen = new Map<string, number>();
    let wrong: string | undefined;
    // The flood comes from a process of its own: in this one it would take the event loop of the
    // chains under test, and measure the test's own slowness rather than the node's.
    const bodies = kinds.map(([bundle]) =>
      typeof bundle === "string" ? bundle : JSON.stringify(bundle),
    );
    const flooder = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const [url, bodies] = JSON.parse(process.argv[1]); const seen = {}; let stop = false;
         process.on("SIGTERM", () => (stop = true));
         const lane = async (l) => { for (let i = l; !stop; i += 4) {
           const k = i % bodies.length;
           const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[k] });
           const body = await res.json().catch(() => ({}));
           const key = k + " " + res.status + " " + (body.reason ?? "");
           seen[key] = (seen[key] ?? 0) + 1; } };
         await Promise.all([0, 1, 2, 3].map(lane)); process.stdout.write(JSON.stringify(seen));`,
        JSON.stringify([`${urlB}/v1/bundles`, bodies]),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    flooder.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => flooder.once("exit", () => resolve()));
    const flooded = await honestRun(2).finally(() => flooder.kill("SIGTERM"));
    await exited;
    for (const [key, n] of Object.entries(JSON.parse(out) as Record<string, number>)) {
      const [k, status, reason] = key.split(" ") as [string, string, string];
      const [, wantStatus, wantReason] = kinds[Number(k)]!;
      seen.set(`${status} ${reason}`, (seen.get(`${status} ${reason}`) ?? 0) + n);
      if (Number(status) !== wantStatus || (wantReason && reason !== wantReason))
        wrong ??= `${wantReason || "garbage"} answered ${status} ${reason}`;
    }
    const refused = [...seen.values()].reduce((x, y) => x + y, 0);
    expect(wrong, JSON.stringify(Object.fromEntries(seen))).to.equal(undefined);
    expect(refused).to.be.above(RUN * kinds.length);
    // Nothing of the flood queued or sent: B's queue grew by the honest messages only, and every
    // transaction to B's Inbox since the flood began delivered honest messages and succeeded.
    expect((await jobs()) - jobsBefore).to.be.at.most(RUN);
    const delivered = await deliveries(net.b, floodBlock);
    for (const id of delivered.keys()) expect(flooded.ids, id).to.include(id);
    for (const id of flooded.ids) expect(delivered.get(id), id).to.have.length(1);
    for (const tx of await deliverTxs(net.b, floodBlock)) expect(tx.status, tx.hash).to.equal(1);

    // A generous floor under the quiet median: on a loaded machine a quiet run of a few hundred
    // ms would turn scheduling noise into a failed ratio.
    const ratio = median(flooded.latencies) / Math.max(median(quiet.latencies), FLOOR_MS);
    console.log(
      `      quiet median ${median(quiet.latencies)} ms, flooded ${median(flooded.latencies)} ms (x${ratio.toFixed(2)}), ${refused} bogus bundles refused: ${JSON.stringify(Object.fromEntries(seen))}`,
    );
    expect(ratio).to.be.at.most(2);
  });

  it("an entry node with no relayer on its Redis refuses bundles (503 no-relayer) before any check", async function () {
    const code = net.b.suite.addresses.chainCode;
    const prefix = net.newPrefix(`flood-norelayer-${code}`);
    const port = await freePort();
    const { file, env } = nodeConfigFile(
      net,
      code,
      prefix,
      { attester: net.b.attesters[0]!.privateKey as Hex },
      {
        roles: ["indexer", "api", "attester"],
        api: { host: "127.0.0.1", port },
        relayer: { handover: "bundles" },
      },
    );
    await runNode(`flood-norelayer-${code}`, file, env);
    const [id] = await dispatchMany(net.a, net.b, sinkB, 1, 7);
    const encoded = await waitFor("A's node to index it", async () => {
      const res = await fetch(`${urlA}/v1/messages/${id}`);
      return res.ok ? ((await res.json()) as { encoded: Hex }).encoded : undefined;
    });
    const { good } = await handMadeBundles(net.a, encoded);
    const res = await postBundle(`http://127.0.0.1:${port}`, good);
    expect(res).to.deep.include({ status: 503 });
    expect(res.body.reason).to.equal("no-relayer");
    expect(
      Object.values(await queueCounts(net.redis, prefix, code)).every((n) => n === 0),
    ).to.equal(true);
  });
});
