import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { ConfigError, loadConfig, readKey } from "../../relayer/config/load.js";

const ADDR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const dir = mkdtempSync(join(tmpdir(), "distpos-config-"));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const good = `
home: a0a1
roles: [indexer, api, relayer]
keys: { relayer: TEST_RELAYER_KEY }
chains:
  a0a1:
    name: chainA
    chainId: 41121
    rpc: [http://127.0.0.1:8545/, http://127.0.0.1:8546]
    confirmations: 3
    contracts: { outbox: "${ADDR}", inbox: "${ADDR}", stakingHub: "${ADDR}", bank: "${ADDR}" }
  "1234":
    name: chainB
    chainId: 4660
    rpc: [https://rpc.example.org]
    nodes: [http://node.example.org/]
    contracts: { outbox: "${ADDR.toLowerCase()}", inbox: "${ADDR}", stakingHub: "${ADDR}", bank: "${ADDR}" }
`;

function expectConfigError(fn: () => unknown, path: string, file: string, fragment?: string) {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.message).to.contain(file);
    const issue = err.issues.find((i) => i.path === path);
    expect(issue, `no issue at ${path} in ${err.message}`).to.not.equal(undefined);
    if (fragment) expect(issue!.message).to.contain(fragment);
    return;
  }
  expect.fail("expected a ConfigError");
}

