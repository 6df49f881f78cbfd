import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { describe } from "vitest";
import { serveLocalApp } from "../../lib/dev/app.js";
import { app } from "./client.js";

// Headless Chromium for the tests that drive public/ pages. playwright-core drives Debian's
// `chromium` package (.ci/install-chromium puts it in place); Playwright's own browser downloads come
// from a host CI cannot reach, so they are never used. Locally a machine without chromium skips these
// suites; CI (CI=true) must not skip, so there a missing binary fails the launch loudly.

/** The system Chromium (CHROMIUM_PATH overrides). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Where screenshots (and other browser artifacts) are written; CI keeps .data/. */
export const ARTIFACTS_DIR = ".data/artifacts";

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);

/** `describe`, skipped when Chromium is absent, unless CI=true (where a missing browser must fail). */
export const describeBrowser: typeof describe = describe.skipIf(!chromiumAvailable() && !process.env.CI) as typeof describe;

/** Launches headless Chromium; throws naming the install script when the binary is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run .ci/install-chromium (Debian's chromium package)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Containers run tests as root, where Chromium's sandbox cannot start; /dev/shm is small there.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** Closes a browser from launchBrowser(); safe on undefined (a beforeAll that failed). */
export async function closeBrowser(browser: Browser | undefined): Promise<void> {
  await browser?.close().catch(() => {});
}

export interface RequestLog {
  /** Every URL the context requested (documents, scripts, fetches, EventSource, images…) and every WebSocket it opened, in order. */
  readonly urls: string[];
  /** The recorded URLs whose origin is not `origin` (data:, blob: and about: URLs never leave the page and are not counted). */
  offOrigin(origin: string): string[];
}

/** Records every request made by any page of `context` (including workers and popups) from now on. */
export function recordRequests(context: BrowserContext): RequestLog {
  const urls: string[] = [];
  context.on("request", (request) => void urls.push(request.url()));
  context.on("page", (page) => page.on("websocket", (socket) => void urls.push(socket.url())));
  for (const page of context.pages()) page.on("websocket", (socket) => void urls.push(socket.url()));
  return {
    urls,
    offOrigin(origin: string) {
      return urls.filter((url) => {
        if (/^(data|blob|about):/i.test(url)) return false;
        try {
          return new URL(url).origin !== new URL(origin).origin;
        } catch {
          return true;
        }
      });
    },
  };
}

export interface BrowserPage {
  context: BrowserContext;
  page: Page;
  requests: RequestLog;
  close(): Promise<void>;
}

/** A fresh context (no shared storage) and page, its requests recorded from the first one. */
export async function openPage(browser: Browser, options: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {}): Promise<BrowserPage> {
  const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, viewport: options.viewport ?? { width: 1280, height: 800 } });
  const requests = recordRequests(context);
  const page = await context.newPage();
  return { context, page, requests, close: () => context.close().catch(() => {}) };
}

/** Saves a full-page PNG as `.data/artifacts/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, "-")}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves the in-process app (api/ and public/, as `npm run dev` does) on a free loopback port, so a
 * browser can load pages and call the API from one origin. Uses whatever database and Redis the
 * test installed (withTarget, installRedis).
 */
export async function startAppServer(): Promise<RunningServer> {
  const server = serveLocalApp(app(), { port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Event streams keep connections open: drop them rather than wait for their deadline.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
