// db/session.ts stands in for drizzle's driver sessions (see why there). These tests pin what the
// repositories rely on: statements render exactly as drizzle's PgDialect renders them, values come
// back parsed as drizzle's sessions parsed them, and atomic() is all-or-nothing, on every driver.
import { PgDialect } from "drizzle-orm/pg-core";
import { sql as esmSql } from "drizzle-orm/sql/sql";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { atomic, query } from "../db/atomic.js";
import { createDb } from "../db/client.js";
import { totalRoundTrips, newRoundTripScope, withRoundTripScope } from "../db/round-trips.js";
import { classifyDbError } from "../db/errors.js";
import { render } from "../db/session.js";
import { sql } from "../db/sql.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe("rendering", () => {
  const dialect = new PgDialect();
  const inner = sql`status = ${"pending"}`;
  const statements = {
    "params and nesting": sql`SELECT * FROM orders WHERE tenant_id = ${"t1"} AND ${inner} AND total > ${10} AND paid = ${true} AND note IS ${null}`,
    "arrays expand to a list": sql`SELECT 1 WHERE id IN ${["a", "b", "c"]}`,
    "identifiers, raw and join": sql`SELECT ${sql.identifier("we\"ird")} FROM ${sql.raw("items")} WHERE ${sql.join([sql`a = ${1}`, sql`b = ${2}`], sql` AND `)}`,
    "empty and placeholders in text": sql`SELECT '$1', ${sql``} ${"x"}::text`,
    "objects and dates as params": sql`SELECT ${JSON.stringify({ a: 1 })}::jsonb, ${new Date("2024-03-01T00:00:00Z")}::timestamptz`,
    // Tests build fragments with drizzle's ESM build; the repositories use the CommonJS one (db/sql.ts).
    "a fragment from the ESM build": sql`SELECT ${esmSql`${"nested"}::text`}, ${2}`,
  };

  for (const [name, statement] of Object.entries(statements)) {
    it(`renders like drizzle's PgDialect: ${name}`, () => {
      const theirs = dialect.sqlToQuery(statement);
      expect(render(statement)).toEqual({ sql: theirs.sql, params: theirs.params });
    });
  }

  it("renders nested fragments' parameters in order", () => {
    expect(render(sql`SELECT ${esmSql`${"nested"}::text`}, ${2}`)).toEqual({ sql: "SELECT $1::text, $2", params: ["nested", 2] });
  });
});

const TYPED = sql`SELECT '2024-03-01 12:00:00+00'::timestamptz AT TIME ZONE 'UTC' AS ts, '2024-03-01'::date AS d,
  interval '1 day 2 hours' AS iv, ARRAY['2024-03-01'::date] AS ds, ARRAY['2024-03-01 12:00:00'::timestamp] AS tss,
  ARRAY[1.50]::numeric[] AS nums, 1.5::numeric AS num, 7::int4 AS i, true AS b, '{"a":[1]}'::jsonb AS j,
  ARRAY[1, 2]::int4[] AS ints, NULL::text AS n, ${"x"}::text AS p, '12:30'::time AS tm`;

const TYPED_ROW = {
  ts: "2024-03-01 12:00:00",
  d: "2024-03-01",
  iv: "1 day 02:00:00",
  ds: "{2024-03-01}",
  tss: '{"2024-03-01 12:00:00"}',
  nums: "{1.50}",
  num: "1.5",
  i: 7,
  b: true,
  j: { a: [1] },
  ints: [1, 2],
  n: null,
  p: "x",
  tm: "12:30:00",
};

