import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { runDue } from "../lib/delivery/engine.js";
import { attempt } from "../lib/delivery/send.js";
import { blockedAddress, urlProblem } from "../lib/delivery/guard.js";
import { MAX_ATTEMPTS, nextDelayMs, SCHEDULE_MS } from "../lib/delivery/schedule.js";
import { settleBackgroundWork } from "../lib/platform/wait-until.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { eventsSettled } from "./support/events.js";
import { startReceiver } from "./support/receiver.js";
import { useReceiver, verifySigned } from "./support/receiver-suite.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

const HOUR = 3600_000;

describe("delivery engine, pure parts", () => {
  it("schedules about 3 days of retries with ±10 % jitter, then dead letter", () => {
    expect(MAX_ATTEMPTS).toBe(10);
    expect(SCHEDULE_MS.reduce((a, b) => a + b, 0) / HOUR).toBeGreaterThan(72);
    expect(nextDelayMs(1, undefined, () => 0)).toBe(4500);
    expect(nextDelayMs(1, undefined, () => 1)).toBe(5500);
    expect(nextDelayMs(9, undefined, () => 0.5)).toBe(24 * HOUR);
    expect(nextDelayMs(10)).toBeUndefined();
    expect(nextDelayMs(2, 120_000)).toBe(120_000);
  });

  it("classifies addresses: only public unicast, loopback only when local targets are allowed", () => {
    for (const a of ["169.254.169.254", "10.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1", "0.0.0.0", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "224.0.0.1"]) {
      expect(blockedAddress(a, true), a).toBeDefined();
    }
    expect(blockedAddress("127.0.0.1", false)).toBeDefined();
    expect(blockedAddress("::1", false)).toBeDefined();
    expect(blockedAddress("::ffff:127.0.0.1", false)).toBeDefined();
    expect(blockedAddress("127.0.0.1", true)).toBeUndefined();
    expect(blockedAddress("93.184.216.34", false)).toBeUndefined();
    expect(blockedAddress("2606:4700::1111", false)).toBeUndefined();
  });

  it("refuses bad URLs statically; production mode refuses http, loopback and local names", () => {
    for (const local of [true, false]) {
      for (const bad of ["http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "ftp://example.com/x", "https://user:pw@example.com/", `https://example.com/${"a".repeat(10_000)}`, "not a url", "https://[fd00::1]/"]) {
        expect(urlProblem(bad, local), `${bad} local=${local}`).toBeDefined();
      }
    }
    for (const bad of ["http://localhost./", "https://localhost/", "https://a.localhost/", "http://127.0.0.1:8080/", "http://example.com/", "https://intranet/"]) expect(urlProblem(bad, false), bad).toBeDefined();
    expect(urlProblem("http://127.0.0.1:8080/hook", true)).toBeUndefined();
    expect(urlProblem("https://hooks.example.com/x", false)).toBeUndefined();
  });

  it("refuses at connect time a name that resolves to a blocked address (strict mode), and follows no redirect", async () => {
    const receiver = await startReceiver();
    try {
      process.env.DELIVERY_ALLOW_LOCAL = "false";
      // Passes the static check (a dotted public-looking name) but resolves to 127.0.0.1.
      const refused = await attempt("https://localtest.me/", {}, "{}");
      expect(refused.status).toBeUndefined();
      expect(refused.error ?? "").toMatch(/refused|ENOTFOUND|EAI_AGAIN/);
      delete process.env.DELIVERY_ALLOW_LOCAL;
      receiver.respond = (r) => (r.path === "/hook" ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : { status: 200 });
      const redirected = await attempt(receiver.url, {}, "{}");
      expect(redirected.status).toBe(302);
      expect(receiver.received.map((r) => r.path)).toEqual(["/hook"]);
      receiver.respond = () => ({ status: 200, body: "x".repeat(200_000) });
      const big = await attempt(receiver.url, {}, "{}");
      expect(big.status).toBe(200);
      expect(big.body).toHaveLength(1024);
    } finally {
      delete process.env.DELIVERY_ALLOW_LOCAL;
      await receiver.close();
    }
  });
});

describe.each(dbTargets())("webhooks on %s", (name) => {
  const ctx = withTarget(name);
  const receiver = useReceiver();

  async function subscribe(t: TestTenant, events: string[] = ["*"], url = receiver.url) {
    const made = await call("POST", "/api/webhooks", { token: t.users.admin.token, body: { url, events, description: "test hook" } });
    expect(made.status, made.text).toBe(201);
    return made.json as { id: string; secret: string; version: number };
  }

  async function placeOrder(t: TestTenant) {
    const item = await insertItem(ctx.db, t.id, { stock: 50 });
    const made = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } });
    expect(made.status).toBe(201);
    return made.json.id as string;
  }

  const deliveriesOf = (tenantId: string) =>
    query(ctx.db, sql`SELECT id, status, attempts, event_type, endpoint_id FROM deliveries WHERE tenant_id = ${tenantId} ORDER BY created_at`) as Promise<
      { id: string; status: string; attempts: number; event_type: string; endpoint_id: string }[]
    >;

  it("creates, lists, reads, updates and deletes endpoints; the secret is shown once", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const hook = await subscribe(t, ["order.created", "item.updated"]);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(hook.secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    const got = await call("GET", `/api/webhooks/${hook.id}`, { token: admin });
    expect(got.status).toBe(200);
    expect(got.json.secret).toBeUndefined();
    expect(got.json).toMatchObject({ url: receiver.url, events: ["item.updated", "order.created"], description: "test hook", enabled: true });
    expect(got.headers.get("etag")).toBe('"v1"');
    const list = await call("GET", "/api/webhooks", { token: admin });
    expect(list.json.items.map((w: { id: string }) => w.id)).toEqual([hook.id]);
    expect(JSON.stringify(list.json)).not.toContain("whsec_");
    const stale = await call("PATCH", `/api/webhooks/${hook.id}`, { token: admin, body: { enabled: false }, headers: { "if-match": '"v9"' } });
    expect(stale.status).toBe(412);
    const off = await call("PATCH", `/api/webhooks/${hook.id}`, { token: admin, body: { enabled: false, events: ["*"] } });
    expect(off.json).toMatchObject({ enabled: false, disabledReason: "manual", events: ["*"], version: 2 });
    const bad = await call("POST", "/api/webhooks", { token: admin, body: { url: receiver.url, events: ["order.created", "order.exploded"] } });
    expect(bad.status).toBe(422);
    expect(errorOf(bad).details?.[0]?.path).toMatch(/^events/);
    expect((await call("DELETE", `/api/webhooks/${hook.id}`, { token: admin })).status).toBe(204);
    expect((await call("GET", `/api/webhooks/${hook.id}`, { token: admin })).status).toBe(404);
  });

  it("refuses the issue's bad URLs with 422 (and local ones in production mode)", async () => {
    const t = await ctx.tenant();
    const post = (url: string) => call("POST", "/api/webhooks", { token: t.users.admin.token, body: { url, events: ["*"] } });
    for (const url of ["http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "ftp://example.com/", `https://example.com/${"x".repeat(10_000)}`]) {
      const r = await post(url);
      expect(r.status, url).toBe(422);
      expect(errorOf(r).details?.[0]?.path).toBe("url");
    }
    process.env.DELIVERY_ALLOW_LOCAL = "false";
    try {
      for (const url of ["http://localhost./", "https://localhost./", "http://127.0.0.1:9/", "https://127.0.0.1/"]) expect((await post(url)).status, url).toBe(422);
    } finally {
      delete process.env.DELIVERY_ALLOW_LOCAL;
    }
    expect(await deliveriesOf(t.id)).toEqual([]);
  });

  it("delivers a signed event whose body is the event itself; fails 3 times, succeeds on the 4th with the same webhook-id", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["order.created"]);
    receiver.respond = (_r, i) => (i < 3 ? { status: 500, body: "down" } : { status: 204 });
    const orderId = await placeOrder(t);
    await settleBackgroundWork(); // the post-commit kick: attempt 1
    expect(receiver.received).toHaveLength(1);
    let clock = Date.now();
    for (const step of [6_000, 6 * 60_000, 40 * 60_000]) {
      clock += step;
      await runDue({ now: () => clock, tenantId: t.id });
    }
    // Nothing more is due: the 4th attempt succeeded.
    clock += 48 * HOUR;
    await runDue({ now: () => clock, tenantId: t.id });
    expect(receiver.received).toHaveLength(4);
    const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    const bodies = receiver.received.map((r) => verifySigned(hook.secret, r));
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    await eventsSettled(ctx.db, t.id);
    const events = await call("GET", "/api/events?type=order.created", { token: t.users.admin.token });
    expect(bodies[0]).toEqual(events.json.items[0]);
    expect(bodies[0]).toMatchObject({ type: "order.created", tenantId: t.id, resource: { type: "order", id: orderId } });

    const page = await call("GET", `/api/webhooks/${hook.id}/deliveries`, { token: t.users.admin.token });
    expect(page.status).toBe(200);
    expect(page.json.items).toHaveLength(1);
    expect(page.json.items[0]).toMatchObject({ id: [...ids][0], status: "delivered", attempts: 4, lastResponseStatus: 204, nextAttemptAt: null, eventType: "order.created" });
    expect(page.dbTrips).toBeLessThanOrEqual(1);
  });

  it("two concurrent sweepers never send the same attempt twice", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["*"]);
    await settleBackgroundWork();
    // Queued directly (no post-commit kick), all due now.
    await query(
      ctx.db,
      sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload) SELECT gen_random_uuid(), ${t.id}, ${hook.id}, 'webhook.test', jsonb_build_object('n', g) FROM generate_series(1, 60) g`,
    );
    receiver.respond = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { status: 200 };
    };
    const results = await Promise.all([runDue({ tenantId: t.id, batch: 7 }), runDue({ tenantId: t.id, batch: 7 }), runDue({ tenantId: t.id, batch: 7 })]);
    expect(results.reduce((n, r) => n + r.claimed, 0)).toBe(60);
    const ids = receiver.received.map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect((await deliveriesOf(t.id)).every((d) => d.status === "delivered" && d.attempts === 1)).toBe(true);
  });

  it("a receiver down for the whole schedule ends in dead letter; replay and retry deliver it", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["order.created"]);
    receiver.respond = () => ({ status: 503, body: "maintenance" });
    const started = Date.now();
    await placeOrder(t);
    await settleBackgroundWork();
    // The clock jumps to each next attempt (jitter included), never waits.
    for (let i = 0; i < 12; i++) {
      const [row] = await query(ctx.db, sql`SELECT next_attempt_at FROM deliveries WHERE tenant_id = ${t.id} AND status = 'pending'`);
      if (!row) break;
      const clock = new Date(String(row.next_attempt_at)).getTime() + 1000;
      await runDue({ now: () => clock, tenantId: t.id });
    }
    expect(receiver.received).toHaveLength(MAX_ATTEMPTS);
    const [dead] = await deliveriesOf(t.id);
    expect(dead).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS });
    const listed = await call("GET", `/api/webhooks/${hook.id}/deliveries?status=dead`, { token: t.users.admin.token });
    expect(listed.json.items[0]).toMatchObject({ status: "dead", lastResponseStatus: 503, lastResponseBody: "maintenance", nextAttemptAt: null });

    receiver.respond = () => ({ status: 200 });
    const replayed = await call("POST", `/api/webhooks/${hook.id}/replay`, { token: t.users.admin.token, body: { from: new Date(started - 60_000).toISOString() } });
    expect(replayed.status).toBe(202);
    expect(replayed.json).toEqual({ requeued: 1, created: 0 });
    await settleBackgroundWork();
    expect((await deliveriesOf(t.id))[0]).toMatchObject({ status: "delivered", attempts: MAX_ATTEMPTS + 1 });
    const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);

    // A delivered one can be resent by hand.
    const retried = await call("POST", `/api/webhooks/${hook.id}/deliveries/${dead!.id}/retry`, { token: t.users.admin.token });
    expect(retried.status).toBe(202);
    await settleBackgroundWork();
    expect(receiver.received).toHaveLength(MAX_ATTEMPTS + 2);
  });

  it("410 disables the endpoint with a webhook.disabled event; 429 Retry-After is honoured", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["order.created"]);
    receiver.respond = () => ({ status: 429, headers: { "retry-after": "120" } });
    await placeOrder(t);
    const before = Date.now();
    await settleBackgroundWork();
    const [d] = await query(ctx.db, sql`SELECT next_attempt_at FROM deliveries WHERE tenant_id = ${t.id}`);
    const wait = new Date(String(d!.next_attempt_at)).getTime() - before;
    expect(wait).toBeGreaterThan(110_000);
    expect(wait).toBeLessThan(130_000);

    receiver.respond = () => ({ status: 410 });
    await runDue({ now: () => Date.now() + 121_000, tenantId: t.id });
    const got = await call("GET", `/api/webhooks/${hook.id}`, { token: t.users.admin.token });
    expect(got.json).toMatchObject({ enabled: false, disabledReason: "gone" });
    await eventsSettled(ctx.db, t.id);
    const events = await call("GET", "/api/events?type=webhook.disabled", { token: t.users.admin.token });
    expect(events.json.items).toHaveLength(1);
    expect(events.json.items[0]).toMatchObject({ actor: { type: "system" }, resource: { type: "webhook", id: hook.id }, data: { reason: "gone" } });
  });

  it("an endpoint failing everything for 5 days is disabled", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["order.created"]);
    receiver.respond = () => ({ status: 500 });
    let clock = Date.now();
    await placeOrder(t);
    await settleBackgroundWork();
    for (let day = 0; day < 7; day++) {
      clock += 20 * HOUR;
      await placeOrder(t); // its kick runs at real time; the sweep below at the moved clock
      await settleBackgroundWork();
      await runDue({ now: () => clock, tenantId: t.id });
    }
    const got = await call("GET", `/api/webhooks/${hook.id}`, { token: t.users.admin.token });
    expect(got.json).toMatchObject({ enabled: false, disabledReason: "failing" });
    // Re-enabling clears the failure record.
    const on = await call("PATCH", `/api/webhooks/${hook.id}`, { token: t.users.admin.token, body: { enabled: true } });
    expect(on.json).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
  });

  it("rotating the secret signs with both for 24 h", async () => {
    const t = await ctx.tenant();
    const hook = await subscribe(t, ["order.created"]);
    const rotated = await call("POST", `/api/webhooks/${hook.id}/rotate-secret`, { token: t.users.admin.token });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.json.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * HOUR);
    await placeOrder(t);
    await settleBackgroundWork();
    const [r] = receiver.received;
    expect(r!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verifySigned(rotated.json.secret, r!)).toMatchObject({ type: "order.created" });
    expect(verifySigned(hook.secret, r!)).toMatchObject({ type: "order.created" });
    // After 24 h only the new one signs.
    await query(ctx.db, sql`UPDATE deliveries SET status = 'dead' WHERE tenant_id = ${t.id}`);
    const [d] = await deliveriesOf(t.id);
    await call("POST", `/api/webhooks/${hook.id}/deliveries/${d!.id}/retry`, { token: t.users.admin.token });
    await settleBackgroundWork();
    expect(receiver.received).toHaveLength(2);
    await query(ctx.db, sql`UPDATE deliveries SET status = 'dead' WHERE tenant_id = ${t.id}`);
    await call("POST", `/api/webhooks/${hook.id}/deliveries/${d!.id}/retry`, { token: t.users.admin.token });
    await settleBackgroundWork();
    const later = Date.now() + 25 * HOUR;
    await query(ctx.db, sql`UPDATE deliveries SET status = 'pending', next_attempt_at = now() WHERE tenant_id = ${t.id}`);
    await runDue({ now: () => later, tenantId: t.id });
    const last = receiver.received[receiver.received.length - 1]!;
    expect(last.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
  });

  it("test sends a webhook.test; refused writes queue nothing; tenants never cross", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const hookA = await subscribe(a, ["*"]);
    await subscribe(b, ["*"]);
    const test = await call("POST", `/api/webhooks/${hookA.id}/test`, { token: a.users.admin.token });
    expect(test.status).toBe(202);
    expect(test.dbTrips).toBe(1);
    await settleBackgroundWork();
    expect(verifySigned(hookA.secret, receiver.received[0]!)).toMatchObject({ type: "webhook.test", tenantId: a.id });
    receiver.received.length = 0;

    const item = await insertItem(ctx.db, a.id, { stock: 1 });
    const refused = await call("POST", "/api/orders", { token: a.users.staff.token, body: { channel: "call", items: [{ itemId: item, quantity: 5 }] } });
    expect(refused.status).toBe(409);
    const invalid = await call("POST", "/api/orders", { token: a.users.staff.token, body: { channel: "call", items: [] } });
    expect(invalid.status).toBe(422);
    await settleBackgroundWork();
    expect(receiver.received).toHaveLength(0);
    expect((await deliveriesOf(a.id)).map((d) => d.event_type)).toEqual(["webhook.test"]);

    const placed = await call("POST", "/api/orders", { token: a.users.staff.token, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } });
    expect(placed.status).toBe(201);
    expect(placed.dbTrips).toBeLessThanOrEqual(1);
    await settleBackgroundWork();
    expect(receiver.received.every((r) => JSON.parse(r.body).tenantId === a.id)).toBe(true);
    expect(receiver.received.map((r) => JSON.parse(r.body).type).sort()).toEqual(["item.out_of_stock", "order.created"]);
    expect(await deliveriesOf(b.id)).toEqual([]);
    expect((await call("GET", `/api/webhooks/${hookA.id}/deliveries`, { token: b.users.admin.token })).status).toBe(404);
    expect((await call("POST", `/api/webhooks/${hookA.id}/replay`, { token: b.users.admin.token, body: { from: new Date(Date.now() - HOUR).toISOString() } })).status).toBe(404);
  });
});
