/** Bundles (relayer/handover): format, proven subtree, verification refusals. Pure, no chain. */
import { expect } from "chai";
import { getAddress, pad, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  buildBundle,
  bundleToJson,
  parseBundle,
  verifyBundle,
  BundleRefusedError,
  type Bundle,
  type BundleChecks,
  type BundleRefusal,
} from "../../relayer/handover/bundle.js";
import { bundleTree, ProvenTree } from "../../relayer/handover/provenTree.js";
import {
  buildDelivery,
  type Checkpoint,
  encodeMessage,
  MerkleTree,
  messageId,
  signCheckpoint,
  treeCheckpoint,
  verifyMultiproof,
} from "../../relayer/protocol/index.js";

const ORIGIN = 0xa1n;
const HOME = 0xb2n;
const OTHER = 0xc3n;
const route = {
  evmChainId: 31_337n,
  outbox: getAddress("0x00000000000000000000000000000000000000a1"),
  minSigners: 1,
  defaultCoverage: 10n,
};
const keys = [1, 2, 3].map((i) => pad(`0x${i.toString(16)}`, { size: 32 }) as Hex);
const attesters = keys.map((k) => privateKeyToAccount(k));

function message(nonce: number, destination = HOME, amount = 0n): Hex {
  return encodeMessage({
    nonce,
    origin: ORIGIN,
    sender: pad("0x01", { size: 32 }),
    destination,
    recipient: pad("0x02", { size: 32 }),
    amount,
    body: "0x",
  });
}

/** The origin's tree of 20 messages (odd nonces for another chain) and a signed checkpoint. */
async function origin(count = 20) {
  const messages = Array.from({ length: count }, (_, n) =>
    message(n, n % 2 ? OTHER : HOME, BigInt(n)),
  );
  const tree = MerkleTree.from(messages.map((m) => messageId(m)));
  const checkpoint: Checkpoint = treeCheckpoint(ORIGIN, tree);
  const signatures = await Promise.all(
    attesters.map(async (a) => ({
      signer: a.address,
      signature: await signCheckpoint(a, route, checkpoint),
    })),
  );
  return { messages, tree, checkpoint, signatures };
}

function checks(over: Partial<BundleChecks> = {}): BundleChecks {
  return {
    home: HOME,
    route: async () => route,
    mirror: async () => new Map(attesters.slice(0, 2).map((a) => [a.address, 100n] as const)),
    delivered: async (ms) => ms.map(() => false),
    freeCapacity: async (_o, signers) => signers.map(() => 50n),
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<BundleRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BundleRefusedError) return e.reason;
    throw e;
  }
  throw new Error("the bundle was accepted");
}