for (const target of dbTargets()) {
  describe(`db session on ${target}`, () => {
    const ctx = withTarget(target);

    it("parses values as drizzle's sessions did: dates, times and intervals stay text, the rest by type", async () => {
      const { rows } = await ctx.db.execute(TYPED);
      expect(rows).toEqual([TYPED_ROW]);
      const [batched] = await ctx.db.atomic([TYPED]);
      expect(batched!.rows).toEqual([TYPED_ROW]);
      const tstz = (await ctx.db.execute(sql`SELECT now() AS at`)).rows[0]!.at;
      expect(typeof tstz).toBe("string");
      expect(Number.isNaN(Date.parse(String(tstz)))).toBe(false);
    });

    it("runs atomic() all-or-nothing, and the driver stays usable after a failure", async () => {
      const t = await ctx.tenant();
      const insert = (id: string) => sql`INSERT INTO customers (id, tenant_id, name) VALUES (${id}, ${t.id}, 'Atomic')`;
      const id = crypto.randomUUID();
      const error = await ctx.db.atomic([insert(crypto.randomUUID()), insert(id), insert(id)]).catch((e: unknown) => e);
      expect(classifyDbError(error)?.kind).toBe("unique_violation");
      const count = async () => Number((await ctx.db.execute(sql`SELECT count(*) AS n FROM customers WHERE tenant_id = ${t.id}`)).rows[0]!.n);
      expect(await count()).toBe(0);
      const results = await ctx.db.atomic([insert(crypto.randomUUID()), sql`SELECT count(*) AS n FROM customers WHERE tenant_id = ${t.id}`]);
      expect(Number(results[1]!.rows[0]!.n)).toBe(1);
      expect(await count()).toBe(1);
    });

    it("counts round trips at the driver: one per statement, one per batch where the driver batches", async () => {
      const scope = newRoundTripScope();
      const before = totalRoundTrips();
      await withRoundTripScope(scope, () => ctx.db.execute(sql`SELECT 1`));
      expect(scope.db).toBe(1);
      await withRoundTripScope(scope, () => ctx.db.atomic([sql`SELECT 1`, sql`SELECT 2`, sql`SELECT 3`]));
      // node-postgres sends BEGIN and COMMIT as queries of their own; neon-http sends one batch;
      // PGlite runs one transaction (what neon-http would send).
      expect(scope.db).toBe(ctx.kind === "node-postgres" ? 1 + 5 : 2);
      expect(totalRoundTrips() - before).toBe(scope.db);
    });
  });
}

// node-postgres's query_timeout only stops waiting: the statement ran on in Postgres and committed
// when the lock it waited for came free, after the client had been answered 503 (found by the red
// team: an adjustment answered 503 moved stock seconds later). Postgres must cancel it itself.
if (process.env.TEST_DATABASE_URL) {
  describe("node-postgres: a statement past DB_TIMEOUT_MS", () => {
    it("is cancelled in Postgres, so a write answered 503 never commits later (single statement and atomic batch)", async () => {
      const url = process.env.TEST_DATABASE_URL!;
      const handle = await createDb({ url, timeoutMs: 300 });
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      try {
        await query(handle.db, sql`CREATE TABLE IF NOT EXISTS redteam_timeout (id int PRIMARY KEY, n int NOT NULL)`);
        await query(handle.db, sql`INSERT INTO redteam_timeout VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0`);
        await locker.query("BEGIN");
        await locker.query("SELECT 1 FROM redteam_timeout WHERE id = 1 FOR UPDATE");
        const single = await query(handle.db, sql`UPDATE redteam_timeout SET n = n + 1 WHERE id = 1`).then(() => "committed", (e: unknown) => classifyDbError(e)?.kind);
        const batch = await atomic(handle.db, [sql`SELECT 1`, sql`UPDATE redteam_timeout SET n = n + 10 WHERE id = 1`]).then(() => "committed", (e: unknown) => classifyDbError(e)?.kind);
        expect([single, batch]).toEqual(["unavailable", "unavailable"]);
        await sleep(500); // the writes are still waiting for the lock, if Postgres did not cancel them
        await locker.query("COMMIT");
        await sleep(500); // had they been waiting, they would have committed now
        const rows = await query(handle.db, sql`SELECT n FROM redteam_timeout WHERE id = 1`);
        expect(Number(rows[0]!.n)).toBe(0);
      } finally {
        await locker.query("ROLLBACK").catch(() => {});
        await locker.end();
        await query(handle.db, sql`DROP TABLE IF EXISTS redteam_timeout`).catch(() => {});
        await handle.close();
      }
    });
  });
}
