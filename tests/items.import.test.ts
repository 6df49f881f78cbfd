import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { MAX_IMPORT_BYTES, MAX_IMPORT_RECORDS, MAX_IMPORT_ROWS, MAX_REPORTED_PROBLEMS } from "../lib/items/import.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertLot, insertSupplier } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// POST /api/items/import (issue 15, bulk import): all or nothing, every problem with its line and
// column, one statement for the write, stock set through the ledger.

type Problem = { line: number; column: string | null; message: string };

describe.each(dbTargets())("item import on %s", (name) => {
  const ctx = withTarget(name);
  /** A write is a batch of two statements (lock, then act): one round trip, except node-postgres's BEGIN and COMMIT. */
  const writeTrips = () => (ctx.kind === "node-postgres" ? 4 : 1);
  /** A tenant whose admin has been seen once (membership cached), so round trips count the import alone. */
  const shop = async () => {
    const t = await ctx.tenant();
    expect((await call("GET", "/api/items", { token: t.users.admin.token })).status).toBe(200);
    return t;
  };
  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const itemsOf = async (tenantId: string) =>
    query(ctx.db, sql`SELECT name, sku, price_cents, stock, low_stock_threshold, category, description, published FROM items WHERE tenant_id = ${tenantId} AND deleted_at IS NULL ORDER BY sku`);
  const importCsv = (token: string, csv: string | Uint8Array, query = "", headers: Record<string, string> = {}) =>
    call("POST", `/api/items/import${query}`, { token, rawBody: csv, headers: { "content-type": "text/csv", ...headers } });
  const problems = (r: Awaited<ReturnType<typeof importCsv>>) => {
    expect(r.status).toBe(422);
    return errorOf(r).details as unknown as Problem[];
  };
  const nothingWritten = async (tenantId: string) => {
    expect(Number((await one(sql`SELECT count(*) AS n FROM items WHERE tenant_id = ${tenantId}`)).n)).toBe(0);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE tenant_id = ${tenantId}`)).n)).toBe(0);
    expect(Number((await one(sql`SELECT count(*) AS n FROM item_imports WHERE tenant_id = ${tenantId}`)).n)).toBe(0);
  };

  it("creates items from a spreadsheet's CSV (BOM, CRLF, quoted newlines, formula cells as text) in one round trip, stock through the ledger", async () => {
    const t = await shop();
    const csv =
      "\uFEFFName,SKU,priceCents,stock,lowStockThreshold,category,description,published\r\n" +
      'Tea,T-1,450,20,5,Drinks,"Loose leaf,\r\nsecond line",true\r\n' +
      "\"=HYPERLINK(\"\"x\"\")\",T-2,100,0,,drinks,,no\r\n" +
      ",,,,,,,\r\n" +
      "Cake,C-1,300,,,,,\r\n";
    const r = await importCsv(t.users.admin.token, csv);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ mode: "create", dryRun: false, rows: 3, created: 3, updated: 0, unchanged: 0 });
    expect(r.dbTrips).toBe(writeTrips());
    const items = await itemsOf(t.id);
    expect(items.map((i) => [i.sku, i.name, Number(i.price_cents), Number(i.stock), Number(i.low_stock_threshold), i.category, i.description, i.published])).toEqual([
      ["C-1", "Cake", 300, 0, 10, null, null, false],
      ["T-1", "Tea", 450, 20, 5, "Drinks", "Loose leaf,\r\nsecond line", true],
      ["T-2", '=HYPERLINK("x")', 100, 0, 10, "Drinks", null, false],
    ]);
    // One category for "Drinks" and "drinks", found or created like item writes do.
    expect(Number((await one(sql`SELECT count(*) AS n FROM categories WHERE tenant_id = ${t.id} AND lower(name) = 'drinks'`)).n)).toBe(1);
    // Stock set by the import is a ledger movement; an item created at 0 has none.
    const moves = await query(ctx.db, sql`SELECT m.delta, m.reason FROM stock_movements m WHERE m.tenant_id = ${t.id}`);
    expect(moves.map((m) => [Number(m.delta), m.reason])).toEqual([[20, "import"]]);
    expect(Number((await one(sql`SELECT count(*) AS n FROM events WHERE tenant_id = ${t.id} AND type = 'item.created'`)).n)).toBe(3);
  });

  it("upserts by SKU: updates what changed (stock as a ledger delta), leaves empty cells alone, counts unchanged rows", async () => {
    const t = await shop();
    const a = await insertItem(ctx.db, t.id, { name: "Apple", sku: "A-1", stock: 10, priceCents: 100 });
    await insertItem(ctx.db, t.id, { name: "Pear", sku: "P-1", stock: 4, priceCents: 200 });
    const supplier = await insertSupplier(ctx.db, t.id);
    expect((await call("PUT", `/api/items/${a}/suppliers/${supplier}`, { token: t.users.admin.token, body: { unitCostCents: 40, preferred: true } })).status).toBeLessThan(300);
    const csv = "sku,name,priceCents,stock,supplierSku,unitCostCents\n" + "a-1,,120,7,SUP-A,45\n" + "P-1,Pear,200,4,,\n" + "N-1,New,50,3,,\n";
    const dry = await importCsv(t.users.admin.token, csv, "?mode=upsert&dryRun=true");
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ id: null, dryRun: true, rows: 3, created: 1, updated: 1, unchanged: 1 });
    expect(dry.dbTrips).toBe(1);
    expect(Number((await one(sql`SELECT stock FROM items WHERE id = ${a}`)).stock)).toBe(10); // a dry run writes nothing

    const r = await importCsv(t.users.admin.token, csv, "?mode=upsert");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ dryRun: false, rows: 3, created: 1, updated: 1, unchanged: 1 });
    expect(r.dbTrips).toBe(writeTrips());
    const apple = await one(sql`SELECT name, sku, price_cents, stock, version FROM items WHERE id = ${a}`);
    expect([apple.name, apple.sku, Number(apple.price_cents), Number(apple.stock), Number(apple.version)]).toEqual(["Apple", "a-1", 120, 7, 2]);
    expect(Number((await one(sql`SELECT sum(delta) AS d FROM stock_movements WHERE item_id = ${a} AND reason = 'import'`)).d)).toBe(-3);
    const link = await one(sql`SELECT supplier_sku, unit_cost_cents FROM item_suppliers WHERE item_id = ${a}`);
    expect([link.supplier_sku, Number(link.unit_cost_cents)]).toEqual(["SUP-A", 45]);
    // Importing the same file again changes nothing.
    const again = await importCsv(t.users.admin.token, csv.replace("N-1,New,50,3", "N-1,New,50,3"), "?mode=upsert");
    expect(again.json).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
  });

  it("reports every bad row with its line and column, and writes nothing", async () => {
    const t = await shop();
    const csv = [
      "name,sku,priceCents,stock,published",
      "Good,G-1,100,1,true",
      'Bad price,G-2,12.50,1,true',
      '"Quoted\nname",G-3,-4,x,maybe',
      "Dup,g-1,100,1,false",
      ",G-5,,,",
    ].join("\n");
    const r = await importCsv(t.users.admin.token, csv);
    const list = problems(r);
    expect(list).toEqual([
      { line: 3, column: "priceCents", message: expect.stringContaining("whole number") },
      { line: 4, column: "priceCents", message: "must be at least 0" },
      { line: 4, column: "stock", message: expect.stringContaining("whole number") },
      { line: 4, column: "published", message: expect.stringContaining("true or false") },
      { line: 6, column: "sku", message: expect.stringMatching(/duplicate SKU: lines 2 and 6/) },
      { line: 7, column: "name", message: "is required to create an item" },
      { line: 7, column: "priceCents", message: "is required to create an item" },
    ]);
    expect(errorOf(r).message).toContain("7 problems");
    await nothingWritten(t.id);
  });

  it("refuses a file with an unbalanced quote whole, naming its line", async () => {
    const t = await shop();
    const r = await importCsv(t.users.admin.token, 'name,sku,priceCents\r\nA,A-1,1\r\n"B,B-1,2\r\nC,C-1,3\r\n');
    expect(problems(r)).toEqual([{ line: 3, column: null, message: expect.stringContaining("unbalanced quote") }]);
    await nothingWritten(t.id);
  });

  it("refuses unknown columns, NUL bytes and empty files with 422; bad media types 415; over the size limit 413", async () => {
    const t = await shop();
    const admin = t.users.admin.token;
    expect(problems(await importCsv(admin, "name,sku,priceCents,colour\nA,A-1,1,red\n"))).toEqual([{ line: 1, column: "colour", message: expect.stringContaining("unknown column") }]);
    expect(problems(await importCsv(admin, "name,sku,priceCents\nA\0,A-1,1\n"))).toEqual([{ line: 2, column: "name", message: expect.stringContaining("NUL") }]);
    expect(problems(await importCsv(admin, ""))).toEqual([{ line: 1, column: null, message: expect.stringContaining("empty") }]);
    expect(problems(await importCsv(admin, new Uint8Array([0x6e, 0x61, 0x6d, 0x65, 0x0a, 0xff, 0xfe])))).toEqual([{ line: 2, column: null, message: expect.stringContaining("UTF-8") }]);
    expect((await call("POST", "/api/items/import", { token: admin, rawBody: "a", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const big = await importCsv(admin, "x".repeat(MAX_IMPORT_BYTES + 1));
    expect([big.status, errorOf(big).code]).toEqual([413, "payload_too_large"]);
    expect((await importCsv(t.users.staff.token, "name,sku,priceCents\nA,A-1,1\n")).status).toBe(403);
    await nothingWritten(t.id);
  });

  it("checks against the database in the same statement: create-mode clashes, upsert rows that cannot create, supplier cells without a preferred supplier", async () => {
    const t = await shop();
    await insertItem(ctx.db, t.id, { sku: "OLD-1" });
    const created = await importCsv(t.users.admin.token, "name,sku,priceCents\nA,A-1,1\nOld,old-1,2\n");
    expect(problems(created)).toEqual([{ line: 3, column: "sku", message: expect.stringContaining("exists") }]);
    const upsert = await importCsv(t.users.admin.token, "sku,stock,unitCostCents\nOLD-1,5,\nNEW-1,5,\nOLD-1x,,10\n", "?mode=upsert");
    expect(problems(upsert)).toEqual([
      { line: 3, column: "name", message: expect.stringContaining("no item has this SKU") },
      { line: 3, column: "priceCents", message: expect.stringContaining("no item has this SKU") },
      { line: 4, column: "name", message: expect.stringContaining("no item has this SKU") },
      { line: 4, column: "priceCents", message: expect.stringContaining("no item has this SKU") },
      { line: 4, column: "unitCostCents", message: expect.stringContaining("preferred supplier") },
    ]);
    expect(upsert.dbTrips).toBe(writeTrips());
    // The dry run reports the same problems.
    expect(problems(await importCsv(t.users.admin.token, "sku,stock,unitCostCents\nOLD-1,5,\nNEW-1,5,\nOLD-1x,,10\n", "?mode=upsert&dryRun=true")).length).toBe(5);
    expect(Number((await one(sql`SELECT count(*) AS n FROM items WHERE tenant_id = ${t.id}`)).n)).toBe(1);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE tenant_id = ${t.id}`)).n)).toBe(0);
  });

  it("never sets stock below the units an item holds in lots: 422 on that row's stock, nothing written", async () => {
    const t = await shop();
    const itemId = await insertItem(ctx.db, t.id, { sku: "LOT-1", stock: 2 });
    await insertLot(ctx.db, t.id, itemId, { code: "L", expiresOn: null, quantity: 6 });
    const refused = await importCsv(t.users.admin.token, "sku,stock\nLOT-1,5\n", "?mode=upsert");
    expect(problems(refused)).toEqual([{ line: 2, column: "stock", message: expect.stringContaining("6 units this item holds in lots") }]);
    expect(Number((await one(sql`SELECT stock FROM items WHERE id = ${itemId}`)).stock)).toBe(8);
    const fine = await importCsv(t.users.admin.token, "sku,stock\nLOT-1,6\n", "?mode=upsert");
    expect(fine.status).toBe(200);
    expect((await one(sql`SELECT stock, lot_stock FROM items WHERE id = ${itemId}`))).toMatchObject({ stock: 6, lot_stock: 6 });
  });

  it("takes a JSON array of rows; line is the row's position", async () => {
    const t = await shop();
    const rows = [
      { name: "A", sku: "J-1", priceCents: 100, stock: 2, published: true },
      { name: "B", sku: "J-2", priceCents: "x" },
      { name: "C", sku: "J-3", priceCents: 1, extra: 1 },
    ];
    const bad = await call("POST", "/api/items/import", { token: t.users.admin.token, body: rows });
    expect(problems(bad)).toEqual([
      { line: 1, column: "extra", message: expect.stringContaining("unknown column") },
    ]);
    const fixed = await call("POST", "/api/items/import", { token: t.users.admin.token, body: rows.slice(0, 2) });
    expect(problems(fixed)).toEqual([{ line: 2, column: "priceCents", message: expect.stringContaining("whole number") }]);
    const ok = await call("POST", "/api/items/import", { token: t.users.admin.token, body: [rows[0], { ...rows[1], priceCents: 5 }] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ created: 2 });
  });

  it("a failure at row 9,999 of 10,000 leaves nothing behind; the 10,000 then go in one round trip; problems are capped", async () => {
    const t = await shop();
    const lines = ["name,sku,priceCents,stock,category"];
    for (let i = 1; i <= MAX_IMPORT_ROWS; i++) lines.push(`Item ${i},BULK-${i},${100 + i},${i % 7},Cat ${i % 20}`);
    const bad = [...lines];
    bad[9_999] = "Item 9999,BULK-9999,oops,1,Cat 1";
    expect(problems(await importCsv(t.users.admin.token, bad.join("\n")))).toEqual([{ line: 10_000, column: "priceCents", message: expect.stringContaining("whole number") }]);
    await nothingWritten(t.id);

    const r = await importCsv(t.users.admin.token, lines.join("\n"));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ rows: MAX_IMPORT_ROWS, created: MAX_IMPORT_ROWS });
    expect(r.dbTrips).toBe(writeTrips());
    const totals = await one(sql`SELECT count(*) AS n, sum(stock) AS s FROM items WHERE tenant_id = ${t.id}`);
    const ledger = await one(sql`SELECT sum(delta) AS s FROM stock_movements WHERE tenant_id = ${t.id}`);
    expect(Number(totals.n)).toBe(MAX_IMPORT_ROWS);
    expect(Number(ledger.s)).toBe(Number(totals.s));

    // Too many rows, and too many problems (all listed up to the cap, the total named).
    expect(problems(await importCsv(t.users.admin.token, [...lines, "x,BULK-X,1,1,c"].join("\n")))).toEqual([{ line: MAX_IMPORT_ROWS + 2, column: null, message: expect.stringContaining(`at most ${MAX_IMPORT_ROWS}`) }]);
    const clash = await importCsv(t.users.admin.token, lines.join("\n"));
    expect(problems(clash)).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(errorOf(clash).message).toContain(`${MAX_IMPORT_ROWS} problems (the first ${MAX_REPORTED_PROBLEMS} are listed)`);
  });

  it("stops reading at the first row past the limit: millions of tiny rows, a long run of empty-cell rows, a long JSON array", async () => {
    const t = await shop();
    const admin = t.users.admin.token;
    const limit = { line: MAX_IMPORT_ROWS + 2, column: null, message: expect.stringContaining(`at most ${MAX_IMPORT_ROWS} rows`) };
    // 4 MB of "a\n": two million rows. Parsed whole this took seconds and a gigabyte; now it stops at row 10,001.
    const started = Date.now();
    expect(problems(await importCsv(admin, `sku\n${"a\n".repeat(2_000_000)}`, "?mode=upsert&dryRun=true"))).toEqual([limit]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // What lies past the limit is not read at all: an unbalanced quote there is never reached.
    expect(problems(await importCsv(admin, `sku\n${"a\n".repeat(20_000)}"never closed\n`, "?mode=upsert&dryRun=true"))).toEqual([limit]);
    // Rows of empty cells are skipped, but not without end.
    const padded = `sku,name,priceCents\n${",,\n".repeat(MAX_IMPORT_RECORDS)}`;
    expect(problems(await importCsv(admin, padded, "?mode=upsert&dryRun=true"))).toEqual([{ line: MAX_IMPORT_RECORDS + 1, column: null, message: expect.stringContaining("empty ones included") }]);
    const fewPads = await importCsv(admin, `sku,name,priceCents\nP-1,Pad,1\n${",,\n".repeat(50_000)}P-2,Pad,2\n`, "?dryRun=true");
    expect(fewPads.status).toBe(200);
    expect(fewPads.json).toMatchObject({ rows: 2, created: 2 });
    // JSON: counted before it is parsed; the first row past the limit is named.
    const json = `[${Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => `{"sku":"J-${i}","note":"a,[b]{c}\\"d"}`).join(",")}]`;
    const r = await call("POST", "/api/items/import?mode=upsert&dryRun=true", { token: admin, rawBody: json, headers: { "content-type": "application/json" } });
    expect(problems(r)).toEqual([{ ...limit, line: MAX_IMPORT_ROWS + 1 }]);
    // Not parsed: broken JSON past the limit is not the 400 it would be.
    const broken = `[${"{},".repeat(MAX_IMPORT_ROWS + 5)}{"sku": `;
    expect(problems(await call("POST", "/api/items/import?mode=upsert&dryRun=true", { token: admin, rawBody: broken, headers: { "content-type": "application/json" } }))).toEqual([{ ...limit, line: MAX_IMPORT_ROWS + 1 }]);
    // Exactly the limit is not refused for its length (commas, brackets and quotes inside strings are not rows).
    const atLimit = `[${Array.from({ length: MAX_IMPORT_ROWS }, (_, i) => `{"sku":"J-${i}","name":"a,[b]{c}\\"d","priceCents":1}`).join(",")}]`;
    const ok = await call("POST", "/api/items/import?dryRun=true", { token: admin, rawBody: atLimit, headers: { "content-type": "application/json" } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ rows: MAX_IMPORT_ROWS });
    await nothingWritten(t.id);
  });
});
