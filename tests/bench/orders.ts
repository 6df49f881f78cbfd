// Orders in the bench: (1) POST /api/orders against one hot item, from 1 and from N concurrent
// clients, with a stock consistency check; (2) GET /api/orders paging at 10k vs 1M orders in one
// tenant (real Postgres only), keyset pages against page mode.
import { sql } from "drizzle-orm/sql/sql";
import pg from "pg";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { totalRoundTrips } from "../../db/round-trips.js";
import { DEV_ISSUER, demoSubject, mintDevToken } from "../../lib/auth/dev-tokens.js";
import { DEMO_TENANT } from "../../lib/dev/seed.js";
import { measureScenario, requestInit, type LatencyOptions, type RowResult, type Scenario, type Send } from "./latency.js";

// ---------------------------------------------------------------------------------------------
// 1. Order creation against one hot item
// ---------------------------------------------------------------------------------------------

/** Not BENCH-…: seedBenchData parses those SKUs as numbers. */
const HOT_SKU = "HOT-ORDERS";
export const HOT_STOCK = 10_000_000;

export interface CreateOptions {
  durationMs: number;
  warmupMs: number;
}

export interface CreateResult {
  clients: number;
  /** Timed phase only. */
  requests: number;
  seconds: number;
  perSecond: number;
  latencyMs: number[];
  /** Per request, from the Server-Timing header the route writes (trips=N), so exact under concurrency. */
  trips: number[];
  /** Driver-wide counter over the timed phase, divided by the requests: a cross-check of the above. */
  tripsPerRequestGlobal: number;
  errors: number;
  firstError?: string;
  /** Warm-up + timed: every 201 in this run. */
  created: number;
  stockBefore: number;
  stockAfter: number;
  /** order_lines rows and stock_movements sum for the hot item after the run. */
  lines: number;
  ledger: number;
  consistent: boolean;
}

/** The hot item in the demo tenant (created if missing), with no orders and HOT_STOCK units. */
export async function prepareHotItem(db: Db): Promise<string> {
  const t = DEMO_TENANT.id;
  const existing = await query(db, sql`SELECT id FROM items WHERE tenant_id = ${t} AND sku = ${HOT_SKU} AND deleted_at IS NULL`);
  const id = existing[0] ? String(existing[0].id) : newId();
  if (!existing[0]) {
    await query(db, sql`INSERT INTO items (id, tenant_id, name, sku, price_cents, stock, category) VALUES (${id}, ${t}, 'Hot item (bench)', ${HOT_SKU}, 990, 0, 'Bench')`);
  }
  await clearHotOrders(db, id);
  await query(db, sql`UPDATE items SET stock = ${HOT_STOCK} WHERE id = ${id}`);
  return id;
}

async function clearHotOrders(db: Db, itemId: string): Promise<void> {
  // stock_movements.order_id has no ON DELETE; order_lines cascade with their order.
  await query(db, sql`DELETE FROM stock_movements WHERE item_id = ${itemId}`);
  await query(db, sql`DELETE FROM orders WHERE id IN (SELECT order_id FROM order_lines WHERE item_id = ${itemId})`);
}

/** Removes the hot item and its orders, so the items endpoints and the next run see the same data. */
export async function removeHotItem(db: Db, itemId: string): Promise<void> {
  await clearHotOrders(db, itemId);
  await query(db, sql`DELETE FROM items WHERE id = ${itemId}`);
}

async function hotState(db: Db, itemId: string): Promise<{ stock: number; lines: number; ledger: number }> {
  const [row] = await query(
    db,
    sql`SELECT (SELECT stock FROM items WHERE id = ${itemId}) AS stock,
               (SELECT count(*) FROM order_lines WHERE item_id = ${itemId}) AS lines,
               (SELECT coalesce(sum(delta), 0) FROM stock_movements WHERE item_id = ${itemId}) AS ledger`,
  );
  return { stock: Number(row!.stock), lines: Number(row!.lines), ledger: Number(row!.ledger) };
}

const TRIPS = /db;dur=[\d.]+;desc="trips=(\d+)"/;

