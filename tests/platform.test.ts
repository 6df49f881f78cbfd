import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, installDb } from "../db/client.js";
import { forgetPrincipals } from "../lib/auth/session.js";
import { setLogSink } from "../lib/platform/log.js";
import { errorFields } from "../lib/platform/log-error.js";
import { query } from "../db/atomic.js";
import { sql } from "drizzle-orm/sql/sql";
import { ROUTES } from "./support/catalog.js";
import { app, call, errorOf } from "./support/client.js";
import { withTarget } from "./support/suite.js";

describe("HTTP conventions", () => {
  const ctx = withTarget("pglite");

  it("sends security headers, a request id and Server-Timing on every response", async () => {
    const t = await ctx.tenant();
    for (const result of [await call("GET", "/api/health"), await call("GET", "/api/items", { token: t.users.staff.token }), await call("GET", "/api/items")]) {
      expect(result.headers.get("x-content-type-options")).toBe("nosniff");
      expect(result.headers.get("x-frame-options")).toBe("DENY");
      expect(result.headers.get("referrer-policy")).toBe("no-referrer");
      expect(result.headers.get("x-request-id")).toBeTruthy();
      expect(result.headers.get("server-timing")).toMatch(/db;dur=[\d.]+;desc="trips=\d+", auth;dur=[\d.]+, total;dur=[\d.]+/);
    }
  });

  it("allows CORS only for listed origins, with wildcard preview deployments", async () => {
    const t = await ctx.tenant();
    const origin = async (value: string) =>
      (await call("GET", "/api/items", { token: t.users.staff.token, headers: { origin: value } })).headers.get("access-control-allow-origin");
    expect(await origin("https://app.tally.test")).toBe("https://app.tally.test");
    expect(await origin("https://tally-git-feature-x-tally.vercel.app")).toBe("https://tally-git-feature-x-tally.vercel.app");
    expect(await origin("https://evil.example.com")).toBeNull();
    expect(await origin("https://a.b-tally.vercel.app")).toBeNull();
    expect(await origin("https://x-tally.vercel.app.evil.com")).toBeNull();
    expect(await origin("http://app.tally.test")).toBeNull();

    const preflight = await call("OPTIONS", "/api/items/deleted", { headers: { origin: "https://pr-12-tally.vercel.app", "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://pr-12-tally.vercel.app");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Authorization");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Idempotency-Key");
    // A shop on another origin sends its session and an order's token as headers (no cookies cross-origin).
    for (const header of ["X-Session-ID", "X-Order-Token", "X-Read-Primary-Until", "If-Match"]) expect(preflight.headers.get("access-control-allow-headers")).toContain(header);
    const answered = await call("GET", "/api/health", { headers: { origin: "https://pr-12-tally.vercel.app" } });
    // ...and reads what the API answers in headers: a replay, a download's name, a new session.
    for (const header of ["Idempotent-Replayed", "Content-Disposition", "X-Session-ID", "ETag", "Retry-After"]) expect(answered.headers.get("access-control-expose-headers")).toContain(header);
    const refused = await call("OPTIONS", "/api/items", { headers: { origin: "https://evil.example.com" } });
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("stops reading a body past the limit even without Content-Length", async () => {
    const t = await ctx.tenant();
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        sent += 1;
        if (sent > 50) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await app().fetch(
      new Request("http://localhost/api/items", {
        method: "POST",
        headers: { authorization: `Bearer ${t.users.admin.token}`, "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(10);
  });

  it("logs one JSON line per request with its id, and never the token or the body", async () => {
    const t = await ctx.tenant();
    await call("GET", "/api/items", { token: t.users.admin.token });
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      await call("POST", "/api/items", { token: t.users.admin.token, body: { name: "Secret recipe", priceCents: 1 }, headers: { "x-request-id": "log-test-1" } });
      await call("GET", "/api/items", { token: "forged.token.value" });
    } finally {
      setLogSink(undefined);
    }
    const all = lines.join("\n");
    expect(all).not.toContain(t.users.admin.token);
    expect(all).not.toContain("forged.token.value");
    expect(all).not.toContain("Secret recipe");
    const request = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === "log-test-1");
    expect(request).toMatchObject({ level: "info", msg: "request", method: "POST", path: "/api/items", status: 201, dbTrips: 1, tenantId: t.id });
  });
});

describe("logs of database failures", () => {
  const ctx = withTarget("pglite");

  it("name the SQLSTATE, constraint and statement, never the SQL text or a bound value", async () => {
    const t = await ctx.tenant();
    const marker = `Zebulon-${crypto.randomUUID().slice(0, 8)}`;
    // A failure the API cannot map (internal error class XX) whose Postgres message and detail carry
    // the customer's name, as many real ones do ('Key (sku)=(...)', 'invalid input syntax: "..."').
    await query(ctx.db, sql.raw(`CREATE OR REPLACE FUNCTION test_refuse_customer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refusing %', NEW.name USING ERRCODE = 'XX001', DETAIL = 'name=' || NEW.name; END $$`));
    await query(ctx.db, sql.raw(`CREATE TRIGGER test_refuse_customer BEFORE INSERT ON customers FOR EACH ROW WHEN (NEW.tenant_id = '${t.id}') EXECUTE FUNCTION test_refuse_customer()`));
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const failed = await call("POST", "/api/customers", { token: t.users.staff.token, body: { name: marker, notes: `${marker} notes`, phone: "+44 20 7946 0999" }, headers: { "x-request-id": "log-db-1" } });
      expect(failed.status).toBe(500);
      expect(failed.text).not.toContain(marker);
    } finally {
      setLogSink(undefined);
      await query(ctx.db, sql.raw("DROP TRIGGER test_refuse_customer ON customers"));
    }
    const all = lines.join("\n");
    for (const leak of [marker, "7946 0999", "INSERT", "insert into", "params"]) expect(all, leak).not.toContain(leak);
    const unhandled = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
    expect(unhandled).toMatchObject({ level: "error", requestId: "log-db-1", method: "POST", path: "/api/customers", sqlState: "XX001" });
    expect(unhandled.statement).toMatch(/^lib\/customers\/repo\.ts:\w+/);
    expect(unhandled.sqlHash).toMatch(/^[0-9a-f]{12}$/);

    // A constraint violation keeps its constraint's name and loses its detail ("Key (slug)=(...)").
    const error = await query(ctx.db, sql`INSERT INTO tenants (id, slug, name) VALUES (${crypto.randomUUID()}, ${t.slug}, ${marker})`).then(() => undefined, (e: unknown) => e);
    const fields = errorFields(error);
    expect(fields).toMatchObject({ sqlState: "23505", constraint: expect.stringContaining("slug") });
    expect(JSON.stringify(fields)).not.toContain(marker);
    expect(JSON.stringify(fields)).not.toContain(t.slug);
  });
});

describe("database outage", () => {
  let hanging: ReturnType<typeof createServer>;
  let hangingUrl: string;
  beforeAll(async () => {
    // Accepts the connection and never answers: the worst kind of outage.
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/sql`;
  });
  afterAll(() => {
    hanging.closeAllConnections();
    hanging.close();
  });

  for (const [label, endpoint] of [["refused", () => "http://127.0.0.1:1/sql"], ["hanging", () => hangingUrl]] as const) {
    it(`answers 503 unavailable quickly when the database is ${label}`, async () => {
      installDb(await createDb({ neonFetchEndpoint: endpoint(), timeoutMs: 300 }));
      forgetPrincipals();
      const started = Date.now();
      const health = await call("GET", "/api/health");
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({ status: "down", database: { status: "down" }, error: { code: "unavailable" } });
      const items = await call("GET", "/api/items", { token: "x" });
      expect(items.status).toBe(401);
      const { tokenFor } = await import("./support/fixtures.js");
      const authed = await call("GET", "/api/items", { token: await tokenFor("someone") });
      expect(authed.status).toBe(503);
      expect(errorOf(authed).code).toBe("unavailable");
      expect(authed.headers.get("retry-after")).toBe("5");
      // Generous bound: proves a timeout exists (the default fetch would wait minutes), not speed.
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }
});

describe("route catalog", () => {
  it("lists every method every api/ file exports, and every file answers preflight", async () => {
    const exported: string[] = [];
    for (const route of app().routes) {
      const module = await import(route.file);
      expect(typeof module.OPTIONS, route.pattern).toBe("function");
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) if (typeof module[method] === "function") exported.push(`${method} ${route.pattern}`);
    }
    expect(exported.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.pattern}`).sort());
  });
});

describe("cold start guard", () => {
  // Node 24 (Vercel's runtime) re-parses drizzle-orm's 447-entry exports map for every file it loads
  // from the package through the ESM loader: pg-core alone took 230-440 ms, drizzle-orm/neon-http
  // 600-700 ms, against 30-140 ms on Node 20. So no function may import drizzle-orm, at load or lazily
  // on its first request: statements run through db/session.ts, and the `sql` template (16 files)
  // comes from drizzle's CommonJS build (db/drizzle-sql.cjs, typed by db/sql.ts). drizzle-kit,
  // migrations and lib/dev keep drizzle.
  it("no function reaches drizzle-orm except the sql template's CommonJS build through db/drizzle-sql.cjs", async () => {
    const { functionGraphs } = await import("./support/import-graph.js");
    const graphs = await functionGraphs(process.cwd());
    expect(graphs.length).toBe(app().routes.length);
    const offenders = graphs.flatMap((g) =>
      g.packages
        .filter((p) => p.specifier === "drizzle-orm" || p.specifier.startsWith("drizzle-orm/"))
        .filter((p) => !(p.specifier === "drizzle-orm/sql/sql" && p.kind === "require-call" && p.from === "db/drizzle-sql.cjs"))
        .map((p) => `${g.fn}: ${p.kind} "${p.specifier}" in ${p.from}`),
    );
    expect(offenders).toEqual([]);
    // db/schema.ts is drizzle's table definitions (pg-core): type-only imports of it are fine.
    expect(graphs.filter((g) => g.files.includes("db/schema.ts")).map((g) => g.fn)).toEqual([]);
    // The guard sees what it guards: every function with a database reaches the template that way.
    for (const g of graphs.filter((g) => g.files.includes("db/client.ts"))) {
      expect(g.packages, g.fn).toContainEqual({ specifier: "drizzle-orm/sql/sql", kind: "require-call", from: "db/drizzle-sql.cjs" });
    }
  });
});
