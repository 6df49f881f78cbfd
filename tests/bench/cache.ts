// `tsx tests/bench/cache.ts`: cached vs uncached GET latency, Redis round trips per request, and
// cached-GET throughput on the local HTTP server against a bare node:http hello world in the same
// run (budget: ratio >= 0.5). Database: PGlite in memory, or BENCH_DATABASE_URL. Redis: the
// in-process cache, plus the production Upstash client through the local bridge when
// BENCH_REDIS_URL (or TEST_REDIS_URL) is set.
import { createServer, type Server } from "node:http";
import { Worker } from "node:worker_threads";
import { getRequestListener } from "@hono/node-server";
import { createDb, installDb } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { createLocalApp } from "../../lib/dev/app.js";
import { createRedis, installRedis } from "../../lib/platform/redis.js";
import { createTenant, insertItem } from "../support/fixtures.js";
import { startUpstashBridge } from "../support/upstash-bridge.js";

process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";
process.env.RATE_LIMIT_API = "100000000";
process.env.RATE_LIMIT_TENANT = "100000000";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function latency(url: (i: number) => string, token: string) {
  const ms: number[] = [];
  let redisTrips = 0;
  let dbTrips = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    const response = await fetch(url(i), { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    ms.push(performance.now() - started);
    const timing = response.headers.get("server-timing") ?? "";
    redisTrips += Number(/redis;dur=[\d.]+;desc="trips=(\d+)"/.exec(timing)?.[1] ?? 0);
    dbTrips += Number(/db;dur=[\d.]+;desc="trips=(\d+)"/.exec(timing)?.[1] ?? 0);
    if (response.status !== 200) throw new Error(`${url(i)} answered ${response.status}`);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), redisPerRequest: redisTrips / SAMPLES, dbPerRequest: dbTrips / SAMPLES };
}

// Closed-loop load (CONCURRENCY clients, each sending the next request as soon as one returns),
// generated on a worker thread so the client does not eat the server's CPU.
const LOAD = `
const { parentPort, workerData: { url, headers, seconds, concurrency } } = require("node:worker_threads");
(async () => {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(url + " answered " + response.status);
      done += 1;
    }
  }));
  parentPort.postMessage(done / seconds);
})();`;

function throughput(url: string, headers: Record<string, string> = {}): Promise<number> {
  const worker = new Worker(LOAD, { eval: true, workerData: { url, headers, seconds: SECONDS, concurrency: CONCURRENCY } });
  return new Promise((resolve, reject) => {
    worker.once("message", (rps: number) => void worker.terminate().then(() => resolve(rps)));
    worker.once("error", reject);
  });
}

const dbUrl = process.env.BENCH_DATABASE_URL;
const pglite = dbUrl ? undefined : new (await import("@electric-sql/pglite")).PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite });
installDb(handle);
const tenant = await createTenant(handle.db, "bench");
for (let i = 0; i < 50; i++) await insertItem(handle.db, tenant.id, { name: `Bench item ${i}` });
const token = tenant.users.staff.token;

const app = createLocalApp();
const api = createServer(getRequestListener((request) => app.fetch(request)));
const base = await listen(api);
const hello = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"hello":"world"}'));
const helloUrl = await listen(hello);

const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL;
const bridge = redisUrl ? await startUpstashBridge(redisUrl) : undefined;
const modes = bridge ? (["memory", "upstash→redis"] as const) : (["memory"] as const);
const rows: string[][] = [];
const fmt = (n: number) => n.toFixed(2);

for (const mode of modes) {
  installRedis(mode === "memory" || !bridge ? undefined : await createRedis({ url: bridge.url, token: bridge.token, prefix: `bench-${process.pid}` }));
  await fetch(`${base}/api/items?limit=20`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
  await app.settle();
  const run = `${Date.now()}`;
  // Every request a new key: the full miss path (lookup, query, background fill).
  const uncached = await latency((i) => `${base}/api/items?limit=20&search=${run}-${i}`, token);
  await app.settle();
  const cached = await latency(() => `${base}/api/items?limit=20`, token);
  const bridgeBefore = bridge?.requests ?? 0;
  const cachedRps = await throughput(`${base}/api/items?limit=20`, { authorization: `Bearer ${token}` });
  const bridgeTrips = bridge && mode !== "memory" ? (bridge.requests - bridgeBefore) / (cachedRps * SECONDS) : 0;
  const helloRps = await throughput(helloUrl);
  rows.push([mode, "uncached GET /api/items?search=…", fmt(uncached.p50), fmt(uncached.p99), fmt(uncached.redisPerRequest), fmt(uncached.dbPerRequest), "", "", ""]);
  rows.push([mode, "cached GET /api/items", fmt(cached.p50), fmt(cached.p99), fmt(cached.redisPerRequest), fmt(cached.dbPerRequest), cachedRps.toFixed(0), helloRps.toFixed(0), fmt(cachedRps / helloRps)]);
  if (bridgeTrips) rows.push([mode, `  (bridge saw ${fmt(bridgeTrips)} HTTP calls per request under ${CONCURRENCY}-way load)`, "", "", "", "", "", "", ""]);
  await app.settle();
}

const header = ["cache", "request", "p50 ms", "p99 ms", "redis trips/req", "db trips/req", "req/s", "hello req/s", "ratio"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(`\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${rows.map(line).join("\n")}`);
console.log(`\n${SAMPLES} sequential samples per latency row; throughput: ${CONCURRENCY} concurrent clients for ${SECONDS} s; database: ${handle.kind}. Budget: ratio >= 0.5.`);

installRedis(undefined);
for (const server of [api, hello]) {
  server.closeAllConnections();
  server.close();
}
await bridge?.close();
await handle.close();
