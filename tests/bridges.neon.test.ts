import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm/sql/sql";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { atomic, query } from "../db/atomic.js";
import { createDb, installDb, type DbHandle } from "../db/client.js";
import { classifyDbError } from "../db/errors.js";
import { forgetPrincipals } from "../lib/auth/session.js";
import { setLogSink } from "../lib/platform/log.js";
import { app, call, errorOf } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import type { NeonFault } from "./support/neon-bridge.js";
import { withTarget } from "./support/suite.js";
import { bridgeApplicationName, dbTargets, TIMEOUT_MS } from "./support/targets.js";

// The SQL-over-HTTP bridge must fail the way Neon fails, or CI proves nothing about production:
// client timeouts, Neon's own (non-Postgres) errors, its size limits and its connection reset.
const neonTargets = dbTargets().filter((t) => t.startsWith("neon-http"));

describe.each(neonTargets)("Neon fidelity on %s", (name) => {
  const ctx = withTarget(name);
  const bridge = () => ctx.target.bridge!;
  const url = name === "neon-http→postgres" ? process.env.TEST_DATABASE_URL : undefined;

  /**
   * neon-http's fetch settings (endpoint, our timeout) are process-wide in @neondatabase/serverless
   * (neonConfig), so a test wanting a shorter client timeout creates a handle onto the same bridge;
   * afterEach puts the suite's timeout back the same way.
   */
  async function clientTimeout(timeoutMs: number): Promise<DbHandle> {
    const handle = await createDb({ neonFetchEndpoint: bridge().endpoint, url, timeoutMs });
    installDb(handle);
    return handle;
  }

  afterEach(async () => {
    await app().settle();
    bridge().reset();
    await clientTimeout(TIMEOUT_MS);
    installDb(ctx.target.handle);
    setLogSink(undefined);
  });

  const ordersOf = async (t: TestTenant) => Number((await query(ctx.db, sql`SELECT count(*) AS n FROM orders WHERE tenant_id = ${t.id}`))[0]!.n);
  const stockOf = async (id: string) => Number((await query(ctx.db, sql`SELECT stock FROM items WHERE id = ${id}`))[0]!.stock);

  it("never commits a write whose client timed out, and the app answers 503", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 5 });
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token }); // membership cached: the write is the only trip
    await clientTimeout(300);
    // The batch runs every statement, then waits 1.2 s before COMMIT; the client gives up at 0.3 s.
    bridge().controls.stallMs = 1200;
    const order = await call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 2 }] } });
    expect(order.status).toBe(503);
    expect(errorOf(order).code).toBe("unavailable");
    expect(order.headers.get("retry-after")).toBe("5");
    bridge().controls.stallMs = 0;
    await clientTimeout(TIMEOUT_MS);
    await sleep(1500); // past the stall: had the bridge not noticed the client leave, COMMIT would have run by now
    expect(await ordersOf(t)).toBe(0);
    expect(await stockOf(item)).toBe(5);
  });

  // Real Postgres only: PGlite runs one statement at a time, so nothing there can wait on a lock.
  if (name === "neon-http→postgres") it("cancels the running statement when the client leaves (a write blocked on a lock)", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 5 });
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token });
    await clientTimeout(300);
    const locker = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM items WHERE id = $1 FOR UPDATE", [item]);
      const order = await call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 2 }] } });
      expect(order.status).toBe(503);
      // The bridge's statement was waiting for the row lock; after the client left it must be gone
      // (cancelled), not still queued to run when the lock is released.
      const waiting = async () => Number((await locker.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [bridgeApplicationName()])).rows[0].n);
      await expect.poll(waiting, { timeout: 3000, interval: 50 }).toBe(0);
      await locker.query("COMMIT");
      await sleep(300);
      expect(await ordersOf(t)).toBe(0);
      expect(await stockOf(item)).toBe(5);
    } finally {
      await locker.end();
    }
  });

  const faults: [NeonFault, number][] = [["compute-unreachable", 500], ["quota-exceeded", 500], ["auth-failed", 400]];
  for (const [fault, status] of faults) {
    it(`answers 503 unavailable with Retry-After when Neon fails with ${fault} (HTTP ${status}, empty code)`, async () => {
      const t = await ctx.tenant();
      const lines: Record<string, unknown>[] = [];
      setLogSink((line) => void lines.push(JSON.parse(line)));
      forgetPrincipals();
      bridge().controls.fault = fault;
      // The client's own error, as production sees it: classified as Neon's, not a Postgres error.
      const raw = await ctx.db.execute(sql`SELECT 1`).catch((e: unknown) => e);
      expect(classifyDbError(raw)).toMatchObject({ kind: "unavailable", neon: { status } });
      const result = await call("GET", "/api/items", { token: t.users.staff.token });
      expect(result.status).toBe(503);
      expect(errorOf(result).code).toBe("unavailable");
      expect(result.headers.get("retry-after")).toBe("5");
      expect(lines.some((l) => l.msg === "neon service failure" && l.neonStatus === status)).toBe(true);
      bridge().controls.fault = "none";
      expect((await call("GET", "/api/items", { token: t.users.staff.token })).status).toBe(200);
    });
  }

  it("refuses a reply over the size limit with 507 and rolls the batch back; the app names the limit", async () => {
    const t = await ctx.tenant();
    bridge().controls.maxResponseBytes = 20_000;
    const db = ctx.db;
    const error = await db.execute(sql`SELECT repeat('x', 30000) AS big`).catch((e: unknown) => e);
    expect(classifyDbError(error)).toMatchObject({ kind: "too_large", neon: { status: 507, limitBytes: 20_000 } });
    // Statement 1 inserts, statement 2 answers too much: nothing of the batch may stay.
    const item = crypto.randomUUID();
    const batch = await atomic(db, [
      sql`INSERT INTO items (id, tenant_id, name, price_cents, stock) VALUES (${item}, ${t.id}, 'Rolled back', 100, 1)`,
      sql`SELECT repeat('y', 30000) AS big`,
    ]).catch((e: unknown) => e);
    expect(classifyDbError(batch)?.kind).toBe("too_large");
    expect(await query(ctx.db, sql`SELECT id FROM items WHERE id = ${item}`)).toHaveLength(0);
    // Through the app: a page whose JSON passes the limit is a named 500, logged.
    const lines: Record<string, unknown>[] = [];
    setLogSink((line) => void lines.push(JSON.parse(line)));
    for (let i = 0; i < 40; i++) await insertItem(ctx.db, t.id, { name: `Long name ${"z".repeat(480)} ${i}` });
    const page = await call("GET", "/api/items?limit=50", { token: t.users.staff.token });
    expect(page.status).toBe(500);
    expect(errorOf(page)).toMatchObject({ code: "internal", message: expect.stringContaining("20000 bytes") });
    expect(lines.some((l) => l.msg === "neon service failure" && l.kind === "too_large" && l.neonStatus === 507)).toBe(true);
  });

  it("refuses a request over the size limit with 413", async () => {
    bridge().controls.maxRequestBytes = 20_000;
    const error = await ctx.db.execute(sql`SELECT length(${"x".repeat(30_000)}::text) AS n`).catch((e: unknown) => e);
    expect(classifyDbError(error)).toMatchObject({ kind: "too_large", neon: { status: 413, limitBytes: 20_000 } });
    expect(await query(ctx.db, sql`SELECT length(${"x".repeat(10_000)}::text) AS n`)).toEqual([{ n: 10_000 }]);
  });

  it("resets session state before a pooled connection serves the next request", async () => {
    const db = ctx.db;
    const backend = async () => Number((await query(db, sql`SELECT pg_backend_pid() AS pid`))[0]!.pid);
    const first = await backend();
    await db.execute(sql`SELECT set_config('tally.probe', 'leaked', false)`);
    await db.execute(sql`CREATE TEMP TABLE tally_probe (x int)`);
    await db.execute(sql`PREPARE tally_probe_stmt AS SELECT 1`);
    const [after] = (await query(db, sql`SELECT current_setting('tally.probe', true) AS probe, to_regclass('pg_temp.tally_probe')::text AS temp,
      (SELECT count(*) FROM pg_prepared_statements WHERE name = 'tally_probe_stmt') AS prepared`)) as { probe: string | null; temp: string | null; prepared: number | string }[];
    // The pool hands back the most recently released connection, so this ran in the same session;
    // were it another, the test would prove nothing.
    expect(await backend()).toBe(first);
    expect(after!.probe || null).toBeNull();
    expect(after!.temp).toBeNull();
    expect(Number(after!.prepared)).toBe(0);
  });
});
