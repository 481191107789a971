/**
 * Hostile entry nodes, without a chain: junk signatures, a tarpit, a huge answer (issue 14,
 * "Hostile peers"). The signature collector and the watcher are driven against fake entry nodes
 * (local HTTP servers) with fake signer sets and chain reads.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { expect } from "chai";
import {
  encodeAbiParameters,
  encodeEventTopics,
  getAbiItem,
  getAddress,
  keccak256,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import {
  domainOf,
  signerOf,
  type CheckpointStore,
  type SignedCheckpoint,
} from "../../relayer/checkpoints.js";
import { parseConfig, type Chain, type LoadedConfig } from "../../relayer/config/load.js";
import { silentLogger } from "../../relayer/log.js";
import { Lru } from "../../relayer/lru.js";
import { Metrics } from "../../relayer/metrics.js";
import type { NodeContext } from "../../relayer/node.js";
import { askNodes, NodeBackoff } from "../../relayer/peers/entryNodes.js";
import { NodeAnswerTooLargeError } from "../../relayer/sdk/errors.js";
import { nodeRequest } from "../../relayer/nodeApi/request.js";
import {
  signCheckpoint,
  type Checkpoint,
  type SignerSignature,
} from "../../relayer/protocol/index.js";
import { SignatureCollector } from "../../relayer/relay/signatures.js";
import { MirroredSigners, type SignerSource } from "../../relayer/relay/signers.js";
import { IInboxAbi } from "../../relayer/chain/abis.js";
import { Watcher } from "../../relayer/watcher/watcher.js";

const ADDR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function config(): LoadedConfig {
  const contracts = { outbox: ADDR, inbox: ADDR, stakingHub: ADDR, bank: ADDR };
  return parseConfig(
    {
      home: "a0a1",
      roles: ["api"],
      chains: {
        a0a1: { name: "home", chainId: 41121, rpc: ["http://127.0.0.1:9"], contracts },
      },
    },
    "hostile.yaml",
  );
}

/** A random 65-byte signature with a low s and v 27/28: costs a full recovery to reject. */
function junkSignature(): Hex {
  const r = randomBytes(32);
  const s = randomBytes(32);
  s[0] = s[0]! & 0x3f;
  return `0x${r.toString("hex")}${s.toString("hex")}${Math.random() < 0.5 ? "1b" : "1c"}`;
}

function randomAddress(): Address {
  return getAddress(toHex(randomBytes(20)));
}

interface FakeNode {
  url: string;
  server: Server;
  requests: number;
  close(): Promise<void>;
}

