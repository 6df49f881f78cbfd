import { AsyncLocalStorage } from "node:async_hooks";
import { log } from "../lib/platform/log.js";
import { createDb, driverKindFor, getDb, type Db, type DbHandle, type DbKind } from "./client.js";
import { DbQueryError } from "./session.js";
import type { QueryRows } from "./session.js";
import { sql, type SQL } from "./sql.js";

// Read routing (README "Read replicas"). readDb() is a Db for reads that may be a little stale
// (analytics, the public catalog): each statement goes to one of DATABASE_REPLICA_URLS in turn, or
// to the primary when there is none, when every replica is skipped, or when the request is pinned
// to the primary (it writes, or its caller wrote a moment ago: see withReadRouting). getDb() stays
// the primary for everything else.

export interface ReplicaSettings {
  /** A replica further behind than this is skipped. */
  maxLagMs: number;
  /** How old a replica's last lag measurement may get before a read carries a new one. */
  sampleMs: number;
  /** How long a failed or lagging replica is left out before it is tried again. */
  retryAfterMs: number;
}

interface ReplicaEnv {
  DATABASE_REPLICA_URLS?: string;
  REPLICA_MAX_LAG_MS?: string;
  REPLICA_LAG_SAMPLE_MS?: string;
  REPLICA_RETRY_AFTER_MS?: string;
  DB_TIMEOUT_MS?: string;
}

const positive = (value: string | undefined, fallback: number) => {
  const n = Number(value?.trim());
  return value?.trim() && Number.isFinite(n) && n >= 0 ? n : fallback;
};

export function replicaSettingsFromEnv(env: ReplicaEnv): ReplicaSettings {
  return {
    maxLagMs: positive(env.REPLICA_MAX_LAG_MS, 1000),
    sampleMs: positive(env.REPLICA_LAG_SAMPLE_MS, 1000),
    retryAfterMs: positive(env.REPLICA_RETRY_AFTER_MS, 30_000),
  };
}

export const replicaUrlsFromEnv = (env: ReplicaEnv): string[] =>
  (env.DATABASE_REPLICA_URLS ?? "").split(",").map((s) => s.trim()).filter(Boolean);

/** How long after a write its author reads from the primary: a replica in use is at most this far behind. */
export const stickyMs = (settings: ReplicaSettings) => settings.maxLagMs + settings.sampleMs;

export type ReplicaState = "ok" | "lagging" | "down" | "unknown";

export interface ReplicaHealth {
  /** Host (and port) only: the URL's credentials never leave the server. */
  host: string;
  driver?: DbKind;
  status: ReplicaState;
  /** Replay lag at the last measurement; null when not measured or not measurable. */
  lagMs: number | null;
  /** Until when reads skip it (a failure or too much lag), ISO time; absent when in use. */
  skippedUntil?: string;
}

/**
 * Replay lag in ms, without a round trip to the primary: 0 when everything received is replayed
 * (an idle primary sends nothing, and the age of the last replayed transaction would grow forever),
 * else the age of the last replayed commit. NULL when the server is no standby (then it is not
 * behind) or has replayed nothing yet.
 */
const LAG_PROBE = sql`SELECT pg_is_in_recovery() AS in_recovery,
  CASE WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE greatest(0, floor(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000))::bigint
  END AS lag_ms`;

function lagOf(rows: QueryRows): number | null {
  const value = rows.rows[0]?.lag_ms;
  return value === null || value === undefined ? null : Number(value);
}

export class Replica {
  status: ReplicaState = "unknown";
  lagMs: number | null = null;
  /** When lagMs was measured (performance-independent wall clock, ms). */
  sampledAt = Number.NEGATIVE_INFINITY;
  skippedUntil = 0;
  private handle?: Promise<DbHandle>;

  constructor(
    readonly host: string,
    private readonly open: () => Promise<DbHandle>,
    readonly driver?: DbKind,
  ) {}

  db(): Promise<DbHandle> {
    this.handle ??= this.open().catch((error) => {
      this.handle = undefined;
      throw error;
    });
    return this.handle;
  }

  usable(now: number): boolean {
    return now >= this.skippedUntil;
  }

