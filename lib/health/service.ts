import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import { DatabaseNotConfigured, getDb } from "../../db/client.js";
import { replicaSet, type ReplicaHealth } from "../../db/replicas.js";
import { responseCache } from "../cache/response-cache.js";
import pkg from "../../package.json" with { type: "json" };

export interface Health {
  status: "ok" | "down";
  version: string;
  commit: string | null;
  /** `reason` says why the database is down when it is a configuration problem, not an outage. */
  database: { status: "ok" | "down"; driver?: string; latencyMs?: number; reason?: string };
  cache: { status: "ok" | "degraded"; mode: "memory" | "redis" };
  /**
   * Each read replica (DATABASE_REPLICA_URLS; empty without) measured now: host only, its lag, and
   * whether reads use it. A replica down or lagging never makes the API down: its reads go to the primary.
   */
  replicas: ReplicaHealth[];
}

export async function checkHealth(): Promise<Health> {
  // Redis (a PING) is checked alongside the database; losing it degrades the cache, not the API.
  const cache = responseCache().health();
  const replicas = replicaSet().health();
  const started = performance.now();
  let database: Health["database"];
  try {
    const { db, kind } = await getDb();
    await query(db, sql`SELECT 1`);
    database = { status: "ok", driver: kind, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    database = error instanceof DatabaseNotConfigured ? { status: "down", reason: error.message } : { status: "down" };
  }
  return {
    status: database.status === "ok" ? "ok" : "down",
    version: pkg.version,
    commit: process.env.VERCEL_GIT_COMMIT_SHA ?? null,
    database,
    cache: await cache,
    replicas: await replicas,
  };
}
