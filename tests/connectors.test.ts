import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { EVENT_ENVELOPE, EVENT_TYPES } from "../lib/events/catalog.js";
import { runDue } from "../lib/delivery/engine.js";
import { MAX_ATTEMPTS } from "../lib/delivery/schedule.js";
import { settleBackgroundWork } from "../lib/platform/wait-until.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { eventsSettled } from "./support/events.js";
import { insertCustomer, type TestTenant } from "./support/fixtures.js";
import { useReceiver, verifySigned } from "./support/receiver-suite.js";
import { validate } from "./support/json-schema.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Outbound delivery of staff messages to chat connectors (issue 16) through the shared delivery
// engine: signed like webhooks, retried, dead-lettered, replayed, with the message's status moving
// along in the engine's own outcome statement.

describe.each(dbTargets())("chat connectors on %s", (name) => {
  const ctx = withTarget(name);
  const receiver = useReceiver();

  const ok = (r: CallResult, status = 200) => {
    expect(r.status, r.text.slice(0, 300)).toBe(status);
    return r.json;
  };
  const put = (t: TestTenant, channel: string, body: Record<string, unknown>, token = t.users.admin.token) => call("PUT", `/api/integrations/connectors/${channel}`, { token, body });
  const connect = async (t: TestTenant, channel = "instagram", url = receiver.url) => ok(await put(t, channel, { url }), 201) as { id: string; secret: string; version: number };
  /** A thread on `channel` with a customer who has an Instagram handle. */
  const thread = async (t: TestTenant, channel = "instagram") => {
    const customerId = await insertCustomer(ctx.db, t.id, "Rosa");
    await query(ctx.db, sql`UPDATE customers SET social_handle = '@rosa', phone = '+1 555 0100' WHERE id = ${customerId}`);
    return ok(await call("POST", "/api/conversations", { token: t.users.staff.token, body: { customerId, channel } }), 201).id as string;
  };
  const post = (t: TestTenant, conversationId: string, text: string, headers: Record<string, string> = {}) =>
    call("POST", `/api/conversations/${conversationId}/messages`, { token: t.users.staff.token, body: { text }, headers });
  const report = (t: TestTenant, messageId: string, body: Record<string, unknown>, key = t.keys.staff.key) => call("POST", `/api/integrations/messages/${messageId}/status`, { token: key, body });
  const statusOf = async (messageId: string) => {
    const [row] = await query(ctx.db, sql`SELECT status, failure_reason, sent_at FROM messages WHERE id = ${messageId}`);
    return row as { status: string; failure_reason: string | null; sent_at: unknown };
  };
  const deliveriesOf = (tenantId: string) =>
    query(ctx.db, sql`SELECT id, status, attempts, message_id FROM deliveries WHERE tenant_id = ${tenantId} ORDER BY created_at, id`) as Promise<
      { id: string; status: string; attempts: number; message_id: string | null }[]
    >;
  /** Runs every due attempt at the moved clock until nothing is pending (never waits). */
  const exhaustSchedule = async (tenantId: string) => {
    for (let i = 0; i < MAX_ATTEMPTS * 3; i++) {
      const [row] = await query(ctx.db, sql`SELECT max(next_attempt_at) AS at FROM deliveries WHERE tenant_id = ${tenantId} AND status IN ('pending', 'sending')`);
      if (!row?.at) return;
      const clock = new Date(String(row.at)).getTime() + 1000;
      await runDue({ now: () => clock, tenantId });
    }
    throw new Error("deliveries still pending after the whole schedule");
  };

  it("PUT creates a connector with its secret shown once, replaces it idempotently, lists, disables and deletes", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    // Auth lookups are cached per instance: warm them so dbTrips counts only the request's own work.
    expect(ok(await call("GET", "/api/integrations/connectors", { token: admin })).items).toEqual([]);
    const created = await put(t, "instagram", { url: receiver.url });
    const connector = ok(created, 201);
    expect(created.dbTrips).toBe(1);
    expect(created.headers.get("location")).toBe("/api/integrations/connectors/instagram");
    expect(connector).toMatchObject({ channel: "instagram", url: receiver.url, enabled: true, disabledReason: null, version: 1 });
    expect(connector.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    // The same PUT again: 200, no secret, nothing changed.
    const again = ok(await put(t, "instagram", { url: receiver.url, enabled: true }));
    expect(again.secret).toBeUndefined();
    expect(again).toMatchObject({ id: connector.id, version: 1 });
    const list = await call("GET", "/api/integrations/connectors", { token: admin });
    expect(list.dbTrips).toBe(1);
    expect(ok(list).items.map((c: { channel: string }) => c.channel)).toEqual(["instagram"]);
    expect(JSON.stringify(list.json)).not.toContain("whsec_");
    const got = await call("GET", "/api/integrations/connectors/instagram", { token: admin });
    expect(got.dbTrips).toBe(1);
    expect(ok(got)).toEqual(again);
    const none = await call("GET", "/api/integrations/connectors/instagram/deliveries", { token: admin });
    expect(none.dbTrips).toBe(1);
    expect(ok(none)).toEqual({ items: [], pagination: { limit: 10, nextCursor: null } });
    expect((await call("GET", "/api/integrations/connectors/facebook/deliveries", { token: admin })).status).toBe(404);
    expect(got.headers.get("etag")).toBe('"v1"');

    const off = ok(await put(t, "instagram", { url: `${receiver.url}/v2`, enabled: false }));
    expect(off).toMatchObject({ enabled: false, disabledReason: "manual", version: 2, url: `${receiver.url}/v2` });
    // Disabled: staff messages on the channel are notes, as without a connector.
    const conversationId = await thread(t);
    expect(ok(await post(t, conversationId, "Hi"), 201)).toMatchObject({ direction: "note", status: "sent" });
    const on = ok(await put(t, "instagram", { url: receiver.url }));
    expect(on).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, version: 3 });

    const rotation = await call("POST", "/api/integrations/connectors/instagram/rotate-secret", { token: admin });
    expect(rotation.dbTrips).toBe(1);
    const rotated = ok(rotation);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(connector.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 23 * 3600_000);

    expect((await call("DELETE", "/api/integrations/connectors/instagram", { token: admin })).status).toBe(204);
    expect((await call("GET", "/api/integrations/connectors/instagram", { token: admin })).status).toBe(404);
    expect((await call("DELETE", "/api/integrations/connectors/instagram", { token: admin })).status).toBe(404);
    expect(ok(await call("GET", "/api/integrations/connectors", { token: admin })).items).toEqual([]);
  });

  it("refuses bad URLs (the webhooks' SSRF guard), note-only and unknown channels, and non-admins", async () => {
    const t = await ctx.tenant();
    for (const url of ["http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "ftp://example.com/", `https://example.com/${"x".repeat(10_000)}`, "not a url", "http://10.0.0.1/"]) {
      const r = await put(t, "whatsapp", { url });
      expect(r.status, url).toBe(422);
      expect(errorOf(r).details?.[0]?.path).toBe("url");
    }
    process.env.DELIVERY_ALLOW_LOCAL = "false";
    try {
      for (const url of ["http://localhost./", "http://127.0.0.1:9/", "https://intranet/"]) expect((await put(t, "whatsapp", { url })).status, url).toBe(422);
    } finally {
      delete process.env.DELIVERY_ALLOW_LOCAL;
    }
    for (const channel of ["call", "offline", "telegram"]) expect((await put(t, channel, { url: receiver.url })).status, channel).toBe(400);
    expect((await put(t, "whatsapp", { url: receiver.url, enabled: "yes" })).status).toBe(422);
    expect((await put(t, "whatsapp", { url: receiver.url }, t.users.staff.token)).status).toBe(403);
    expect(ok(await call("GET", "/api/integrations/connectors", { token: t.users.admin.token })).items).toEqual([]);
  });

  it("queues an outbound message with its delivery in one statement, posts it signed, then sent → delivered → read", async () => {
    const t = await ctx.tenant();
    const connector = await connect(t);
    const conversationId = await thread(t);
    // An inbound message first: the connector learns what it replies to.
    ok(await call("POST", "/api/integrations/messages", { token: t.keys.staff.key, body: { channel: "instagram", externalId: "ig-1", from: { handle: "@rosa" }, text: "Is it in stock?" } }), 201);
    const posted = await post(t, conversationId, "  Yes, two left  ");
    expect(posted.dbTrips).toBe(1);
    const message = ok(posted, 201);
    expect(message).toMatchObject({ direction: "outbound", status: "queued", sentAt: null, text: "Yes, two left" });

    await settleBackgroundWork(); // the post-commit kick: attempt 1
    expect(receiver.received).toHaveLength(1);
    const body = verifySigned(connector.secret, receiver.received[0]!);
    expect(body).toMatchObject({
      type: "message.outbound",
      tenantId: t.id,
      data: {
        message: { id: message.id, conversationId, channel: "instagram", direction: "outbound", text: "Yes, two left", status: "queued" },
        conversation: { id: conversationId, channel: "instagram" },
        to: { name: "Rosa", handle: "@rosa", phone: "+1 555 0100" },
        inReplyTo: "ig-1",
      },
    });
    const [delivery] = await deliveriesOf(t.id);
    expect(receiver.received[0]!.headers["webhook-id"]).toBe(delivery!.id);
    expect(delivery).toMatchObject({ status: "delivered", message_id: message.id, attempts: 1 });
    expect(await statusOf(message.id)).toMatchObject({ status: "sent", failure_reason: null });
    expect((await statusOf(message.id)).sent_at).not.toBeNull();

    // Out of order: read before delivered ends at read; repeats and backward moves change nothing.
    expect(ok(await report(t, message.id, { status: "read" }))).toMatchObject({ applied: true, message: { status: "read" } });
    expect(ok(await report(t, message.id, { status: "delivered" }))).toMatchObject({ applied: false, message: { status: "read" } });
    expect(ok(await report(t, message.id, { status: "failed", reason: "late" }))).toMatchObject({ applied: false, message: { status: "read" } });

    await eventsSettled(ctx.db, t.id);
    const events = ok(await call("GET", "/api/events?type=message.status_changed", { token: t.users.admin.token }));
    const moves = events.items.filter((e: any) => e.resource.id === message.id).map((e: any) => [e.data.from, e.data.to, e.actor.type]);
    expect(moves).toEqual([
      ["queued", "sent", "system"],
      ["sent", "read", "api_key"],
    ]);
    const listed = ok(await call("GET", `/api/integrations/connectors/instagram/deliveries?messageId=${message.id}`, { token: t.users.admin.token }));
    expect(listed.items).toEqual([expect.objectContaining({ id: delivery!.id, messageId: message.id, messageStatus: "read", status: "delivered", lastResponseStatus: 200 })]);
  });

  it("a status report that overtakes the engine's own `sent` is never moved back", async () => {
    const t = await ctx.tenant();
    await connect(t);
    const conversationId = await thread(t);
    // The connector reports `delivered` (and then `read` for a second message) before it answers
    // the delivery, so the report commits before the engine records the 2xx.
    receiver.respond = async (r) => {
      const id = JSON.parse(r.body).data.message.id as string;
      const reported = await report(t, id, { status: JSON.parse(r.body).data.message.text === "two" ? "read" : "delivered" });
      expect(reported.json.applied).toBe(true);
      return { status: 202 };
    };
    const one = ok(await post(t, conversationId, "one"), 201);
    const two = ok(await post(t, conversationId, "two"), 201);
    await settleBackgroundWork();
    expect(receiver.received).toHaveLength(2);
    expect((await statusOf(one.id)).status).toBe("delivered");
    expect((await statusOf(two.id)).status).toBe("read");
    expect((await deliveriesOf(t.id)).map((d) => d.status)).toEqual(["delivered", "delivered"]);
    await eventsSettled(ctx.db, t.id);
    const events = ok(await call("GET", "/api/events?type=message.status_changed", { token: t.users.admin.token }));
    // No queued → sent after the report: the engine's update found the message past `queued`.
    expect(events.items.map((e: any) => `${e.data.from}→${e.data.to}`).sort()).toEqual(["queued→delivered", "queued→read"]);
  });

  it("status reports racing the engine's outcomes: 20 messages all end delivered, never moved back to sent", async () => {
    const t = await ctx.tenant();
    await connect(t);
    const conversationId = await thread(t);
    const reports: Promise<CallResult>[] = [];
    // The connector answers at once and reports `delivered` at the same moment (not awaited), so the
    // report and the engine's outcome statement race on every message.
    receiver.respond = (r) => {
      reports.push(report(t, JSON.parse(r.body).data.message.id as string, { status: "delivered" }));
      return { status: 200 };
    };
    const posted = await Promise.all(Array.from({ length: 20 }, (_, i) => post(t, conversationId, `message ${i}`)));
    await settleBackgroundWork();
    await runDue({ tenantId: t.id });
    const answered = await Promise.all(reports);
    expect(answered.map((r) => r.status)).toEqual(answered.map(() => 200));
    for (const p of posted) expect((await statusOf(p.json.id)).status, p.json.id).toBe("delivered");
    await eventsSettled(ctx.db, t.id);
    const events = ok(await call("GET", "/api/events?type=message.status_changed&limit=100", { token: t.users.admin.token }));
    for (const p of posted) {
      const moves = events.items.filter((e: any) => e.resource.id === p.json.id).map((e: any) => `${e.data.from}→${e.data.to}`).join(",");
      expect(["queued→sent,sent→delivered", "queued→delivered"], moves).toContain(moves);
    }
  });

  it("a connector down for the whole schedule: every message ends failed with a reason, retry and replay deliver each once, nothing lost", async () => {
    const t = await ctx.tenant();
    const connector = await connect(t, "whatsapp");
    const conversationId = await thread(t, "whatsapp");
    receiver.respond = () => ({ status: 503, body: "maintenance" });
    const messages: { id: string }[] = [];
    for (const text of ["first", "second", "third"]) messages.push(ok(await post(t, conversationId, text), 201));
    await settleBackgroundWork();
    await exhaustSchedule(t.id);
    expect(receiver.received).toHaveLength(3 * MAX_ATTEMPTS);
    for (const m of messages) {
      const s = await statusOf(m.id);
      expect(s.status).toBe("failed");
      expect(s.failure_reason).toBe(`connector did not accept the message after ${MAX_ATTEMPTS} attempts (last: HTTP 503)`);
    }
    const dead = ok(await call("GET", "/api/integrations/connectors/whatsapp/deliveries?status=dead", { token: t.users.admin.token }));
    expect(dead.items).toHaveLength(3);
    expect(dead.items[0]).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS, lastResponseStatus: 503, lastResponseBody: "maintenance", nextAttemptAt: null, messageStatus: "failed" });
    // The connector is not disabled by three days of failures (that takes five).
    expect(ok(await call("GET", "/api/integrations/connectors/whatsapp", { token: t.users.admin.token })).enabled).toBe(true);

    // Back up: the first dead delivery retried by hand, the rest by a replay of the window. Each
    // message is queued again, then sent.
    receiver.received.length = 0;
    receiver.respond = () => ({ status: 200 });
    const [one, ...rest] = [...dead.items].reverse() as { id: string }[];
    const retried = await call("POST", `/api/integrations/connectors/whatsapp/deliveries/${one!.id}/retry`, { token: t.users.admin.token });
    expect(retried.dbTrips).toBe(1);
    expect(ok(retried, 202)).toMatchObject({ id: one!.id, status: "pending", messageStatus: "queued" });
    // Again at once: still pending (202), or the first retry's own kick already has the attempt in
    // flight (409, retry later) — never a second delivery either way (counted below).
    const again = await call("POST", `/api/integrations/connectors/whatsapp/deliveries/${one!.id}/retry`, { token: t.users.admin.token });
    expect([202, 409]).toContain(again.status);
    if (again.status === 409) expect(again.json.error.code).toBe("conflict");
    const replayed = await call("POST", "/api/integrations/connectors/whatsapp/replay", { token: t.users.admin.token, body: { from: new Date(Date.now() - 3600_000).toISOString() } });
    expect(replayed.dbTrips).toBe(1);
    expect(ok(replayed, 202)).toEqual({ requeued: rest.length, messages: rest.length });
    await settleBackgroundWork();
    // Nothing left to replay.
    expect(ok(await call("POST", "/api/integrations/connectors/whatsapp/replay", { token: t.users.admin.token, body: { from: new Date(Date.now() - 3600_000).toISOString() } }), 202)).toEqual({ requeued: 0, messages: 0 });
    const ids = receiver.received.map((r) => r.headers["webhook-id"]);
    expect(new Set(ids)).toEqual(new Set(dead.items.map((d: { id: string }) => d.id)));
    expect(ids).toHaveLength(3);
    const delivered = receiver.received.map((r) => verifySigned(connector.secret, r).data.message.id).sort();
    expect(delivered).toEqual(messages.map((m) => m.id).sort());
    for (const m of messages) expect((await statusOf(m.id)).status).toBe("sent");
    await eventsSettled(ctx.db, t.id);
    const events = ok(await call("GET", "/api/events?type=message.status_changed&limit=100", { token: t.users.admin.token }));
    const first = events.items.filter((e: any) => e.resource.id === messages[0]!.id).map((e: any) => `${e.data.from}→${e.data.to}`);
    expect(first).toEqual(["queued→failed", "failed→queued", "queued→sent"]);
  });

  it("410 Gone fails the message and disables the connector (connector.disabled); later messages are notes", async () => {
    const t = await ctx.tenant();
    const connector = await connect(t);
    const conversationId = await thread(t);
    receiver.respond = () => ({ status: 410 });
    const m = ok(await post(t, conversationId, "Hello"), 201);
    await settleBackgroundWork();
    expect(await statusOf(m.id)).toMatchObject({ status: "failed", failure_reason: "connector answered 410 Gone; the connector is disabled" });
    expect(ok(await call("GET", "/api/integrations/connectors/instagram", { token: t.users.admin.token }))).toMatchObject({ enabled: false, disabledReason: "gone" });
    await eventsSettled(ctx.db, t.id);
    const events = ok(await call("GET", "/api/events?type=connector.disabled", { token: t.users.admin.token }));
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ actor: { type: "system" }, resource: { type: "connector", id: connector.id }, data: { reason: "gone", endpoint: { channel: "instagram" } } });
    // Both events of this story match the catalog.
    const changed = ok(await call("GET", "/api/events?type=message.status_changed", { token: t.users.admin.token })).items;
    expect(changed.map((e: any) => [e.data.from, e.data.to])).toEqual([["queued", "failed"]]);
    for (const e of [...events.items, ...changed]) {
      expect(validate(EVENT_ENVELOPE as never, e)).toEqual([]);
      expect(validate(EVENT_TYPES[e.type as keyof typeof EVENT_TYPES].data as never, e.data), e.type).toEqual([]);
    }
    expect(ok(await post(t, conversationId, "Anyone?"), 201)).toMatchObject({ direction: "note", status: "sent" });
  });

  it("deleting a connector fails the messages still waiting for it, with their events", async () => {
    const t = await ctx.tenant();
    await connect(t);
    const conversationId = await thread(t);
    receiver.respond = () => ({ status: 500 });
    const m = ok(await post(t, conversationId, "Hello"), 201);
    await settleBackgroundWork();
    expect((await statusOf(m.id)).status).toBe("queued");
    const deleted = await call("DELETE", "/api/integrations/connectors/instagram", { token: t.users.admin.token });
    expect(deleted.status).toBe(204);
    expect(deleted.dbTrips).toBe(1);
    expect(await statusOf(m.id)).toMatchObject({ status: "failed", failure_reason: "connector removed before the message was delivered" });
    expect(await deliveriesOf(t.id)).toEqual([]);
  });

  it("concurrent duplicates with one Idempotency-Key queue one message and one delivery", async () => {
    const t = await ctx.tenant();
    await connect(t);
    const conversationId = await thread(t);
    const results = await Promise.all(Array.from({ length: 8 }, () => post(t, conversationId, "Once", { "idempotency-key": "send-once" })));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    await settleBackgroundWork();
    expect(await deliveriesOf(t.id)).toEqual([expect.objectContaining({ message_id: results[0]!.json.id, status: "delivered" })]);
    expect(receiver.received).toHaveLength(1);
  });

  it("under a concurrent mix of posts, keyed repeats, reports and connector switches, each outbound message carries exactly one delivery", async () => {
    const t = await ctx.tenant();
    await connect(t);
    const conversationId = await thread(t);
    receiver.respond = (_r, i) => ({ status: i % 3 === 0 ? 500 : 200 });
    const ops: Promise<CallResult>[] = [];
    const posted: Promise<CallResult>[] = [];
    for (let i = 0; i < 24; i++) {
      if (i % 6 === 5) ops.push(put(t, "instagram", { url: receiver.url, enabled: i % 12 !== 5 }));
      else {
        const p = post(t, conversationId, `mix ${i % 8}`, i % 4 === 0 ? { "idempotency-key": `mix-${i % 8}` } : {});
        posted.push(p);
        ops.push(p.then(async (r) => (r.status === 201 && r.json.status === "queued" ? report(t, r.json.id, { status: i % 2 ? "delivered" : "read" }) : r)));
      }
    }
    const answered = await Promise.all(ops);
    expect(answered.filter((r) => r.status >= 500)).toEqual([]);
    await settleBackgroundWork();
    const messages = await Promise.all(posted);
    expect(messages.map((r) => r.status)).toEqual(messages.map(() => 201));
    const rows = await query(ctx.db, sql`SELECT m.id, m.direction, m.status, (SELECT count(*) FROM deliveries d WHERE d.message_id = m.id) AS n FROM messages m WHERE m.conversation_id = ${conversationId}`);
    const ids = new Set(messages.map((r) => r.json.id));
    expect(new Set(rows.map((r) => r.id))).toEqual(ids);
    for (const r of rows) {
      if (r.direction === "outbound") {
        expect(Number(r.n), String(r.id)).toBe(1);
        expect(["queued", "sent", "delivered", "read"]).toContain(r.status);
      } else expect([r.direction, Number(r.n)]).toEqual(["note", 0]);
    }
    const [loose] = await query(ctx.db, sql`SELECT count(*) AS n FROM deliveries WHERE tenant_id = ${t.id} AND message_id IS NULL`);
    expect(Number(loose!.n)).toBe(0);
  });

  it("never crosses tenants: connectors, deliveries, retries and status reports", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    await connect(a);
    await connect(b); // b has a connector on the same channel
    const conversationId = await thread(a);
    receiver.respond = () => ({ status: 500 });
    const m = ok(await post(a, conversationId, "For a only"), 201);
    await settleBackgroundWork();
    const [d] = await deliveriesOf(a.id);
    const bAdmin = b.users.admin.token;
    expect(ok(await call("GET", "/api/integrations/connectors/instagram/deliveries", { token: bAdmin })).items).toEqual([]);
    expect((await call("POST", `/api/integrations/connectors/instagram/deliveries/${d!.id}/retry`, { token: bAdmin })).status).toBe(404);
    expect((await report(b, m.id, { status: "delivered" })).status).toBe(404);
    expect(ok(await call("GET", "/api/integrations/connectors", { token: bAdmin })).items).toHaveLength(1);
    expect((await call("DELETE", "/api/integrations/connectors/whatsapp", { token: bAdmin })).status).toBe(404);
    expect((await call("POST", "/api/integrations/connectors/whatsapp/replay", { token: bAdmin, body: { from: new Date(Date.now() - 3600_000).toISOString() } })).status).toBe(404);
    await query(ctx.db, sql`UPDATE deliveries SET status = 'dead' WHERE tenant_id = ${a.id}`);
    expect(ok(await call("POST", "/api/integrations/connectors/instagram/replay", { token: bAdmin, body: { from: new Date(Date.now() - 3600_000).toISOString() } }), 202)).toEqual({ requeued: 0, messages: 0 });
    expect(await deliveriesOf(b.id)).toEqual([]);
    expect(receiver.received.every((r) => JSON.parse(r.body).tenantId === a.id)).toBe(true);
    expect((await statusOf(m.id)).status).toBe("queued");
  });
});
