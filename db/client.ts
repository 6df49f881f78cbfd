import { countRoundTrip } from "./round-trips.js";
import { neonHttpDb, nodePostgresDb, pgliteDb, type Db, type NeonClient, type PgliteClient, type PgPool } from "./session.js";

// Repositories see only db/session.ts's Db (execute, atomic), the same on every driver.
export type { Db };
export type DbKind = "neon-http" | "node-postgres" | "pglite";

export interface DbHandle {
  db: Db;
  kind: DbKind;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres:// URL. Absent: PGlite. */
  url?: string;
  /** Forces neon-http and sends its requests here (a local SQL-over-HTTP bridge, or Neon's local proxy). */
  neonFetchEndpoint?: string;
  /** PGlite data directory; absent means in-memory. */
  pgliteDataDir?: string;
  /** An already-open PGlite instance (tests clone one migrated template). */
  pglite?: import("@electric-sql/pglite").PGlite;
  /** Per-query time limit: a dead database must answer 503 quickly, not hang the function. */
  timeoutMs?: number;
}

export function driverKindFor(options: DbOptions): DbKind {
  if (options.neonFetchEndpoint) return "neon-http";
  if (!options.url) return "pglite";
  const host = safeHost(options.url);
  return host.endsWith(".neon.tech") || host.endsWith(".neon.build") ? "neon-http" : "node-postgres";
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    throw new Error("DATABASE_URL is not a valid URL");
  }
}

export async function createDb(options: DbOptions): Promise<DbHandle> {
  const kind = driverKindFor(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (kind === "neon-http") return createNeonHttp(options, timeoutMs);
  if (kind === "node-postgres") return createNodePostgres(options.url!, timeoutMs);
  return createPglite(options);
}

async function createNeonHttp(options: DbOptions, timeoutMs: number): Promise<DbHandle> {
  const { neon, neonConfig, types } = await import("@neondatabase/serverless");
  if (options.neonFetchEndpoint) neonConfig.fetchEndpoint = options.neonFetchEndpoint;
  neonConfig.fetchFunction = (input: string, init: RequestInit) =>
    countRoundTrip(() => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }));
  const url = options.url ?? "postgresql://bridge@localhost/tally";
  const db = neonHttpDb(neon(url) as unknown as NeonClient, types);
  return { db, kind: "neon-http", close: async () => {} };
}

async function createNodePostgres(url: string, timeoutMs: number): Promise<DbHandle> {
  const { default: pg } = await import("pg");
  // Trips are counted where the request makes them: at pool.query() for single statements, and at
  // client.query() for a checked-out client (transactions). pg-pool runs a queued query later, in the
  // async context of whichever request released a connection, so counting inside the pool's own
  // (callback-style) client.query would credit the wrong request.
  type Query = (...args: unknown[]) => unknown;
  const countPromiseCalls = (original: Query): Query =>
    function (this: unknown, ...args: unknown[]) {
      if (args.some((a) => typeof a === "function")) return original.apply(this, args);
      return countRoundTrip(async () => original.apply(this, args));
    };
  class CountingClient extends pg.Client {}
  CountingClient.prototype.query = countPromiseCalls(pg.Client.prototype.query as Query) as never;
  class CountingPool extends pg.Pool {}
  CountingPool.prototype.query = countPromiseCalls(pg.Pool.prototype.query as Query) as never;
  const pool = new CountingPool({
    connectionString: url,
    Client: CountingClient,
    max: Number(process.env.DB_POOL_MAX ?? 10),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 10_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on("error", () => {});
  const db = nodePostgresDb(pool as unknown as PgPool, pg.types);
  return { db, kind: "node-postgres", close: () => pool.end() };
}

async function createPglite(options: DbOptions): Promise<DbHandle> {
  // The module name is held in a variable so Vercel's file tracer does not ship PGlite's wasm in
  // every function; production always has DATABASE_URL.
  const pgliteModule = "@electric-sql/pglite";
  const { PGlite } = (await import(pgliteModule)) as typeof import("@electric-sql/pglite");
  const client = options.pglite ?? new PGlite(options.pgliteDataDir);
  const counted = countPgliteTrips(client);
  const db = pgliteDb(counted as unknown as PgliteClient);
  return { db, kind: "pglite", close: () => client.close() };
}

type PGliteLike = import("@electric-sql/pglite").PGlite;

function countPgliteTrips(client: PGliteLike): PGliteLike {
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

export interface DbEnv {
  DATABASE_URL?: string;
  NEON_DATABASE_URL?: string;
  NEON_FETCH_ENDPOINT?: string;
  PGLITE_DATA_DIR?: string;
  DB_TIMEOUT_MS?: string;
}

export function dbOptionsFromEnv(env: DbEnv): DbOptions {
  return {
    url: env.DATABASE_URL || env.NEON_DATABASE_URL || undefined,
    neonFetchEndpoint: env.NEON_FETCH_ENDPOINT || undefined,
    pgliteDataDir: env.PGLITE_DATA_DIR || undefined,
    timeoutMs: env.DB_TIMEOUT_MS ? Number(env.DB_TIMEOUT_MS) : undefined,
  };
}

// One client per warm instance: kept on globalThis so it survives module re-evaluation (and
// tests can install their own).
const slot = globalThis as typeof globalThis & { __tallyDb?: Promise<DbHandle> };

export function getDb(): Promise<DbHandle> {
  slot.__tallyDb ??= createDb(dbOptionsFromEnv(process.env)).catch((error) => {
    slot.__tallyDb = undefined;
    throw error;
  });
  return slot.__tallyDb;
}

export function installDb(handle: DbHandle | undefined): void {
  slot.__tallyDb = handle ? Promise.resolve(handle) : undefined;
}
