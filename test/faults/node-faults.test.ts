/**
 * Fault injection on the node (invariant 9: a relayer crash, a Redis restart or an RPC outage loses
 * no message and executes none twice), over ONE run of N messages from chain A to chain B carried
 * by real `distpos node` processes over JSON-RPC and a real (private) Redis:
 *
 * - origin node (home A, roles indexer + api + attester) and destination relayer (home B, roles
 *   indexer + api + relayer), two communities with their own Redis prefixes on one redis-server,
 *   each configured with its home chain's RPC only: the origin node hands A's messages over to the
 *   relayer's API as bundles (checkpoint, signatures, proof; docs/protocol.md 4.2), and the
 *   relayer pulls what a push missed;
 * - while a load generator dispatches messages, a schedule injects, in each cycle:
 *   1. SIGKILL of the relayer with a deliver transaction in flight (B holds its blocks until the
 *      transaction is in its mempool, then mines it after the kill), restart;
 *   2. a reorganisation of A by REORG_DEPTH blocks (evm_snapshot / evm_revert) whose messages are
 *      replaced by others at the same nonces on the new fork;
 *   3. eth_sendRawTransaction answering errors on B for SEND_ERRORS_MS, and meanwhile Redis killed
 *      (SIGKILL) and restarted EMPTY (both nodes rebuild everything from the chains);
 *   4. an RPC endpoint (B's, in deep runs A's every other cycle) down for 30 s, and meanwhile Redis
 *      killed and restarted WITH ITS DATA (append-only file, fsync on every write);
 *   5. eth_sendRawTransaction whose answers are lost: the transaction is mined, the relayer is told
 *      it failed.
 * At the end: every message on A's final chain delivered exactly once on B (Inbox.isDelivered, one
 * Delivered event per id, a counting recipient's counter at 1), nothing from the reorged-away
 * blocks delivered, no job left in the relayer's queues, no deliver transaction wasted, and the
 * relayer's /metrics showing the retries each fault caused.
 *
 * Confirmations: A's are REORG_DEPTH + 1. The deepest block of the doomed fork is REORG_DEPTH - 1
 * blocks below its tip, and the node believes a block only `confirmations` below the tip, so no
 * role ever acts on the doomed fork (see docs/security.md, "Node fault injection").
 *
 * Quick in `npm test` (1,000 messages, one cycle); `DISTPOS_DEEP=1`: 10,000 messages, four cycles.
 * `DISTPOS_TEST_LOGS=<dir>` keeps the nodes' logs.
 */
import { expect } from "chai";
import { ethers } from "ethers";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  FaultsCountingRecipient__factory,
  type FaultsCountingRecipient,
} from "../../typechain-types/index.js";
import { decodeMessage } from "../../relayer/protocol/index.js";
import { runs } from "../helpers/deep.js";
import { homeOnlyChains, waitFor } from "../relayer/helpers/net.js";
import { useServedNetwork } from "../relayer/helpers/network.js";
import { freePort, type NodeProcess } from "../relayer/helpers/proc.js";
import { fundedKey, nodeConfigFile, queueCounts, runNode } from "../relayer/helpers/scenario.js";
import {
  Lock,
  metric,
  scrape,
  setMining,
  sleep,
  startFaultRedis,
  type FaultRedis,
  type Sample,
} from "./helpers.js";

const N = runs(1_000, 10_000);
const CYCLES = runs(1, 4);
/** Messages per second the load generator aims at, in chunks of CHUNK. */
const PACE = 15;
const CHUNK = 5;
/** Messages the load keeps back for the last fault (see `barrier`). */
const RESERVE = 50;
const REORG_DEPTH = 3;
const DOOMED_PER_BLOCK = 4;
const A_CONFIRMATIONS = REORG_DEPTH + 1;
const B_CONFIRMATIONS = 1;
const MINING_MS = 100;
const RPC_OUTAGE_MS = 30_000;
const SEND_ERRORS_MS = 20_000;

type RelayerNode = NodeProcess & { apiUrl?: string };

interface StepRecord {
  name: string;
  at: number;
  startS?: number;
  endS?: number;
  sentAtStart?: number;
  sentAtEnd?: number;
  notes: string[];
  /** Metric deltas on the relayer process that lived through the whole step. */
  deltas?: Record<string, number>;
}

const RETRY_METRICS: [string, string, Record<string, string>][] = [];

