// `npm run dev`: the whole API on this machine. PGlite under .data/ (or DATABASE_URL when set),
// migrations applied, demo data seeded, dev tokens enabled.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dbOptionsFromEnv, getDb } from "../../db/client.js";
import { migrate } from "../../db/migrate.js";
import { useLocalPglite } from "../../db/pglite.js";
import { demoSubject, mintDevToken } from "../auth/dev-tokens.js";
import { isProduction } from "../platform/config.js";
import { createLocalApp, serveLocalApp } from "./app.js";
import { DATA_DIR, devSecret } from "./dev-secret.js";
import { DEMO_TENANT, seedDemo } from "./seed.js";

if (isProduction()) {
  console.error("Refusing to start the dev server with NODE_ENV/VERCEL_ENV=production: it enables dev tokens.");
  process.exit(1);
}

process.env.DEV_AUTH_SECRET = devSecret();
// Lets you run the cron routes by hand: curl -H "Authorization: Bearer $CRON_SECRET" .../api/cron/...
process.env.CRON_SECRET ??= `dev-cron-${process.env.DEV_AUTH_SECRET.slice(0, 16)}`;
// And GET /api/metrics (404 without a token).
process.env.METRICS_TOKEN ??= `dev-metrics-${process.env.DEV_AUTH_SECRET.slice(0, 16)}`;
if (!process.env.DATABASE_URL && !process.env.NEON_DATABASE_URL) {
  mkdirSync(DATA_DIR, { recursive: true });
  process.env.PGLITE_DATA_DIR ??= join(DATA_DIR, "pglite");
}

useLocalPglite();
await migrate(dbOptionsFromEnv(process.env));
const { db, kind } = await getDb();
await seedDemo(db);

const app = createLocalApp();
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOST ?? "127.0.0.1";
const server = serveLocalApp(app, { port, hostname }, (info) => {
  void mintDevToken(process.env.DEV_AUTH_SECRET!, { subject: demoSubject(DEMO_TENANT.slug, "owner"), email: "owner@demo.tally.dev", name: "Demo owner", ttlSeconds: 7 * 24 * 3600 }).then((token) => {
    const url = `http://${hostname}:${info.port}`;
    console.log(`\nTally API listening on ${url}  (database: ${kind}${kind === "pglite" ? ` at ${process.env.PGLITE_DATA_DIR}` : ""})`);
    console.log(`${app.routes.length} route files loaded from api/\n`);
    console.log(`Dev token (owner of tenant "${DEMO_TENANT.slug}", valid 7 days):\n\n  export TOKEN=${token}\n`);
    console.log(`Try:\n  curl -s ${url}/api/items -H "Authorization: Bearer $TOKEN"\n`);
    console.log(`More tokens: npm run token -- --role staff --tenant demo`);
    console.log(`Cron routes: curl ${url}/api/cron/refresh-analytics -H "Authorization: Bearer ${process.env.CRON_SECRET}"`);
    console.log(`Metrics:     curl ${url}/api/metrics -H "Authorization: Bearer ${process.env.METRICS_TOKEN}"`);
    console.log(`Order board: ${url}/board.html\n`);
  });
});

const shutdown = async () => {
  server.close();
  await (await getDb()).close();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
