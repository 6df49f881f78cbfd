// `npm run bench:webhooks`: sweeper throughput — deliveries per second from the outbox to a local
// receiver (answers 200 at once), signed and sent through the SSRF-guarded sender, with 1 and with 2
// sweepers claiming in parallel (SKIP LOCKED). A report, not a test. Database: PGlite in memory, or
// BENCH_DATABASE_URL (node-postgres).
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../../db/atomic.js";
import { createDb, installDb } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { runDue } from "../../lib/delivery/engine.js";
import { createTenant } from "../support/fixtures.js";
import { startReceiver } from "../support/receiver.js";
import { insertWebhook } from "../support/webhooks.js";
import { markdownTable } from "./stats.js";

process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";
const N = Number(process.env.BENCH_DELIVERIES ?? 2000);
const dbUrl = process.env.BENCH_DATABASE_URL;
const pglite = dbUrl ? undefined : new (await import("@electric-sql/pglite")).PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite });
installDb(handle);
const receiver = await startReceiver();
const tenant = await createTenant(handle.db, `bench-webhooks-${process.pid}`);
const endpoint = await insertWebhook(handle.db, tenant.id, receiver.url);

async function run(sweepers: number) {
  await query(handle.db, sql`DELETE FROM deliveries WHERE tenant_id = ${tenant.id}`);
  // Event-sized stored payloads (~1 KB), all due now.
  await query(
    handle.db,
    sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload)
        SELECT gen_random_uuid(), ${tenant.id}, ${endpoint}, 'bench', jsonb_build_object('n', g, 'pad', repeat('x', 1000)) FROM generate_series(1, ${N}) g`,
  );
  receiver.received.length = 0;
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: sweepers }, () => runDue({ tenantId: tenant.id, batch: 50 })));
  const seconds = (performance.now() - started) / 1000;
  const delivered = results.reduce((n, r) => n + r.delivered, 0);
  const unique = new Set(receiver.received.map((r) => r.headers["webhook-id"])).size;
  if (delivered !== N || unique !== N || receiver.received.length !== N) throw new Error(`expected ${N} deliveries once each, got ${delivered} / ${unique} / ${receiver.received.length}`);
  return [String(sweepers), String(N), seconds.toFixed(2), (N / seconds).toFixed(0)];
}

const rows = [await run(1), await run(2)];
console.log(`\nWebhook sweeper throughput (${dbUrl ? "node-postgres" : "PGlite"}, local receiver, batch 50, outcomes recorded in 5 ms bursts)\n`);
console.log(markdownTable(["sweepers", "deliveries", "seconds", "deliveries/s"], rows));
await receiver.close();
await handle.close();
await pglite?.close();
process.exit(0);
