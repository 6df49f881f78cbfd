// PGlite (Postgres in WASM) for the dev server, tests and benches — never for a deployment.
// Nothing reachable from api/ may import this file: Vercel's file tracer would ship PGlite's 16 MB
// in every function (a test and `npm run deploy:check` guard it). Production's getDb() has no path
// here; the dev server and tests hand PGlite over with useLocalPglite() or createPgliteDb().
import { PGlite } from "@electric-sql/pglite";
import { setLocalDbFactory, type DbHandle } from "./client.js";
import { pgliteDb, type PgliteClient } from "./session.js";
import { countRoundTrip } from "./round-trips.js";

export interface PgliteOptions {
  /** An already-open instance (tests clone one migrated template); closed with the handle. */
  pglite?: PGlite;
  /** Data directory; absent means in-memory. */
  dataDir?: string;
}

export async function createPgliteDb(options: PgliteOptions = {}): Promise<DbHandle> {
  const client = options.pglite ?? new PGlite(options.dataDir);
  const db = pgliteDb(countPgliteTrips(client) as unknown as PgliteClient);
  return { db, kind: "pglite", close: () => client.close() };
}

/** Lets getDb() fall back to PGlite when no DATABASE_URL is set (refused in production anyway). */
export function useLocalPglite(): void {
  setLocalDbFactory((options) => createPgliteDb({ dataDir: options.pgliteDataDir }));
}

function countPgliteTrips(client: PGlite): PGlite {
  // Statements inside a transaction run on the transaction object, so a transaction counts once.
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "query" || prop === "exec" || prop === "transaction") {
        return (...args: unknown[]) => countRoundTrip(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
