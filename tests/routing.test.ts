import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createLocalApp } from "../lib/dev/app.js";
import { discoverRoutes } from "../lib/dev/routes.js";
import { setLogSink } from "../lib/platform/log.js";

const FIXTURE_API = fileURLToPath(new URL("./fixtures/api", import.meta.url));
const fixture = createLocalApp(FIXTURE_API);
const get = async (path: string, init: RequestInit = {}) => {
  const response = await fixture.fetch(new Request(`http://localhost${path}`, init));
  return { response, body: response.status === 204 ? undefined : await response.json() };
};

describe("local runtime follows Vercel's file routing", () => {
  it("maps files to patterns: index names its folder, _ files and folders are skipped", () => {
    expect(discoverRoutes(FIXTURE_API).map((r) => r.pattern)).toEqual([
      "/api",
      "/api/boom",
      "/api/things/special",
      "/api/catch/[...slug]",
      "/api/things/[id]",
      "/api/things/[id]/parts",
    ]);
  });

  it("prefers static segments over dynamic ones and decodes params", async () => {
    expect((await get("/api/things/special")).body).toEqual({ at: "static" });
    expect((await get("/api/things/a%20b")).body).toEqual({ at: "dynamic", params: { id: "a b" } });
    expect((await get("/api/things/x/parts")).body).toEqual({ at: "nested", params: { id: "x" } });
    expect((await get("/api")).body).toEqual({ at: "index" });
    expect((await get("/api/things/x/")).body).toEqual({ at: "dynamic", params: { id: "x" } });
  });

  it("treats [...slug] as one segment, as Vercel does outside Next.js", async () => {
    expect((await get("/api/catch/a")).body).toEqual({ at: "one-segment", params: { slug: "a" } });
    expect((await get("/api/catch/a/b")).response.status).toBe(404);
  });

  it("does not serve underscore files, and 404s unknown paths in the error shape", async () => {
    for (const path of ["/api/_skipped", "/api/_private/helper", "/api/nothing"]) {
      const { response, body } = await get(path);
      expect(response.status, path).toBe(404);
      expect(body.error.code).toBe("not_found");
    }
  });

  it("answers 405 with Allow for methods a file does not export", async () => {
    const { response, body } = await get("/api/things/x", { method: "PUT" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, DELETE");
    expect(body.error.code).toBe("method_not_allowed");
  });

  it("turns an unexpected error into a generic 500 with a request id, logging the details", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const { response, body } = await get("/api/boom", { headers: { "x-request-id": "req-123" } });
      expect(response.status).toBe(500);
      expect(body).toEqual({ error: { code: "internal", message: "Something went wrong on our side.", requestId: "req-123" } });
      expect(JSON.stringify(body)).not.toContain("hunter2");
      const logged = lines.map((l) => JSON.parse(l));
      expect(logged.find((l) => l.msg === "unhandled error")).toMatchObject({ level: "error", requestId: "req-123", path: "/api/boom" });
      expect(logged.find((l) => l.msg === "request")).toMatchObject({ requestId: "req-123", status: 500, method: "GET" });
    } finally {
      setLogSink(undefined);
    }
  });

  it("tracks waitUntil work so callers can settle it", async () => {
    expect((await get("/api/boom", { method: "POST" })).body).toEqual({ queued: true });
    await fixture.settle();
    expect((await get("/api/boom", { method: "PUT" })).body).toEqual({ later: ["done"] });
  });

  it("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
    expect((await get("/api", { headers: { "x-request-id": "abc-123" } })).response.headers.get("x-request-id")).toBe("abc-123");
    const replaced = (await get("/api", { headers: { "x-request-id": "bad id\twith spaces" } })).response.headers.get("x-request-id");
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("waitUntil on Vercel", () => {
  it("hands background work to the platform's request context", async () => {
    const key = Symbol.for("@vercel/request-context");
    const handed: Promise<unknown>[] = [];
    (globalThis as Record<symbol, unknown>)[key] = { get: () => ({ waitUntil: (p: Promise<unknown>) => handed.push(p) }) };
    try {
      await get("/api/boom", { method: "POST" });
      expect(handed).toHaveLength(1);
      await handed[0];
    } finally {
      delete (globalThis as Record<symbol, unknown>)[key];
    }
  });
});

describe("local runtime serves public/ as Vercel serves the static output", () => {
  const raw = (path: string, method = "GET") => fixture.fetch(new Request(`http://localhost${path}`, { method }));

  it("serves a file at its path and a directory's index.html", async () => {
    for (const path of ["/", "/index.html"]) {
      const response = await raw(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await response.text()).toContain("<html");
    }
    const head = await raw("/index.html", "HEAD");
    expect([head.status, await head.text()]).toEqual([200, ""]);
  });

  it("never leaves public/, never answers for /api/, never for writes", async () => {
    for (const path of ["/%2e%2e/package.json", "/..%2fpackage.json", "/%2e%2e%2f.git/config", "/nope.html", "/index.html%00", "/%E0%A4%A"]) {
      expect((await raw(path)).status, path).toBe(404);
    }
    expect((await raw("/api/index.html")).headers.get("content-type")).toContain("application/json");
    expect((await raw("/index.html", "POST")).status).toBe(404);
  });
});
