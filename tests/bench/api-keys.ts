// `tsx tests/bench/api-keys.ts`: what authenticating a request costs — an API key warm (cached on
// this instance) and cold (cache cleared: one lookup), a user token warm and cold for comparison.
// Measures authenticate() alone (the function route() calls), sequentially, with its database round
// trips counted at the driver. A report, not a test. Database: PGlite in memory, or
// BENCH_DATABASE_URL (node-postgres).
import { createDb, installDb } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { migrate } from "../../db/migrate.js";
import { newRoundTripScope, withRoundTripScope } from "../../db/round-trips.js";
import { forgetApiKeys } from "../../lib/auth/api-key-auth.js";
import { authenticate, forgetPrincipals } from "../../lib/auth/session.js";
import { settleBackgroundWork } from "../../lib/platform/wait-until.js";
import { createTenant } from "../support/fixtures.js";
import { markdownTable, median, ms, percentile } from "./stats.js";

process.env.LOG_LEVEL = "silent";
process.env.DEV_AUTH_SECRET ??= "bench-dev-secret-0123456789abcdef";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);
const dbUrl = process.env.BENCH_DATABASE_URL;
const pglite = dbUrl ? undefined : new (await import("@electric-sql/pglite")).PGlite();
await migrate(dbUrl ? { url: dbUrl } : { pglite });
const handle = dbUrl ? await createDb({ url: dbUrl }) : await createPgliteDb({ pglite });
installDb(handle);
const tenant = await createTenant(handle.db, "bench-keys");

const request = (credential: string) => new Request("http://localhost/api/items", { headers: { authorization: `Bearer ${credential}` } });

async function measure(credential: string, before?: () => void) {
  const times: number[] = [];
  let trips = 0;
  for (let i = 0; i < SAMPLES; i++) {
    before?.();
    const scope = newRoundTripScope();
    const started = performance.now();
    await withRoundTripScope(scope, () => authenticate(request(credential), "staff"));
    times.push(performance.now() - started);
    trips += scope.db;
  }
  await settleBackgroundWork(); // lastUsedAt writes, after "the response"
  return [ms(median(times), 3), ms(percentile(times, 99), 3), (trips / SAMPLES).toFixed(2)];
}

const key = tenant.keys.staff.key;
const token = tenant.users.staff.token;
await authenticate(request(key), "staff");
await authenticate(request(token), "staff");
const rows = [
  ["API key, warm (per-instance cache)", ...(await measure(key))],
  ["API key, cold (cache cleared each time)", ...(await measure(key, () => forgetApiKeys()))],
  ["user token, warm (verified token + membership cached)", ...(await measure(token))],
  ["user token, cold membership (cache cleared each time)", ...(await measure(token, () => forgetPrincipals()))],
];
console.log(`\n### API-key auth (\`tests/bench/api-keys.ts\`, ${dbUrl ? "node-postgres → Postgres" : "PGlite in memory"}, ${SAMPLES} sequential calls each)\n`);
console.log(markdownTable(["credential", "p50 ms", "p99 ms", "db trips/call"], rows, ["l", "r", "r", "r"]));
await handle.close();
