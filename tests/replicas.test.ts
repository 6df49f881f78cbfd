import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { installReplicas, readDb, replicaSetOf, type ReplicaSettings } from "../db/replicas.js";
import { sql } from "../db/sql.js";
import { readsFromPrimary } from "../lib/http/read-routing.js";
import { call } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { openReplica, type OpenReplica } from "./support/targets.js";

// A real streaming replica of the test database (.ci/replica; CI sets TEST_REPLICA_URL, and
// global-setup refuses to run CI without it). README "Read replicas".
const replicaUrl = process.env.TEST_REPLICA_URL;
const primaryUrl = process.env.TEST_DATABASE_URL;
const targets = replicaUrl && primaryUrl ? (["node-postgres", "neon-http→postgres"] as const) : [];

/** A superuser connection to the replica itself, for pausing and resuming replay. */
async function onReplica<T>(text: string): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: replicaUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows[0] as T | undefined;
  } finally {
    await client.end();
  }
}

async function primaryLsn(): Promise<string> {
  const client = new pg.Client({ connectionString: primaryUrl });
  await client.connect();
  try {
    return (await client.query("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0].lsn;
  } finally {
    await client.end();
  }
}

/** Waits until the replica has replayed everything the primary had written when called. */
async function caughtUp(): Promise<void> {
  const lsn = await primaryLsn();
  for (let i = 0; i < 300; i++) {
    const row = await onReplica<{ done: boolean }>(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS done`);
    if (row?.done) return;
    await sleep(50);
  }
  throw new Error("the replica did not catch up within 15 s");
}

async function pauseReplay(): Promise<void> {
  await onReplica("SELECT pg_wal_replay_pause()");
  for (let i = 0; i < 100 && (await onReplica<{ s: string }>("SELECT pg_get_wal_replay_pause_state() AS s"))?.s !== "paused"; i++) await sleep(50);
}

const resumeReplay = () => onReplica("SELECT pg_wal_replay_resume()");

const FRESH: ReplicaSettings = { maxLagMs: 1000, sampleMs: 0, retryAfterMs: 30_000 };

describe.each(targets)("read replicas on %s", (name) => {
  const ctx = withTarget(name);
  let replica: OpenReplica;
  const use = (settings: ReplicaSettings, open: OpenReplica = replica) => installReplicas(replicaSetOf([{ host: open.host, handle: open.handle }], settings));

  beforeAll(async () => {
    replica = await openReplica(name, replicaUrl!);
  });
  afterEach(async () => {
    await resumeReplay();
    installReplicas(undefined);
  });
  afterAll(async () => {
    await replica?.close();
  });

  const inRecovery = async () => (await query(await readDb(), sql`SELECT pg_is_in_recovery() AS r`))[0]!.r;

  it("routing: analytics reads run on the replica, everything else on the primary", async () => {
    use(FRESH);
    expect(await inRecovery()).toBe(true);
    // The replica's own session, seen from the replica: reads really went through this driver's connection.
    const [row] = await query(await readDb(), sql`SELECT current_setting('application_name') AS app`);
    if (name === "neon-http→postgres") expect(row!.app).toMatch(/-replica$/);
    // getDb() is still the primary.
    expect((await query(ctx.db, sql`SELECT pg_is_in_recovery() AS r`))[0]!.r).toBe(false);
    // Without replicas, readDb() is the primary.
    installReplicas(undefined);
    expect(await inRecovery()).toBe(false);
  });

  it("read-your-writes while replay is paused: the author reads the primary, and so does a miss on what was just written", async () => {
    // A lag limit no test reaches: the paused replica stays in use, so staleness is visible.
    use({ maxLagMs: 3_600_000, sampleMs: 0, retryAfterMs: 30_000 });
    const t = await ctx.tenant("ryw");
    const item = await insertItem(ctx.db, t.id);
    await caughtUp();
    await pauseReplay();

    const token = t.users.staff.token;
    const created = await call("POST", "/api/orders", { token, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } });
    expect(created.status).toBe(201);
    const until = Number(created.headers.get("x-read-primary-until"));
    expect(until).toBeGreaterThan(Date.now());
    const cookie = created.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^tally_read_primary=\d+; Max-Age=\d+; Path=\/api; HttpOnly; SameSite=Lax/);
    // Localhost: no Secure (browsers drop Secure cookies on http://localhost).
    expect(cookie).not.toMatch(/Secure/);

    // The replica has not replayed the order...
    const onReplicaNow = async () => (await query(await readDb(), sql`SELECT count(*)::int AS n FROM orders WHERE id = ${created.json.id}`))[0]!.n;
    expect(await onReplicaNow()).toBe(0);
    // ...so someone else's miss on a view of what was just written reads the primary too: whatever
    // it computes is cached for everyone under the new version (the write is within the window).
    const other = await call("GET", "/api/analytics/dashboard", { token: t.users.admin.token });
    expect(other.status).toBe(200);
    expect(other.json.openOrders.pending).toBe(1);

    // The author, echoing the header or sending the cookie: the primary, past the shared cache.
    const byHeader = await call("GET", "/api/analytics/dashboard", { token, headers: { "x-read-primary-until": String(until) } });
    expect(byHeader.status).toBe(200);
    expect(byHeader.json.openOrders.pending).toBe(1);
    const byCookie = await call("GET", "/api/analytics/dashboard", { token, headers: { cookie: `other=1; ${cookie.split(";")[0]}` } });
    expect(byCookie.json.openOrders.pending).toBe(1);
    const marked = (headers: Record<string, string>) => readsFromPrimary(new Request("http://127.0.0.1/api/analytics/dashboard", { headers }));
    expect(marked({ "x-read-primary-until": String(until) })).toBe(true);
    expect(marked({ cookie: `a=b; tally_read_primary=${until}` })).toBe(true);
    expect(marked({})).toBe(false);
    // A marker that is expired, or further ahead than we ever issue, is ignored.
    for (const bogus of [String(Date.now() - 1), String(Date.now() + 86_400_000), "soon", ""]) {
      expect(marked({ "x-read-primary-until": bogus }), bogus).toBe(false);
      expect(marked({ cookie: `tally_read_primary=${bogus}` }), bogus).toBe(false);
    }
    // Reads outside analytics are primary reads: the order is there.
    expect((await call("GET", `/api/orders/${created.json.id}`, { token: t.users.admin.token })).status).toBe(200);
    // And once replay resumes, the replica has it.
    await resumeReplay();
    await caughtUp();
    expect(await onReplicaNow()).toBe(1);
  });

  it("the public catalog reads the replica, except a miss within the window after a catalog write, which reads the primary", async () => {
    use({ maxLagMs: 3_600_000, sampleMs: 0, retryAfterMs: 30_000 });
    const t = await ctx.tenant("shopreplica");
    const lamp = await insertItem(ctx.db, t.id, { name: "Lamp", published: true, stock: 5 });
    const names = async (query: string) => {
      const r = await call("GET", `/api/store/${t.slug}/products?${query}`);
      expect(r.status, r.text).toBe(200);
      return r.json.items.map((p: { name: string }) => p.name);
    };
    await caughtUp();
    expect(await names("limit=10")).toEqual(["Lamp"]);
    await pauseReplay();
    // A change the replica has not replayed, made behind the API's back (no cache version moved):
    // a catalog miss reads the replica and does not see it.
    await ctx.db.execute(sql`UPDATE items SET name = 'Lamp (renamed in SQL)' WHERE id = ${lamp}`);
    expect(await names("limit=20")).toEqual(["Lamp"]);
    // An admin's edit through the API moves the catalog's versions: anyone's next miss, within the
    // window, reads the primary, and the entry it fills holds the edit.
    const edited = await call("PUT", `/api/items/${lamp}`, { token: t.users.admin.token, body: { name: "Desk lamp" } });
    expect(edited.status).toBe(200);
    expect(await names("limit=20")).toEqual(["Desk lamp"]);
    expect(await names("limit=50")).toEqual(["Desk lamp"]);
    expect((await call("GET", `/api/store/${t.slug}/products/${lamp}`)).json.name).toBe("Desk lamp");
    // The replica itself is still behind.
    expect((await query(await readDb(), sql`SELECT name FROM items WHERE id = ${lamp}`))[0]!.name).toBe("Lamp");
  });

  it("reads never carry a marker, failed writes neither", async () => {
    use(FRESH);
    const t = await ctx.tenant("marks");
    const read = await call("GET", "/api/analytics/dashboard", { token: t.users.staff.token });
    expect(read.headers.get("x-read-primary-until")).toBeNull();
    const refused = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [] } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.headers.get("x-read-primary-until")).toBeNull();
    expect(refused.headers.get("set-cookie")).toBeNull();
  });

  it("a replica lagging past the limit is skipped: its reads go to the primary, health shows the lag", async () => {
    use({ maxLagMs: 300, sampleMs: 0, retryAfterMs: 60_000 });
    const t = await ctx.tenant("lag");
    await caughtUp();
    await pauseReplay();
    // Something to replay that the replica receives but does not apply.
    await insertItem(ctx.db, t.id);
    await sleep(700);
    expect(await inRecovery()).toBe(false);
    const health = await call("GET", "/api/health");
    expect(health.status).toBe(200);
    const [status] = health.json.replicas;
    expect(status).toMatchObject({ host: replica.host, status: "lagging" });
    expect(status.lagMs).toBeGreaterThan(300);
    expect(status.skippedUntil).toEqual(expect.any(String));
    // Skipped: the next read does not even ask the replica.
    expect(await inRecovery()).toBe(false);
  });

  it("health shows a healthy replica by host only, with its lag", async () => {
    use(FRESH);
    await caughtUp();
    const health = await call("GET", "/api/health");
    expect(health.status).toBe(200);
    expect(health.json.replicas).toEqual([{ host: replica.host, driver: name === "node-postgres" ? "node-postgres" : "neon-http", status: "ok", lagMs: expect.any(Number) }]);
    expect(health.json.replicas[0].lagMs).toBeLessThanOrEqual(FRESH.maxLagMs);
    expect(health.text).not.toMatch(/postgres(ql)?:\/\/|@127/);
  });

  it("a sampled read costs one round trip on neon-http (one batch); node-postgres measures on a parallel connection", async () => {
    use({ maxLagMs: 60_000, sampleMs: 3_600_000, retryAfterMs: 30_000 });
    const t = await ctx.tenant("trips");
    await caughtUp();
    await call("GET", "/api/orders", { token: t.users.staff.token });
    // The first read of a replica measures its lag (sampleMs is long: only this one).
    const first = await call("GET", "/api/analytics/inventory?days=10", { token: t.users.staff.token });
    expect(first.status).toBe(200);
    expect(first.dbTrips).toBe(name === "neon-http→postgres" ? 1 : 2);
    const next = await call("GET", "/api/analytics/sales", { token: t.users.staff.token });
    expect(next.status).toBe(200);
    expect(next.dbTrips).toBe(1);
  });

  it("failover: a dead replica costs no 5xx; reads go to the primary, the replica is skipped, health says down", async () => {
    const dead = name === "node-postgres"
      ? await openReplica(name, "postgres://postgres:secret@127.0.0.1:1/tally", 2000)
      : replica;
    // neon-http: Neon's proxy answering "Couldn't connect to compute node" for the replica.
    if (dead.bridge) dead.bridge.controls.fault = "compute-unreachable";
    try {
      use(FRESH, dead);
      const t = await ctx.tenant("dead");
      const dash = await call("GET", "/api/analytics/dashboard", { token: t.users.staff.token });
      expect(dash.status).toBe(200);
      expect(await inRecovery()).toBe(false);
      const health = await call("GET", "/api/health");
      expect(health.status).toBe(200);
      expect(health.json.status).toBe("ok");
      expect(health.json.replicas).toEqual([expect.objectContaining({ host: dead.host, status: "down", lagMs: null, skippedUntil: expect.any(String) })]);
      expect(health.text).not.toContain("secret");
      // The replica comes back: after retryAfterMs it is tried again and serves reads.
      if (dead.bridge) dead.bridge.reset();
      use({ ...FRESH, retryAfterMs: 0 }, dead === replica ? replica : dead);
      if (dead === replica) expect(await inRecovery()).toBe(true);
    } finally {
      dead.bridge?.reset();
      if (dead !== replica) await dead.close();
    }
  });
});

// Without a replica (a machine with no .ci/replica running) the file still has a suite: skipped, not
// a failure of `npm test`. CI sets both URLs and global-setup refuses to run without them.
if (!targets.length) {
  describe("read replicas", () => {
    it.skip("need a streaming replica: set TEST_REPLICA_URL and TEST_DATABASE_URL (see .ci/replica)", () => {});
  });
}