describe("relayer/config", function () {
  it("loads a YAML routing table with defaults, chain codes and numbers converted", function () {
    const cfg = loadConfig(write("good.yaml", good));
    expect(cfg.homeChain.code).to.equal(0xa0a1n);
    expect(cfg.homeChain.rpc).to.deep.equal(["http://127.0.0.1:8545", "http://127.0.0.1:8546"]);
    expect(cfg.homeChain.confirmations).to.equal(3);
    expect(cfg.chain("1234").chainId).to.equal(4660);
    expect(cfg.chainWithContracts(0x1234n).contracts.outbox).to.equal(ADDR);
    expect(cfg.chain("1234").confirmations).to.equal(2);
    expect(cfg.redis.prefix).to.equal("distpos");
    expect(cfg.relayer.maxBatchMessages).to.equal(undefined);
  });

  it("loads the same table from JSON", function () {
    const cfg = loadConfig(
      write(
        "good.json",
        JSON.stringify({
          home: "a0a1",
          roles: ["api"],
          chains: {
            a0a1: {
              name: "A",
              chainId: 1,
              rpc: ["http://x:1"],
              contracts: { outbox: ADDR, inbox: ADDR, stakingHub: ADDR, bank: ADDR },
            },
          },
        }),
      ),
    );
    expect(cfg.chainList.length).to.equal(1);
  });

  it("names the field and the file of each error", function () {
    const file = write(
      "bad.yaml",
      good
        .replace("chainId: 41121", "chainId: lots")
        .replace(`outbox: "${ADDR}"`, 'outbox: "0x1234"'),
    );
    expectConfigError(() => loadConfig(file), "chains.a0a1.chainId", file, "whole number");
    expectConfigError(() => loadConfig(file), "chains.a0a1.contracts.outbox", file, "address");
  });

  it("rejects bad chain codes, unknown fields, a wrong checksum, a home that is not listed", function () {
    const file1 = write("bad1.yaml", good.replace("  a0a1:\n", "  0a0a1:\n"));
    expectConfigError(() => loadConfig(file1), "chains.0a0a1", file1, "leading zeros");
    const file2 = write("bad2.yaml", good.replace("confirmations: 3", "confirmatons: 3"));
    expectConfigError(() => loadConfig(file2), "chains.a0a1", file2, "confirmatons");
    const file3 = write(
      "bad3.yaml",
      good.replace(`inbox: "${ADDR}"`, `inbox: "${ADDR.replace("F", "f")}"`),
    );
    expectConfigError(() => loadConfig(file3), "chains.a0a1.contracts.inbox", file3, "checksum");
    const file4 = write("bad4.yaml", good.replace("home: a0a1", "home: beef"));
    expectConfigError(() => loadConfig(file4), "home", file4, "beef");
    const file5 = write("bad5.yaml", good.replace("keys: { relayer: TEST_RELAYER_KEY }", ""));
    expectConfigError(() => loadConfig(file5), "keys.relayer", file5, "role relayer");
    const file6 = write("bad6.yaml", good + "\n  : [");
    expectConfigError(() => loadConfig(file6), "", file6, "YAML");
  });

  it("asks a peer's contracts only where they are read: the home chain's always, every chain's with relayer.handover messages", function () {
    const peerLine = `    contracts: { outbox: "${ADDR.toLowerCase()}", inbox: "${ADDR}", stakingHub: "${ADDR}", bank: "${ADDR}" }\n`;
    const homeLine = `    contracts: { outbox: "${ADDR}", inbox: "${ADDR}", stakingHub: "${ADDR}", bank: "${ADDR}" }\n`;
    // Bundles (the default): a peer's come from the home RouteRegistry, so none are needed.
    const peerless = write("peerless.yaml", good.replace(peerLine, ""));
    const cfg = loadConfig(peerless);
    expect(cfg.chain("1234").contracts).to.equal(undefined);
    expectConfigError(
      () => cfg.chainWithContracts("1234"),
      "chains.1234.contracts",
      peerless,
      "deployment record",
    );
    const homeless = write("homeless.yaml", good.replace(homeLine, ""));
    expectConfigError(() => loadConfig(homeless), "chains.a0a1.contracts", homeless, "home chain");
    // Messages: the node indexes every chain's Outbox and Inbox from the config.
    const messages = write(
      "messages-peerless.yaml",
      good.replace(peerLine, "") + "relayer:\n  handover: messages\n",
    );
    expectConfigError(
      () => loadConfig(messages),
      "chains.1234.contracts",
      messages,
      "relayer.handover messages",
    );
  });

  it("takes a fee cap and a reorg bound per chain, refusing a bound below the documented minimum", function () {
    const cfg = loadConfig(
      write(
        "fees.yaml",
        good.replace(
          "confirmations: 3",
          "confirmations: 3\n    maxFeePerGasGwei: 1.5\n    reorgBound: 12\n    finalityTag: safe",
        ),
      ),
    );
    expect(cfg.homeChain.maxFeePerGasGwei).to.equal(1.5);
    expect(cfg.homeChain.reorgBound).to.equal(12);
    expect(cfg.homeChain.finalityTag).to.equal("safe");
    expect(cfg.chain("1234").maxFeePerGasGwei).to.equal(500);
    expect(cfg.chain("1234").reorgBound).to.equal(64);
    expect(cfg.chain("1234").finalityTag).to.equal("finalized");
    const low = write(
      "low.yaml",
      good.replace("confirmations: 3", "confirmations: 3\n    reorgBound: 3"),
    );
    expectConfigError(() => loadConfig(low), "chains.a0a1.reorgBound", low, "at least 12");
    const free = write(
      "free.yaml",
      good.replace("confirmations: 3", "confirmations: 3\n    maxFeePerGasGwei: 0"),
    );
    expectConfigError(() => loadConfig(free), "chains.a0a1.maxFeePerGasGwei", free, "more than 0");
    const tag = write(
      "tag.yaml",
      good.replace("confirmations: 3", "confirmations: 3\n    finalityTag: latest"),
    );
    expectConfigError(() => loadConfig(tag), "chains.a0a1.finalityTag", tag);
  });

  it("accepts the operator example relayer/example.yaml", function () {
    const cfg = loadConfig(new URL("../../relayer/example.yaml", import.meta.url).pathname);
    expect(cfg.chainList.map((c) => c.codeHex)).to.deep.equal(["a0a1", "b0b1"]);
    expect(cfg.roles).to.have.length(5);
  });

  it("reads keys only from the environment variable the config names", function () {
    const cfg = loadConfig(write("good2.yaml", good));
    expect(() => readKey(cfg, "relayer", {})).to.throw(ConfigError, /TEST_RELAYER_KEY/);
    expect(() => readKey(cfg, "relayer", { TEST_RELAYER_KEY: "0x1234" })).to.throw(
      ConfigError,
      /not a 32-byte/,
    );
    expect(() => readKey(cfg, "attester", {})).to.throw(ConfigError, /keys\.attester/);
    const key = "ab".repeat(32);
    expect(readKey(cfg, "relayer", { TEST_RELAYER_KEY: key })).to.equal(`0x${key}`);
  });
});
