// Database targets for the bench: each sets up a migrated, seeded database and a DbHandle for one
// driver. The demo tenant (lib/dev/seed.ts) gets EXTRA_ITEMS more items so the list endpoints page
// through a realistic table, some of them soft-deleted so /api/items/deleted has work to do.
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { createDb, type Db, type DbHandle } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { DEMO_TENANT, seedDemo } from "../../lib/dev/seed.js";
import { pgExecutor, pgliteExecutor, startNeonBridge } from "../support/neon-bridge.js";
import { restoreFetchGlobals } from "./env.js";

export const EXTRA_ITEMS = 2_000;
/** Every 13th extra item is soft-deleted. */
const DELETED_EVERY = 13;
/** Items the bench creates with POST; removed again after each driver's run. */
export const CREATED_PREFIX = "Bench created";

export interface DriverRun {
  /** Row label: driver, and what it talks to. */
  label: string;
  handle: DbHandle;
  /** Closes what this run opened (bridges, pools), not the shared database. */
  close(): Promise<void>;
}

export async function seedBenchData(db: Db): Promise<void> {
  await seedDemo(db);
  const t = DEMO_TENANT.id;
  await db.execute(sql`
    INSERT INTO items (id, tenant_id, name, description, sku, price_cents, stock, low_stock_threshold, category, created_at, updated_at)
    SELECT gen_random_uuid(), ${t},
      (ARRAY['Widget', 'Candle', 'Mug', 'Scarf', 'Soap bar', 'Notebook', 'Tote bag', 'Tea tin'])[1 + n % 8] || ' #' || n,
      CASE WHEN n % 3 = 0 THEN 'Bench item ' || n || ', a longer description to give rows a realistic width.' END,
      'BENCH-' || lpad(n::text, 5, '0'),
      100 + (n * 37) % 9900, (n * 7) % 50, 10,
      (ARRAY['Home', 'Kitchen', 'Accessories', 'Food', 'Bath', 'Stationery'])[1 + n % 6],
      now() - make_interval(mins => ${EXTRA_ITEMS} - n), now() - make_interval(mins => ${EXTRA_ITEMS} - n)
    FROM generate_series(1, ${EXTRA_ITEMS}::int) AS n
    WHERE NOT EXISTS (SELECT 1 FROM items x WHERE x.tenant_id = ${t} AND x.sku = 'BENCH-' || lpad(n::text, 5, '0'))`);
  await db.execute(sql`
    UPDATE items SET deleted_at = created_at + interval '1 day'
    WHERE tenant_id = ${t} AND sku LIKE 'BENCH-%' AND deleted_at IS NULL AND substr(sku, 7)::int % ${DELETED_EVERY} = 0`);
  await cleanupBenchWrites(db);
}

/** Removes what the write endpoints left behind, so repeated runs (on a real database) stay the same size. */
export async function cleanupBenchWrites(db: Db): Promise<void> {
  await db.execute(sql`DELETE FROM items WHERE tenant_id = ${DEMO_TENANT.id} AND name LIKE ${`${CREATED_PREFIX} %`}`);
}

/** Live extra items, oldest first, for the per-item endpoints. */
export async function liveBenchItemIds(db: Db, count: number): Promise<string[]> {
  const result = (await db.execute(sql`
    SELECT id FROM items WHERE tenant_id = ${DEMO_TENANT.id} AND sku LIKE 'BENCH-%' AND deleted_at IS NULL
    ORDER BY sku LIMIT ${count}`)) as unknown as { rows: { id: string }[] };
  return result.rows.map((r) => String(r.id));
}

export async function itemCounts(db: Db): Promise<{ live: number; deleted: number }> {
  const result = (await db.execute(sql`
    SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted
    FROM items WHERE tenant_id = ${DEMO_TENANT.id}`)) as unknown as { rows: { live: unknown; deleted: unknown }[] };
  return { live: Number(result.rows[0]!.live), deleted: Number(result.rows[0]!.deleted) };
}

/** In-memory PGlite, migrated and seeded; the same instance serves the PGlite and bridged runs. */
export async function openPglite(): Promise<{ pglite: PGlite; direct: DriverRun; bridged: () => Promise<DriverRun>; close(): Promise<void> }> {
  const pglite = new PGlite();
  await migrate({ pglite });
  const direct = await createPgliteDb({ pglite });
  await seedBenchData(direct.db);
  return {
    pglite,
    // The direct handle's close() would close the shared PGlite; that happens once, in close() below.
    direct: { label: "pglite (in-memory)", handle: direct, close: async () => {} },
    bridged: () => neonOverBridge("neon-http → bridge → PGlite", pgliteExecutor(pglite)),
    close: () => pglite.close(),
  };
}

/** A real Postgres: node-postgres directly, and neon-http through the bridge. */
export async function openPostgres(url: string): Promise<{ direct: DriverRun; bridged: () => Promise<DriverRun> }> {
  await migrate({ url });
  const handle = await createDb({ url });
  await seedBenchData(handle.db);
  const host = new URL(url).host;
  return {
    direct: { label: `node-postgres → Postgres (${host})`, handle, close: () => handle.close() },
    bridged: () => neonOverBridge(`neon-http → bridge → Postgres (${host})`, pgExecutor(url)),
  };
}

async function neonOverBridge(label: string, executor: Parameters<typeof startNeonBridge>[0]): Promise<DriverRun> {
  const bridge = await startNeonBridge(executor);
  restoreFetchGlobals();
  const handle = await createDb({ neonFetchEndpoint: bridge.endpoint });
  return {
    label,
    handle,
    close: async () => {
      await handle.close();
      await bridge.close();
      await executor.close();
    },
  };
}
