// `npm run bench`: a report, not a test — nothing here asserts on time. Prints markdown and writes
// it to tests/bench/last-run.md. BENCH_QUICK=1 cuts iterations (CI); BENCH_DATABASE_URL (or
// TEST_DATABASE_URL) adds node-postgres and neon-http → bridge → Postgres runs.
import { BENCH_SECRET, POSTGRES_URL, QUICK } from "./env.js"; // first: sets the environment
import { writeFileSync } from "node:fs";
import type { Server } from "node:http";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { installDb } from "../../db/client.js";
import { totalRoundTrips } from "../../db/round-trips.js";
import { demoSubject, mintDevToken } from "../../lib/auth/dev-tokens.js";
import { forgetPrincipals } from "../../lib/auth/session.js";
import { createLocalApp } from "../../lib/dev/app.js";
import { DEMO_TENANT } from "../../lib/dev/seed.js";
import { measureColdStart, renderColdStart, type ColdStartResult } from "./cold-start.js";
import { cleanupBenchWrites, EXTRA_ITEMS, itemCounts, liveBenchItemIds, openPglite, openPostgres, type DriverRun } from "./fixtures.js";
import { exchange, itemScenarios, measureScenario, requestInit, type LatencyOptions, type RowResult, type Send } from "./latency.js";
import {
  ensurePagingTenant,
  HOT_STOCK,
  measureOrderCreation,
  measurePaging,
  MID_CURSORS,
  PAGING_TENANTS,
  pagingToken,
  prepareHotItem,
  removeHotItem,
  sendAs,
  STATUS_MIX,
  type CreateOptions,
  type CreateResult,
  type PagingMeasure,
} from "./orders.js";
import { describeCounts, markdownTable, ms, percentile, thousands } from "./stats.js";
import { closeServer, measureThroughput, startHelloServer, type ThroughputOptions } from "./throughput.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REPORT = fileURLToPath(new URL("./last-run.md", import.meta.url));

const LATENCY: LatencyOptions = QUICK
  ? { warmup: 10, iterations: 60, minIterations: 30, maxMsPerScenario: 3_000 }
  : { warmup: 50, iterations: 400, minIterations: 100, maxMsPerScenario: 8_000 };
const THROUGHPUT: ThroughputOptions = QUICK ? { concurrency: 20, durationMs: 1_000, warmupMs: 300 } : { concurrency: 20, durationMs: 3_000, warmupMs: 500 };
const COLD_RUNS = QUICK ? 3 : 5;
const FIRST_REQUEST_RUNS = QUICK ? 1 : 3;
const ORDER_CLIENTS = [1, 20];
const ORDER_CREATE: CreateOptions = QUICK ? { durationMs: 1_000, warmupMs: 200 } : { durationMs: 3_000, warmupMs: 500 };
const PAGING: LatencyOptions = QUICK
  ? { warmup: 5, iterations: 40, minIterations: 20, maxMsPerScenario: 2_000 }
  : { warmup: 20, iterations: 300, minIterations: 50, maxMsPerScenario: 5_000 };
const KEYSET_BUDGET = 1.5;

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

interface DriverResult {
  label: string;
  rows: { endpoint: string; inProcess: RowResult; http: RowResult }[];
  coldAuthTrips: number;
  httpRequests: number;
  httpConnections: number;
}

interface OrderCreateRun {
  label: string;
  realPostgres: boolean;
  results: CreateResult[];
}

type PagingOutcome = { skipped: string } | { sizes: PagingMeasure[]; notes: string[] };

