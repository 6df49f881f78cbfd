import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { sql } from "drizzle-orm/sql/sql";
import * as v from "valibot";
import { parse } from "csv-parse/sync";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import type { Db } from "../db/client.js";
import { totalRoundTrips } from "../db/round-trips.js";
import { EXPORT_PAGE_ITEMS } from "../lib/items/export.js";
import { ItemExportLineOut } from "../lib/items/schemas.js";
import { OrderOut } from "../lib/orders/schemas.js";
import { MovementExportLineOut } from "../lib/stock/schemas.js";
import { app, call, errorOf } from "./support/client.js";
import { insertItem, insertSupplier, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// The streamed exports (issue 15): CSV (RFC 4180, formula-safe text, numbers as numbers) or JSON
// Lines, keyset pages from the database, a file name, admin only; 100,000 orders with flat memory.

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** N orders (numbers 1..N, ids in number order, status cycling) with one line each, in one statement. */
async function seedOrders(db: Db, tenant: TestTenant, n: number, notes = 0) {
  const item = await insertItem(db, tenant.id, { name: "Export item" });
  await query(
    db,
    sql`WITH placed AS (
          INSERT INTO orders (id, tenant_id, number, channel, status, total_cents, units, notes, created_at, updated_at)
          SELECT (lpad(to_hex(1735689600000 + n), 12, '0') || '7' || substr(md5(${tenant.id} || n), 1, 3) || '8' || substr(md5(${tenant.id} || n), 4, 15))::uuid,
                 ${tenant.id}, n, 'web', CASE WHEN n % 2 = 0 THEN 'completed' ELSE 'pending' END, 1250, 1, ${notes ? sql`repeat('n', ${notes})` : null},
                 to_timestamp((1735689600000 + n) / 1000.0), to_timestamp((1735689600000 + n) / 1000.0)
          FROM generate_series(1, ${n}::int) AS n
          RETURNING id)
        INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, unit_price_cents, quantity, position)
        SELECT gen_random_uuid(), ${tenant.id}, p.id, ${item}, 'Export item', 1250, 1, 0 FROM placed p`,
  );
}

const csvRows = (text: string) => parse(text, { bom: true }) as string[][];
const jsonLines = (text: string) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
const today = () => new Date().toISOString().slice(0, 10);

describe.each(dbTargets())("streamed exports on %s", (name) => {
  const ctx = withTarget(name);
  afterEach(() => ctx.target.bridge?.reset());
  const shop = async () => {
    const t = await ctx.tenant();
    expect((await call("GET", "/api/items", { token: t.users.admin.token })).status).toBe(200);
    return t;
  };

  it("items: CSV with the import's columns first, formula-looking text prefixed, numbers and booleans plain, RFC 4180 quoting; JSON Lines per item", async () => {
    const t = await shop();
    const admin = t.users.admin.token;
    const tea = await insertItem(ctx.db, t.id, { name: "Tea, \"green\"", sku: "T-1", stock: 5, priceCents: 450 });
    await insertItem(ctx.db, t.id, { name: "=HYPERLINK(\"http://x\")", sku: "-5", stock: 0 });
    await insertItem(ctx.db, t.id, { name: "Gone", sku: "G-1", deleted: true });
    const supplier = await insertSupplier(ctx.db, t.id);
    await call("PUT", `/api/items/${tea}/suppliers/${supplier}`, { token: admin, body: { unitCostCents: 120, supplierSku: "@sup", preferred: true } });

    const r = await call("GET", "/api/items/export", { token: admin });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="items-${today()}.csv"`);
    expect(r.dbTrips).toBe(1);
    expect(r.text).toContain('"Tea, ""green"""'); // quotes doubled, the cell quoted
    expect(r.text.endsWith("\r\n")).toBe(true);
    const [header, ...rows] = csvRows(r.text);
    expect(header!.slice(0, 10)).toEqual(["name", "sku", "priceCents", "stock", "lowStockThreshold", "category", "description", "published", "supplierSku", "unitCostCents"]);
    expect(rows).toHaveLength(2); // the deleted item is not exported
    expect(rows[0]!.slice(0, 10)).toEqual(['Tea, "green"', "T-1", "450", "5", "10", "", "", "false", "'@sup", "120"]);
    expect(rows[1]!.slice(0, 4)).toEqual(["'=HYPERLINK(\"http://x\")", "'-5", "500", "0"]);

    const j = await call("GET", "/api/items/export?format=jsonl", { token: admin });
    expect(j.headers.get("content-type")).toBe("application/x-ndjson");
    expect(j.headers.get("content-disposition")).toBe(`attachment; filename="items-${today()}.jsonl"`);
    const lines = jsonLines(j.text);
    expect(lines.map((l) => v.parse(ItemExportLineOut, l).name)).toEqual(['Tea, "green"', '=HYPERLINK("http://x")']); // JSON is not a spreadsheet: no prefix
    expect(lines[0]).toMatchObject({ supplierSku: "@sup", unitCostCents: 120 });

    expect((await call("GET", "/api/items/export", { token: t.users.staff.token })).status).toBe(403);
    const bad = await call("GET", "/api/items/export?format=xlsx", { token: admin });
    expect([bad.status, errorOf(bad).details?.[0]?.path]).toEqual([400, "format"]);
  });

  it("items: every item once across keyset pages, one round trip a page; an export re-imports unchanged", async () => {
    const t = await shop();
    const n = EXPORT_PAGE_ITEMS + 7;
    await query(
      ctx.db,
      sql`INSERT INTO items (id, tenant_id, name, sku, price_cents, stock, created_at)
          SELECT gen_random_uuid(), ${t.id}, 'Bulk ' || g, 'B-' || g, g, g % 5, now() - interval '1 minute' * (g % 3) FROM generate_series(1, ${n}::int) g`,
    );
    const before = totalRoundTrips();
    const r = await call("GET", "/api/items/export", { token: t.users.admin.token });
    expect(totalRoundTrips() - before).toBe(2);
    const [, ...rows] = csvRows(r.text);
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((row) => row[1])).size).toBe(n);

    // The first ten columns are the import's: cut the rest and import in upsert mode — nothing changes.
    const file = csvRows(r.text).map((row) => row.slice(0, 10).map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(",")).join("\n");
    const back = await call("POST", "/api/items/import?mode=upsert", { token: t.users.admin.token, rawBody: file, headers: { "content-type": "text/csv" } });
    expect(back.status, back.text.slice(0, 300)).toBe(200);
    expect(back.json).toMatchObject({ rows: n, created: 0, updated: 0, unchanged: n });
  });

  it("orders: the list's filters, newest first, one CSV row per order with its lines summarised; JSON Lines are orders", async () => {
    const t = await shop();
    await seedOrders(ctx.db, t, 30);
    const admin = t.users.admin.token;
    const r = await call("GET", "/api/orders/export?status=pending", { token: admin });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="orders-${today()}.csv"`);
    const [header, ...rows] = csvRows(r.text);
    const at = (c: string) => header!.indexOf(c);
    expect(rows.map((row) => Number(row[at("number")]))).toEqual(Array.from({ length: 15 }, (_, i) => 29 - 2 * i));
    expect(rows[0]![at("lines")]).toBe("1 × Export item");
    expect(rows[0]![at("totalCents")]).toBe("1250");

    const j = await call("GET", "/api/orders/export?format=jsonl&status=completed&channel=web", { token: admin });
    const orders = jsonLines(j.text).map((l) => v.parse(OrderOut, l));
    expect(orders.map((o) => o.number)).toEqual(Array.from({ length: 15 }, (_, i) => 30 - 2 * i));
    expect((await call("GET", "/api/orders/export?status=nope", { token: admin })).status).toBe(400);
    expect((await call("GET", "/api/orders/export", { token: t.users.staff.token })).status).toBe(403);
  });

  it("stock movements: the tenant's ledger oldest first, deltas as signed numbers, free text prefixed, filters by item and reason", async () => {
    const t = await shop();
    const admin = t.users.admin.token;
    const a = await insertItem(ctx.db, t.id, { name: "Alpha", sku: "A-1", stock: 10 });
    const b = await insertItem(ctx.db, t.id, { name: "Beta", sku: "B-1", stock: 10 });
    expect((await call("POST", `/api/items/${a}/stock-adjustments`, { token: admin, body: { delta: -3, reason: "=broken" } })).status).toBe(201);
    expect((await call("POST", "/api/orders", { token: admin, body: { channel: "web", items: [{ itemId: b, quantity: 2 }] } })).status).toBe(201);
    const r = await call("GET", "/api/stock-movements/export", { token: admin });
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="stock-movements-${today()}.csv"`);
    const [header, ...rows] = csvRows(r.text);
    const at = (c: string) => header!.indexOf(c);
    expect(rows.map((row) => [row[at("itemName")], row[at("delta")], row[at("reason")], row[at("note")]])).toEqual([
      ["Alpha", "-3", "adjustment", "'=broken"],
      ["Beta", "-2", "order", ""],
    ]);
    expect(r.text).toContain(",-3,"); // a number, not prefixed

    const j = await call("GET", `/api/stock-movements/export?format=jsonl&itemId=${b}`, { token: admin });
    expect(jsonLines(j.text).map((l) => v.parse(MovementExportLineOut, l)).map((m) => [m.itemId, m.delta, m.reason])).toEqual([[b, -2, "order"]]);
    const byReason = await call("GET", "/api/stock-movements/export?format=jsonl&reason=adjustment", { token: admin });
    expect(jsonLines(byReason.text).map((m) => m.itemId)).toEqual([a]);
    expect((await call("GET", "/api/stock-movements/export", { token: t.users.staff.token })).status).toBe(403);
    // Another tenant's ledger is not in it.
    const other = await shop();
    expect(csvRows((await call("GET", "/api/stock-movements/export", { token: other.users.admin.token })).text)).toHaveLength(1);
  });

  if (name === "neon-http→pglite" || name === "neon-http→postgres") {
    it("a failure after the first page cuts the CSV short with an #ERROR line", async () => {
      const t = await shop();
      await query(ctx.db, sql`INSERT INTO items (id, tenant_id, name, sku, price_cents, stock) SELECT gen_random_uuid(), ${t.id}, 'F ' || g, 'F-' || g, 1, 1 FROM generate_series(1, ${EXPORT_PAGE_ITEMS + 5}::int) g`);
      ctx.target.bridge!.controls.faultAfter = { requests: 1, fault: "compute-unreachable" };
      const r = await call("GET", "/api/items/export", { token: t.users.admin.token });
      expect(r.status).toBe(200);
      // A strict CSV reader refuses the cut file (the marker is one cell in a file of 18 columns)...
      expect(() => csvRows(r.text)).toThrow(/Invalid Record Length/);
      // ...and a lenient one sees the rows sent, then the reason.
      const rows = parse(r.text, { relax_column_count: true }) as string[][];
      expect(rows).toHaveLength(1 + EXPORT_PAGE_ITEMS + 1);
      expect(rows.at(-1)![0]).toMatch(new RegExp(`^#ERROR unavailable: .*incomplete \\(${EXPORT_PAGE_ITEMS} rows sent\\)`));
    });
  }

  // Real Postgres: 100,000 orders (~40 MB of CSV). Heap while streaming must not follow the row
  // count: compared with an export of 10,000 (the pattern of tests/orders.export.test.ts).
  if (name === "node-postgres") {
    it("exports 100,000 orders with memory that does not grow with the tenant", { timeout: 240_000 }, async () => {
      const small = await shop();
      const large = await shop();
      await seedOrders(ctx.db, small, 10_000, 200);
      await seedOrders(ctx.db, large, 100_000, 200);
      await query(ctx.db, sql`ANALYZE orders, order_lines`);
      const runs: Record<string, { rows: number; bytes: number; maxRetained: number; ms: number }> = {};
      for (const [label, t, n] of [["10k", small, 10_000], ["100k", large, 100_000]] as const) {
        gc();
        const base = process.memoryUsage().heapUsed;
        const started = performance.now();
        const response = await app().fetch(new Request("http://localhost/api/orders/export", { headers: { authorization: `Bearer ${t.users.admin.token}` } }));
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        let chunks = 0;
        let bytes = 0;
        let newlines = 0;
        let maxRetained = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks += 1;
          bytes += value.byteLength;
          for (const byte of value) if (byte === 10) newlines += 1;
          if (chunks % 8 === 1) {
            gc();
            maxRetained = Math.max(maxRetained, process.memoryUsage().heapUsed - base);
          }
        }
        runs[label] = { rows: newlines - 1, bytes, maxRetained, ms: performance.now() - started };
        expect(newlines - 1).toBe(n); // every order a line (no free text here holds a line break), the header aside
      }
      const [s, l] = [runs["10k"]!, runs["100k"]!];
      console.info(`orders/export on ${name}: 10k: ${(s.bytes / 1e6).toFixed(1)} MB, max retained ${(s.maxRetained / 1e6).toFixed(2)} MB; 100k: ${(l.bytes / 1e6).toFixed(1)} MB, max retained ${(l.maxRetained / 1e6).toFixed(2)} MB in ${Math.round(l.ms)} ms`);
      expect(l.bytes).toBeGreaterThan(30_000_000);
      // Ten times the orders must not mean ten times the memory, nor anything near the body.
      expect(l.maxRetained).toBeLessThan(2 * s.maxRetained + 4_000_000);
      expect(l.maxRetained).toBeLessThan(l.bytes / 8);
    });
  }
});
