// `npm run bench:cold`: only the cold-start part of the bench (tests/bench/cold-start.ts), printed as
// markdown. BENCH_QUICK=1 for fewer runs; BENCH_DATABASE_URL (or TEST_DATABASE_URL) for the
// first-request figures.
import { POSTGRES_URL, QUICK } from "./env.js"; // first: sets the environment
import os from "node:os";
import { fileURLToPath } from "node:url";
import { measureColdStart, renderColdStart } from "./cold-start.js";

const started = performance.now();
const root = fileURLToPath(new URL("../..", import.meta.url));
const result = await measureColdStart(root, {
  importRuns: QUICK ? 3 : 5,
  firstRuns: QUICK ? 1 : 3,
  postgresUrl: POSTGRES_URL,
  redisUrl: process.env.BENCH_REDIS_URL || process.env.TEST_REDIS_URL || undefined,
  progress: (m) => process.stderr.write(`[bench:cold] ${m}\n`),
});
const cpus = os.cpus();
const header = [
  "# Tally cold start",
  "",
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${os.type()} ${os.release()} (${os.arch()}); ${result.runtimes.map((n) => n.label).join(", ")}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  `- Whole run ${((performance.now() - started) / 1000).toFixed(0)} s`,
  "",
];
process.stdout.write([...header, ...renderColdStart(result)].join("\n") + "\n");
