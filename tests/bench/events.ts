// `tsx tests/bench/events.ts`: event streams — commit-to-delivery latency (p50/p99) with 50 streams
// open, and what 50 idle streams cost (database and Redis round trips per stream per second,
// counted at the drivers). A report, not a test. Database: PGlite in memory, or BENCH_DATABASE_URL
// (node-postgres). Redis: in-process marker, or the Upstash bridge onto BENCH_REDIS_URL / TEST_REDIS_URL.
import { createDb, installDb } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { totalRoundTrips } from "../../db/round-trips.js";
import { createRedis, installRedis } from "../../lib/platform/redis.js";
import { call } from "../support/client.js";
import { createTenant, insertItem } from "../support/fixtures.js";
import { nextEvent, openSse } from "../support/sse.js";
import { startUpstashBridge } from "../support/upstash-bridge.js";
import { markdownTable, median, ms, percentile } from "./stats.js";

process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";
process.env.RATE_LIMIT_API = "1000000";
process.env.RATE_LIMIT_TENANT = "1000000";
process.env.EVENTS_STREAM_MAX_S = "600";

const STREAMS = 50;
const WRITES = Number(process.env.BENCH_EVENT_WRITES ?? 100);
const IDLE_S = 5;
const dbUrl = process.env.BENCH_DATABASE_URL;
const pglite = dbUrl ? undefined : new (await import("@electric-sql/pglite")).PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite });
installDb(handle);
const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL;
const bridge = redisUrl ? await startUpstashBridge(redisUrl) : undefined;
if (bridge) installRedis(await createRedis({ url: bridge.url, token: bridge.token, prefix: `bench-events-${process.pid}` }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tenant = await createTenant(handle.db, "bench-events");
const item = await insertItem(handle.db, tenant.id, { stock: 10_000_000 });
const staff = tenant.users.staff.token;
await call("GET", "/api/items", { token: staff }); // warm auth

const streams = await Promise.all(Array.from({ length: STREAMS }, () => openSse("/api/events/stream", { token: staff })));
await Promise.all(streams.map((s) => s.next())); // retry:
await sleep(2_000);

const db0 = totalRoundTrips("db");
const redis0 = totalRoundTrips("redis");
await sleep(IDLE_S * 1000);
const idleDb = (totalRoundTrips("db") - db0) / STREAMS / IDLE_S;
const idleRedis = (totalRoundTrips("redis") - redis0) / STREAMS / IDLE_S;

// Latency: from the write's answer (its transaction has committed) to the event on the stream.
const first: number[] = [];
const last: number[] = [];
for (let i = 0; i < WRITES; i++) {
  await sleep(Math.random() * 1200); // land anywhere in the watcher's poll period
  const answered = call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } }).then(() => performance.now());
  const arrivals = await Promise.all(streams.map(async (s) => (await nextEvent(s), performance.now())));
  const committed = await answered;
  first.push(Math.max(0, Math.min(...arrivals) - committed));
  last.push(Math.max(0, Math.max(...arrivals) - committed));
}
await Promise.all(streams.map((s) => s.close()));

const setup = `${dbUrl ? "node-postgres → Postgres" : "PGlite in memory"}, ${bridge ? "Upstash bridge → Redis (marker polled every 250 ms: 1 s per stream, shared)" : "in-process marker (polled every 100 ms)"}`;
console.log(`\n### Event streams (\`tests/bench/events.ts\`, ${setup}, ${STREAMS} streams open)\n`);
console.log(
  markdownTable(
    ["measure", "value"],
    [
      [`commit → delivered, first of ${STREAMS} streams, p50 / p99 (${WRITES} writes)`, `${ms(median(first))} / ${ms(percentile(first, 99))} ms`],
      [`commit → delivered, all ${STREAMS} streams, p50 / p99`, `${ms(median(last))} / ${ms(percentile(last, 99))} ms`],
      [`idle: database round trips per stream per second (${IDLE_S} s)`, idleDb.toFixed(3)],
      [`idle: Redis round trips per stream per second (${IDLE_S} s)`, idleRedis.toFixed(3)],
    ],
    ["l", "r"],
  ),
);
installRedis(undefined);
await bridge?.close();
await handle.close();
process.exit(0);
