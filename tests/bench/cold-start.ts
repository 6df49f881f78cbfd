// Cold start on Node 20 and on Node 24 (Vercel's runtime): each function's module import, the
// packages behind it, and each function's first request of a fresh instance (with a real Postgres).
// Part of `npm run bench`; `npm run bench:cold` (tests/bench/cold.ts) runs only this. Nothing here asserts on time.
import { createDb } from "../../db/client.js";
import { migrate } from "../../db/migrate.js";
import { pgExecutor, startNeonBridge } from "../support/neon-bridge.js";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";
import {
  buildForNode,
  coldImportSummary,
  COMPARISON_IMPORTS,
  IMPORT_BUDGET_MS,
  measureColdImports,
  measurePackageImports,
  nodeRuntimes,
  type ColdImportRow,
  type NodeRuntime,
} from "./cold-import.js";
import { restoreFetchGlobals } from "./env.js";
import { FIRST_REQUEST_BUDGET_MS, firstRequestMedian, measureFirstRequests, type DriverEnv, type FirstRequestRow } from "./first-request.js";
import { describeCounts, markdownTable, median, ms } from "./stats.js";

export interface ColdStartResult {
  runtimes: NodeRuntime[];
  notes: string[];
  importRuns: number;
  firstRuns: number;
  imports: Record<string, ColdImportRow[]>;
  packages: Record<string, ColdImportRow[]>;
  comparison: Record<string, ColdImportRow[]>;
  first: { drivers: DriverEnv[]; rows: FirstRequestRow[] } | { skipped: string };
}

export async function measureColdStart(
  root: string,
  options: { importRuns: number; firstRuns: number; postgresUrl?: string; redisUrl?: string; progress: (m: string) => void },
): Promise<ColdStartResult> {
  const { runtimes, notes } = nodeRuntimes(root);
  options.progress(`transpiling api/, lib/, db/ into .build/; cold imports on ${runtimes.map((r) => r.label).join(" and ")}`);
  const buildDir = await buildForNode(root);
  const result: ColdStartResult = { runtimes, notes, importRuns: options.importRuns, firstRuns: options.firstRuns, imports: {}, packages: {}, comparison: {}, first: { skipped: "" } };
  for (const node of runtimes) {
    options.progress(`cold imports on ${node.label}`);
    result.imports[node.label] = measureColdImports(buildDir, options.importRuns, node);
    result.packages[node.label] = measurePackageImports(buildDir, options.importRuns, node);
    result.comparison[node.label] = measurePackageImports(buildDir, options.importRuns, node, COMPARISON_IMPORTS);
  }
  if (!options.postgresUrl) {
    result.first = { skipped: "no BENCH_DATABASE_URL / TEST_DATABASE_URL: the first-request figures need a real Postgres." };
    return result;
  }
  const url = options.postgresUrl;
  await migrate({ url });
  const handle = await createDb({ url });
  const executor = pgExecutor(url);
  const bridge = await startNeonBridge(executor);
  // With a Redis, also production's shape: the rate limit and cache lookup through @upstash/redis
  // (imported on the first request too) against the local Upstash REST bridge.
  let upstash: UpstashBridge | undefined;
  if (options.redisUrl) upstash = await startUpstashBridge(options.redisUrl);
  restoreFetchGlobals();
  try {
    const neonEnv = { DATABASE_URL: url, NEON_FETCH_ENDPOINT: bridge.endpoint };
    const drivers: DriverEnv[] = [
      { label: "node-postgres", env: { DATABASE_URL: url } },
      { label: "neon-http → bridge", env: neonEnv },
    ];
    if (upstash) {
      drivers.push({
        label: "neon-http + Upstash → bridges",
        env: { ...neonEnv, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token, REDIS_KEY_PREFIX: "bench-cold" },
      });
    } else result.notes.push("No BENCH_REDIS_URL / TEST_REDIS_URL: first requests run without Redis (in-process cache and limiter), not through @upstash/redis as in production.");
    const rows = await measureFirstRequests({ buildDir, db: handle.db, runtimes, drivers, runs: options.firstRuns, progress: options.progress });
    result.first = { drivers, rows };
  } finally {
    await upstash?.close();
    await bridge.close();
    await executor.close();
    await handle.close();
  }
  return result;
}

const is24 = (node: NodeRuntime) => /^Node 24\./.test(node.label);

