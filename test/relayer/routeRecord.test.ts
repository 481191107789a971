/**
 * Route records (relayer/routes/record.ts), pure: signed and recovered with real keys, the JSON
 * form round-trips, and every alteration or malformed field is refused with its reason.
 */
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import {
  recordFromJson,
  recordToJson,
  RouteRecordError,
  signRouteRecord,
  verifyRouteRecord,
  type RouteRecord,
} from "../../relayer/routes/record.js";
import { TtlCache } from "../../relayer/api/cache.js";

const NOW = 1_800_000_000n;
const base: RouteRecord = {
  code: 0xa0a1n,
  evmChainId: 31337n,
  nodes: ["https://a.example", "http://10.0.0.1:7545"],
  sequence: 5n,
  expiry: NOW + 3600n,
};

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RouteRecordError) return e.reason;
    throw e;
  }
  return "accepted";
}

describe("relayer/routes/record: signed route records", function () {
  const key = generatePrivateKey();

  it("recovers the signer and round-trips through JSON", async function () {
    const signed = await signRouteRecord(key, base);
    expect(signed.signer).to.equal(privateKeyToAccount(key).address);
    const back = recordFromJson(JSON.parse(JSON.stringify(recordToJson(signed))));
    expect(back).to.deep.equal(signed);
    expect(await verifyRouteRecord(back, NOW)).to.equal(signed.signer);
  });

  it("refuses altered fields, a wrong signer, expiry and malformed input with their reason", async function () {
    const signed = await signRouteRecord(key, base);
    for (const altered of [
      { ...signed, nodes: ["https://evil.example"] },
      { ...signed, sequence: 6n },
      { ...signed, expiry: signed.expiry + 1n },
      { ...signed, code: 0xb0b1n },
      { ...signed, evmChainId: 1n },
      { ...signed, signer: privateKeyToAccount(generatePrivateKey()).address },
    ])
      expect(await reason(verifyRouteRecord(altered, NOW))).to.equal("signer-mismatch");
    expect(await reason(verifyRouteRecord(signed, signed.expiry))).to.equal("expired");
    expect(await reason(signRouteRecord(key, { ...base, nodes: [] }))).to.equal("malformed");
    expect(await reason(signRouteRecord(key, { ...base, nodes: ["ftp://x"] }))).to.equal(
      "malformed",
    );
    expect(
      await reason(signRouteRecord(key, { ...base, nodes: ["https://u:p@a.example"] })),
    ).to.equal("malformed");
    expect(await reason(signRouteRecord(key, { ...base, nodes: ["https://a.example/"] }))).to.equal(
      "malformed",
    );
    expect(() => recordFromJson({ ...recordToJson(signed), sequence: "-1" })).to.throw(
      RouteRecordError,
    );
    expect(() =>
      recordFromJson({ ...recordToJson(signed), nodes: Array(17).fill("http://a") }),
    ).to.throw(RouteRecordError);
  });
});

describe("relayer/api/cache: reads reused for a period", function () {
  it("loads once per key and period, shares a read in flight, forgets failures", async function () {
    let t = 0;
    const cache = new TtlCache<string, number>(1_000, 10, () => t);
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get("k", load), cache.get("k", load)])).to.deep.equal([1, 1]);
    t = 999;
    expect(await cache.get("k", load)).to.equal(1);
    t = 1_000;
    expect(await cache.get("k", load)).to.equal(2);
    await cache.get("bad", () => Promise.reject(new Error("rpc down"))).catch(() => undefined);
    expect(await cache.get("bad", load)).to.equal(3);
  });
});
