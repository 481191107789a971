/**
 * `npm run demo -- --client anvil` (issue 15): the three-chain demo on anvil chains instead of
 * Hardhat's simulator, every step landed, as test/demo/demo.test.ts checks it on Hardhat.
 */
import { expect } from "chai";

import { runDemo } from "../../deploy/demo.js";

describe("npm run demo -- --client anvil", function () {
  this.timeout(600_000);

  it("runs the three-chain demo on anvil to its final table with every step landed", async function () {
    const lines: string[] = [];
    const result = await runDemo({ client: "anvil", log: (line) => lines.push(line) });
    const failed = result.steps.filter((s) => !s.ok);
    expect(failed, lines.join("\n")).to.deep.equal([]);
    expect(result.ok).to.equal(true);
    expect(result.steps).to.have.length(7);
    expect(result.table).to.match(/attester 2 stake\s+slashed/);
  });
});