describe("relayer/handover/bundle", function () {
  it("round-trips through JSON and verifies: mirrored signers kept, others dropped", async function () {
    const o = await origin();
    const mine = o.messages.filter((_, n) => n % 2 === 0).slice(2, 7);
    const bundle = buildBundle({ ...o, messages: [...mine].reverse() });
    expect(bundle.messages).to.deep.equal(mine);
    const parsed = parseBundle(JSON.parse(JSON.stringify(bundleToJson(bundle))));
    expect(parsed).to.deep.equal(bundle);
    const v = await verifyBundle(parsed, checks());
    expect(v.fresh.map((f) => f.message)).to.deep.equal(mine);
    expect(v.signatures.map((s) => s.signer)).to.have.members(
      attesters.slice(0, 2).map((a) => a.address),
    );
  });

  it("proves any subset of a bundle's messages as the origin's own tree does", async function () {
    const o = await origin();
    const nonces = [0, 2, 4, 6, 8, 12, 18];
    const tree = new ProvenTree(
      nonces.map((n) => o.tree.leaf(n)),
      nonces,
      o.tree.multiproof(nonces, o.checkpoint.count),
      o.checkpoint.count,
    );
    expect(tree.root).to.equal(o.checkpoint.root.toLowerCase());
    for (const subset of [[0], [18], [2, 4], [0, 8, 18], [4, 6, 12]]) {
      const proof = tree.multiproof(subset);
      expect(proof).to.deep.equal(o.tree.multiproof(subset, o.checkpoint.count));
      const leaves = subset.map((n) => o.tree.leaf(n));
      expect(
        verifyMultiproof(leaves, subset, proof, o.checkpoint.root, o.checkpoint.count),
      ).to.equal(true);
    }
    const delivery = buildDelivery({
      tree,
      count: o.checkpoint.count,
      messages: [o.messages[12]!, o.messages[4]!],
    });
    expect(delivery.nonces).to.deep.equal([4, 12]);
    expect(() => tree.multiproof([10])).to.throw(RangeError);
  });

  it("builds a stored bundle's proven tree once per key and root, a new one for another root", async function () {
    const o = await origin();
    const mine = [0, 2, 4].map((n) => o.messages[n]!);
    const bundle = {
      checkpoint: o.checkpoint,
      messages: mine,
      proof: o.tree.multiproof([0, 2, 4], o.checkpoint.count),
    };
    const key = `test:bundle:${Math.random()}`;
    const tree = bundleTree(key, bundle);
    expect(tree.root).to.equal(o.checkpoint.root.toLowerCase());
    expect(bundleTree(key, bundle), "built once").to.equal(tree);
    // The same key stored again under another signed root (a later count): never the cached tree.
    const later = await origin(22);
    const other = {
      checkpoint: later.checkpoint,
      messages: mine,
      proof: later.tree.multiproof([0, 2, 4], later.checkpoint.count),
    };
    expect(bundleTree(key, other).root).to.equal(later.checkpoint.root.toLowerCase());
  });

  it("refuses each bad bundle with its reason", async function () {
    const o = await origin();
    const good = () => buildBundle({ ...o, messages: [o.messages[2]!, o.messages[4]!] });
    const cases: [BundleRefusal, Bundle | (() => Promise<unknown>)][] = [];
    // A message for another chain, though proven under the root.
    cases.push(["wrong-destination", buildBundle({ ...o, messages: [o.messages[1]!] })]);
    // A forged signature: an unmirrored key signs the checkpoint.
    const stranger = privateKeyToAccount(pad("0x99", { size: 32 }) as Hex);
    cases.push([
      "unknown-signer",
      {
        ...good(),
        signatures: [
          {
            signer: stranger.address,
            signature: await signCheckpoint(stranger, route, o.checkpoint),
          },
        ],
      },
    ]);
    // A signature said to be a mirrored attester's, made by someone else.
    cases.push([
      "bad-signature",
      {
        ...good(),
        signatures: [
          {
            signer: attesters[0]!.address,
            signature: await signCheckpoint(stranger, route, o.checkpoint),
          },
        ],
      },
    ]);
    // Signatures over another root (the messages' real root is not what was signed).
    const other = { ...o.checkpoint, root: pad("0x77", { size: 32 }) as Hex };
    cases.push(["wrong-proof", { ...good(), checkpoint: other }]);
    // A proof element changed.
    const tampered = good();
    tampered.proof[0] = pad("0x05", { size: 32 });
    cases.push(["wrong-proof", tampered]);
    // A message swapped for another with the same nonce.
    const swapped = good();
    swapped.messages[0] = message(2, HOME, 1_000n);
    cases.push(["wrong-proof", swapped]);
    // The message at count - 1 carried, under a checkpoint naming another last leaf.
    const ending = await origin(19);
    const withLast = buildBundle({ ...ending, messages: [ending.messages[18]!] });
    const otherLast = { ...withLast.checkpoint, last: pad("0x78", { size: 32 }) as Hex };
    cases.push(["wrong-proof", { ...withLast, checkpoint: otherLast }]);
    await verifyBundle(withLast, checks()); // the true last leaf passes
    for (const [reason, bundle] of cases)
      expect(await refusal(verifyBundle(bundle as Bundle, checks())), reason).to.equal(reason);

    expect(
      await refusal(verifyBundle(good(), checks({ delivered: async (ms) => ms.map(() => true) }))),
    ).to.equal("already-delivered");
    expect(await refusal(verifyBundle(good(), checks({ route: async () => undefined })))).to.equal(
      "unknown-route",
    );
    expect(
      await refusal(
        verifyBundle(good(), checks({ route: async () => ({ ...route, minSigners: 3 }) })),
      ),
    ).to.equal("too-few-signers");
    expect(
      await refusal(
        verifyBundle(good(), checks({ freeCapacity: async (_o, s) => s.map(() => 1n) })),
      ),
    ).to.equal("coverage-unavailable");
  });

  it("lets a stake report through when the signers' capacity is used up", async function () {
    const hub = getAddress("0x00000000000000000000000000000000000000b0");
    const inbox = getAddress("0x00000000000000000000000000000000000000b1");
    const report = encodeMessage({
      nonce: 0,
      origin: ORIGIN,
      sender: pad(hub, { size: 32 }),
      destination: HOME,
      recipient: pad(inbox, { size: 32 }),
      amount: 0n,
      body: "0x",
    });
    const tree = MerkleTree.from([messageId(report)]);
    const checkpoint: Checkpoint = treeCheckpoint(ORIGIN, tree);
    const signatures = [
      {
        signer: attesters[0]!.address,
        signature: await signCheckpoint(attesters[0]!, route, checkpoint),
      },
    ];
    const bundle = buildBundle({ tree, checkpoint, signatures, messages: [report] });
    const full = { freeCapacity: async (_o: bigint, s: readonly Address[]) => s.map(() => 0n) };
    expect(await refusal(verifyBundle(bundle, checks(full)))).to.equal("coverage-unavailable");
    const v = await verifyBundle(
      bundle,
      checks({ ...full, homeInbox: inbox, route: async () => ({ ...route, stakingHub: hub }) }),
    );
    expect(v.fresh).to.have.length(1);
  });

  it("drops the delivered messages of a partly replayed bundle", async function () {
    const o = await origin();
    const b = buildBundle({ ...o, messages: [o.messages[2]!, o.messages[4]!] });
    const v = await verifyBundle(b, checks({ delivered: async (ms) => ms.map((_, i) => i === 0) }));
    expect(v.delivered).to.deep.equal([messageId(o.messages[2]!)]);
    expect(v.fresh.map((f) => f.id)).to.deep.equal([messageId(o.messages[4]!)]);
  });

  it("refuses junk before recovering a signature or reading the chain", async function () {
    const o = await origin();
    const json = bundleToJson(buildBundle({ ...o, messages: [o.messages[2]!] }));
    const bad: unknown[] = [
      null,
      { ...json, version: 2 },
      { ...json, messages: [] },
      { ...json, messages: ["0x1"] },
      { ...json, checkpoint: { ...json.checkpoint, count: 0 } },
      { ...json, signatures: Array.from({ length: 33 }, () => json.signatures[0]) },
      { ...json, proof: ["0x12"] },
    ];
    for (const b of bad)
      expect(() => parseBundle(b))
        .to.throw(BundleRefusedError)
        .with.property("reason", "malformed");
    // Unknown signers: no recovery, no chain read past the mirror.
    let reads = 0;
    const counting = checks({
      mirror: async () => new Map<Address, bigint>(),
      delivered: async (ms) => (reads++, ms.map(() => false)),
      freeCapacity: async (_o, s) => (reads++, s.map(() => 0n)),
    });
    expect(await refusal(verifyBundle(parseBundle(json), counting))).to.equal("unknown-signer");
    expect(reads).to.equal(0);
    // Signers before the proof: junk with a wrong proof (hashing work) and no mirrored signer is
    // refused for its signers, so a flood of it costs no hashing.
    const junk = parseBundle({ ...json, proof: json.proof.map(() => pad("0x05", { size: 32 })) });
    expect(await refusal(verifyBundle(junk, checks()))).to.equal("wrong-proof");
    expect(await refusal(verifyBundle(junk, counting))).to.equal("unknown-signer");
  });
});
