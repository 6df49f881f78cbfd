// `npm run migrate`: applies committed migrations to DATABASE_URL (or the dev PGlite directory).
// Idempotent, so the Vercel buildCommand can run it on every deploy.
import { dbOptionsFromEnv } from "./client.js";
import { migrate } from "./migrate.js";

const options = dbOptionsFromEnv(process.env);
if (!options.url && process.env.VERCEL) {
  // A deploy without a database would silently migrate a throwaway PGlite: fail the build instead.
  console.error("DATABASE_URL (or NEON_DATABASE_URL) must be set for a Vercel build.");
  process.exit(1);
}
if (!options.url && !options.pgliteDataDir) options.pgliteDataDir = ".data/pglite";
await migrate(options);
console.log(JSON.stringify({ level: "info", msg: "migrations applied", target: options.url ? "postgres" : options.pgliteDataDir }));
