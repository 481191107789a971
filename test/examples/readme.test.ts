/** The README's code must be the code that the tests run. */
import { readFileSync } from "node:fs";

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

  it("shows PingPong's Solidity as it is in contracts/examples/PingPong.sol", function () {
    const source = read("contracts/examples/PingPong.sol").replace(/\s+/g, " ");
    const [snippet] = fences(readme, "solidity");
    expect(snippet, "no solidity block in the README").to.be.a("string");
    expect(source).to.contain(snippet.replace(/\s+/g, " ").trim());
  });

  it("gives the two commands a newcomer runs", function () {
    expect(readme).to.contain("npm ci && npm run demo");
    expect(readme).to.contain("npm ci && npm test");
    expect(read(".ci/run")).to.contain("npm ci && npm test");
  });
});
