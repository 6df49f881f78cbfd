import { countRoundTrip } from "./round-trips.js";
import { neonHttpDb, nodePostgresDb, type Db, type NeonClient, type PgPool } from "./session.js";

// Repositories see only db/session.ts's Db (execute, atomic), the same on every driver.
export type { Db };
export type DbKind = "neon-http" | "node-postgres" | "pglite";

export interface DbHandle {
  db: Db;
  kind: DbKind;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres:// URL. Absent: the local database registered by the dev server or tests (db/pglite.ts). */
  url?: string;
  /** Forces neon-http and sends its requests here (a local SQL-over-HTTP bridge, or Neon's local proxy). */
  neonFetchEndpoint?: string;
  /** PGlite data directory for the local factory; absent means in-memory. */
  pgliteDataDir?: string;
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
    // A configuration error like a missing URL (503 config_error, health says why); the URL itself
    // is never quoted: it carries the password.
    throw new DatabaseNotConfigured("DATABASE_URL is not a valid URL.");
  }
}

export async function createDb(options: DbOptions): Promise<DbHandle> {
  const kind = driverKindFor(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (kind === "neon-http") return createNeonHttp(options, timeoutMs);
  if (kind === "node-postgres") return createNodePostgres(options.url!, timeoutMs);
  return createLocalDb(options);
}

async function createNeonHttp(options: DbOptions, timeoutMs: number): Promise<DbHandle> {
  const { neon, neonConfig, types } = await import("@neondatabase/serverless");
  const url = options.url ?? "postgresql://bridge@localhost/tally";
  if (options.neonFetchEndpoint) routeNeonEndpoint(neonConfig, url, options.neonFetchEndpoint);
  neonConfig.fetchFunction = (input: string, init: RequestInit) =>
    countRoundTrip(() => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }));
  const db = neonHttpDb(neon(url) as unknown as NeonClient, types);
  return { db, kind: "neon-http", close: async () => {} };
}

type NeonEndpoint = (host: string, port: number | string, options?: { jwtAuth?: boolean }) => string;
const neonEndpoints = globalThis as typeof globalThis & { __tallyNeonEndpoints?: { byHost: Map<string, string>; neonDefault: NeonEndpoint | string } };

/**
 * neonConfig.fetchEndpoint is global to the module, but a primary and its read replicas (db/replicas.ts)
 * may each sit behind their own endpoint (local SQL-over-HTTP bridges): endpoints are kept per
 * host:port of the connection string, and any other host keeps Neon's default (https://api.<host>/sql).
 */
function routeNeonEndpoint(neonConfig: { fetchEndpoint: NeonEndpoint | string }, url: string, endpoint: string): void {
  if (!neonEndpoints.__tallyNeonEndpoints) {
    const state = { byHost: new Map<string, string>(), neonDefault: neonConfig.fetchEndpoint };
    neonEndpoints.__tallyNeonEndpoints = state;
    neonConfig.fetchEndpoint = (host, port, opts) => {
      const own = state.byHost.get(`${host}:${port || 5432}`);
      if (own) return own;
      return typeof state.neonDefault === "function" ? state.neonDefault(host, port, opts) : state.neonDefault;
    };
  }
  const parsed = new URL(url);
  neonEndpoints.__tallyNeonEndpoints.byHost.set(`${parsed.hostname}:${parsed.port || 5432}`, endpoint);
}

/** How much later than Postgres's own cancel node-postgres stops waiting for an answer. */
const CANCEL_MARGIN_MS = 250;

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
    // query_timeout only stops waiting: the statement runs on in Postgres and may commit after the
    // client was answered 503. Postgres itself cancels at statement_timeout (onConnect), which comes
    // first; query_timeout stays, a little later, for a database that no longer answers at all.
    query_timeout: timeoutMs + CANCEL_MARGIN_MS,
    idleTimeoutMillis: 10_000,
    // Once per new connection, before pg-pool hands it out (it awaits this hook); a SET rather than
    // the statement_timeout startup parameter, which PgBouncer-style poolers refuse. Callback form:
    // not counted as a round trip of the request that happened to open the connection.
    onConnect: (client: { query(text: string, done: (error: Error | undefined) => void): unknown }) =>
      new Promise<void>((resolve, reject) => void client.query(`SET statement_timeout = ${Math.ceil(timeoutMs)}`, (error: Error | undefined) => (error ? reject(error) : resolve()))),
  });
  // An idle client losing its connection must not crash the process.
  pool.on("error", () => {});
  const db = nodePostgresDb(pool as unknown as PgPool, pg.types);
  return { db, kind: "node-postgres", close: () => pool.end() };
}

/** Thrown when no database is configured; answered as 503 `config_error` (lib/http/errors.ts). */
export class DatabaseNotConfigured extends Error {
  override name = "DatabaseNotConfigured";
}

function isProductionEnv(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV === "production" || env.VERCEL_ENV === "production";
}

// Without a URL, only a factory that dev or test code registered can supply a database (PGlite,
// db/pglite.ts). Production code never imports that module, so Vercel's file tracer cannot ship
// PGlite, and production refuses the fallback even if something registered it.
type LocalDbFactory = (options: DbOptions) => Promise<DbHandle>;
const localSlot = globalThis as typeof globalThis & { __tallyLocalDb?: LocalDbFactory };

export function setLocalDbFactory(factory: LocalDbFactory | undefined): void {
  localSlot.__tallyLocalDb = factory;
}

function createLocalDb(options: DbOptions): Promise<DbHandle> {
  if (isProductionEnv(process.env)) {
    throw new DatabaseNotConfigured("DATABASE_URL is not set; production never falls back to an embedded database.");
  }
  const factory = localSlot.__tallyLocalDb;
  if (!factory) throw new DatabaseNotConfigured("DATABASE_URL is not set.");
  return factory(options);
}

export interface DbEnv {
  DATABASE_URL?: string;
  NEON_DATABASE_URL?: string;
  NEON_FETCH_ENDPOINT?: string;
  PGLITE_DATA_DIR?: string;
  DB_TIMEOUT_MS?: string;
}

/** A pasted value's surrounding blanks are not part of it; a blank value is an unset one. */
const setting = (value: string | undefined) => value?.trim() || undefined;

/** A per-query limit that is not a positive finite number would disable it (pg) or break every query (neon): default instead. */
function timeoutSetting(value: string | undefined): number | undefined {
  const ms = Number(setting(value));
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function dbOptionsFromEnv(env: DbEnv): DbOptions {
  return {
    url: setting(env.DATABASE_URL) ?? setting(env.NEON_DATABASE_URL),
    neonFetchEndpoint: setting(env.NEON_FETCH_ENDPOINT),
    pgliteDataDir: setting(env.PGLITE_DATA_DIR),
    timeoutMs: timeoutSetting(env.DB_TIMEOUT_MS),
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