  record(lagMs: number | null, now: number, settings: ReplicaSettings): boolean {
    this.lagMs = lagMs;
    this.sampledAt = now;
    if (lagMs !== null && lagMs > settings.maxLagMs) {
      this.skip("lagging", now, settings);
      return false;
    }
    this.status = "ok";
    this.skippedUntil = 0;
    return true;
  }

  skip(status: "lagging" | "down", now: number, settings: ReplicaSettings): void {
    if (this.status !== status) log("warn", "replica skipped", { replica: this.host, status, lagMs: this.lagMs, forMs: settings.retryAfterMs });
    this.status = status;
    this.skippedUntil = now + settings.retryAfterMs;
  }

  /** Measures the lag now (health checks; not the request path). */
  async probe(settings: ReplicaSettings): Promise<void> {
    try {
      const { db } = await this.db();
      this.record(lagOf(await db.execute(LAG_PROBE)), Date.now(), settings);
    } catch (error) {
      if (!isReplicaFailure(error)) throw error;
      this.lagMs = null;
      this.skip("down", Date.now(), settings);
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }

  health(): ReplicaHealth {
    const skipped = this.skippedUntil > Date.now();
    return { host: this.host, ...(this.driver ? { driver: this.driver } : {}), status: this.status, lagMs: this.lagMs, ...(skipped ? { skippedUntil: new Date(this.skippedUntil).toISOString() } : {}) };
  }
}

const CONNECTION_CLASSES = new Set(["08", "53", "58", "XX"]);
// admin_shutdown, crash_shutdown, cannot_connect_now, idle_session_timeout; and the recovery
// conflicts a standby cancels reads with (serialization_failure, deadlock): the primary has neither.
const RETRYABLE_CODES = new Set(["57P01", "57P02", "57P03", "57P05", "40001", "40P01"]);
const DOWN_CODES = new Set(["57P01", "57P02", "57P03", "57P05"]);

function sqlState(error: unknown): string | undefined {
  const cause = error instanceof DbQueryError ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * The replica could not answer (refused or lost connection, timeout, Neon's own 5xx with an empty
 * code, shutdown): the same read on the primary will work. A statement the replica refused on its
 * merits (bad input, a constraint, a syntax error) would fail on the primary too and is rethrown.
 */
export function isReplicaFailure(error: unknown): boolean {
  const code = sqlState(error);
  if (!code) return true;
  return CONNECTION_CLASSES.has(code.slice(0, 2)) || RETRYABLE_CODES.has(code);
}

const isReplicaDown = (error: unknown) => {
  const code = sqlState(error);
  return !code || CONNECTION_CLASSES.has(code.slice(0, 2)) || DOWN_CODES.has(code);
};

/** Whether the current request's reads must see the primary (it writes, or its caller just wrote). */
interface ReadRouting {
  primary: boolean;
}
const routing = new AsyncLocalStorage<ReadRouting>();

/** Runs fn with reads routed as `route` says; the HTTP layer calls it once per request (lib/http/route.ts). */
export function withReadRouting<T>(route: ReadRouting, fn: () => T): T {
  return routing.run(route, fn);
}

/** From here on, this request's reads go to the primary (it has written, or is about to). */
export function pinReadsToPrimary(): void {
  const current = routing.getStore();
  if (current) current.primary = true;
}

export const readsPinnedToPrimary = () => routing.getStore()?.primary === true;

/**
 * Pins this request's reads to the primary when data it is about to read (and cache for others)
 * was written less than one staleness window ago (`writtenAt`, ms): a replica read may be that far
 * behind. Later than that, every replica still in use has the write.
 */
export function readPrimaryAfterWrite(writtenAt: number, now = Date.now()): void {
  const set = replicaSet();
  if (set.replicas.length > 0 && writtenAt > 0 && now - writtenAt < stickyMs(set.settings)) pinReadsToPrimary();
}

export class ReplicaSet {
  private cursor = 0;

  constructor(
    readonly replicas: Replica[],
    readonly settings: ReplicaSettings,
    private readonly primary: () => Promise<DbHandle> = getDb,
  ) {}

  /** The next usable replica, round-robin; none when all are skipped. */
  private pick(now: number): Replica | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[(this.cursor + i) % this.replicas.length]!;
      if (replica.usable(now)) {
        this.cursor = (this.cursor + i + 1) % this.replicas.length;
        return replica;
      }
    }
    return undefined;
  }

