// `tsx tests/bench/checkout.ts` (also the last step of `npm run bench`): the storefront's checkout —
// POST /api/store/:tenant/checkout of one unit of one hot item by card — from 1 client and from 50
// concurrent clients, in process. Each checkout is its own shopper: a cart line is added first (not
// timed), then the checkout is timed. Throughput, p50/p99 and database round trips per checkout
// (from Server-Timing), and a stock/ledger consistency check. A report, not a test. Database:
// PGlite in memory, or BENCH_DATABASE_URL (node-postgres → Postgres).
process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";
process.env.RATE_LIMIT_STORE = "100000000";

const { sql } = await import("drizzle-orm/sql/sql");
const { query } = await import("../../db/atomic.js");
const { createDb, installDb } = await import("../../db/client.js");
const { createPgliteDb } = await import("../../db/pglite.js");
const { migrate } = await import("../../db/migrate.js");
const { createLocalApp } = await import("../../lib/dev/app.js");
const { createTenant, insertItem } = await import("../support/fixtures.js");
const { markdownTable, ms, percentile } = await import("./stats.js");

const QUICK = process.env.BENCH_QUICK === "1";
const dbUrl = process.env.BENCH_DATABASE_URL;
const pglite = dbUrl ? undefined : new (await import("@electric-sql/pglite")).PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite });
installDb(handle);
const app = createLocalApp();
const tenant = await createTenant(handle.db, "bench-shop");
const STOCK = 1_000_000;
const item = await insertItem(handle.db, tenant.id, { published: true, stock: STOCK, priceCents: 990 });

const BODY = JSON.stringify({ customer: { name: "Bench shopper", email: "bench@example.com" }, payment: { method: "card", cardNumber: "4242 4242 4242 4242" } });

async function fetchJson(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await app.fetch(new Request(`http://localhost${path}`, { method, headers: { "content-type": "application/json", ...headers }, body }));
  const text = await response.text();
  const trips = /db;dur=[\d.]+;desc="trips=(\d+)"/.exec(response.headers.get("server-timing") ?? "");
  return { status: response.status, headers: response.headers, text, trips: trips ? Number(trips[1]) : Number.NaN };
}

let sequence = 0;
/** One shopper: a cart line (untimed), then the checkout (timed). */
async function oneCheckout(): Promise<{ ms: number; status: number; trips: number; error?: string }> {
  const added = await fetchJson("POST", `/api/store/${tenant.slug}/cart/items`, {}, JSON.stringify({ itemId: item, quantity: 1 }));
  if (added.status !== 201) return { ms: 0, status: added.status, trips: 0, error: `cart ${added.status} ${added.text.slice(0, 120)}` };
  const session = added.headers.get("x-session-id")!;
  const started = performance.now();
  const done = await fetchJson("POST", `/api/store/${tenant.slug}/checkout`, { "x-session-id": session, "idempotency-key": `bench-${++sequence}` }, BODY);
  return { ms: performance.now() - started, status: done.status, trips: done.trips, error: done.status === 201 ? undefined : `${done.status} ${done.text.slice(0, 120)}` };
}

async function run(clients: number, perClient: number) {
  // Warm-up: modules, the slug map, the driver's pool.
  for (let i = 0; i < Math.min(clients, 5); i++) await oneCheckout();
  const results: Awaited<ReturnType<typeof oneCheckout>>[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i++) results.push(await oneCheckout());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ok = results.filter((r) => r.status === 201);
  const latencies = ok.map((r) => r.ms);
  const trips = ok.map((r) => r.trips);
  return {
    clients,
    checkouts: results.length,
    ok: ok.length,
    errors: results.length - ok.length,
    firstError: results.find((r) => r.error)?.error,
    perSecond: ok.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    trips: trips.length ? trips.reduce((a, b) => a + b, 0) / trips.length : Number.NaN,
  };
}

const sequential = await run(1, QUICK ? 50 : 200);
const concurrent = await run(50, QUICK ? 4 : 20);
const [state] = await query(
  handle.db,
  sql`SELECT i.stock, (SELECT coalesce(sum(delta), 0) FROM stock_movements WHERE item_id = i.id)::int AS ledger,
    (SELECT count(*) FROM orders WHERE tenant_id = ${tenant.id} AND status = 'confirmed')::int AS confirmed FROM items i WHERE i.id = ${item}`,
);
const consistent = Number(state!.stock) === STOCK + Number(state!.ledger) && -Number(state!.ledger) === Number(state!.confirmed);

console.log(
  `\n### Checkout (\`tests/bench/checkout.ts\`, ${dbUrl ? "node-postgres → Postgres" : "PGlite in memory"}, in process; one hot item, card payments; stock and ledger ${consistent ? "consistent" : "INCONSISTENT"})\n`,
);
console.log(
  markdownTable(
    ["clients", "checkouts", "201", "errors", "checkouts/s", "p50 ms", "p99 ms", "db trips/checkout"],
    [sequential, concurrent].map((r) => [String(r.clients), String(r.checkouts), String(r.ok), String(r.errors), r.perSecond.toFixed(0), ms(r.p50, 1), ms(r.p99, 1), r.trips.toFixed(2)]),
    ["r", "r", "r", "r", "r", "r", "r", "r"],
  ),
);
for (const r of [sequential, concurrent]) if (r.firstError) console.log(`first error at ${r.clients} clients: ${r.firstError}`);
await handle.close();
if (!consistent) process.exitCode = 1;
