// A local stand-in for Neon's SQL-over-HTTP endpoint (POST /sql), so the production neon-http driver
// runs in tests against PGlite or a real Postgres. Protocol, as the client sends and reads it:
// body {query, params} or {queries: [...]}; every value goes back as Postgres text with the column's
// type OID (the client parses); a batch is one transaction; errors are HTTP 400 with Postgres fields.
//
// What Neon's proxy does besides (neondatabase/neon, proxy/src/serverless/sql_over_http.rs), and this
// bridge mirrors so CI meets what production meets:
// - a client that disconnects cancels its query; a batch whose client left never commits;
// - request and response bodies are limited to 10 MiB: 413 "request is too large (max is N bytes)",
//   507 "response is too large (max is N bytes)" — the batch rolls back;
// - its own failures (waking the compute, quotas: HTTP 500; authentication, unknown endpoint: HTTP 400)
//   carry an empty `code`, unlike Postgres errors; `fault()` switches them on for a test;
// - a pooled connection is reset before it is reused (tokio-postgres' reset_session_background).
import { createServer, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { getRequestListener } from "@hono/node-server";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

interface Statement {
  query: string;
  params?: unknown[];
}
interface Result {
  command: string;
  rowCount: number;
  fields: { name: string; dataTypeID: number }[];
  rows: (string | null)[][];
}

/** What one HTTP request may do: it ends when the client goes away, and its reply has a size limit. */
export interface RequestScope {
  signal?: AbortSignal;
  /** Bytes of rows the reply may carry in total (Neon counts the JSON it builds, across a batch). */
  maxResponseBytes: number;
  /** Holds a batch open this long before COMMIT, as a slow statement would (tests of client timeouts). */
  stallMs?: number;
}

export interface SqlExecutor {
  run(statement: Statement, scope?: RequestScope): Promise<Result>;
  batch(statements: Statement[], isolation?: string, scope?: RequestScope): Promise<Result[]>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const NO_LIMIT: RequestScope = { maxResponseBytes: Number.POSITIVE_INFINITY };
const ERROR_FIELDS = ["severity", "code", "detail", "hint", "position", "where", "schema", "table", "column", "dataType", "constraint"];

// What Neon runs on a pooled connection before handing it to the next request (tokio-postgres2
// Client::reset_session_background): session settings, temp tables, prepared statements, advisory
// locks and cursors of one request never reach another.
const RESET_SESSION = `ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *;
  SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;`;

/** Thrown inside the transaction, so an oversize batch rolls back as Neon's does. */
class NeonServiceError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

class ClientGone extends Error {
  constructor() {
    super("Query cancelled, connection was terminated");
  }
}

function meter(scope: RequestScope) {
  let bytes = 0;
  return (result: Result): Result => {
    bytes += JSON.stringify(result.rows).length;
    if (bytes > scope.maxResponseBytes) throw new NeonServiceError(507, `response is too large (max is ${scope.maxResponseBytes} bytes)`);
    return result;
  };
}

function assertClientThere(scope: RequestScope): void {
  if (scope.signal?.aborted) throw new ClientGone();
}

async function stall(scope: RequestScope): Promise<void> {
  if (scope.stallMs) await sleep(scope.stallMs, undefined, { signal: scope.signal }).catch(() => {});
}

export function pgExecutor(url: string, options: pg.PoolConfig = {}): SqlExecutor {
  const pool = new pg.Pool({ connectionString: url, max: 40, ...options });
  pool.on("error", () => {});
  const asText = { getTypeParser: () => (value: string) => value };
  const exec = async (client: pg.PoolClient, s: Statement): Promise<Result> => {
    const r = await client.query({ text: s.query, values: s.params ?? [], rowMode: "array", types: asText } as pg.QueryConfig);
    return { command: r.command, rowCount: r.rowCount ?? 0, fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })), rows: r.rows };
  };
  /**
   * One connection for the whole request. When the client disconnects, the running query is
   * cancelled (pg_cancel_backend from another connection, as Neon sends a CancelRequest) and the
   * connection is thrown away rather than reused: a late cancel must not hit the next request.
   */
  async function withConnection<T>(scope: RequestScope, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    const pid = (client as unknown as { processID: number }).processID;
    const cancel = () => void pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => {});
    scope.signal?.addEventListener("abort", cancel, { once: true });
    let healthy = false;
    try {
      assertClientThere(scope);
      const result = await work(client);
      healthy = true;
      return result;
    } finally {
      scope.signal?.removeEventListener("abort", cancel);
      if (scope.signal?.aborted) healthy = false;
      if (healthy) healthy = await client.query(RESET_SESSION).then(() => true, () => false);
      client.release(!healthy);
    }
  }
  const batch = (statements: Statement[], isolation: string | undefined, scope: RequestScope) =>
      withConnection(scope, async (client) => {
        const check = meter(scope);
        await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolationSql(isolation)}` : "BEGIN");
        try {
          const results: Result[] = [];
          for (const s of statements) {
            assertClientThere(scope);
            results.push(check(await exec(client, s)));
          }
          await stall(scope);
          assertClientThere(scope);
          await client.query("COMMIT");
          return results;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          throw error;
        }
      });
  return {
    // A stalled single statement runs as a one-statement transaction: a slow statement, cancelled.
    run: (s, scope = NO_LIMIT) =>
      scope.stallMs ? batch([s], undefined, scope).then((r) => r[0]!) : withConnection(scope, async (client) => meter(scope)(await exec(client, s))),
    batch: (statements, isolation, scope = NO_LIMIT) => batch(statements, isolation, scope),
    close: () => pool.end(),
  };
}

function isolationSql(level: string): string {
  const map: Record<string, string> = { ReadUncommitted: "READ UNCOMMITTED", ReadCommitted: "READ COMMITTED", RepeatableRead: "REPEATABLE READ", Serializable: "SERIALIZABLE" };
  const sqlLevel = map[level];
  if (!sqlLevel) throw new NeonServiceError(400, "invalid isolation level");
  return sqlLevel;
}

/**
 * PGlite has one session and runs one statement at a time, so a running statement cannot be
 * cancelled; a batch checks for its client between statements and before COMMIT instead, and the
 * session is reset after every request (what Neon does between two users of a pooled connection).
 */
export function pgliteExecutor(db: PGlite): SqlExecutor {
  const rawText: Record<number, (value: string) => string> = {};
  // PGlite parses by type OID unless told otherwise; builtin OIDs are all below 5000.
  for (let oid = 1; oid < 5000; oid++) rawText[oid] = (value) => value;
  type Queryable = Pick<PGlite, "query">;
  const exec = async (target: Queryable, s: Statement): Promise<Result> => {
    const r = await target.query<unknown[]>(s.query, s.params ?? [], { rowMode: "array", parsers: rawText });
    const command = (r as { command?: string }).command ?? s.query.trim().split(/\s+/)[0]!.toUpperCase();
    return { command, rowCount: r.affectedRows ?? r.rows.length, fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })), rows: r.rows as (string | null)[][] };
  };
  const resetAfter = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } finally {
      await db.exec(RESET_SESSION).catch(() => {});
    }
  };
  const batch = (statements: Statement[], scope: RequestScope) =>
      resetAfter(() =>
        db.transaction(async (tx) => {
          const check = meter(scope);
          const results: Result[] = [];
          for (const s of statements) {
            assertClientThere(scope);
            results.push(check(await exec(tx, s)));
          }
          await stall(scope);
          assertClientThere(scope);
          return results;
        }),
      );
  return {
    run: (s, scope = NO_LIMIT) =>
      scope.stallMs
        ? batch([s], scope).then((r) => r[0]!)
        : resetAfter(async () => {
            assertClientThere(scope);
            return meter(scope)(await exec(db, s));
          }),
    batch: (statements, _isolation, scope = NO_LIMIT) => batch(statements, scope),
    close: async () => {},
  };
}

/**
 * Neon's own failures, answered before any SQL runs. Bodies as the proxy builds them: the message,
 * and every Postgres field empty (`code: ""`), which is how a client tells them from database errors.
 * - compute-unreachable: waking the compute failed (HTTP 500)
 * - quota-exceeded: the project's compute-time or data-transfer quota is used up (HTTP 500)
 * - auth-failed: the password in the connection string is refused (HTTP 400)
 */
export type NeonFault = "none" | "compute-unreachable" | "quota-exceeded" | "auth-failed";

const FAULTS: Record<Exclude<NeonFault, "none">, { status: number; message: string }> = {
  "compute-unreachable": { status: 500, message: "Couldn't connect to compute node" },
  "quota-exceeded": { status: 500, message: "Your account or project has exceeded the compute time quota. Upgrade your plan to increase limits." },
  "auth-failed": { status: 400, message: "password authentication failed for user 'tally'" },
};

const serviceError = (status: number, message: string) => Response.json({ message, code: "", detail: null, hint: null, severity: null, constraint: null }, { status });

/** What a test can switch on a running bridge. Limits default to Neon's (10 MiB each); tests lower them to reach them cheaply. */
export interface BridgeControls {
  fault: NeonFault;
  /** Switches `fault` on after this many more requests have been served (a database lost mid-stream). */
  faultAfter?: { requests: number; fault: NeonFault };
  stallMs: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
}

export const neonDefaults = (): BridgeControls => ({ fault: "none", faultAfter: undefined, stallMs: 0, maxRequestBytes: 10 * MiB, maxResponseBytes: 10 * MiB });

export function neonBridgeHandler(executor: SqlExecutor, controls: BridgeControls = neonDefaults()): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/sql") return new Response("not found", { status: 404 });
    if (controls.faultAfter && controls.faultAfter.requests-- <= 0) [controls.fault, controls.faultAfter] = [controls.faultAfter.fault, undefined];
    if (controls.fault !== "none") return serviceError(FAULTS[controls.fault].status, FAULTS[controls.fault].message);
    if (!request.headers.get("neon-connection-string")) return serviceError(400, "missing Neon-Connection-String");
    const text = await readLimited(request, controls.maxRequestBytes);
    if (text === undefined) return serviceError(413, `request is too large (max is ${controls.maxRequestBytes} bytes)`);
    let body: Statement | { queries: Statement[] };
    try {
      body = JSON.parse(text);
    } catch (error) {
      return serviceError(400, `could not parse the HTTP request body: ${(error as Error).message}`);
    }
    const scope: RequestScope = { signal: request.signal, maxResponseBytes: controls.maxResponseBytes, stallMs: controls.stallMs };
    try {
      if ("queries" in body) {
        const results = await executor.batch(body.queries, request.headers.get("neon-batch-isolation-level") ?? undefined, scope);
        return Response.json({ results: results.map(shape) });
      }
      return Response.json(shape(await executor.run(body, scope)));
    } catch (error) {
      if (error instanceof NeonServiceError) return serviceError(error.status, error.message);
      // Neon answers a client that left with 400 08P01; nobody reads it.
      if (error instanceof ClientGone) return Response.json({ message: error.message, code: "08P01" }, { status: 400 });
      const e = error as Record<string, unknown>;
      // No SQLSTATE: the database could not be reached (Node's ECONNREFUSED...). Neon says 500, code "".
      if (typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) return serviceError(500, "Couldn't connect to compute node");
      const fields = Object.fromEntries(ERROR_FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
      return Response.json({ message: String(e.message ?? error), ...fields }, { status: 400 });
    }
  };
}

/** The body as text, or undefined past `limit` bytes (by Content-Length, or while reading). */
async function readLimited(request: Request, limit: number): Promise<string | undefined> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!request.body) return "";
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function shape(r: Result) {
  return { command: r.command, rowCount: r.rowCount, rowAsArray: true, fields: r.fields, rows: r.rows };
}

export interface RunningBridge {
  endpoint: string;
  /** Switches failure modes, stalls and limits for the following requests; `reset()` restores Neon's defaults. */
  readonly controls: BridgeControls;
  reset(): void;
  close(): Promise<void>;
}

export async function startNeonBridge(executor: SqlExecutor, overrides: Partial<BridgeControls> = {}): Promise<RunningBridge> {
  const controls: BridgeControls = { ...neonDefaults(), ...overrides };
  const server: Server = createServer(getRequestListener(neonBridgeHandler(executor, controls), { overrideGlobalObjects: false }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}/sql`,
    controls,
    reset: () => void Object.assign(controls, neonDefaults(), overrides),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
