/**
 * The explorer page (relayer/api/explorer/) in a real headless Chromium (Debian's, driven by
 * playwright-core), over a local network with running `distpos node` processes and no mock of
 * anything: a message is found by its dispatch transaction and seen delivered; a message whose
 * handler fails shows the decoded reason and the retry instruction. Screenshots go to
 * test-output/explorer/ (and to docs/screenshots/ with DISTPOS_UPDATE_SCREENSHOTS=1).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { ethers } from "ethers";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { runCli } from "../../deploy/nodeProcess.js";
import { startDevnet, type Devnet, type DevnetChain } from "../../deploy/devnet.js";
import { MessagingRecipient__factory } from "../../typechain-types/index.js";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const OUT = join(process.cwd(), "test-output", "explorer");
const DOCS = join(process.cwd(), "docs", "screenshots");

/** A fresh Chromium profile in a temp folder, removed by `close`. */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), "distpos-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.DISTPOS_UPDATE_SCREENSHOTS === "1" && !name.startsWith("failed-")) {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
  return file;
}

/** Dispatches a pure message from `from` to `recipient` on `to`; returns the transaction hash. */
async function dispatch(from: DevnetChain, to: DevnetChain, recipient: string, body: string) {
  const tx = await from.suite.outbox.dispatch(
    to.suite.code,
    ethers.zeroPadValue(recipient, 32),
    body,
  );
  const receipt = await tx.wait();
  return receipt!.hash;
}

describe("explorer page in headless Chromium", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let explorer: string;
  let apiOfA: string;
  let a: DevnetChain;
  let b: DevnetChain;
  const pageErrors: string[] = [];

  before(async function () {
    devnet = await startDevnet({ chains: ["chainA", "chainB"], reserve: 100n * 10n ** 18n });
    [a, b] = [devnet.chain("chainA"), devnet.chain("chainB")];
    apiOfA = devnet.nodes.find((n) => n.chain === "chainA")!.apiUrl;
    explorer = `${apiOfA}/explorer/`;
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
  });
  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      const file = await screenshot(
        page,
        `failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, "-")}`,
      );
      console.log(
        `explorer at failure (${file}):\n${await page.innerText("body")}\nnode logs: ${devnet.home}`,
      );
    }
    // Lookups answered 404 (an id that is a transaction hash) are logged by Chromium as such.
    const errors = pageErrors.filter((e) => !/^Failed to load resource: .* 404/.test(e));
    pageErrors.length = 0;
    expect(errors, "errors in the page").to.deep.equal([]);
  });
  after(async function () {
    await browser?.close();
    await devnet?.stop();
  });

  const search = async (q: string) => {
    await page.goto(explorer);
    await page.fill("#q", q);
    await page.click("button[type=submit]");
  };

  it("finds a message by its dispatch transaction and shows it delivered", async function () {
    const [deployer] = await b.connection.ethers.getSigners();
    const recipient = await new MessagingRecipient__factory(deployer).deploy();
    await recipient.waitForDeployment();
    const hash = await dispatch(a, b, await recipient.getAddress(), "0x68656c6c6f");

    await search(hash);
    // The page follows a pending message until it lands.
    await page.waitForSelector("[data-testid=status]:text-is('delivered')", { timeout: 120_000 });
    // ...and until the delivery's block is confirmed (its transaction and coverage known).
    await page.waitForSelector("[data-step=signers]", { timeout: 60_000 });
    const text = await page.innerText("#result");
    expect(text).to.contain("found by its dispatch transaction");
    expect(text).to.match(/Dispatched\s+on chain a0a1/);
    expect(text).to.match(/Checkpoint\s+snapshot of \d+ messages/);
    expect(text).to.match(/signed by 0x/);
    // Bundles (the default): this origin node's hand-over, to which of B's entry nodes.
    expect(text).to.match(
      /Hand-over\s+accepted by entry node http:\/\/127\.0\.0\.1:\d+, proven under the checkpoint of \d+ messages/,
    );
    // No value at risk; A's node has no RPC of B: B's entry node reports the batch's coverage.
    expect(text).to.match(
      /Signers and coverage\s+no attester stake charged[^\n]* \(as http:\/\/127\.0\.0\.1:\d+ reports it\)/,
    );
    expect(text).to.match(/Delivered\s+on chain b0b1/);
    expect(await recipient.handled()).to.equal(1n);
    // `distpos status --node` on the origin's node names the same hand-over, amounts in tokens.
    const full = (await page.innerText("#result")).match(/id\s+(0x[0-9a-f]{64})/)![1]!;
    const shown = await runCli(["status", full, "--node", apiOfA]);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout)
      .to.match(
        /hand-over accepted by http:\/\/127\.0\.0\.1:\d+ under the checkpoint of \d+ messages/,
      )
      .and.to.contain("amount 0 tokens");
    // The routes of the node's chain, both ways, with stake, headroom and backlog.
    await page.waitForSelector("[data-route='a0a1-b0b1']");
    const routes = await page.innerText("#routes");
    expect(routes).to.contain("a0a1 → b0b1");
    expect(routes).to.contain("b0b1 → a0a1");
    await screenshot(page, "explorer-delivered");
  });

  it("shows a failed handler's decoded reason and how to retry it", async function () {
    const [deployer] = await b.connection.ethers.getSigners();
    const recipient = await new MessagingRecipient__factory(deployer).deploy();
    await recipient.waitForDeployment();
    await (await recipient.setFailing(true)).wait();
    const hash = await dispatch(a, b, await recipient.getAddress(), "0x01");

    await search(hash);
    await page.waitForSelector("[data-testid=status]:text-is('failed')", { timeout: 120_000 });
    await page.waitForSelector("[data-testid=reason]", { timeout: 60_000 });
    expect(await page.innerText("[data-testid=failure-kind]")).to.equal("HandlerReverted");
    const selector = ethers.id("Refused(uint256)").slice(0, 10);
    expect(await page.innerText("[data-testid=reason]")).to.contain(`custom error ${selector}(42)`);
    const next = await page.innerText("[data-testid=next]");
    expect(next).to.contain(`Inbox.retry(message) at ${b.suite.addresses.inbox}`);
    expect(next).to.contain("on chain b0b1");
    await screenshot(page, "explorer-failed");

    // Found by its id too, and by the recipient's chain-qualified address.
    const id = (await page.innerText("[data-testid=message-id]")).trim();
    expect(id).to.match(/^0x[0-9a-f]{8}…/);
    await search(`b0b1x${(await recipient.getAddress()).slice(2)}`);
    await page.waitForSelector("#result h3:text-is('Received')");
    expect(await page.innerText("#result")).to.contain("a0a1 → b0b1");
  });
});
