import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import { getDb } from "../../db/client.js";
import { responseCache } from "../cache/response-cache.js";
import pkg from "../../package.json" with { type: "json" };

export interface Health {
  status: "ok" | "down";
  version: string;
  commit: string | null;
  database: { status: "ok" | "down"; driver?: string; latencyMs?: number };
  cache: { status: "ok" | "degraded"; mode: "memory" | "redis" };
}

export async function checkHealth(): Promise<Health> {
  // Redis (a PING) is checked alongside the database; losing it degrades the cache, not the API.
  const cache = responseCache().health();
  const started = performance.now();
  let database: Health["database"];
  try {
    const { db, kind } = await getDb();
    await query(db, sql`SELECT 1`);
    database = { status: "ok", driver: kind, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    database = { status: "down" };
  }
  return {
    status: database.status === "ok" ? "ok" : "down",
    version: pkg.version,
    commit: process.env.VERCEL_GIT_COMMIT_SHA ?? null,
    database,
    cache: await cache,
  };
}
