import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SCALAR_BUNDLE, SCALAR_COPY, SPEC_FILE } from "../lib/openapi/generate.js";
import { ARTIFACTS_DIR, closeBrowser, describeBrowser, launchBrowser, openPage, saveScreenshot, startAppServer, type RunningServer } from "./support/browser.js";

// The API reference at /docs, in headless Chromium: Scalar's bundle from our own origin renders
// openapi.json — every tag and a sample of operations — and nothing is requested from any other
// host (fonts, telemetry, proxy, registry); without JavaScript the page links to the JSON.

type Spec = { tags: { name: string }[]; paths: Record<string, Record<string, { summary: string; tags: string[] }>> };

it("public/docs/scalar.js is the installed @scalar/api-reference bundle (npm run openapi copies it)", () => {
  expect(readFileSync(SCALAR_COPY).equals(readFileSync(SCALAR_BUNDLE))).toBe(true);
});

describeBrowser("the API reference page (/docs) in headless Chromium", () => {
  let browser: Browser | undefined;
  let server: RunningServer;
  const spec = JSON.parse(readFileSync(SPEC_FILE, "utf8")) as Spec;
  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startAppServer();
  }, 60_000);
  afterAll(async () => {
    await closeBrowser(browser);
    await server?.close();
  });

  it("renders every tag and a sample of operations from /api/openapi.json, with no request leaving the origin", async () => {
    const { page, requests, close } = await openPage(browser!);
    const cspViolations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    try {
      // Generous timeouts: a 4 MB bundle parsed on a loaded two-core CI machine.
      const response = await page.goto(`${server.origin}/docs`, { timeout: 120_000 });
      expect(response?.status()).toBe(200);
      // Every tag's section, by its heading text.
      for (const tag of spec.tags) {
        await page.getByText(tag.name, { exact: true }).first().waitFor({ state: "attached", timeout: 60_000 });
      }
      // A sample of operations across domains: opening its tag (Scalar renders sections lazily)
      // shows each one's summary.
      const operations = Object.values(spec.paths).flatMap((item) => Object.values(item));
      const sample = operations.filter((_, i) => i % Math.ceil(operations.length / 8) === 0);
      expect(sample.length).toBeGreaterThanOrEqual(8);
      for (const op of sample) {
        // A tag's heading toggles its section: click it only while the operation is not shown yet (two
        // sampled operations can share a tag, and a second click would close it again).
        const summary = page.getByText(op.summary, { exact: true }).first();
        if ((await summary.count()) === 0) await page.getByText(op.tags[0]!, { exact: true }).first().click();
        await summary.waitFor({ state: "attached", timeout: 30_000 });
      }
      expect(requests.urls).toContain(`${server.origin}/api/openapi.json`);
      expect(requests.urls).toContain(`${server.origin}/docs/scalar.js`);
      expect(requests.offOrigin(server.origin)).toEqual([]);
      expect(cspViolations).toEqual([]);
      // The viewport, not the full page: the whole reference is tens of thousands of pixels tall and
      // a full-page capture of it outlasts the screenshot timeout on a loaded machine.
      await page.getByText(spec.tags[0]!.name, { exact: true }).first().click();
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      const shot = join(ARTIFACTS_DIR, "api-reference.png");
      await page.screenshot({ path: shot });
      expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await close();
    }
  }, 300_000);

  it("without JavaScript, links to the OpenAPI document", async () => {
    const { page, requests, close } = await openPage(browser!, { javaScriptEnabled: false });
    try {
      await page.goto(`${server.origin}/docs`, { timeout: 60_000 });
      const link = page.locator('a[href="/api/openapi.json"]');
      await expect(link.isVisible()).resolves.toBe(true);
      await saveScreenshot(page, "api-reference-no-javascript");
      await link.click();
      await page.waitForLoadState();
      expect(JSON.parse((await page.locator("body").textContent()) ?? "")).toMatchObject({ openapi: "3.1.0" });
      expect(requests.offOrigin(server.origin)).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);
});
