// `tsx tests/bench/import-export.ts`: bulk import of 10,000 item rows (POST /api/items/import: time,
// database round trips, heap and RSS growth) and streamed export throughput (GET /api/items/export
// and /api/orders/export, CSV and JSON Lines: rows/s, MB/s, heap growth). In process through the
// local app (no HTTP socket), so the numbers are the route's own. Database: PGlite in memory, or
// BENCH_DATABASE_URL (real Postgres through node-postgres). BENCH_ORDERS sets the orders exported
// (default 20,000).
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { sql } from "drizzle-orm/sql/sql";
import { createDb, installDb } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { query } from "../../db/atomic.js";
import { createLocalApp } from "../../lib/dev/app.js";
import { createTenant, insertItem } from "../support/fixtures.js";

process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";
process.env.RATE_LIMIT_API = "100000000";
process.env.RATE_LIMIT_TENANT = "100000000";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const ROWS = 10_000;
const ORDERS = Number(process.env.BENCH_ORDERS ?? 20_000);

const dbUrl = process.env.BENCH_DATABASE_URL;
const { PGlite } = await import("@electric-sql/pglite");
const pglite = dbUrl ? undefined : new PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite: pglite! });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite: pglite! });
installDb(handle);
const app = createLocalApp();
const tenant = await createTenant(handle.db, "bench-io");
const token = tenant.users.admin.token;
const request = (path: string, init: RequestInit = {}) => app.fetch(new Request(`http://localhost${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } }));
await (await request("/api/items?limit=10")).arrayBuffer(); // warm: auth, modules

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const trips = (response: Response) => /db;dur=[\d.]+;desc="trips=(\d+)"/.exec(response.headers.get("server-timing") ?? "")?.[1];

// ---- import ------------------------------------------------------------------------------------
const lines = ["name,sku,priceCents,stock,lowStockThreshold,category,description,published"];
for (let i = 1; i <= ROWS; i++) lines.push(`Bench item ${i},BENCH-${i},${100 + (i % 900)},${i % 50},5,Category ${i % 25},"A description, with a comma, for item ${i}",${i % 2 === 0}`);
const csv = lines.join("\r\n");
// The same items with every stock moved by one: 10,000 updates and 10,000 ledger rows.
const restock = lines.map((line, i) => (i === 0 ? line : line.replace(/^(Bench item \d+,BENCH-\d+,\d+,)(\d+)/, (_, head: string, stock: string) => `${head}${Number(stock) + 1}`))).join("\r\n");
const results: string[] = [`database: ${dbUrl ? "Postgres (node-postgres)" : "PGlite in memory"}`];
for (const [label, path, file] of [
  ["dry run", "/api/items/import?dryRun=true", csv],
  ["create", "/api/items/import", csv],
  ["upsert, all unchanged", "/api/items/import?mode=upsert", csv],
  ["upsert, every stock changed", "/api/items/import?mode=upsert", restock],
] as const) {
  gc();
  const heap = process.memoryUsage().heapUsed;
  const rss = process.memoryUsage().rss;
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - heap)), 5);
  const started = performance.now();
  const response = await request(path, { method: "POST", body: file, headers: { "content-type": "text/csv" } });
  const body = await response.json();
  const ms = performance.now() - started;
  clearInterval(sampler);
  if (response.status !== 200) throw new Error(`${label}: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  results.push(
    `import ${label}: ${ROWS} rows (${mb(csv.length)} MB of CSV) in ${Math.round(ms)} ms (${Math.round(ROWS / (ms / 1000))} rows/s), ${trips(response)} database trip(s), ` +
      `heap peak +${mb(peakHeap)} MB (sampled), RSS +${mb(process.memoryUsage().rss - rss)} MB; ${JSON.stringify({ created: body.created, updated: body.updated, unchanged: body.unchanged })}`,
  );
}

// ---- export ------------------------------------------------------------------------------------
const item = await insertItem(handle.db, tenant.id, { name: "Export item" });
await query(
  handle.db,
  sql`WITH placed AS (
        INSERT INTO orders (id, tenant_id, number, channel, status, total_cents, units, notes)
        SELECT gen_random_uuid(), ${tenant.id}, n, 'web', 'completed', 1250, 1, repeat('n', 100) FROM generate_series(1, ${ORDERS}::int) AS n
        RETURNING id)
      INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, unit_price_cents, quantity, position)
      SELECT gen_random_uuid(), ${tenant.id}, p.id, ${item}, 'Export item', 1250, 1, 0 FROM placed p`,
);
if (dbUrl) await query(handle.db, sql`ANALYZE orders, order_lines, items`);
for (const [label, path, rows] of [
  ["items CSV", "/api/items/export", ROWS + 1],
  ["items JSON Lines", "/api/items/export?format=jsonl", ROWS + 1],
  ["orders CSV", "/api/orders/export", ORDERS],
  ["orders JSON Lines", "/api/orders/export?format=jsonl", ORDERS],
] as const) {
  gc();
  const heap = process.memoryUsage().heapUsed;
  let retained = 0;
  let chunks = 0;
  let bytes = 0;
  const started = performance.now();
  const response = await request(path);
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (++chunks % 8 === 1) {
      gc();
      retained = Math.max(retained, process.memoryUsage().heapUsed - heap);
    }
  }
  const s = (performance.now() - started) / 1000;
  results.push(`export ${label}: ${rows} rows, ${mb(bytes)} MB in ${s.toFixed(2)} s (${Math.round(rows / s)} rows/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s), ${chunks} pages, heap retained ≤ ${mb(retained)} MB (full GC every 8 pages)`);
}
console.log(results.join("\n"));
await handle.close();
process.exit(0);
