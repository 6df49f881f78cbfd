import type { SQL } from "./sql.js";

// What repositories get from a database: one statement, or several all-or-nothing. It does what
// drizzle's driver sessions did for us (render the `sql` template, run it with the same type parsing,
// batch or wrap in a transaction) without loading them: drizzle-orm/neon-http and /node-postgres pull
// in pg-core (~100 files), which costs 80-100 ms on a cold start even from the CommonJS build, and
// 300-900 ms through Node 24's ESM loader. The drivers themselves (@neondatabase/serverless, pg,
// PGlite) are handed in by db/client.ts, which imports them lazily and counts their round trips.

export interface QueryRows {
  rows: Record<string, unknown>[];
}

export interface Db {
  /** One statement, one round trip. */
  execute(statement: SQL): Promise<QueryRows>;
  /**
   * The statements all-or-nothing, in order: one neon-http batch (one HTTP request, one transaction);
   * a transaction on node-postgres and PGlite. Nothing may need to be read between them.
   */
  atomic(statements: SQL[]): Promise<QueryRows[]>;
}

// Postgres dialect settings, as drizzle's PgDialect passes them to SQL.toQuery(). With no casing
// configured drizzle's CasingCache returns a column's own name; our statements embed no columns anyway.
const PG = {
  escapeName: (name: string) => `"${name.replace(/"/g, '""')}"`,
  escapeParam: (index: number) => `$${index + 1}`,
  escapeString: (text: string) => `'${text.replace(/'/g, "''")}'`,
  casing: { getColumnCasing: (column: { name: string }) => column.name },
};

/**
 * A failed statement, thrown from the call site: its stack names the repository function that ran
 * it (the log's statement name, lib/platform/log-error.ts), `cause` is the driver's error (SQLSTATE,
 * constraint). Like drizzle's query errors, but the message never carries the SQL or its values.
 */
export class DbQueryError extends Error {
  override name = "DbQueryError";
  constructor(
    readonly query: string,
    override readonly cause: unknown,
    site: Error,
  ) {
    super("Database statement failed");
    this.stack = `${this.name}: ${this.message}\n${(site.stack ?? "").split("\n").slice(1).join("\n")}`;
  }
}

/** Rethrows the driver's errors as DbQueryError located at the caller (see above). */
function located(db: Db): Db {
  const wrap = <T>(statements: SQL[], run: () => Promise<T>): Promise<T> => {
    const site = new Error();
    return run().catch((error: unknown) => {
      throw new DbQueryError(statements.map((s) => render(s).sql).join(";\n"), error, site);
    });
  };
  return {
    execute: (statement) => wrap([statement], () => db.execute(statement)),
    atomic: (statements) => wrap(statements, () => db.atomic(statements)),
  };
}

export interface RenderedQuery {
  sql: string;
  params: unknown[];
}

export function render(statement: SQL): RenderedQuery {
  const { sql, params } = statement.toQuery(PG as unknown as Parameters<SQL["toQuery"]>[0]);
  return { sql, params };
}

// Date, time and interval values (and their arrays, and numeric[]) stay the text Postgres sent, as
// drizzle's sessions configure every driver; everything else uses the driver's default parser.
export const TEXT_TYPE_OIDS = new Set([
  1082, // date
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1182, // date[]
  1115, // timestamp[]
  1185, // timestamptz[]
  1187, // interval[]
  1231, // numeric[]
]);
const asText = (value: string) => value;

type TypeParser = (oid: number, format?: "text" | "binary") => unknown;
const keepText = (fallback: TypeParser) => ({
  getTypeParser: (oid: number, format?: "text" | "binary") => (TEXT_TYPE_OIDS.has(oid) ? asText : fallback(oid, format)),
});

/** The slice of @neondatabase/serverless's `neon()` function used here. */
export interface NeonClient {
  query(text: string, params: unknown[], options: { fullResults: true; arrayMode: false; types: unknown }): PromiseLike<QueryRows>;
  transaction(queries: PromiseLike<QueryRows>[], options: { fullResults: true }): Promise<QueryRows[]>;
}

export function neonHttpDb(client: NeonClient, defaultTypes: { getTypeParser: TypeParser }): Db {
  // Parsers are per query on neon-http (the client reads them from each query's options).
  const options = { fullResults: true, arrayMode: false, types: keepText((oid, format) => defaultTypes.getTypeParser(oid, format)) } as const;
  const prepare = (statement: SQL) => {
    const { sql, params } = render(statement);
    return client.query(sql, params, options);
  };
  return located({
    execute: async (statement) => prepare(statement),
    atomic: (statements) => client.transaction(statements.map(prepare), { fullResults: true }),
  });
}

/** The slice of node-postgres used here: a Pool and the clients it checks out. */
export interface PgQueryable {
  query(config: { text: string; types: unknown }, params: unknown[]): Promise<QueryRows>;
}
export interface PgPool extends PgQueryable {
  connect(): Promise<PgQueryable & { release(error?: Error | boolean): void }>;
}

export function nodePostgresDb(pool: PgPool, defaultTypes: { getTypeParser: TypeParser }): Db {
  const types = keepText((oid, format) => defaultTypes.getTypeParser(oid, format));
  const run = (target: PgQueryable, statement: SQL) => {
    const { sql, params } = render(statement);
    return target.query({ text: sql, types }, params);
  };
  const command = (text: string) => ({ text, types });
  return located({
    execute: (statement) => run(pool, statement),
    async atomic(statements) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query(command("begin"), []);
        const results: QueryRows[] = [];
        for (const statement of statements) results.push(await run(client, statement));
        await client.query(command("commit"), []);
        return results;
      } catch (error) {
        // A connection that cannot even roll back goes back to the pool as broken (pg closes it).
        await client.query(command("rollback"), []).catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.release(broken);
      }
    },
  });
}

/** The slice of PGlite used here. */
export interface PgliteQueryable {
  query(text: string, params: unknown[], options: { rowMode: "object"; parsers: Record<number, (value: string) => unknown> }): Promise<QueryRows>;
}
export interface PgliteClient extends PgliteQueryable {
  transaction<T>(fn: (tx: PgliteQueryable) => Promise<T>): Promise<T>;
}

export function pgliteDb(client: PgliteClient): Db {
  const options = { rowMode: "object", parsers: Object.fromEntries([...TEXT_TYPE_OIDS].map((oid) => [oid, asText])) } as const;
  const run = (target: PgliteQueryable, statement: SQL) => {
    const { sql, params } = render(statement);
    return target.query(sql, params, options);
  };
  return located({
    execute: (statement) => run(client, statement),
    atomic: (statements) =>
      client.transaction(async (tx) => {
        const results: QueryRows[] = [];
        for (const statement of statements) results.push(await run(tx, statement));
        return results;
      }),
  });
}