describe("node fault injection", function () {
  let redisServer: FaultRedis;
  const net = useServedNetwork({
    name: "faults",
    confirmations: B_CONFIRMATIONS,
    intervalMiningMs: MINING_MS,
    // The test kills and restarts this Redis (with its append-only file) on purpose.
    privateRedis: async () => {
      redisServer = await startFaultRedis();
      return redisServer;
    },
  });
  let codeA: string;
  let codeB: string;
  let recipient: FaultsCountingRecipient;

  before(async function () {
    this.timeout(300_000);
    codeA = net.a.suite.addresses.chainCode;
    codeB = net.b.suite.addresses.chainCode;
    net.chainEntries[codeA]!.confirmations = A_CONFIRMATIONS;
    const [deployer] = await net.b.connection.ethers.getSigners();
    recipient = await new FaultsCountingRecipient__factory(deployer).deploy(
      net.b.suite.addresses.inbox,
    );
    await recipient.waitForDeployment();
    RETRY_METRICS.push(
      [
        "deliver sends refused",
        "distpos_transactions_total",
        { chain: codeB, label: "deliver", outcome: "send-error" },
      ],
      [
        "batches not sent",
        "distpos_relay_batches_total",
        { destination: codeB, outcome: "send-error" },
      ],
      ["failed attempts (retried)", "distpos_relay_failures_total", { destination: codeB }],
      ["RPC rounds failed on B", "distpos_rpc_errors_total", { chain: codeB }],
      ["RPC rounds failed on A", "distpos_rpc_errors_total", { chain: codeA }],
      ["dead letters", "distpos_relay_dead_letters_total", { destination: codeB }],
    );
  });

  it(`carries ${N} messages A -> B through ${CYCLES} cycle(s) of relayer SIGKILL, Redis restarts, RPC outages, a ${REORG_DEPTH}-block reorg and failing sends: none lost, none twice`, async function () {
    this.timeout(runs(10, 45) * 60_000);
    const t0 = Date.now();
    const elapsed = () => Math.round((Date.now() - t0) / 100) / 10;
    const progress = (line: string) => {
      if (process.env.DISTPOS_FAULTS_VERBOSE) console.log(`    [${elapsed()}s] ${line}`);
    };

    // --- the two nodes -------------------------------------------------------------------------
    const originPort = await freePort();
    const relayerPort = await freePort();
    const originUrl = `http://127.0.0.1:${originPort}`;
    const relayerUrl = `http://127.0.0.1:${relayerPort}`;
    const prefixA = `faults-a-${Date.now()}`;
    const prefixB = `faults-b-${Date.now()}`;

    // On the bundle flow (docs/protocol.md 4.2), each node with its home chain's RPC only: the
    // origin's node hands A's messages to the relayer's node, which delivers them on B.
    const originChains = structuredClone(homeOnlyChains(net, codeA));
    originChains[codeA]!.nodes = [originUrl];
    originChains[codeB]!.nodes = [relayerUrl];
    const origin = nodeConfigFile(
      net,
      codeA,
      prefixA,
      { attester: net.a.attesters[0]!.privateKey as Hex },
      {
        roles: ["indexer", "api", "attester"],
        chains: originChains,
        redis: { url: redisServer.url, prefix: prefixA },
        api: { host: "127.0.0.1", port: originPort },
        relayer: { handover: "bundles" },
      },
    );
    const relayerKey = await fundedKey(net);
    const relayerAddress = privateKeyToAccount(relayerKey).address;
    const relayerChains = structuredClone(homeOnlyChains(net, codeB));
    relayerChains[codeA]!.nodes = [originUrl];
    relayerChains[codeB]!.nodes = [relayerUrl];
    const relayerCfg = nodeConfigFile(
      net,
      codeB,
      prefixB,
      { relayer: relayerKey },
      {
        roles: ["indexer", "api", "relayer"],
        chains: relayerChains,
        redis: { url: redisServer.url, prefix: prefixB },
        api: { host: "127.0.0.1", port: relayerPort },
        relayer: { destinations: [codeB], origins: [codeA], handover: "bundles" },
      },
    );

    const fromBlockA = (await net.a.connection.ethers.provider.getBlockNumber()) + 1;
    const fromBlockB = (await net.b.connection.ethers.provider.getBlockNumber()) + 1;
    const relayerNonceAtStart =
      await net.b.connection.ethers.provider.getTransactionCount(relayerAddress);
    const originNode = await runNode("faults-origin", origin.file, origin.env);
    let relayerRuns = 0;
    const startRelayer = () =>
      runNode(`faults-relayer-${++relayerRuns}`, relayerCfg.file, relayerCfg.env);
    let relayer: RelayerNode = await startRelayer();
    expect(relayer.apiUrl).to.equal(relayerUrl);
    /** Metrics of every relayer process, read just before it was killed (and at the end). */
    const lifetimes: Sample[][] = [];

    // --- the load ------------------------------------------------------------------------------
    const loadWallet = new ethers.Wallet(await fundedKey(net), net.a.connection.ethers.provider);
    const outbox = net.a.suite.outbox.connect(loadWallet);
    const recipient32 = ethers.zeroPadValue(await recipient.getAddress(), 32);
    const dispatchGas =
      ((await outbox.dispatch.estimateGas(codeBig(codeB), recipient32, ethers.toBeHex(1, 32))) *
        3n) /
      2n;
    let loadNonce = await loadWallet.getNonce();
    let seq = 1;
    let sent = 0; // load messages on the canonical chain
    const aLock = new Lock();
    const doomed: { id: string; nonce: number; bodyHash: string }[] = [];

    async function dispatchSome(k: number) {
      const txs = [];
      for (let i = 0; i < k; i++) {
        const body = ethers.toBeHex(seq++, 32);
        txs.push(
          await outbox.dispatch(codeBig(codeB), recipient32, body, {
            nonce: loadNonce++,
            gasLimit: dispatchGas,
          }),
        );
      }
      return txs;
    }

    // --- the fault schedule --------------------------------------------------------------------
    const steps: (StepRecord & { run: (s: StepRecord) => Promise<void>; done?: boolean })[] = [];
    const span = N / CYCLES;
    for (let c = 0; c < CYCLES; c++) {
      const base = c * span;
      const rpcTarget = c % 2 === 0 ? 1 : 0;
      steps.push(
        {
          name: `relayer SIGKILL mid-batch + restart`,
          at: base + 0.1 * span,
          notes: [],
          run: killRelayerMidBatch,
        },
        {
          name: `reorg of A by ${REORG_DEPTH} blocks`,
          at: base + 0.25 * span,
          notes: [],
          run: reorgOrigin,
        },
        {
          name: `eth_sendRawTransaction errors on B for ${SEND_ERRORS_MS / 1000} s + Redis restart (empty)`,
          at: base + 0.4 * span,
          notes: [],
          run: sendErrorsAndEmptyRedis,
        },
        {
          name: `RPC endpoint of ${rpcTarget ? "B" : "A"} down ${RPC_OUTAGE_MS / 1000} s + Redis restart (with data)`,
          at: base + 0.6 * span,
          notes: [],
          run: (s) => rpcOutageAndRedisWithData(s, rpcTarget),
        },
        {
          name: `eth_sendRawTransaction answers lost on B`,
          at: base + 0.9 * span,
          notes: [],
          run: lostAnswers,
        },
      );
    }
    for (const s of steps) s.at = Math.floor(s.at);
    /** The load may not pass step j's threshold before step j-1 is over: faults meet traffic. */
    const barrier = () => {
      for (let j = 1; j < steps.length; j++) if (!steps[j - 1]!.done) return steps[j]!.at;
      // The last RESERVE messages wait for the last fault to end: it needs sends to meet, and the
      // relayer may have delivered everything else by then (it draws on the reserve itself).
      return steps[steps.length - 1]!.done ? Infinity : N - RESERVE;
    };

    async function deltas(before: Sample[], after: Sample[]) {
      const out: Record<string, number> = {};
      for (const [label, name, labels] of RETRY_METRICS)
        out[label] = metric(after, name, labels) - metric(before, name, labels);
      return out;
    }

    async function killRelayerMidBatch(step: StepRecord) {
      await setMining(net.b, false, 0);
      let inFlight: { hash: string };
      try {
        inFlight = await waitFor(
          "a deliver transaction of the relayer in B's mempool",
          async () => {
            const pending = (await net.b.connection.provider.request({
              method: "eth_pendingTransactions",
              params: [],
            })) as { hash: string; from: string; to: string }[];
            return pending.find(
              (t) =>
                t.from.toLowerCase() === relayerAddress.toLowerCase() &&
                t.to?.toLowerCase() === net.b.suite.addresses.inbox.toLowerCase(),
            );
          },
          120_000,
          20,
        );
        lifetimes.push(await scrape(relayer.apiUrl!));
        await relayer.kill("SIGKILL");
      } finally {
        await setMining(net.b, true, MINING_MS);
      }
      const receipt = await net.b.connection.ethers.provider.waitForTransaction(inFlight.hash);
      const landed = receipt!.logs.filter((l) => {
        try {
          return net.b.suite.inbox.interface.parseLog(l)?.name === "Delivered";
        } catch {
          return false;
        }
      }).length;
      step.notes.push(
        `killed with ${inFlight.hash.slice(0, 10)}… in B's mempool; it landed after the kill (status ${receipt!.status}, ${landed} messages)`,
      );
      await sleep(1_000);
      relayer = await startRelayer();
      step.notes.push(`relayer restarted (run ${relayerRuns})`);
    }

    async function reorgOrigin(step: StepRecord) {
      await aLock.run(async () => {
        const provider = net.a.connection.provider;
        await setMining(net.a, false, 0);
        try {
          await provider.request({ method: "evm_mine", params: [] }); // pending txs stay canonical
          const snapshot = await provider.request({ method: "evm_snapshot", params: [] });
          const base = await net.a.connection.ethers.provider.getBlockNumber();
          const snappedBefore = Number((await net.a.suite.outbox.latestSnapshot())[1]);
          const firstDoomed = doomed.length;
          for (let i = 0; i < REORG_DEPTH; i++) {
            const txs = await dispatchSome(DOOMED_PER_BLOCK);
            await provider.request({ method: "evm_mine", params: [] });
            for (const tx of txs) {
              const r = await net.a.connection.ethers.provider.getTransactionReceipt(tx.hash);
              expect(r?.status, "doomed dispatch mined").to.equal(1);
              for (const log of r!.logs) {
                const p = net.a.suite.outbox.interface.parseLog(log);
                if (p?.name !== "Dispatch") continue;
                doomed.push({
                  id: (p.args.id as string).toLowerCase(),
                  nonce: Number(p.args.nonce),
                  bodyHash: bodyHash(p.args.message as string),
                });
              }
            }
            // Time for a node that believed unconfirmed blocks to index, snapshot, sign, deliver.
            await sleep(1_500);
          }
          expect(await net.a.connection.ethers.provider.getBlockNumber()).to.equal(
            base + REORG_DEPTH,
          );
          const snappedOnFork = Number((await net.a.suite.outbox.latestSnapshot())[1]);
          expect(await provider.request({ method: "evm_revert", params: [snapshot] })).to.equal(
            true,
          );
          expect(await net.a.connection.ethers.provider.getBlockNumber()).to.equal(base);
          loadNonce = await net.a.connection.ethers.provider.getTransactionCount(
            loadWallet.address,
            "latest",
          );
          // The new fork: other messages at the same nonces, one block longer than the old one.
          const k = REORG_DEPTH * DOOMED_PER_BLOCK;
          const txs = await dispatchSome(k);
          for (let i = 0; i <= REORG_DEPTH; i++)
            await provider.request({ method: "evm_mine", params: [] });
          for (const tx of txs)
            expect(
              (await net.a.connection.ethers.provider.getTransactionReceipt(tx.hash))?.status,
            ).to.equal(1);
          sent += k;
          step.notes.push(
            `blocks ${base + 1}..${base + REORG_DEPTH} (${doomed.length - firstDoomed} messages, nonces ${doomed[firstDoomed]?.nonce}..${doomed[doomed.length - 1]?.nonce}) replaced by ${REORG_DEPTH + 1} blocks with ${k} other messages; Outbox snapshots on the doomed fork: ${snappedOnFork > snappedBefore ? `up to count ${snappedOnFork}` : "none"}`,
          );
        } finally {
          await setMining(net.a, true, MINING_MS);
        }
      });
    }

    async function sendErrorsAndEmptyRedis(step: StepRecord) {
      const before = await scrape(relayer.apiUrl!);
      const fault = net.rpcs[1]!.failMethod("eth_sendRawTransaction", { forMs: SEND_ERRORS_MS });
      await sleep(5_000);
      await redisServer.kill();
      step.notes.push(`t=${elapsed()}s Redis killed (SIGKILL)`);
      await sleep(2_000);
      await redisServer.start({ keepData: false });
      step.notes.push(`t=${elapsed()}s Redis restarted empty`);
      await waitFor(
        "the send fault to end",
        async () => !fault.active,
        SEND_ERRORS_MS + 5_000,
        200,
      );
      step.deltas = await deltas(before, await scrape(relayer.apiUrl!));
      step.notes.push(`eth_sendRawTransaction refused ${fault.failed} times`);
      expect(fault.failed, "the relayer tried to send during the fault").to.be.greaterThan(0);
    }

    async function rpcOutageAndRedisWithData(step: StepRecord, target: number) {
      // Only the origin's node reads A (home-only configs): an outage of A shows in its metrics.
      const node = () => (target === 0 ? originUrl : relayer.apiUrl!);
      const before = await scrape(node());
      const rpc = net.rpcs[target]!;
      const requestsBefore = rpc.requests;
      rpc.down();
      const downAt = Date.now();
      await sleep(10_000);
      await redisServer.kill();
      step.notes.push(`t=${elapsed()}s Redis killed (SIGKILL)`);
      await sleep(2_000);
      await redisServer.start({ keepData: true });
      step.notes.push(`t=${elapsed()}s Redis restarted with its data`);
      await sleep(RPC_OUTAGE_MS - (Date.now() - downAt));
      expect(rpc.requests, "no request reached the endpoint while it was down").to.equal(
        requestsBefore,
      );
      rpc.up();
      step.notes.push(`endpoint down ${Math.round((Date.now() - downAt) / 1000)} s`);
      await sleep(3_000); // the next indexing rounds succeed; metrics were counted meanwhile
      step.deltas = await deltas(before, await scrape(node()));
    }

    async function lostAnswers(step: StepRecord) {
      const before = await scrape(relayer.apiUrl!);
      const linesBefore = relayer.lines.length;
      const fault = net.rpcs[1]!.failMethod("eth_sendRawTransaction", {
        times: 2,
        afterForwarding: true,
      });
      // Sends must come: when none came for 2 s, messages of the load's reserve are dispatched.
      const deadline = Date.now() + 120_000;
      while (fault.failed < 2) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for two lost answers (${fault.failed} so far)`);
        const seen = fault.failed;
        await sleep(2_000);
        if (fault.failed === seen && sent < N) {
          const k = Math.min(CHUNK, N - sent);
          await aLock.run(async () => {
            const txs = await dispatchSome(k);
            await Promise.all(txs.map((t) => t.wait()));
            sent += k;
          });
        }
      }
      const again = await waitFor(
        "the relayer finding the batches it was told had failed delivered",
        async () =>
          relayer.lines
            .slice(linesBefore)
            .filter((l) => String(l.msg).startsWith("message already delivered")).length,
        120_000,
        200,
      );
      step.deltas = await deltas(before, await scrape(relayer.apiUrl!));
      step.notes.push(
        `2 sends mined but answered with an error; the relayer then found ${again}+ of their messages delivered`,
      );
    }

    // --- run -----------------------------------------------------------------------------------
    let aborted = false; // a failure stops both loops, so the process can end
    const faults = (async () => {
      for (const step of steps) {
        await waitFor(
          `${step.at} messages sent`,
          async () => aborted || sent >= step.at,
          600_000,
          50,
        );
        if (aborted) return;
        step.startS = elapsed();
        step.sentAtStart = sent;
        progress(`start: ${step.name}`);
        await step.run(step);
        step.endS = elapsed();
        step.sentAtEnd = sent;
        step.done = true;
        progress(`done: ${step.name} ${step.notes.join("; ")}`);
      }
    })();
    const loadRun = (async () => {
      while (sent < N && !aborted) {
        const room = Math.min(CHUNK, N - sent, barrier() - sent);
        if (room <= 0) {
          await sleep(100);
          continue;
        }
        await aLock.run(async () => {
          // Under the lock the reorg cannot interleave: these are canonical when mined.
          const txs = await dispatchSome(room);
          await Promise.all(txs.map((t) => t.wait()));
          sent += room;
        });
        await sleep((room * 1000) / PACE);
      }
    })();
    await Promise.all([loadRun, faults]).catch((e: unknown) => {
      aborted = true;
      throw e;
    });
    const loadDoneS = elapsed();
    progress(`load done: ${sent} messages`);

    await waitFor(
      `${N} messages handled by the recipient`,
      async () => (await recipient.handled()) >= BigInt(N),
      runs(180_000, 900_000),
      1_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}; handled ${await recipient.handled()}`);
    });
    const deliveredS = elapsed();
    await waitFor(
      "the relayer's queue drained",
      async () => {
        const c = await queueCounts(net.redis, prefixB, codeB);
        return c.wait + c.active + c.delayed === 0;
      },
      120_000,
      500,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(await queueCounts(net.redis, prefixB, codeB))}`,
      );
    });
    lifetimes.push(await scrape(relayer.apiUrl!));
    const originMetrics = await scrape(originNode.apiUrl!);

    // --- the verdict ---------------------------------------------------------------------------
    // The final origin chain is the truth: every message it holds for B since the suites were
    // deployed (the deployment's stake reports too), and among them the N the load sent.
    const onA = (
      await net.a.suite.outbox.queryFilter(
        net.a.suite.outbox.filters.Dispatch(),
        net.a.suite.addresses.deployedAtBlock,
      )
    )
      .filter((l) => l.args.destination === codeBig(codeB))
      .map((l) => ({
        id: l.args.id.toLowerCase(),
        nonce: Number(l.args.nonce),
        recipient: l.args.recipient.toLowerCase(),
        message: l.args.message,
        bodyHash: bodyHash(l.args.message),
      }));
    const load = onA.filter((m) => m.recipient === recipient32.toLowerCase());
    const deliveredLogs = await net.b.suite.inbox.queryFilter(
      net.b.suite.inbox.filters.Delivered(),
      net.b.suite.addresses.deployedAtBlock,
    );
    // Every Delivered event on B (only A sends to B here); the id names the message, so its
    // origin and nonce are the message's own.
    const delivered = new Map<string, { tx: string }[]>();
    for (const l of deliveredLogs) {
      const id = l.args.id.toLowerCase();
      delivered.set(id, [...(delivered.get(id) ?? []), { tx: l.transactionHash }]);
    }
    const deliverTxs = new Set(
      deliveredLogs.filter((l) => l.blockNumber >= fromBlockB).map((l) => l.transactionHash),
    );

    const timeline = steps
      .map(
        (s) =>
          `    ${String(s.startS).padStart(6)}s-${String(s.endS).padStart(6)}s  msgs ${s.sentAtStart}-${s.sentAtEnd}  ${s.name}\n` +
          s.notes.map((n) => `                      ${n}\n`).join("") +
          (s.deltas
            ? `                      relayer metrics: ${Object.entries(s.deltas)
                .filter(([, v]) => v)
                .map(([k, v]) => `${k} +${v}`)
                .join(", ")}\n`
            : ""),
      )
      .join("");
    const totals = RETRY_METRICS.map(
      ([label, name, labels]) =>
        `${label} ${lifetimes.reduce((s, m) => s + metric(m, name, labels), 0)}`,
    ).join(", ");
    console.log(
      `    fault run: ${N} messages, ${CYCLES} cycle(s), load done at ${loadDoneS}s, all delivered at ${deliveredS}s, verdict at ${elapsed()}s\n` +
        timeline +
        `    relayer metrics over its ${lifetimes.length} processes: ${totals}\n` +
        `    ${onA.length} messages A -> B on A's final chain (${load.length} of the load), ${deliveredLogs.length} Delivered events, ${deliverTxs.size} deliver transactions`,
    );

    expect(load.length, "load messages on A's final chain").to.equal(N);

    // Nothing from the reorged-away blocks: not on the final chain, never delivered, never run.
    expect(doomed.length).to.equal(CYCLES * REORG_DEPTH * DOOMED_PER_BLOCK);
    const finalIds = new Set(onA.map((m) => m.id));
    expect(
      doomed.filter((d) => finalIds.has(d.id)),
      "doomed ids on the final chain",
    ).to.deep.equal([]);
    expect(
      doomed.filter((d) => delivered.has(d.id)).map((d) => d.nonce),
      "nonces whose message from a reorged-away block was delivered",
    ).to.deep.equal([]);
    expect(
      (await recipient.counts(doomed.map((d) => d.bodyHash))).filter((c) => c !== 0n),
      "handler runs of reorged-away messages",
    ).to.deep.equal([]);

    // Zero lost, exactly once, by the Inbox's own record and its events. (A system message's
    // replay key is its id: isMessageDelivered asks by the message's own key.)
    const isDelivered = await inChunks(load, (m) =>
      net.b.suite.inbox.isDelivered(codeBig(codeA), m.nonce),
    );
    expect(
      load.filter((_, i) => !isDelivered[i]).map((m) => m.nonce),
      "nonces not delivered (Inbox.isDelivered)",
    ).to.deep.equal([]);
    const isMessageDelivered = await inChunks(onA, (m) =>
      net.b.suite.inbox.isMessageDelivered(m.message),
    );
    expect(
      onA.filter((_, i) => !isMessageDelivered[i]).map((m) => m.nonce),
      "messages not delivered (Inbox.isMessageDelivered)",
    ).to.deep.equal([]);
    const notOnce = onA.filter((m) => delivered.get(m.id)?.length !== 1);
    expect(
      notOnce.map((m) => `${m.nonce}: ${delivered.get(m.id)?.length ?? 0} Delivered events`),
      "messages not delivered exactly once",
    ).to.deep.equal([]);
    expect(deliveredLogs.length, "Delivered events from A (nothing else delivered)").to.equal(
      onA.length,
    );

    // Zero executed twice: the recipient's own counters.
    const counts = (
      await inChunks(
        chunksOf(load, 1_000),
        (part) => recipient.counts(part.map((m) => m.bodyHash)),
        1,
      )
    ).flat();
    expect(
      load.flatMap((m, i) => (counts[i] === 1n ? [] : [`nonce ${m.nonce}: ${counts[i]} runs`])),
      "handler runs per message",
    ).to.deep.equal([]);
    expect(await recipient.handled()).to.equal(BigInt(N));

    // The doomed fork stayed below the confirmations: no indexer saw a reorg (nor took an RPC
    // outage for one), neither the origin node's nor any relayer process's, on either chain.
    for (const chain of [codeA, codeB]) {
      expect(
        metric(originMetrics, "distpos_indexer_reorgs_total", { chain }),
        `reorgs the origin node's indexer saw on ${chain}`,
      ).to.equal(0);
      expect(
        lifetimes.reduce((sum, m) => sum + metric(m, "distpos_indexer_reorgs_total", { chain }), 0),
        `reorgs the relayer's indexers saw on ${chain}`,
      ).to.equal(0);
    }
    expect(metric(originMetrics, "distpos_attester_sign_refused_total")).to.equal(0);

    // Nothing left behind, nothing wasted: no dead letter, and every transaction the relayer key
    // sent on B is a deliver that delivered something (none reverted, none sent twice).
    const dead = await net.redis.zcard(`${prefixB}:bull:relay-dead-${codeB}:completed`);
    const deadWaiting = await net.redis.llen(`${prefixB}:bull:relay-dead-${codeB}:wait`);
    expect(dead + deadWaiting, "dead-lettered messages").to.equal(0);
    expect((await queueCounts(net.redis, prefixB, codeB)).failed, "failed jobs").to.equal(0);
    const relayerTxs =
      (await net.b.connection.ethers.provider.getTransactionCount(relayerAddress)) -
      relayerNonceAtStart;
    expect(relayerTxs, "relayer transactions on B = deliver transactions that delivered").to.equal(
      deliverTxs.size,
    );

    // The retries show in the relayer's metrics, fault by fault.
    for (const s of steps) {
      if (!s.deltas) continue;
      if (s.name.startsWith("eth_sendRawTransaction errors")) {
        expect(s.deltas["deliver sends refused"], s.name).to.be.greaterThan(0);
        expect(s.deltas["batches not sent"], s.name).to.be.greaterThan(0);
        expect(s.deltas["failed attempts (retried)"], s.name).to.be.greaterThan(0);
      } else if (s.name.startsWith("RPC endpoint of B")) {
        expect(s.deltas["RPC rounds failed on B"], s.name).to.be.greaterThan(0);
      } else if (s.name.startsWith("RPC endpoint of A")) {
        expect(s.deltas["RPC rounds failed on A"], s.name).to.be.greaterThan(0);
      } else if (s.name.startsWith("eth_sendRawTransaction answers lost")) {
        expect(s.deltas["deliver sends refused"], s.name).to.be.at.least(1);
      }
      expect(s.deltas["dead letters"], s.name).to.equal(0);
    }
  });
});

function codeBig(code: string): bigint {
  return BigInt(`0x${code}`);
}

/** keccak256 of a packed message's body: the counting recipient's key. */
function bodyHash(message: string): string {
  return ethers.keccak256(decodeMessage(message as Hex).body);
}

function chunksOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function inChunks<T, R>(items: T[], fn: (item: T) => Promise<R>, size = 200): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}
