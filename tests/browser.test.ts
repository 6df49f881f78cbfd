import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { existsSync, statSync } from "node:fs";
import { closeBrowser, describeBrowser, launchBrowser, openPage, saveScreenshot, startAppServer, type RunningServer } from "./support/browser.js";

// The headless-browser machinery itself (tests/support/browser.ts), on the static landing page: the
// page-driving suites (board, docs) rely on it to see every request and to keep screenshots.
describeBrowser("headless Chromium against the local app", () => {
  let browser: Browser | undefined;
  let server: RunningServer;
  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startAppServer();
  });
  afterAll(async () => {
    await closeBrowser(browser);
    await server?.close();
  });

  it("loads public/ from the app's origin, records every request, and saves a screenshot", async () => {
    const { page, requests, close } = await openPage(browser!);
    try {
      const response = await page.goto(`${server.origin}/`);
      expect(response?.status()).toBe(200);
      await expect(page.locator("h1").textContent()).resolves.toBe("Tally");
      expect(requests.urls).toContain(`${server.origin}/`);
      expect(requests.offOrigin(server.origin)).toEqual([]);

      // A request to any other origin is caught, even one that fails to connect.
      await page.evaluate(() => fetch("http://127.0.0.2:9/elsewhere").catch(() => undefined));
      expect(requests.offOrigin(server.origin)).toEqual(["http://127.0.0.2:9/elsewhere"]);

      const shot = await saveScreenshot(page, "landing page");
      expect(shot).toBe(".data/artifacts/landing-page.png");
      expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(1000);
    } finally {
      await close();
    }
  });
});