async function main(): Promise<void> {
  const started = performance.now();
  const date = new Date();

  // First, while nothing else runs: cold imports and first requests on Node 20 and Node 24.
  const coldStart = await measureColdStart(ROOT, {
    importRuns: COLD_RUNS,
    firstRuns: FIRST_REQUEST_RUNS,
    postgresUrl: POSTGRES_URL,
    redisUrl: process.env.BENCH_REDIS_URL || process.env.TEST_REDIS_URL || undefined,
    progress,
  });

  const app = createLocalApp();
  // Node's own Request/Response, as on Vercel (see env.ts).
  const server = serve({ fetch: (request) => app.fetch(request), port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false }) as Server;
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let connections = 0;
  server.on("connection", () => connections++);

  const token = await mintDevToken(BENCH_SECRET, { subject: demoSubject(DEMO_TENANT.slug, "owner"), email: "owner@demo.tally.dev" });
  const inProcess: Send = (spec) => app.fetch(new Request(`http://localhost${spec.path}`, requestInit(spec, token)));
  const overHttp: Send = (spec) => fetch(`${base}${spec.path}`, requestInit(spec, token));

  const benchDriver = async (run: DriverRun): Promise<DriverResult> => {
    progress(`endpoints over ${run.label}`);
    installDb(run.handle);
    forgetPrincipals();
    const ids = await liveBenchItemIds(run.handle.db, 220);
    const scenarios = itemScenarios({ read: ids.slice(0, 100), update: ids.slice(100, 120), remove: ids.slice(120) });

    // The first authenticated request looks the membership up; every later one is served from cache.
    const before = totalRoundTrips();
    await exchange(inProcess, { method: "GET", path: `/api/items/${ids[0]}`, expect: 200 });
    const coldAuthTrips = totalRoundTrips() - before;

    const result: DriverResult = { label: run.label, rows: [], coldAuthTrips, httpRequests: 0, httpConnections: 0 };
    for (const scenario of scenarios) {
      const local = await measureScenario(inProcess, scenario, LATENCY);
      const connectionsBefore = connections;
      const remote = await measureScenario(overHttp, scenario, LATENCY);
      result.httpConnections += connections - connectionsBefore;
      result.httpRequests += remote.reduce((sum, r) => sum + r.latencyMs.length, 0) + LATENCY.warmup * remote.length;
      local.forEach((row, i) => result.rows.push({ endpoint: row.endpoint, inProcess: row, http: remote[i]! }));
    }
    await cleanupBenchWrites(run.handle.db);
    return result;
  };

  // POST /api/orders for one hot item, in process, from 1 and from 20 concurrent clients.
  const benchOrderCreation = async (run: DriverRun, realPostgres = false): Promise<OrderCreateRun> => {
    installDb(run.handle);
    const itemId = await prepareHotItem(run.handle.db);
    try {
      await exchange(inProcess, { method: "GET", path: "/api/orders?limit=10", expect: 200 }); // membership cache warm
      const results: CreateResult[] = [];
      for (const clients of ORDER_CLIENTS) {
        progress(`order creation over ${run.label}: ${clients} client${clients === 1 ? "" : "s"} × ${ORDER_CREATE.durationMs / 1000} s`);
        results.push(await measureOrderCreation(inProcess, run.handle.db, itemId, clients, ORDER_CREATE));
      }
      return { label: run.label, realPostgres, results };
    } finally {
      await removeHotItem(run.handle.db, itemId);
    }
  };

  // GET /api/orders in a tenant with 10k orders and in one with 1M (node-postgres, in process).
  const benchPaging = async (run: DriverRun, url: string): Promise<PagingOutcome> => {
    const sizes: PagingMeasure[] = [];
    const notes: string[] = [];
    // Every tenant is loaded before any is measured: both sizes see the same tables and statistics.
    const ready: (typeof PAGING_TENANTS)[number][] = [];
    for (const tenant of PAGING_TENANTS) {
      const mayLoad = !(QUICK && tenant.orders > 100_000);
      const setup = await ensurePagingTenant(url, tenant, progress, mayLoad);
      if (!setup.ready) {
        notes.push(`${tenant.key} tenant skipped: BENCH_QUICK does not load it (run the full bench once; later quick runs reuse it).`);
        continue;
      }
      ready.push(tenant);
      notes.push(
        setup.loaded
          ? `${tenant.key} tenant: loaded ${thousands(setup.loaded)} orders in ${(setup.ms / 1000).toFixed(0)} s this run (then VACUUM ANALYZE).`
          : `${tenant.key} tenant: reused from an earlier run.`,
      );
    }
    for (const tenant of ready) {
      installDb(run.handle);
      forgetPrincipals();
      const send = sendAs(app.fetch, await pagingToken(BENCH_SECRET, tenant));
      progress(`paging GET /api/orders in the ${tenant.key} tenant over ${run.label}`);
      const measured = await measurePaging(send, run.handle.db, tenant, PAGING);
      for (const row of measured.rows.filter((r) => r.error)) {
        progress(`paging ${tenant.key}, ${row.label}: ${row.error}`);
        notes.push(`✗ ${tenant.key} tenant, ${row.label}: the row stopped at an error — ${row.error}`);
      }
      sizes.push(measured);
    }
    return { sizes, notes };
  };

  const drivers: DriverResult[] = [];
  const orderRuns: OrderCreateRun[] = [];
  let paging: PagingOutcome = { skipped: "no BENCH_DATABASE_URL / TEST_DATABASE_URL: the paging comparison needs a real Postgres." };
  let throughput: { api: number; hello: number; errors: number } | undefined;
  let dataset = "";

  const pglite = await openPglite();
  try {
    const counts = await itemCounts(pglite.direct.handle.db);
    dataset = `demo tenant with ${thousands(counts.live)} live and ${thousands(counts.deleted)} soft-deleted items (seedDemo + ${thousands(EXTRA_ITEMS)} inserted)`;
    drivers.push(await benchDriver(pglite.direct));
    orderRuns.push(await benchOrderCreation(pglite.direct));

    progress(`throughput: GET /api/items/:id vs node:http hello world, ${THROUGHPUT.concurrency} loops × ${THROUGHPUT.durationMs / 1000} s each`);
    installDb(pglite.direct.handle);
    const ids = await liveBenchItemIds(pglite.direct.handle.db, 100);
    const api = await measureThroughput(ids.map((id) => `${base}/api/items/${id}`), { authorization: `Bearer ${token}` }, THROUGHPUT);
    const hello = await startHelloServer();
    try {
      const bare = await measureThroughput([hello.url], {}, THROUGHPUT);
      throughput = { api: api.perSecond, hello: bare.perSecond, errors: api.errors + bare.errors };
    } finally {
      await hello.close();
    }

    const bridged = await pglite.bridged();
    try {
      drivers.push(await benchDriver(bridged));
      orderRuns.push(await benchOrderCreation(bridged));
    } finally {
      await bridged.close();
    }

    if (POSTGRES_URL) {
      progress("setting up the real Postgres");
      const postgres = await openPostgres(POSTGRES_URL);
      try {
        drivers.push(await benchDriver(postgres.direct));
        orderRuns.push(await benchOrderCreation(postgres.direct, true));
        const viaBridge = await postgres.bridged();
        try {
          drivers.push(await benchDriver(viaBridge));
          orderRuns.push(await benchOrderCreation(viaBridge, true));
        } finally {
          await viaBridge.close();
        }
        paging = await benchPaging(postgres.direct, POSTGRES_URL);
      } finally {
        await postgres.direct.close();
      }
    }
  } finally {
    installDb(undefined);
    await closeServer(server);
    await pglite.close();
  }

  const report = render({ date, drivers, coldStart, throughput: throughput!, dataset, orderRuns, paging, seconds: (performance.now() - started) / 1000 });
  writeFileSync(REPORT, report);
  process.stdout.write(report);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; written to ${REPORT}`);
}

/** Every benchmarked endpoint touches the database: a 0 is a counting gap, and the report says so. */
const flagUncounted = (trips: string) => (/^0( |$)/.test(trips) || trips.includes("/ 0") ? `${trips} ⚠` : trips);

function render(r: {
  date: Date;
  drivers: DriverResult[];
  coldStart: ColdStartResult;
  throughput: { api: number; hello: number; errors: number };
  dataset: string;
  orderRuns: OrderCreateRun[];
  paging: PagingOutcome;
  seconds: number;
}): string {
  const cpus = os.cpus();
  const out: string[] = [];
  out.push("# Tally API benchmark", "");
  out.push(`- Date: ${r.date.toISOString()}`);
  out.push(`- Machine: ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${os.type()} ${os.release()} (${os.arch()}), Node ${process.version} (cold start on ${r.coldStart.runtimes.map((n) => n.label).join(", ")})`);
  out.push(
    `- Mode: ${QUICK ? "quick (BENCH_QUICK)" : "full"} — ${LATENCY.warmup} warm-up + up to ${LATENCY.iterations} timed requests per row and transport (capped at ${LATENCY.maxMsPerScenario / 1000} s per scenario); whole run ${r.seconds.toFixed(0)} s`,
  );
  out.push(`- Data: ${r.dataset}; owner dev token; membership cache warm (AUTH_CACHE_TTL_MS=${process.env.AUTH_CACHE_TTL_MS} for the run)`);
  out.push("");

  out.push("## Endpoints", "");
  out.push(
    "Latency in ms, one request in flight, body read included. *In-process*: `createLocalApp().fetch(new Request(…))`, no sockets. " +
      "*HTTP*: the same app behind `@hono/node-server` on 127.0.0.1, keep-alive `fetch`. " +
      "DB trips: round trips per request counted at the driver (`totalRoundTrips()` before/after), same in both transports unless shown as in-process / HTTP.",
    "",
  );
  const rows = r.drivers.flatMap((d) =>
    d.rows.map(({ endpoint, inProcess, http }) => {
      const localTrips = describeCounts(inProcess.trips);
      const httpTrips = describeCounts(http.trips);
      return [
        d.label,
        `\`${endpoint}\``,
        String(Math.min(inProcess.latencyMs.length, http.latencyMs.length)),
        ms(percentile(inProcess.latencyMs, 50)),
        ms(percentile(inProcess.latencyMs, 99)),
        ms(percentile(http.latencyMs, 50)),
        ms(percentile(http.latencyMs, 99)),
        flagUncounted(localTrips === httpTrips ? localTrips : `${localTrips} / ${httpTrips}`),
      ];
    }),
  );
  out.push(markdownTable(["Driver", "Endpoint", "n", "In-process p50", "In-process p99", "HTTP p50", "HTTP p99", "DB trips"], rows, ["l", "l", "r", "r", "r", "r", "r", "c"]));
  out.push("");
  for (const d of r.drivers) {
    out.push(
      `- ${d.label}: first request after clearing the membership cache: ${flagUncounted(String(d.coldAuthTrips))} round trips (auth lookup + the query). ` +
        `HTTP: ${thousands(d.httpRequests)} requests over ${d.httpConnections} newly opened TCP connection${d.httpConnections === 1 ? "" : "s"} (keep-alive).`,
    );
  }
  if (rows.some((row) => row[7]!.includes("⚠")) || r.drivers.some((d) => d.coldAuthTrips === 0)) {
    out.push("", "⚠ Every endpoint here reads or writes the database, so 0 means the driver's round-trip counter missed the queries, not that none were made.");
  }
  out.push("");

  out.push("## Throughput", "");
  const ratio = r.throughput.api / r.throughput.hello;
  out.push(
    `\`GET /api/items/:id\` over HTTP (pglite): **${thousands(r.throughput.api)} req/s** vs bare \`node:http\` hello world: **${thousands(r.throughput.hello)} req/s** → ratio **${(ratio * 100).toFixed(1)} %** ` +
      `(${THROUGHPUT.concurrency} concurrent keep-alive fetch loops in a worker thread, ${THROUGHPUT.durationMs / 1000} s each after ${THROUGHPUT.warmupMs / 1000} s warm-up; both servers, and PGlite, on the main thread; ${r.throughput.errors} errors).`,
    "",
  );

  out.push(...renderOrderCreation(r.orderRuns), ...renderPaging(r.paging));

  out.push(...renderColdStart(r.coldStart));
  return out.join("\n");
}


