import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCursor, START, parseCursor, type Cursor } from "../lib/events/cursor.js";
import { readAfter, type Event } from "../lib/events/repo.js";
import { openTarget, type OpenTarget } from "./support/targets.js";

// The commit-order-safe cursor, on real Postgres with real concurrent transactions (PGlite runs one
// connection, so it cannot interleave transactions; under CI=true TEST_DATABASE_URL is required).

const url = process.env.TEST_DATABASE_URL;

describe.skipIf(!url)("event cursor under concurrent writers (real Postgres)", () => {
  let pool: pg.Pool;
  let reader: OpenTarget;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: url, max: 24 });
    reader = await openTarget("node-postgres");
  });
  afterAll(async () => {
    await pool?.end();
    await reader?.close();
  });

  const insert = (client: pg.PoolClient | pg.Pool, tenantId: string, label: string) =>
    client.query(
      `INSERT INTO events (id, tenant_id, type, actor_type, resource_type, resource_id, data)
       VALUES (gen_random_uuid(), $1, 'test.written', 'system', 'test', $2, '{}') RETURNING seq`,
      [tenantId, label],
    );
  const labels = (events: Event[]) => events.map((e) => e.resource.id);
  // Events belong to a tenant (the foreign key cascades them away when a tenant is purged).
  const newTenant = async () => {
    const id = randomUUID();
    await pool.query(`INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Cursor test')`, [id, `cursor-${id.slice(0, 8)}`]);
    return id;
  };

  it("a slow transaction that commits after a faster one is neither skipped nor repeated", async () => {
    const tenant = await newTenant();
    const slow = await pool.connect();
    const fast = await pool.connect();
    try {
      await slow.query("BEGIN");
      await insert(slow, tenant, "slow"); // lower seq, older transaction
      await fast.query("BEGIN");
      await insert(fast, tenant, "fast");
      await fast.query("COMMIT");

      // The trap a bigserial cursor falls into: "fast" is committed and has the higher seq.
      const naive = await pool.query("SELECT resource_id FROM events WHERE tenant_id = $1 ORDER BY seq", [tenant]);
      expect(naive.rows.map((r) => r.resource_id)).toEqual(["fast"]);

      // The cursor read waits for the slow transaction instead of moving past it.
      const between = await readAfter(reader.handle.db, tenant, START, 100);
      expect(between.events).toEqual([]);
      expect(between.unsettled).toBe(true);

      await slow.query("COMMIT");
      const after = await readAfter(reader.handle.db, tenant, START, 100);
      expect(labels(after.events)).toEqual(["slow", "fast"]);
      expect(after.unsettled).toBe(false);
      const resumed = await readAfter(reader.handle.db, tenant, parseCursor(after.events[0]!.cursor)!, 100);
      expect(labels(resumed.events)).toEqual(["fast"]);
      expect((await readAfter(reader.handle.db, tenant, parseCursor(after.events[1]!.cursor)!, 100)).events).toEqual([]);
    } finally {
      await slow.query("ROLLBACK").catch(() => {});
      slow.release();
      fast.release();
    }
  });

  it("20 writers with transactions of random length, one reader polling small pages: every event once, in cursor order", async () => {
    const tenant = await newTenant();
    const written: string[] = [];
    let writing = true;
    const writers = Array.from({ length: 20 }, async (_, w) => {
      for (let n = 0; n < 15; n++) {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const events = 1 + ((w + n) % 3);
          const mine: string[] = [];
          for (let e = 0; e < events; e++) {
            const label = `${w}-${n}-${e}`;
            await insert(client, tenant, label);
            mine.push(label);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          }
          // Some transactions roll back: their events must never show up.
          if (Math.random() < 0.1) await client.query("ROLLBACK");
          else {
            await client.query("COMMIT");
            written.push(...mine);
          }
        } finally {
          client.release();
        }
      }
    });
    const done = Promise.all(writers).finally(() => (writing = false));

    const received: Event[] = [];
    let cursor: Cursor = START;
    let polls = 0;
    for (;;) {
      const finished = !writing;
      const batch = await readAfter(reader.handle.db, tenant, cursor, 7);
      polls++;
      received.push(...batch.events);
      if (batch.events.length) cursor = parseCursor(batch.events.at(-1)!.cursor)!;
      if (finished && batch.events.length === 0 && !batch.unsettled) break;
      if (batch.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await done;

    expect(polls).toBeGreaterThan(20); // the reader really polled while writers were running
    expect(new Set(labels(received)).size).toBe(received.length); // none repeated
    expect([...labels(received)].sort()).toEqual([...written].sort()); // none skipped, no rolled-back ones
    // In cursor order, which is the order a full read gives now.
    const all = await pool.query("SELECT transaction_id::text AS xid, seq FROM events WHERE tenant_id = $1 ORDER BY transaction_id, seq", [tenant]);
    expect(received.map((e) => e.cursor)).toEqual(all.rows.map((r) => formatCursor({ xid: r.xid, seq: String(r.seq) })));
  });
});

describe("event cursors", () => {
  it("parse only their own form", () => {
    expect(parseCursor("12.3")).toEqual({ xid: "12", seq: "3" });
    expect(parseCursor("0012.03")).toEqual({ xid: "12", seq: "3" });
    for (const bad of ["", "12", "12.", ".3", "a.b", "1.2.3", "-1.2", "1.-2", " 1.2", "18446744073709551616.1", "1.9223372036854775808", "1".repeat(30) + ".1"]) {
      expect(parseCursor(bad), bad).toBeUndefined();
    }
    expect(parseCursor("18446744073709551615.9223372036854775807")).toBeDefined();
  });
});
