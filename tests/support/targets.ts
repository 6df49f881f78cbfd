import { readFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { createDb, installDb, type DbHandle } from "../../db/client.js";
import { createPgliteDb } from "../../db/pglite.js";
import { forgetPrincipals } from "../../lib/auth/session.js";
import { pgExecutor, pgliteExecutor, startNeonBridge, type RunningBridge, type SqlExecutor } from "./neon-bridge.js";

export const TEMPLATE_FILE = ".data/test-template.tar";

// Generous: the concurrency suites queue 200 requests on one PGlite (which runs them one at a time)
// or on a 30-connection pool, on a loaded 2-core machine. The outage tests set their own short limits.
export const TIMEOUT_MS = 30_000;

/**
 * Where the database suites run. By default PGlite directly and the production neon-http driver
 * through the local SQL-over-HTTP bridge onto PGlite; with TEST_DATABASE_URL, also node-postgres and
 * neon-http onto that real Postgres.
 */
export type TargetName = "pglite" | "neon-http→pglite" | "node-postgres" | "neon-http→postgres";

export function dbTargets(): TargetName[] {
  const targets: TargetName[] = ["pglite", "neon-http→pglite"];
  if (process.env.TEST_DATABASE_URL) targets.push("node-postgres", "neon-http→postgres");
  return onlyListed(targets);
}

/**
 * TEST_TARGETS (comma list) keeps the named targets only: CI's second run, on Node 24, runs the
 * production drivers on real Postgres and leaves PGlite to the first (README "Tests").
 */
function onlyListed(targets: TargetName[]): TargetName[] {
  const listed = process.env.TEST_TARGETS?.split(",").map((t) => t.trim()).filter(Boolean);
  if (!listed?.length) return targets;
  const unknown = listed.filter((t) => !targets.includes(t as TargetName));
  if (unknown.length) throw new Error(`TEST_TARGETS names ${unknown.join(", ")}; available here: ${targets.join(", ")}`);
  return targets.filter((t) => listed.includes(t));
}

export interface OpenTarget {
  name: TargetName;
  handle: DbHandle;
  /** neon-http targets: the SQL-over-HTTP bridge (fault modes, stalls) and the executor behind it. */
  bridge?: RunningBridge;
  executor?: SqlExecutor;
  close(): Promise<void>;
}

async function templatePglite(): Promise<PGlite> {
  const dump = new Blob([readFileSync(TEMPLATE_FILE)]);
  return PGlite.create({ loadDataDir: dump });
}

export async function openTarget(name: TargetName): Promise<OpenTarget> {
  const url = process.env.TEST_DATABASE_URL;
  switch (name) {
    case "pglite": {
      const pglite = await templatePglite();
      const handle = await createPgliteDb({ pglite });
      return { name, handle, close: () => handle.close() };
    }
    case "neon-http→pglite": {
      const pglite = await templatePglite();
      const executor = pgliteExecutor(pglite);
      const bridge = await startNeonBridge(executor);
      const handle = await createDb({ neonFetchEndpoint: bridge.endpoint, timeoutMs: TIMEOUT_MS });
      return { name, handle, bridge, executor, close: async () => { await bridge.close(); await pglite.close(); } };
    }
    case "node-postgres": {
      const handle = await createDb({ url: url!, timeoutMs: TIMEOUT_MS });
      return { name, handle, close: () => handle.close() };
    }
    case "neon-http→postgres": {
      // Named per process, so a test can find the bridge's own sessions in pg_stat_activity.
      const executor = pgExecutor(url!, { application_name: bridgeApplicationName() });
      const bridge = await startNeonBridge(executor);
      const handle = await createDb({ neonFetchEndpoint: bridge.endpoint, url, timeoutMs: TIMEOUT_MS });
      return { name, handle, bridge, executor, close: async () => { await bridge.close(); await executor.close(); } };
    }
  }
}

/** Installs the target as the app's database for the duration of a describe block. */
export async function useTarget(name: TargetName): Promise<OpenTarget> {
  const target = await openTarget(name);
  installDb(target.handle);
  forgetPrincipals();
  return target;
}

export const bridgeApplicationName = () => `neon-bridge-${process.pid}`;

export interface OpenReplica {
  /** As health shows it: host and port of the URL. */
  host: string;
  handle: DbHandle;
  /** neon-http: the replica's own SQL-over-HTTP bridge (Neon's proxy in front of a read replica). */
  bridge?: RunningBridge;
  close(): Promise<void>;
}

/**
 * A read replica (db/replicas.ts) reached through the same driver as the target: node-postgres
 * directly, neon-http through a second bridge (the client picks it by the URL's host:port).
 */
export async function openReplica(name: "node-postgres" | "neon-http→postgres", url: string, timeoutMs = TIMEOUT_MS): Promise<OpenReplica> {
  const host = new URL(url).host;
  if (name === "node-postgres") {
    const handle = await createDb({ url, timeoutMs });
    return { host, handle, close: () => handle.close() };
  }
  const executor = pgExecutor(url, { application_name: `${bridgeApplicationName()}-replica` });
  const bridge = await startNeonBridge(executor);
  const handle = await createDb({ neonFetchEndpoint: bridge.endpoint, url, timeoutMs });
  return { host, handle, bridge, close: async () => { await bridge.close(); await executor.close(); } };
}