/** Per request from Server-Timing when it agrees with the driver-wide counter; otherwise both. */
function tripsCell(c: CreateResult): string {
  const header = describeCounts(c.trips);
  const global = c.tripsPerRequestGlobal.toFixed(2);
  if (Math.abs(c.tripsPerRequestGlobal - Number(header)) < 0.005) return flagUncounted(header);
  return `${global} (Server-Timing: ${header}) ⚠`;
}

const signed = (n: number) => (n > 0 ? `−${thousands(n)}` : n < 0 ? `+${thousands(-n)}` : "0");

function renderOrderCreation(runs: OrderCreateRun[]): string[] {
  const out: string[] = ["## Order creation (one hot item)", ""];
  out.push(
    `\`POST /api/orders\` with \`{ channel: "web", items: [{ itemId, quantity: 1 }] }\`, every request for the same item (stock set to ${thousands(HOT_STOCK)} by SQL first), ` +
      `**in process** (\`createLocalApp().fetch\`, no sockets), from ${ORDER_CLIENTS.join(" and from ")} closed-loop clients (each awaits its response before sending the next): ` +
      `${ORDER_CREATE.warmupMs / 1000} s warm-up, then ${ORDER_CREATE.durationMs / 1000} s timed. Latency in ms, body read included; with 20 clients it includes waiting for the item's row lock ` +
      `(and, in process, for the shared event loop). *DB trips*: per request from the route's \`Server-Timing: db;desc="trips=N"\`, checked against the driver-wide counter over the timed phase ÷ requests. ` +
      `*Sold*: stock before − after (warm-up included) against the 201s, the order lines for the item and its ledger (\`stock_movements\`); ✓ when all four agree. ` +
      "Rows in **bold** run against a real Postgres (true row-lock contention over a pool); PGlite serialises every statement in one engine. " +
      "node-postgres pool: `DB_POOL_MAX` (default 10) connections; the bridge's pool: 40.",
    "",
  );
  const rows = runs.flatMap((run) =>
    run.results.map((c) => {
      const sold = c.stockBefore - c.stockAfter;
      const label = run.realPostgres ? `**${run.label}**` : run.label;
      return [
        label,
        String(c.clients),
        thousands(c.requests),
        `**${thousands(c.perSecond)}**`,
        ms(percentile(c.latencyMs, 50)),
        ms(percentile(c.latencyMs, 99)),
        tripsCell(c),
        String(c.errors),
        `stock ${signed(sold)} · ${thousands(c.created)} orders · ${thousands(c.lines)} lines · ledger ${c.ledger === 0 ? "0" : `−${thousands(-c.ledger)}`}`,
        c.consistent ? "✓" : "✗",
      ];
    }),
  );
  out.push(markdownTable(["Driver", "Clients", "Requests", "Orders/s", "p50", "p99", "DB trips", "Errors", "Sold (whole run)", "Consistent"], rows, ["l", "r", "r", "r", "r", "r", "c", "r", "l", "c"]));
  out.push("");
  const failures = runs.flatMap((run) => run.results.filter((c) => c.firstError).map((c) => `- ${run.label}, ${c.clients} clients: first error ${c.firstError}`));
  if (failures.length) out.push(...failures, "");
  if (runs.some((run) => run.results.some((c) => tripsCell(c).includes("⚠")))) {
    out.push(
      "⚠ The per-request count in `Server-Timing` disagrees with the driver-wide counter (which is exact here: nothing else touches the database during a timed phase). " +
        "With more concurrent requests than node-postgres pool connections, pg-pool hands a queued query to a connection when another request releases it, " +
        "outside the waiting request's AsyncLocalStorage context, so `CountingClient.query` (db/client.ts) credits that trip to whichever request's scope the connection's callbacks run in. " +
        "The round trips happen (one per order); only their attribution in `Server-Timing` and the request log is wrong.",
      "",
    );
  }
  return out;
}

