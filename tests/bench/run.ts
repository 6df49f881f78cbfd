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
import { buildForNode, coldImportSummary, IMPORT_BUDGET_MS, measureColdImports, measurePackageImports, type ColdImportRow } from "./cold-import.js";
import { cleanupBenchWrites, EXTRA_ITEMS, itemCounts, liveBenchItemIds, openPglite, openPostgres, type DriverRun } from "./fixtures.js";
import { exchange, itemScenarios, measureScenario, requestInit, type LatencyOptions, type RowResult, type Send } from "./latency.js";
import { describeCounts, markdownTable, median, ms, percentile, thousands } from "./stats.js";
import { closeServer, measureThroughput, startHelloServer, type ThroughputOptions } from "./throughput.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REPORT = fileURLToPath(new URL("./last-run.md", import.meta.url));

const LATENCY: LatencyOptions = QUICK
  ? { warmup: 10, iterations: 60, minIterations: 30, maxMsPerScenario: 3_000 }
  : { warmup: 50, iterations: 400, minIterations: 100, maxMsPerScenario: 8_000 };
const THROUGHPUT: ThroughputOptions = QUICK ? { concurrency: 20, durationMs: 1_000, warmupMs: 300 } : { concurrency: 20, durationMs: 3_000, warmupMs: 500 };
const COLD_RUNS = QUICK ? 3 : 5;

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

interface DriverResult {
  label: string;
  rows: { endpoint: string; inProcess: RowResult; http: RowResult }[];
  coldAuthTrips: number;
  httpRequests: number;
  httpConnections: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const date = new Date();

  progress("transpiling api/, lib/, db/ into .build/ and timing cold imports");
  const buildDir = await buildForNode(ROOT);
  const coldRows = measureColdImports(buildDir, COLD_RUNS);
  const packageRows = measurePackageImports(buildDir, COLD_RUNS);

  const app = createLocalApp();
  // Node's own Request/Response, as on Vercel (see env.ts).
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false }) as Server;
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

  const drivers: DriverResult[] = [];
  let throughput: { api: number; hello: number; errors: number } | undefined;
  let dataset = "";

  const pglite = await openPglite();
  try {
    const counts = await itemCounts(pglite.direct.handle.db);
    dataset = `demo tenant with ${thousands(counts.live)} live and ${thousands(counts.deleted)} soft-deleted items (seedDemo + ${thousands(EXTRA_ITEMS)} inserted)`;
    drivers.push(await benchDriver(pglite.direct));

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
    } finally {
      await bridged.close();
    }

    if (POSTGRES_URL) {
      progress("setting up the real Postgres");
      const postgres = await openPostgres(POSTGRES_URL);
      try {
        drivers.push(await benchDriver(postgres.direct));
        const viaBridge = await postgres.bridged();
        try {
          drivers.push(await benchDriver(viaBridge));
        } finally {
          await viaBridge.close();
        }
      } finally {
        await postgres.direct.close();
      }
    }
  } finally {
    installDb(undefined);
    await closeServer(server);
    await pglite.close();
  }

  const report = render({ date, drivers, coldRows, packageRows, throughput: throughput!, dataset, seconds: (performance.now() - started) / 1000 });
  writeFileSync(REPORT, report);
  process.stdout.write(report);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; written to ${REPORT}`);
}

/** Every benchmarked endpoint touches the database: a 0 is a counting gap, and the report says so. */
const flagUncounted = (trips: string) => (/^0( |$)/.test(trips) || trips.includes("/ 0") ? `${trips} ⚠` : trips);

function render(r: {
  date: Date;
  drivers: DriverResult[];
  coldRows: ColdImportRow[];
  packageRows: ColdImportRow[];
  throughput: { api: number; hello: number; errors: number };
  dataset: string;
  seconds: number;
}): string {
  const cpus = os.cpus();
  const out: string[] = [];
  out.push("# Tally API benchmark", "");
  out.push(`- Date: ${r.date.toISOString()}`);
  out.push(`- Machine: ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${os.type()} ${os.release()} (${os.arch()}), Node ${process.version}`);
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

  out.push("## Cold import", "");
  out.push(
    `Each \`api/\` module transpiled by esbuild (no bundling) into \`.build/\` and imported in a fresh \`node\` process; \`performance.now()\` around \`await import()\`, median of ${COLD_RUNS} runs after one untimed run. ` +
      `Budget ≤ ${IMPORT_BUDGET_MS} ms per module. *Process* is spawn to exit, Node start-up included.`,
    "",
  );
  const coldTable = r.coldRows.map((row) => {
    const s = coldImportSummary(row);
    return [`\`${row.module}\``, ms(s.importMedian, 1), ms(Math.min(...row.importMs), 1), ms(Math.max(...row.importMs), 1), ms(s.processMedian, 0), s.withinBudget ? "✓" : "✗"];
  });
  out.push(markdownTable(["Module", "Import (median)", "min", "max", "Process (median)", `≤ ${IMPORT_BUDGET_MS} ms`], coldTable, ["l", "r", "r", "r", "r", "c"]));
  out.push("");
  out.push("Packages those modules import statically, each imported alone the same way (shared code counts in each, so they do not add up):", "");
  const packageTable = r.packageRows.map((row) => [`\`${row.module}\``, ms(median(row.importMs), 1)]);
  out.push(markdownTable(["Package", "Import (median)"], packageTable, ["l", "r"]));
  out.push("");
  return out.join("\n");
}

await main();