export function renderColdStart(r: ColdStartResult): string[] {
  const out: string[] = ["## Cold start: Node 20 and Node 24", ""];
  out.push(
    `Vercel runs Node 24. Each \`api/\` module is transpiled by esbuild file by file (no bundling, as Vercel's builder does) into \`.build/\` ` +
      `and imported in a fresh process of each Node below; \`performance.now()\` around \`await import()\`, median of ${r.importRuns} runs after one untimed run; ` +
      `*CPU* is the process's user + system time over the same span (what the import costs when the machine is busy with other work). Budget ≤ ${IMPORT_BUDGET_MS} ms per module (wall) on each.`,
    "",
  );
  for (const note of r.notes) out.push(`- ${note}`, "");
  const labels = r.runtimes.map((n) => n.label);
  const modules = r.imports[labels[0]!]!.map((row) => row.module);
  const importTable = modules.map((module) => {
    const cells = labels.flatMap((label) => {
      const row = r.imports[label]!.find((x) => x.module === module)!;
      const summary = coldImportSummary(row);
      return [ms(summary.importMedian, 1), `${ms(Math.min(...row.importMs), 0)}–${ms(Math.max(...row.importMs), 0)}`, ms(summary.cpuMedian, 1)];
    });
    const ok = labels.every((label) => coldImportSummary(r.imports[label]!.find((x) => x.module === module)!).withinBudget);
    return [`\`${module}\``, ...cells, ok ? "✓" : "✗"];
  });
  out.push(
    markdownTable(
      ["Module", ...labels.flatMap((l) => [`${l} import (median)`, "range", "CPU"]), `≤ ${IMPORT_BUDGET_MS} ms`],
      importTable,
      ["l", ...labels.flatMap(() => ["r", "r", "r"] as const), "c"],
    ),
    "",
  );
  const worst = labels.map((label) => `${label}: ${ms(Math.max(...r.imports[label]!.map((row) => coldImportSummary(row).importMedian)), 1)} ms`);
  out.push(`Slowest module (median): ${worst.join("; ")}.`, "");

  out.push(
    "Packages, each imported alone the same way. *Loaded at import time* by the functions (`require:` = through `require()`, as `db/drizzle-sql.cjs` loads drizzle's `sql` template); " +
      "*for comparison*: the drivers `db/client.ts` imports on the first request, and drizzle's entry points through the ESM loader, which the functions no longer load.",
    "",
  );
  const pkgNames = [...r.packages[labels[0]!]!.map((row) => row.module), ...r.comparison[labels[0]!]!.map((row) => row.module)];
  const pkgTable = pkgNames.map((name, i) => {
    const loaded = i < r.packages[labels[0]!]!.length;
    const cells = labels.map((label) => {
      const row = [...r.packages[label]!, ...r.comparison[label]!].find((x) => x.module === name);
      return row ? `${ms(median(row.importMs), 1)} (${ms(median(row.cpuMs), 1)})` : "–";
    });
    return [`\`${name}\``, loaded ? "loaded at import time" : "for comparison", ...cells];
  });
  out.push(markdownTable(["Package", "", ...labels.map((l) => `${l}: median ms (CPU)`)], pkgTable, ["l", "l", ...labels.map(() => "r" as const)]), "");

  out.push("### First request of a fresh instance", "");
  if ("skipped" in r.first) {
    out.push(`Skipped — ${r.first.skipped}`, "");
    return out;
  }
  const { drivers, rows } = r.first;
  out.push(
    `A fresh process per sample: warm Node's \`Request\`/\`Response\` (the platform builds the request before calling us), import the function's module, then time its handler ` +
      `from the call until the response body is read — the request pays the database driver's lazy import, the connection and (authenticated routes) the membership lookup. ` +
      `Each sample gets fresh fixtures (its own tenant, owner dev token; the cron secret for cron routes) and the function's GET, or its first method in the route catalog, with a valid body. ` +
      `Real Postgres through node-postgres, and through neon-http via the local SQL-over-HTTP bridge (running in the bench process); with a Redis also as in production, ` +
      `neon-http plus the rate limit and cache lookup through \`@upstash/redis\` and the local Upstash REST bridge. Median of ${r.firstRuns} in ms, wall (CPU of the function's process); ` +
      `budget ≤ ${FIRST_REQUEST_BUDGET_MS} ms on Node 24. *Status* and *DB trips* (Server-Timing) are the same in every sample unless a range is shown.`,
    "",
  );
  const keys = r.runtimes.flatMap((node) => drivers.map((driver) => ({ node, driver, key: `${node.label} · ${driver.label}` })));
  const table = rows.map((row) => {
    const all = Object.values(row.samples).flat();
    const budgetKeys = keys.filter((k) => is24(k.node));
    const ok = budgetKeys.length > 0 && budgetKeys.every((k) => firstRequestMedian(row.samples[k.key]) <= FIRST_REQUEST_BUDGET_MS);
    return [
      `\`${row.request}\``,
      describeCounts(all.map((s) => s.status)),
      describeCounts(all.map((s) => s.trips)),
      ...keys.map((k) => `${ms(firstRequestMedian(row.samples[k.key]), 1)} (${ms(firstRequestMedian(row.samples[k.key], "cpuMs"), 1)})`),
      budgetKeys.length ? (ok ? "✓" : "✗") : "–",
    ];
  });
  out.push(
    markdownTable(
      ["Function: request", "Status", "DB trips", ...keys.map((k) => `${k.node.label}, ${k.driver.label}`), `Node 24 ≤ ${FIRST_REQUEST_BUDGET_MS} ms`],
      table,
      ["l", "c", "c", ...keys.map(() => "r" as const), "c"],
    ),
    "",
  );
  for (const k of keys) {
    const medians = rows.map((row) => firstRequestMedian(row.samples[k.key]));
    const cpu = rows.map((row) => firstRequestMedian(row.samples[k.key], "cpuMs"));
    out.push(`- ${k.node.label}, ${k.driver.label}: median over functions ${ms(median(medians), 1)} ms (CPU ${ms(median(cpu), 1)}), slowest ${ms(Math.max(...medians), 1)} ms (CPU ${ms(Math.max(...cpu), 1)}).`);
  }
  out.push("");
  return out;
}
