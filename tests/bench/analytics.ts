// Analytics refresh bench: is the refresh's cost set by the orders changed since the last run, or by
// all orders? Measures the incremental refresh after 100 new orders with 10k and with 1M orders in
// the table, on real Postgres, and prints the ratio (budget <= 2).
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tally_bench npx tsx tests/bench/analytics.ts
//
// The URL names a server (and a database to connect to first). The bench creates a throwaway
// database next to it, migrates it, fills it with generate_series and drops it at the end, so it
// never touches data in the named database. History orders are spread over the 365 days before
// today (created_at = updated_at); a full rebuild (watermark reset) is timed first. New orders are
// created now, like real ones. Each round inserts 100 orders and times refreshAnalytics() (watermark
// read + one atomic batch), median of ROUNDS rounds. With the default 5 s watermark margin a round
// also re-reads the orders of the rounds in the last 5 s — the same in both scenarios.
import pg from "pg";
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../../db/atomic.js";
import { createDb, type Db } from "../../db/client.js";
import { migrate } from "../../db/migrate.js";
import { refreshAnalytics } from "../../lib/analytics/refresh.js";
import { median } from "./stats.js";

process.env.LOG_LEVEL = "silent";
const SERVER_URL = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/tally_bench";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const HISTORY_LARGE = Number(process.env.BENCH_LARGE ?? 990_000);
const NEW_ORDERS = 100;
const ITEMS = 20;

const scratchName = `tally_bench_analytics_${process.pid}`;
const scratchUrl = (() => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${scratchName}`;
  return url.toString();
})();

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function newTenant(db: Db, label: string): Promise<string> {
  const rows = await query(db, sql`INSERT INTO tenants (id, slug, name) VALUES (gen_random_uuid(), ${`${label}-${process.pid}`}, ${label}) RETURNING id`);
  const tenant = String(rows[0]!.id);
  await query(db, sql`INSERT INTO items (id, tenant_id, name, sku, price_cents, stock) SELECT gen_random_uuid(), ${tenant}, 'Item ' || g, 'SKU-' || g, 100 * g, 1000000 FROM generate_series(1, ${ITEMS}) g`);
  await query(db, sql`INSERT INTO order_counters (tenant_id, last_number) VALUES (${tenant}, 0)`);
  return tenant;
}

/**
 * `count` orders with two lines each. `history`: spread over the 365 days before today with
 * updated_at = created_at; otherwise created now. 5% cancelled, the rest completed or pending.
 */
async function addOrders(db: Db, tenant: string, count: number, history: boolean) {
  const created = history ? sql`date_trunc('day', now()) - make_interval(days => 1 + (g % 365), secs => (g * 7919) % 86000)` : sql`now()`;
  await query(
    db,
    sql`
    WITH base AS (SELECT last_number FROM order_counters WHERE tenant_id = ${tenant}),
    bumped AS (UPDATE order_counters SET last_number = last_number + ${count}::int WHERE tenant_id = ${tenant} RETURNING 1),
    its AS (SELECT array_agg(id ORDER BY name) AS ids, array_agg(price_cents ORDER BY name) AS prices FROM items WHERE tenant_id = ${tenant}),
    o AS (
      INSERT INTO orders (id, tenant_id, number, channel, status, total_cents, units, created_at, updated_at)
      SELECT gen_random_uuid(), ${tenant}, (SELECT last_number FROM base) + g,
             (ARRAY['instagram','facebook','whatsapp','call','offline','web'])[1 + g % 6],
             CASE WHEN g % 20 = 0 THEN 'cancelled' WHEN ${history}::boolean THEN 'completed' ELSE 'pending' END,
             its.prices[1 + g % ${ITEMS}] * (1 + g % 3) + its.prices[1 + (g + 7) % ${ITEMS}], (1 + g % 3) + 1,
             ${created}, ${created}
      FROM generate_series(1, ${count}::int) g, its, bumped
      RETURNING id, number, created_at
    )
    INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, unit_price_cents, quantity, position)
    SELECT gen_random_uuid(), ${tenant}, o.id, its.ids[1 + (o.number + k * 7) % ${ITEMS}], 'line', its.prices[1 + (o.number + k * 7) % ${ITEMS}],
           CASE WHEN k = 0 THEN 1 + o.number % 3 ELSE 1 END, k
    FROM o, its, generate_series(0, 1) k`,
  );
}

async function scenario(db: Db, label: string, historyOrders: number) {
  const tenant = await newTenant(db, label);
  const chunk = 200_000;
  for (let done = 0; done < historyOrders; done += chunk) await addOrders(db, tenant, Math.min(chunk, historyOrders - done), true);
  await query(db, sql`ANALYZE orders`);
  await query(db, sql`ANALYZE order_lines`);
  const total = Number((await query(db, sql`SELECT count(*) AS n FROM orders`))[0]!.n);
  // Catch-up: a full rebuild of every day of every tenant (as a first run after deploying would do).
  await query(db, sql`UPDATE analytics_state SET watermark = '-infinity' WHERE id = 1`);
  let started = performance.now();
  const catchUp = await refreshAnalytics(db);
  const catchUpMs = performance.now() - started;
  const times: number[] = [];
  const changed: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await addOrders(db, tenant, NEW_ORDERS, false);
    started = performance.now();
    const result = await refreshAnalytics(db);
    times.push(performance.now() - started);
    if (!result.refreshed) throw new Error("refresh was not claimed");
    changed.push(result.changedOrders);
  }
  return { label, total, catchUpMs, catchUpDays: catchUp.refreshed ? catchUp.days : 0, medianMs: median(times), times, changed };
}

async function main() {
  await admin(`CREATE DATABASE ${scratchName}`);
  try {
    await migrate({ url: scratchUrl });
    // The refresh's catch-up over a whole history is one long statement; the API's 5 s limit is for requests.
    const handle = await createDb({ url: scratchUrl, timeoutMs: 30 * 60_000 });
    try {
      const small = await scenario(handle.db, "bench-10k", 10_000);
      const large = await scenario(handle.db, "bench-1m", HISTORY_LARGE);
      const ratio = large.medianMs / small.medianMs;
      const server = (await query(handle.db, sql`SHOW server_version`))[0]!.server_version;
      console.log(`Analytics refresh after ${NEW_ORDERS} new orders (PostgreSQL ${server}, node-postgres, median of ${ROUNDS} rounds)`);
      console.log("| orders in table | full rebuild (ms, days) | incremental refresh median (ms) | rounds (ms) | changed orders per round |");
      console.log("| ---: | ---: | ---: | --- | --- |");
      for (const s of [small, large]) {
        console.log(`| ${s.total.toLocaleString("en")} | ${s.catchUpMs.toFixed(0)} (${s.catchUpDays}) | ${s.medianMs.toFixed(1)} | ${s.times.map((t) => t.toFixed(1)).join(", ")} | ${[...new Set(s.changed)].join(", ")} |`);
      }
      console.log(`ratio 1M / 10k = ${ratio.toFixed(2)} (budget <= 2): ${ratio <= 2 ? "OK" : "OVER BUDGET"}`);
      process.exitCode = ratio <= 2 ? 0 : 1;
    } finally {
      await handle.close();
    }
  } finally {
    if (process.env.BENCH_KEEP) console.log(`kept database ${scratchName}`);
    else await admin(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
  }
}

await main();