/**
 * `clients` closed loops, each sending POST /api/orders (1 unit of the hot item) and awaiting the
 * whole response before the next: warm-up, then a timed phase. Then stock before − after must equal
 * the 201s, the order lines and the ledger.
 */
export async function measureOrderCreation(send: Send, db: Db, itemId: string, clients: number, options: CreateOptions): Promise<CreateResult> {
  const before = await hotState(db, itemId);
  const body = { channel: "web", items: [{ itemId, quantity: 1 }] };
  let created = 0;
  let errors = 0;
  let firstError: string | undefined;
  const phase = async (ms: number, record: boolean) => {
    const latencyMs: number[] = [];
    const trips: number[] = [];
    const until = performance.now() + ms;
    const loop = async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const response = await send({ method: "POST", path: "/api/orders", body, expect: 201 });
        const text = await response.text();
        const elapsed = performance.now() - t0;
        if (response.status === 201) created++;
        else {
          errors++;
          firstError ??= `${response.status} ${text.slice(0, 300)}`;
        }
        if (record) {
          latencyMs.push(elapsed);
          const m = TRIPS.exec(response.headers.get("server-timing") ?? "");
          trips.push(m ? Number(m[1]) : Number.NaN);
        }
      }
    };
    const tripsBefore = totalRoundTrips();
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, loop));
    return { latencyMs, trips, seconds: (performance.now() - started) / 1000, globalTrips: totalRoundTrips() - tripsBefore };
  };
  await phase(options.warmupMs, false);
  const errorsBeforeTimed = errors;
  const timed = await phase(options.durationMs, true);
  const after = await hotState(db, itemId);
  const sold = before.stock - after.stock;
  const soldLines = after.lines - before.lines;
  const ledger = after.ledger - before.ledger;
  return {
    clients,
    requests: timed.latencyMs.length,
    seconds: timed.seconds,
    perSecond: (timed.latencyMs.length - (errors - errorsBeforeTimed)) / timed.seconds,
    latencyMs: timed.latencyMs,
    trips: timed.trips,
    tripsPerRequestGlobal: timed.globalTrips / Math.max(1, timed.latencyMs.length),
    errors,
    firstError,
    created,
    stockBefore: before.stock,
    stockAfter: after.stock,
    lines: soldLines,
    ledger,
    consistent: sold === created && soldLines === created && ledger === -created,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. GET /api/orders paging at 10k vs 1M orders (real Postgres)
// ---------------------------------------------------------------------------------------------

export interface PagingTenant {
  key: string;
  orders: number;
  id: string;
  slug: string;
  userId: string;
  itemId: string;
  /** Time between orders; default: spread over the same span as the 1M tenant. */
  stepMs?: number;
  /** Measured against the 1M tenant only as an extra case, not part of the 10k-vs-1M budget. */
  extra?: string;
}

export const PAGING_TENANTS: PagingTenant[] = [
  { key: "10k", orders: 10_000, id: "0190a0a0-0000-7000-8000-00000000b010", slug: "bench-orders-10k", userId: "0190a0a0-0000-7000-8000-00000000b110", itemId: "0190a0a0-0000-7000-8000-00000000b210" },
  { key: "1M", orders: 1_000_000, id: "0190a0a0-0000-7000-8000-00000000b011", slug: "bench-orders-1m", userId: "0190a0a0-0000-7000-8000-00000000b111", itemId: "0190a0a0-0000-7000-8000-00000000b211" },
  {
    key: "10k early",
    orders: 10_000,
    stepMs: 30_000,
    extra: "10,000 orders, one every 30 s, all in the first 3.5 days of the span: a small shop whose newest order is older than almost all of the big tenant's",
    id: "0190a0a0-0000-7000-8000-00000000b012",
    slug: "bench-orders-10k-early",
    userId: "0190a0a0-0000-7000-8000-00000000b112",
    itemId: "0190a0a0-0000-7000-8000-00000000b212",
  },
];

// Both tenants' orders span the same ~347 days (interleaved in id order, as for shops trading side by
// side): order n (1-based, oldest first) is created BASE + n·step, step = SPAN / orders. Its id is a
// UUIDv7 for that instant: 48-bit ms timestamp, version 7, variant 10, then md5-derived "random"
// bits, so ids sort exactly like n (distinct ms) and every run regenerates the same ids.
const BASE_MS = Date.UTC(2025, 0, 1);
const SPAN_MS = 1_000_000 * 30_000;
const CHUNK = 50_000;
const stepOf = (t: PagingTenant) => t.stepMs ?? Math.floor(SPAN_MS / t.orders);
/** Stored as the tenant's name: a different layout (e.g. after editing this file) reloads the orders. */
const layoutName = (t: PagingTenant) => `Bench orders ${t.key}: ${t.orders} orders every ${stepOf(t) / 1000} s from ${new Date(BASE_MS).toISOString().slice(0, 10)}, v2`;
export const STATUS_MIX = "5 % pending, 5 % each confirmed/preparing/ready/cancelled, 75 % completed (by n mod 20, so evenly spread over time)";

const orderIdSql = (step: number) => `(lpad(to_hex(${BASE_MS}::bigint + n::bigint * ${step}), 12, '0') || '7' || substr(md5($2::text || ':' || n), 1, 3)
  || '8' || substr(md5($2::text || ':' || n), 4, 15))::uuid`;

/** Seeds the paging tenant (owner user, one item) and tops its orders up to `orders`; resumable. */
export async function ensurePagingTenant(
  url: string,
  t: PagingTenant,
  progress: (message: string) => void,
  mayLoad = true,
): Promise<{ ready: boolean; loaded: number; ms: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  try {
    await client.query("BEGIN");
    const layout = layoutName(t);
    const existing = await client.query("SELECT name FROM tenants WHERE id = $1", [t.id]);
    const relayout = existing.rows.length > 0 && existing.rows[0].name !== layout;
    await client.query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = excluded.name", [t.id, t.slug, layout]);
    await client.query("INSERT INTO users (id, issuer, subject, email, name) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", [
      t.userId,
      DEV_ISSUER,
      demoSubject(t.slug, "owner"),
      `owner@${t.slug}.tally.dev`,
      `Bench ${t.key} owner`,
    ]);
    await client.query("INSERT INTO memberships (id, tenant_id, user_id, role) VALUES ($1, $2, $1, 'owner') ON CONFLICT DO NOTHING", [t.userId, t.id]);
    await client.query("INSERT INTO items (id, tenant_id, name, sku, price_cents, stock, category) VALUES ($1, $2, 'Paging item', 'PAGE-1', 1250, 0, 'Bench') ON CONFLICT DO NOTHING", [t.itemId, t.id]);
    if (relayout) {
      if (!mayLoad) {
        await client.query("ROLLBACK");
        return { ready: false, loaded: 0, ms: performance.now() - started };
      }
      progress(`orders ${t.key}: data layout changed; deleting the old orders`);
      await client.query("DELETE FROM orders WHERE tenant_id = $1", [t.id]);
    }
    await client.query("COMMIT");

    const state = async () => {
      const r = await client.query("SELECT count(*)::int AS n, coalesce(max(number), 0)::int AS top FROM orders WHERE tenant_id = $1", [t.id]);
      return r.rows[0] as { n: number; top: number };
    };
    let { n, top } = await state();
    if (n === t.orders && top === t.orders) return { ready: true, loaded: 0, ms: performance.now() - started };
    if (!mayLoad) return { ready: false, loaded: 0, ms: performance.now() - started };
    if (n !== top || top > t.orders) {
      progress(`orders ${t.key}: unexpected contents (${n} orders, max number ${top}); reloading`);
      await client.query("DELETE FROM orders WHERE tenant_id = $1", [t.id]);
      n = top = 0;
    }
    const missing = t.orders - top;
    // One statement per chunk (orders and their lines together), each committed on its own: an
    // interrupted load resumes where it stopped.
    for (let from = top + 1; from <= t.orders; from += CHUNK) {
      const to = Math.min(t.orders, from + CHUNK - 1);
      await client.query(
        `WITH placed AS (
           INSERT INTO orders (id, tenant_id, number, channel, status, priority, total_cents, units, created_by, created_at, updated_at, completed_at, cancelled_at)
           SELECT ${orderIdSql(stepOf(t))}, $1, n,
                  (ARRAY['instagram', 'facebook', 'whatsapp', 'call', 'offline', 'web'])[1 + n % 6],
                  CASE n % 20 WHEN 0 THEN 'pending' WHEN 1 THEN 'confirmed' WHEN 2 THEN 'preparing' WHEN 3 THEN 'ready' WHEN 4 THEN 'cancelled' ELSE 'completed' END,
                  CASE WHEN n % 17 = 0 THEN 'urgent' WHEN n % 5 = 0 THEN 'high' ELSE 'normal' END,
                  1250 * (1 + n % 3), 1 + n % 3, $3,
                  to_timestamp((${BASE_MS}::bigint + n::bigint * ${stepOf(t)}) / 1000.0),
                  to_timestamp((${BASE_MS}::bigint + n::bigint * ${stepOf(t)}) / 1000.0),
                  CASE WHEN n % 20 >= 5 THEN to_timestamp((${BASE_MS}::bigint + n::bigint * ${stepOf(t)}) / 1000.0) + interval '2 days' END,
                  CASE WHEN n % 20 = 4 THEN to_timestamp((${BASE_MS}::bigint + n::bigint * ${stepOf(t)}) / 1000.0) + interval '1 hour' END
           FROM generate_series($4::int, $5::int) AS n
           RETURNING id, units
         )
         INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, sku, unit_price_cents, quantity, position)
         SELECT gen_random_uuid(), $1, p.id, $6, 'Paging item', 'PAGE-1', 1250, p.units, 0 FROM placed p`,
        [t.id, t.slug, t.userId, from, to, t.itemId],
      );
      progress(`orders ${t.key}: ${to.toLocaleString("en-US")} / ${t.orders.toLocaleString("en-US")} orders (+ one line each), ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    await client.query(
      "INSERT INTO order_counters (tenant_id, last_number) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET last_number = greatest(order_counters.last_number, excluded.last_number)",
      [t.id, t.orders],
    );
    progress(`orders ${t.key}: VACUUM ANALYZE orders, order_lines`);
    // VACUUM as well as ANALYZE: fresh rows are not all-visible yet, so counts could not use index-only scans.
    await client.query("VACUUM (ANALYZE) orders, order_lines");
    return { ready: true, loaded: missing, ms: performance.now() - started };
  } finally {
    await client.end();
  }
}

export const pagingToken = (secret: string, t: PagingTenant) => mintDevToken(secret, { subject: demoSubject(t.slug, "owner"), email: `owner@${t.slug}.tally.dev` });

export const encodeCursor = (id: string) => Buffer.from(JSON.stringify({ s: "created", id })).toString("base64url");
/** Sorts after every UUIDv7: a keyset request for the first page (no count). */
export const HEAD_CURSOR = encodeCursor("ffffffff-ffff-7fff-bfff-ffffffffffff");

export interface PagingRowSpec {
  key: string;
  label: string;
  path: string;
  keyset: boolean;
}

export interface PagingMeasure {
  tenant: PagingTenant;
  rows: (PagingRowSpec & { result: RowResult; error?: string })[];
  walk: { pages: number; ok: boolean; detail: string };
}

async function getJson(send: Send, path: string): Promise<any> {
  const response = await send({ method: "GET", path, expect: 200 });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Follows nextCursor from the first page; checks ids strictly decrease with no repeats. */
async function walk(send: Send, base: string, pages: number): Promise<{ cursors: string[]; ok: boolean; detail: string }> {
  const cursors: string[] = [];
  let body = await getJson(send, base);
  let last: string | undefined;
  let seen = 0;
  let ok = true;
  for (let page = 0; ; page++) {
    for (const order of body.items as { id: string }[]) {
      if (last !== undefined && !(order.id < last)) ok = false;
      last = order.id;
      seen++;
    }
    const next = body.pagination.nextCursor as string | null;
    if (!next || page >= pages) break;
    cursors.push(next);
    body = await getJson(send, `${base}&cursor=${next}`);
  }
  return { cursors, ok, detail: `${cursors.length + 1} pages, ${seen} orders, ids strictly descending: ${ok ? "yes" : "NO"}` };
}

export const MID_CURSORS = 25;

/** Cursors for orders between 25 % and 75 % of the way through the tenant (looked up by number). */
async function middleCursors(db: Db, t: PagingTenant): Promise<string[]> {
  const numbers = Array.from({ length: MID_CURSORS }, (_, i) => Math.round(t.orders * (0.25 + (0.5 * i) / (MID_CURSORS - 1))));
  const rows = await query(db, sql`SELECT id FROM orders WHERE tenant_id = ${t.id} AND number IN (${sql.join(numbers.map((n) => sql`${n}`), sql`, `)})`);
  if (rows.length !== MID_CURSORS) throw new Error(`paging ${t.key}: found ${rows.length} of ${MID_CURSORS} cursor orders`);
  return rows.map((r) => encodeCursor(String(r.id)));
}

const DEEP_PAGE = 100;

export function pagingRowSpecs(): PagingRowSpec[] {
  return [
    { key: "first", label: "first page", path: "/api/orders?limit=50", keyset: false },
    { key: "head", label: "first page, keyset (cursor above every id)", path: "/api/orders?limit=50&cursor=…", keyset: true },
    { key: "walk", label: "pages 2–21 following nextCursor", path: "/api/orders?limit=50&cursor=…", keyset: true },
    { key: "deep", label: "deep page: cursor at 25–75 % of the orders", path: "/api/orders?limit=50&cursor=…", keyset: true },
    { key: "status-first", label: "pending, first page", path: "/api/orders?status=pending&limit=50", keyset: false },
    { key: "status-deep", label: "pending, deep page: cursor at 25–75 %", path: "/api/orders?status=pending&limit=50&cursor=…", keyset: true },
    { key: "offset", label: `page ${DEEP_PAGE} (OFFSET ${(DEEP_PAGE - 1) * 50})`, path: `/api/orders?limit=50&page=${DEEP_PAGE}`, keyset: false },
  ];
}

export async function measurePaging(send: Send, db: Db, t: PagingTenant, options: LatencyOptions): Promise<PagingMeasure> {
  const pick = (list: string[], i: number) => list[i % list.length]!;
  // A failing request (e.g. a 503 when a slow plan hits the driver's query timeout) costs its row,
  // not the whole report.
  const walked = await walk(send, "/api/orders?limit=50", 20).catch((error: Error) => ({ cursors: [] as string[], ok: false, detail: `failed: ${error.message.slice(0, 300)}` }));
  const middle = await middleCursors(db, t);
  const get = (path: (i: number) => string): Scenario => ({ rows: ["x"], next: (i) => [{ method: "GET", path: path(i), expect: 200 }] });
  const scenarios: Record<string, Scenario> = {
    first: get(() => "/api/orders?limit=50"),
    head: get(() => `/api/orders?limit=50&cursor=${HEAD_CURSOR}`),
    walk: get((i) => `/api/orders?limit=50&cursor=${pick(walked.cursors, i)}`),
    deep: get((i) => `/api/orders?limit=50&cursor=${pick(middle, i)}`),
    "status-first": get(() => "/api/orders?status=pending&limit=50"),
    "status-deep": get((i) => `/api/orders?status=pending&limit=50&cursor=${pick(middle, i)}`),
    offset: get(() => `/api/orders?limit=50&page=${DEEP_PAGE}`),
  };
  const rows: PagingMeasure["rows"] = [];
  for (const spec of pagingRowSpecs()) {
    const empty: RowResult = { endpoint: spec.path, latencyMs: [], trips: [] };
    if (spec.key === "walk" && walked.cursors.length === 0) {
      rows.push({ ...spec, result: empty, error: "no cursors (the walk failed)" });
      continue;
    }
    try {
      const [result] = await measureScenario(send, scenarios[spec.key]!, options);
      rows.push({ ...spec, result: result! });
    } catch (error) {
      rows.push({ ...spec, result: empty, error: (error as Error).message.slice(0, 300) });
    }
  }
  return { tenant: t, rows, walk: { pages: walked.cursors.length + 1, ok: walked.ok, detail: walked.detail } };
}

export function sendAs(fetcher: (request: Request) => Promise<Response>, token: string): Send {
  return (spec) => fetcher(new Request(`http://localhost${spec.path}`, requestInit(spec, token)));
}
