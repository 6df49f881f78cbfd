import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import type { DbOptions } from "./client.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));

// Migrations always run over a transactional driver: PGlite in place, or node-postgres for any
// postgres:// URL (Neon accepts plain TCP too). The neon-http migrator is not transactional.
// An advisory lock lets concurrent deploys or test workers migrate the same database safely.
export async function migrate(options: DbOptions & { pglite?: PGlite }): Promise<void> {
  if (options.pglite || !options.url) {
    const { PGlite } = await import("@electric-sql/pglite");
    const { drizzle } = await import("drizzle-orm/pglite");
    const { migrate: run } = await import("drizzle-orm/pglite/migrator");
    const client = options.pglite ?? new PGlite(options.pgliteDataDir);
    try {
      await run(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      if (!options.pglite) await client.close();
    }
    return;
  }
  const { default: pg } = await import("pg");
  const { drizzle } = await import("drizzle-orm/node-postgres");
  const { migrate: run } = await import("drizzle-orm/node-postgres/migrator");
  // A build must fail with a reason, not hang, when the database cannot be reached.
  const client = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 15_000 });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(7310001)");
    await run(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query("SELECT pg_advisory_unlock(7310001)").catch(() => {});
    await client.end();
  }
}
