// `npm run migrate`: applies committed migrations to DATABASE_URL (or the dev PGlite directory).
// Idempotent, so the Vercel buildCommand runs it on every deploy — but on Vercel only when
// buildMigration() says it is safe (never production's database from a preview).
import { buildMigration } from "./build-migration.js";
import { dbOptionsFromEnv } from "./client.js";
import { migrate } from "./migrate.js";

const decision = buildMigration(process.env);
const say = (level: string, msg: string, extra: object = {}) => console.log(JSON.stringify({ level, msg, ...extra }));
if (decision.action === "fail") {
  console.error(`migrate: ${decision.reason}`);
  process.exit(1);
}
if (decision.action === "skip") {
  say("warn", `migrations skipped: ${decision.reason}`);
  process.exit(0);
}
const options = { ...dbOptionsFromEnv(process.env), url: decision.url };
if (!options.url && !options.pgliteDataDir) options.pgliteDataDir = ".data/pglite";
say("info", `migrating: ${decision.reason}`);
try {
  await migrate(options);
} catch (error) {
  console.error(`migrate: failed: ${(error as Error).message || error}`);
  process.exit(1);
}
say("info", "migrations applied", { target: options.url ? "postgres" : options.pgliteDataDir });
