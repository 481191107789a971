/** The README's code must be the code that the tests run. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

function fences(markdown: string, language: string): string[] {
  const out: string[] = [];
  const re = new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g");
  for (const match of markdown.matchAll(re)) out.push(match[1]);
  return out;
}

describe("README snippets", function () {
  const readme = read("README.md");

  it("shows relayer/examples/sendValue.ts exactly as tested", function () {
    const source = read("relayer/examples/sendValue.ts");
    const start = source.indexOf("// readme:send-value:start\n");
    const end = source.indexOf("// readme:send-value:end");
    expect(start).to.be.greaterThan(-1);
    const tested = source.slice(start + "// readme:send-value:start\n".length, end);
    expect(fences(readme, "ts")).to.include(tested);
  });

  it("quotes each Solidity block from the example it names, as it is there", function () {
    // Each block follows "From `contracts/examples/X.sol`:".
    const re = /From\s+`(contracts\/examples\/\w+\.sol)`:\s*```solidity\n([\s\S]*?)```/g;
    const quoted = [...readme.matchAll(re)].map((m) => ({ file: m[1]!, snippet: m[2]! }));
    expect(quoted.map((q) => q.file)).to.include.members([
      "contracts/examples/PingPong.sol",
      "contracts/examples/InvoicePayer.sol",
      "contracts/examples/Invoices.sol",
    ]);
    expect(fences(readme, "solidity")).to.have.length(
      quoted.length,
      "a Solidity block names no source",
    );
    for (const { file, snippet } of quoted) {
      const source = read(file).replace(/\s+/g, " ");
      expect(source, `README's block from ${file}`).to.contain(snippet.replace(/\s+/g, " ").trim());
    }
  });

  it("gives the two commands a newcomer runs", function () {
    expect(readme).to.contain("npm ci && npm run demo");
    expect(readme).to.contain("npm ci && npm test");
    expect(read(".ci/run")).to.contain("npm ci && npm test");
  });

  it("npm ci on the bootstrap Node the README names (20+) prints no engine warnings", function () {
    this.timeout(120_000);
    expect(readme).to.contain("Node.js ≥ 20");
    // The machine's own Node (the one a newcomer bootstraps with), else the one running the tests.
    const bootstrap =
      ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p)) ?? process.execPath;
    const r = spawnSync("npm", ["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      env: { ...process.env, PATH: `${dirname(bootstrap)}:${process.env.PATH ?? ""}` },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(`${r.stdout}${r.stderr}`).not.to.match(/EBADENGINE|Unsupported engine/);
  });
});
