// A local stand-in for Neon's SQL-over-HTTP endpoint (POST /sql), so the production neon-http driver
// runs in tests against PGlite or a real Postgres. Protocol, as the client sends and reads it:
// body {query, params} or {queries: [...]}; every value goes back as Postgres text with the column's
// type OID (the client parses); a batch is one transaction; errors are HTTP 400 with Postgres fields.
import { createServer, type Server } from "node:http";
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
export interface SqlExecutor {
  run(statement: Statement): Promise<Result>;
  batch(statements: Statement[], isolation?: string): Promise<Result[]>;
  close(): Promise<void>;
}

const ERROR_FIELDS = ["severity", "code", "detail", "hint", "position", "where", "schema", "table", "column", "dataType", "constraint"];

export function pgExecutor(url: string): SqlExecutor {
  const pool = new pg.Pool({ connectionString: url, max: 40 });
  pool.on("error", () => {});
  const asText = { getTypeParser: () => (value: string) => value };
  const exec = async (client: pg.PoolClient | pg.Pool, s: Statement): Promise<Result> => {
    const r = await client.query({ text: s.query, values: s.params ?? [], rowMode: "array", types: asText } as pg.QueryConfig);
    return { command: r.command, rowCount: r.rowCount ?? 0, fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })), rows: r.rows };
  };
  return {
    run: (s) => exec(pool, s),
    async batch(statements, isolation) {
      const client = await pool.connect();
      try {
        await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolationSql(isolation)}` : "BEGIN");
        const results: Result[] = [];
        for (const s of statements) results.push(await exec(client, s));
        await client.query("COMMIT");
        return results;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

function isolationSql(level: string): string {
  const map: Record<string, string> = { ReadUncommitted: "READ UNCOMMITTED", ReadCommitted: "READ COMMITTED", RepeatableRead: "REPEATABLE READ", Serializable: "SERIALIZABLE" };
  const sqlLevel = map[level];
  if (!sqlLevel) throw Object.assign(new Error(`bad isolation level ${level}`), { code: "22023" });
  return sqlLevel;
}

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
  return {
    run: (s) => exec(db, s),
    batch: (statements) =>
      db.transaction(async (tx) => {
        const results: Result[] = [];
        for (const s of statements) results.push(await exec(tx, s));
        return results;
      }),
    close: async () => {},
  };
}

export function neonBridgeHandler(executor: SqlExecutor): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/sql") return new Response("not found", { status: 404 });
    if (!request.headers.get("neon-connection-string")) return Response.json({ message: "missing Neon-Connection-String" }, { status: 400 });
    const body = (await request.json()) as Statement | { queries: Statement[] };
    try {
      if ("queries" in body) {
        const results = await executor.batch(body.queries, request.headers.get("neon-batch-isolation-level") ?? undefined);
        return Response.json({ results: results.map(shape) });
      }
      return Response.json(shape(await executor.run(body)));
    } catch (error) {
      const e = error as Record<string, unknown>;
      const fields = Object.fromEntries(ERROR_FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
      return Response.json({ message: String(e.message ?? error), ...fields }, { status: 400 });
    }
  };
}

function shape(r: Result) {
  return { command: r.command, rowCount: r.rowCount, rowAsArray: true, fields: r.fields, rows: r.rows };
}

export interface RunningBridge {
  endpoint: string;
  close(): Promise<void>;
}

export async function startNeonBridge(executor: SqlExecutor): Promise<RunningBridge> {
  const server: Server = createServer(getRequestListener(neonBridgeHandler(executor), { overrideGlobalObjects: false }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}/sql`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