async function fakeNode(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<FakeNode> {
  const node: FakeNode = {
    url: "",
    requests: 0,
    server: createServer((req, res) => {
      node.requests++;
      handler(req, res);
    }),
    close: () =>
      new Promise<void>((r) => {
        node.server.closeAllConnections();
        node.server.close(() => r());
      }),
  };
  await new Promise<void>((r) => node.server.listen(0, "127.0.0.1", r));
  node.url = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
  return node;
}

const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

/** The part of CheckpointStore the collector uses, in memory. */
class MemoryStore {
  readonly added: SignerSignature[] = [];
  private readonly checkpoints = new Map<number, Checkpoint>();
  private readonly sigs = new Map<number, Map<Address, Hex>>();
  async get(origin: bigint, count: number): Promise<SignedCheckpoint | undefined> {
    const checkpoint = this.checkpoints.get(count);
    if (!checkpoint) return undefined;
    const signatures = [...(this.sigs.get(count) ?? new Map<Address, Hex>()).entries()].map(
      ([signer, signature]) => ({ signer, signature }),
    );
    return { ...checkpoint, origin, signatures };
  }
  async add(checkpoint: Checkpoint, signatures: SignerSignature[]): Promise<void> {
    this.checkpoints.set(checkpoint.count, checkpoint);
    const m = this.sigs.get(checkpoint.count) ?? new Map<Address, Hex>();
    for (const s of signatures) m.set(s.signer, s.signature);
    this.sigs.set(checkpoint.count, m);
    this.added.push(...signatures);
  }
}

const fixedSigners = (set: Iterable<Address>): SignerSource => {
  const s = new Set([...set].map((a) => getAddress(a)));
  return { signers: async () => s };
};

describe("hostile entry nodes (unit)", function () {
  this.timeout(60_000);
  const cfg = config();
  const chain = cfg.homeChain;
  const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const attesters = keys.map((k) => privateKeyToAccount(k).address);
  const checkpoint: Checkpoint = {
    origin: chain.code,
    root: keccak256("0x01"),
    count: 7,
    last: keccak256("0x02"),
  };
  let real: SignerSignature[];
  const nodes: FakeNode[] = [];
  const serve = async (handler: Parameters<typeof fakeNode>[0]) => {
    const n = await fakeNode(handler);
    nodes.push(n);
    return n;
  };
  const withNodes = (urls: string[]): Chain => ({ ...chain, nodes: urls, pollIntervalMs: 10 });

  before(async function () {
    real = await Promise.all(
      keys.map(async (k, i) => ({
        signer: attesters[i]!,
        signature: await signCheckpoint(k, domainOf(chain), checkpoint),
      })),
    );
    // The curve's tables are built on the first recovery (once per process, not per answer).
    await signerOf(domainOf(chain), checkpoint, real[0]!.signature);
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });

  describe("signature collector (relayer)", function () {
    it("keeps only mirrored signers' signatures from a node serving 1,000 junk ones, without stalling", async function () {
      const junk = Array.from({ length: 1_000 }, () => ({
        signer: randomAddress(),
        signature: junkSignature(),
      }));
      // Junk that names a mirrored signer, ahead of its real signature.
      const misnamed = Array.from({ length: 20 }, () => ({
        signer: attesters[0]!,
        signature: junkSignature(),
      }));
      const node = await serve(
        json({
          origin: chain.codeHex,
          root: checkpoint.root,
          count: checkpoint.count,
          signatures: [...junk, ...misnamed, real[0], ...junk.slice(0, 10), real[1]],
        }),
      );
      const store = new MemoryStore();
      const collector = new SignatureCollector(
        store as unknown as CheckpointStore,
        fixedSigners(attesters),
        silentLogger,
      );
      // CPU is bounded by how many signatures are recovered (asserted below), not by a time: a
      // timed bound fails on a loaded machine and says less.
      const value = await collector.collect(withNodes([node.url]), checkpoint);
      // The misnamed junk costs one recovery for its signer, then the signer is done for this
      // answer; the real signature of attester 0 came after it, so it may be left out this time.
      expect(collector.recovery.computed, "signatures recovered").to.be.at.most(3);
      expect(value.map((s) => s.signer)).to.include(attesters[1]);
      expect(
        store.added.every((s) => attesters.includes(s.signer)),
        "junk stored",
      ).to.equal(true);
    });

    it("recovers a signature once however often it is served, and keeps at most the cap per checkpoint", async function () {
      const node = await serve(
        json({
          origin: chain.codeHex,
          root: checkpoint.root,
          count: checkpoint.count,
          signatures: real,
        }),
      );
      const mirrored = fixedSigners(attesters);
      const capped = new SignatureCollector(
        new MemoryStore() as unknown as CheckpointStore,
        mirrored,
        silentLogger,
        undefined,
        { maxPerCheckpoint: 2 },
      );
      expect(await capped.collect(withNodes([node.url]), checkpoint)).to.have.length(2);

      const store = new MemoryStore();
      const collector = new SignatureCollector(
        store as unknown as CheckpointStore,
        fixedSigners([attesters[0]!, randomAddress()]),
        silentLogger,
      );
      // Its store is forgotten between calls here: every call asks the node again.
      (store as unknown as { get: () => Promise<undefined> }).get = async () => undefined;
      for (let i = 0; i < 5; i++) {
        const got = await collector.collect(withNodes([node.url]), checkpoint);
        expect(got.map((s) => s.signer)).to.deep.equal([attesters[0]]);
      }
      expect(node.requests).to.be.at.least(5);
      expect(collector.recovery.computed).to.equal(1);
    });

    it("does not wait for a tarpit entry node once covered, and backs off a node that timed out", async function () {
      const tarpit = await serve(() => undefined); // never answers
      const honest = await serve(
        json({
          origin: chain.codeHex,
          root: checkpoint.root,
          count: checkpoint.count,
          signatures: real,
        }),
      );
      const collector = new SignatureCollector(
        new MemoryStore() as unknown as CheckpointStore,
        fixedSigners(attesters),
        silentLogger,
        undefined,
        { timeoutMs: 3_000 },
      );
      let t = performance.now();
      const got = await collector.collect(withNodes([tarpit.url, honest.url]), checkpoint);
      expect(got).to.have.length(3);
      expect(performance.now() - t, "ms with every signer covered").to.be.below(1_500);

      // Not covered (a fourth mirrored signer never signs): a grace period, not the tarpit's time.
      const partial = new SignatureCollector(
        new MemoryStore() as unknown as CheckpointStore,
        fixedSigners([...attesters, randomAddress()]),
        silentLogger,
        undefined,
        { timeoutMs: 3_000, graceMs: 200 },
      );
      t = performance.now();
      expect(await partial.collect(withNodes([tarpit.url, honest.url]), checkpoint)).to.have.length(
        3,
      );
      expect(performance.now() - t, "ms with one signer missing").to.be.below(1_500);

      // A node that times out is not asked again until its backoff ends.
      const backoff = new NodeBackoff(10_000);
      const lone = new SignatureCollector(
        new MemoryStore() as unknown as CheckpointStore,
        fixedSigners(attesters),
        silentLogger,
        undefined,
        { timeoutMs: 300, backoff },
      );
      const before = tarpit.requests;
      await lone.collect(withNodes([tarpit.url]), checkpoint);
      expect(tarpit.requests - before).to.equal(1);
      expect(backoff.failures(tarpit.url)).to.equal(1);
      t = performance.now();
      await lone.collect(withNodes([tarpit.url]), { ...checkpoint, count: 8 });
      expect(tarpit.requests - before, "asked while backing off").to.equal(1);
      expect(performance.now() - t).to.be.below(200);
    });

    it("stops reading a 200 MB answer at the size cap", async function () {
      let written = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const huge = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("[");
        const pump = () => {
          while (written < 200 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end("]");
        };
        res.on("close", () => (written = Math.max(written, 0)));
        pump();
      });
      global.gc?.();
      const rss = process.memoryUsage().rss;
      const t = performance.now();
      let error: unknown;
      try {
        await nodeRequest(huge.url, "", { timeoutMs: 20_000, maxBytes: 1_000_000 });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(NodeAnswerTooLargeError);
      expect(performance.now() - t, "ms").to.be.below(3_000);
      expect(process.memoryUsage().rss - rss, "RSS growth").to.be.below(60 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 100));
      expect(written, "bytes the node got to send").to.be.below(50 * 1024 * 1024);

      // Through the collector: an empty result, the node backing off.
      const collector = new SignatureCollector(
        new MemoryStore() as unknown as CheckpointStore,
        fixedSigners(attesters),
        silentLogger,
      );
      expect(await collector.collect(withNodes([huge.url]), checkpoint)).to.deep.equal([]);
      expect(collector.backoff.failures(huge.url)).to.equal(1);
    });
  });

  describe("mirrored signers (relayer)", function () {
    const origin: Chain = { ...chain, code: 0x1234n, codeHex: "1234" };
    const [x, y, z] = [randomAddress(), randomAddress(), randomAddress()];
    const inboxAbi = [
      getAbiItem({ abi: IInboxAbi, name: "MirrorInitialized" }),
      getAbiItem({ abi: IInboxAbi, name: "MirrorUpdated" }),
    ];
    const raw = (topics: Hex[], data: Hex) => ({
      address: ADDR,
      topics,
      data,
      blockNumber: "0x1",
      blockHash: keccak256("0x02"),
      transactionHash: keccak256("0x03"),
      logIndex: "0x0",
    });
    const logs = [
      raw(
        encodeEventTopics({
          abi: inboxAbi,
          eventName: "MirrorInitialized",
          args: { origin: origin.code },
        }) as Hex[],
        encodeAbiParameters(
          [{ type: "address[]" }, { type: "uint256[]" }],
          [
            [x, y],
            [5n, 7n],
          ],
        ),
      ),
      raw(
        encodeEventTopics({
          abi: inboxAbi,
          eventName: "MirrorUpdated",
          args: { origin: origin.code, attester: y },
        }) as Hex[],
        encodeAbiParameters([{ type: "uint256" }, { type: "uint32" }], [0n, 3]),
      ),
    ];

    it("follows the Inbox's mirror logs: junk never needs a read", async function () {
      let getLogs = 0;
      const client = {
        getBlockNumber: async () => 1n,
        request: async () => (getLogs++, logs),
      } as unknown as PublicClient;
      const mirror = new MirroredSigners(client, {
        ...chain,
        startBlock: 0,
        pollIntervalMs: 60_000,
      });
      expect([...(await mirror.signers(origin))]).to.deep.equal([x]);
      await mirror.signers(origin);
      expect(getLogs, "eth_getLogs calls").to.equal(1);
    });

    it("falls back to the origin's staked attesters looked up on the destination when the logs miss one", async function () {
      const reads: string[] = [];
      const dest = {
        getBlockNumber: async () => 1n,
        request: async () => [],
        readContract: async ({ args }: { args: [bigint, Address] }) => {
          reads.push(args[1]);
          return args[1] === z ? 9n : 0n;
        },
      } as unknown as PublicClient;
      const originClient = {
        readContract: async () => [z, y],
      } as unknown as PublicClient;
      const mirror = new MirroredSigners(dest, { ...chain, startBlock: 0 }, () => originClient);
      expect([...(await mirror.signers(origin))]).to.deep.equal([z]);
      expect(reads).to.have.length(2);
      await mirror.signers(origin);
      expect(reads, "read again within a minute").to.have.length(2);
    });
  });

  describe("askNodes and NodeBackoff", function () {
    it("backs off exponentially per node and forgets on success", function () {
      let now = 0;
      const b = new NodeBackoff(1_000, 8_000, () => now);
      b.failed("a");
      expect(b.ready("a")).to.equal(false);
      expect(b.ready("b")).to.equal(true);
      now = 1_000;
      expect(b.ready("a")).to.equal(true);
      b.failed("a");
      now = 2_999;
      expect(b.ready("a")).to.equal(false);
      for (let i = 0; i < 10; i++) b.failed("a");
      now += 8_000;
      expect(b.ready("a"), "capped").to.equal(true);
      b.succeeded("a");
      expect(b.failures("a")).to.equal(0);
    });

    it("asks every node at once and cancels the rest once enough", async function () {
      const cancelled: string[] = [];
      const t = performance.now();
      let got = 0;
      const r = await askNodes(
        ["fast", "slow1", "slow2"],
        (node, signal) =>
          new Promise<boolean>((resolve, reject) => {
            if (node === "fast") return void setTimeout(() => resolve(++got > 0), 20);
            signal.addEventListener("abort", () => {
              cancelled.push(node);
              reject(new Error("aborted"));
            });
          }),
        { backoff: new NodeBackoff(), graceMs: 10_000, enough: () => got >= 1 },
      );
      expect(r).to.deep.equal({ asked: 3, useful: 1 });
      expect(performance.now() - t).to.be.below(1_000);
      await new Promise((r) => setImmediate(r));
      expect(cancelled.sort()).to.deep.equal(["slow1", "slow2"]);
    });
  });

  describe("watcher", function () {
    it("finds a staked liar's signature promptly among 300 junk ones per round, reading the chain only about staked signers", async function () {
      const liar = keys[1]!;
      const lie: Checkpoint = {
        origin: chain.code,
        root: keccak256("0xbad"),
        count: 9,
        last: keccak256("0xbad0"),
      };
      const liarSignature = await signCheckpoint(liar, domainOf(chain), lie);
      const answer = () => ({
        origin: chain.codeHex,
        root: lie.root,
        count: lie.count,
        last: lie.last,
        signatures: [
          ...Array.from({ length: 300 }, () => ({
            signer: randomAddress(),
            signature: junkSignature(),
          })),
          { signer: attesters[1], signature: liarSignature },
        ],
      });
      const node = await serve((req, res) => json(answer())(req, res));
      const home: Chain = { ...chain, nodes: [node.url] };
      const reads: string[] = [];
      const client = {
        readContract: async ({ functionName }: { functionName: string }) => {
          reads.push(functionName);
          if (functionName === "isFraudulent") return true;
          if (functionName === "slashed") return false;
          if (functionName === "attesters") return attesters;
          throw new Error(`unexpected read ${functionName}`);
        },
        getBlockNumber: async () => 0n,
      };
      const ctx = {
        cfg: { ...cfg, homeChain: home, chainList: [home] },
        log: silentLogger,
        metrics: new Metrics(),
        client: () => client,
        checkpoints: { latest: async () => undefined },
        shutdown: new AbortController(),
      } as unknown as NodeContext;
      const watcher = new Watcher(ctx, generatePrivateKey());
      const proven: Address[] = [];
      (watcher as unknown as { prove: unknown }).prove = async (
        _lie: unknown,
        signer: Address,
        seenKey: string,
      ) => {
        // As a mined proof does: the signature is not proven again.
        const seen = (watcher as unknown as { seen: Lru<string, true> | Set<string> }).seen;
        if (seen instanceof Set) seen.add(seenKey);
        else seen.set(seenKey, true);
        proven.push(signer);
        return "proven";
      };
      // Bounded work per round is asserted by the counts below (recoveries, chain reads).
      for (let round = 0; round < 3; round++) await watcher.round();
      expect(proven).to.deep.equal([attesters[1]]);
      expect(
        reads.filter((r) => r === "isFraudulent"),
        "isFraudulent reads",
      ).to.have.length(1);
      // 300 fresh junk signatures per round; a few recovered per round at most.
      expect(watcher.recovery.computed, "signatures recovered").to.be.at.most(3 * 20);
    });
  });

  it("Lru keeps the most recently used entries", function () {
    const l = new Lru<number, number>(2);
    l.set(1, 1).set(2, 2);
    l.get(1);
    l.set(3, 3);
    expect([l.has(1), l.has(2), l.has(3)]).to.deep.equal([true, false, true]);
  });
});