function renderPaging(p: PagingOutcome): string[] {
  const out: string[] = ["## Order list paging: 10k vs 1M orders in a tenant", ""];
  if ("skipped" in p) {
    out.push(`Skipped — ${p.skipped}`, "");
    return out;
  }
  const small = p.sizes.find((s) => s.tenant.key === "10k");
  const large = p.sizes.find((s) => s.tenant.key === "1M");
  const extras = p.sizes.filter((s) => s.tenant.extra);
  out.push(
    "Real Postgres, node-postgres, in process, one request in flight, latency in ms. Tenants in the same tables: one with 10,000 orders, one with 1,000,000, " +
      "each order with one line, bulk-inserted by `INSERT … SELECT … FROM generate_series` with UUIDv7 ids computed in SQL from each order's timestamp, " +
      "so id order is time order. Both tenants' orders spread over the same ~347 days (1M: one every 30 s; 10k: one every 50 min), so in the shared indexes the two are interleaved as for shops trading side by side; " +
      `statuses ${STATUS_MIX}. Loaded once and reused by later runs (resumed if interrupted), then \`VACUUM (ANALYZE)\`. ` +
      `*Page mode* (no cursor, or \`page=\`) also counts the matching orders for \`total\` (O(n), for information); *keyset* (\`cursor=\`) does not, and carries the budget: ` +
      `p50 at 1M ≤ ${KEYSET_BUDGET}× p50 at 10k. A keyset page should cost the same at any size, so the reverse (10k ≤ ${KEYSET_BUDGET}× 1M) is checked too. ` +
      `Keyset rows rotate through their cursors: the 20 \`nextCursor\`s of a walk from the first page, or ${MID_CURSORS} cursors at orders ` +
      "spread from 25 % to 75 % of the way through the tenant (cursors are base64url `{\"s\":\"created\",\"id\":…}`); the head cursor holds the largest UUIDv7.",
    "",
  );
  const specs = (large ?? small ?? p.sizes[0])?.rows ?? [];
  const p50 = (m: PagingMeasure | undefined, key: string) => {
    const r = m?.rows.find((row) => row.key === key)?.result;
    return r ? percentile(r.latencyMs, 50) : Number.NaN;
  };
  const cell = (m: PagingMeasure | undefined, key: string, q: number) => {
    const r = m?.rows.find((row) => row.key === key)?.result;
    return r ? ms(percentile(r.latencyMs, q)) : "–";
  };
  const verdicts = specs.map((spec) => {
    const ratio = p50(large, spec.key) / p50(small, spec.key);
    if (!spec.keyset || !Number.isFinite(ratio)) return { ratio, up: spec.keyset ? "–" : "info", down: spec.keyset ? "–" : "info" };
    return { ratio, up: ratio <= KEYSET_BUDGET ? "✓" : "✗", down: 1 / ratio <= KEYSET_BUDGET ? "✓" : "✗" };
  });
  const rows = specs.map((spec, i) => {
    const trips = describeCounts([small, large].flatMap((m) => m?.rows.find((r) => r.key === spec.key)?.result.trips ?? []));
    const v = verdicts[i]!;
    return [
      spec.label,
      `\`${spec.path}\``,
      spec.keyset ? "keyset" : "page",
      cell(small, spec.key, 50),
      cell(small, spec.key, 99),
      cell(large, spec.key, 50),
      cell(large, spec.key, 99),
      Number.isFinite(v.ratio) ? `${v.ratio.toFixed(2)}×` : "–",
      flagUncounted(trips),
      v.up,
      v.down,
    ];
  });
  out.push(
    markdownTable(
      ["Request", "Path", "Mode", "10k p50", "10k p99", "1M p50", "1M p99", "1M/10k p50", "DB trips", `1M ≤ ${KEYSET_BUDGET}× 10k`, `10k ≤ ${KEYSET_BUDGET}× 1M`],
      rows,
      ["l", "l", "l", "r", "r", "r", "r", "r", "c", "c", "c"],
    ),
  );
  out.push("");
  const deepAt = specs.findIndex((s) => s.key === "deep");
  if (deepAt >= 0 && small && large) {
    const v = verdicts[deepAt]!;
    const keyset = verdicts.filter((_, i) => specs[i]!.keyset);
    out.push(
      `**Keyset budget** (deep page, p50 1M / 10k ≤ ${KEYSET_BUDGET}×): **${v.ratio.toFixed(2)}× ${v.up}** (every keyset row: ${keyset.every((k) => k.up === "✓") ? "✓" : "✗"}). ` +
        `Reverse check, 10k / 1M ≤ ${KEYSET_BUDGET}×: **${(1 / v.ratio).toFixed(2)}× ${v.down}** (every keyset row: ${keyset.every((k) => k.down === "✓") ? "✓" : "✗"}).`,
      "",
    );
  }
  for (const extra of extras) {
    out.push(`Extra tenant, same tables — **${extra.tenant.key}**: ${extra.tenant.extra}. Not part of the budget; compared with the 1M tenant:`, "");
    const extraRows = extra.rows.map((r) => {
      const ratio = percentile(r.result.latencyMs, 50) / p50(large, r.key);
      return [r.label, r.keyset ? "keyset" : "page", ms(percentile(r.result.latencyMs, 50)), ms(percentile(r.result.latencyMs, 99)), cell(large, r.key, 50), Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–", flagUncounted(describeCounts(r.result.trips))];
    });
    out.push(markdownTable(["Request", "Mode", `${extra.tenant.key} p50`, `${extra.tenant.key} p99`, "1M p50", `${extra.tenant.key} / 1M p50`, "DB trips"], extraRows, ["l", "l", "r", "r", "r", "r", "c"]));
    out.push("");
  }
  for (const size of p.sizes) out.push(`- ${size.tenant.key}: cursor walk from the first page: ${size.walk.detail}.`);
  for (const note of p.notes) out.push(`- ${note}`);
  out.push("");
  return out;
}

await main();