  private async onPrimary(statement: SQL): Promise<QueryRows> {
    return (await this.primary()).db.execute(statement);
  }

  async read(statement: SQL): Promise<QueryRows> {
    const now = Date.now();
    const replica = readsPinnedToPrimary() ? undefined : this.pick(now);
    if (!replica) return this.onPrimary(statement);
    try {
      const handle = await replica.db();
      // A measurement rides along only when the last one is older than sampleMs (see README).
      if (now - replica.sampledAt < this.settings.sampleMs) return await handle.db.execute(statement);
      const [lag, rows] = await this.sampled(handle, statement);
      // Too far behind: this answer may be older than promised, so it is asked again of the primary.
      return replica.record(lagOf(lag), Date.now(), this.settings) ? rows : await this.onPrimary(statement);
    } catch (error) {
      if (!isReplicaFailure(error)) throw error;
      if (isReplicaDown(error)) replica.skip("down", Date.now(), this.settings);
      return this.onPrimary(statement);
    }
  }

  /**
   * The statement and the lag probe. neon-http: one batch, so one HTTP request (a plain BEGIN, which
   * a standby runs read-only). node-postgres: the probe on a second pooled connection at the same
   * time, so it costs a connection but no time; a transaction would cost two extra trips.
   */
  private async sampled(handle: DbHandle, statement: SQL): Promise<[QueryRows, QueryRows]> {
    if (handle.kind === "neon-http") {
      const [lag, rows] = await handle.db.atomic([LAG_PROBE, statement]);
      return [lag!, rows!];
    }
    return Promise.all([handle.db.execute(LAG_PROBE), handle.db.execute(statement)]);
  }

  async health(): Promise<ReplicaHealth[]> {
    await Promise.all(this.replicas.map((r) => r.probe(this.settings)));
    return this.replicas.map((r) => r.health());
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }
}

/** Host and port of a URL, never its user or password; "invalid URL" when it does not parse. */
export function replicaHost(url: string): string {
  try {
    return new URL(url).host || "invalid URL";
  } catch {
    return "invalid URL";
  }
}

export function replicaSetFromEnv(env: ReplicaEnv & { DB_TIMEOUT_MS?: string } = process.env): ReplicaSet {
  const timeout = Number(env.DB_TIMEOUT_MS);
  const timeoutMs = Number.isFinite(timeout) && timeout > 0 ? timeout : undefined;
  const replicas = replicaUrlsFromEnv(env).map((url) => {
    const host = replicaHost(url);
    // createDb refuses a malformed URL; that replica then counts as down and reads use the others.
    let driver: DbKind | undefined;
    try {
      driver = driverKindFor({ url });
    } catch {
      driver = undefined;
    }
    return new Replica(host, () => createDb({ url, timeoutMs }), driver);
  });
  return new ReplicaSet(replicas, replicaSettingsFromEnv(env));
}

// One set per warm instance, like the primary's client (db/client.ts); tests install their own.
const slot = globalThis as typeof globalThis & { __tallyReplicas?: ReplicaSet };

export function replicaSet(): ReplicaSet {
  slot.__tallyReplicas ??= replicaSetFromEnv(process.env);
  return slot.__tallyReplicas;
}

export function installReplicas(set: ReplicaSet | undefined): void {
  slot.__tallyReplicas = set;
}

/** Replicas as reads see them: whatever DbHandles the caller opened (tests), sharing one state each. */
export function replicaSetOf(handles: { host: string; handle: DbHandle }[], settings: ReplicaSettings, primary?: () => Promise<DbHandle>): ReplicaSet {
  return new ReplicaSet(handles.map(({ host, handle }) => new Replica(host, async () => handle, handle.kind)), settings, primary);
}

/**
 * The Db for reads that may be served by a replica. `atomic` is never routed: all-or-nothing
 * statements are writes, and writes go to the primary.
 */
export async function readDb(): Promise<Db> {
  const set = replicaSet();
  if (set.replicas.length === 0) return (await getDb()).db;
  return {
    execute: (statement) => set.read(statement),
    atomic: async (statements) => {
      pinReadsToPrimary();
      return (await getDb()).db.atomic(statements);
    },
  };
}
