/**
 * The SDK calls the suite only through ABIs generated from contracts/interfaces (and the devnet's
 * TestToken): no hand-written function ABI that could drift from the contracts.
 */
import { readdirSync, readFileSync } from "node:fs";

import { expect } from "chai";

import { ICorrespondentBankAbi, TestTokenAbi } from "../../relayer/sdk/abis.js";

const dir = new URL("../../relayer/sdk/", import.meta.url);

describe("SDK ABIs", function () {
  it("declares no function or event by hand: every parseAbi entry is an ERC-6093 token error", function () {
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      const source = readFileSync(new URL(name, dir), "utf8");
      for (const m of source.matchAll(/parseAbi(?:Item)?\(\s*\[([\s\S]*?)\]\s*\)/g)) {
        const entries = [...m[1]!.matchAll(/"([^"]+)"/g)].map((e) => e[1]!);
        for (const entry of entries)
          expect(entry, `${name}: ${entry}`).to.match(/^error ERC20|^error SafeERC20/);
      }
      expect(source, name).not.to.match(/"function [a-zA-Z]+\(/);
    }
  });

  it("reads the bank views it uses from ICorrespondentBank's generated ABI", function () {
    const functions = ICorrespondentBankAbi.filter((i) => i.type === "function").map((i) => i.name);
    expect(functions).to.include.members([
      "token",
      "scale",
      "suspended",
      "pendingPayouts",
      "reserve",
      "creditView",
      "claim",
      "send",
    ]);
    expect(TestTokenAbi.map((i) => ("name" in i ? i.name : ""))).to.include.members([
      "DEVNET_MINTABLE",
      "mint",
    ]);
  });
});
