import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { eventsSettled } from "./support/events.js";
import { insertCustomer, insertOrder, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";
import { readAfter } from "../lib/events/repo.js";
import { START } from "../lib/events/cursor.js";

describe.each(dbTargets())("conversations on %s", (name) => {
  const ctx = withTarget(name);

  const open = (t: TestTenant, body: Record<string, unknown>, token = t.users.staff.token) => call("POST", "/api/conversations", { token, body });
  const post = (t: TestTenant, id: string, body: Record<string, unknown>, headers: Record<string, string> = {}, token = t.users.staff.token) =>
    call("POST", `/api/conversations/${id}/messages`, { token, body, headers });
  const inbound = (t: TestTenant, body: Record<string, unknown>, key = t.keys.staff.key) => call("POST", "/api/integrations/messages", { token: key, body });
  const count = async (statement: ReturnType<typeof sql>) => Number((await query(ctx.db, statement))[0]!.n);
  /** Auth lookups are cached per instance: warm them so dbTrips counts only the request's own work. */
  const warm = async (t: TestTenant) => {
    for (const token of [t.users.staff.token, t.keys.staff.key]) expect((await call("GET", "/api/conversations", { token })).status).toBe(200);
  };
  const ok = (r: CallResult, status = 200) => {
    expect(r.status, r.text.slice(0, 300)).toBe(status);
    return r.json;
  };

  it("opens one thread per customer and channel, posts notes and web replies, lists by activity with unread counts", async () => {
    const t = await ctx.tenant();
    await warm(t);
    const customerId = await insertCustomer(ctx.db, t.id, "Rosa");
    const first = await open(t, { customerId, channel: "instagram" });
    const conv = ok(first, 201);
    expect(first.dbTrips).toBe(1);
    expect(conv).toMatchObject({ customerId, customer: { id: customerId, name: "Rosa" }, channel: "instagram", status: "open", unreadCount: 0, messageCount: 0, lastMessage: null, version: 1 });
    expect(first.headers.get("etag")).toBe('"v1"');
    const again = ok(await open(t, { customerId, channel: "instagram" }), 200);
    expect(again.id).toBe(conv.id);
    const web = ok(await open(t, { customerId, channel: "web" }), 201);
    expect(web.id).not.toBe(conv.id);

    // No connector on instagram: a staff message is a note, sent at once.
    const note = await post(t, conv.id, { text: "  Hello Rosa  " });
    expect(note.dbTrips).toBe(1);
    expect(ok(note, 201)).toMatchObject({ direction: "note", status: "sent", text: "Hello Rosa", seq: 1, author: { type: "user", id: t.users.staff.id } });
    // On web the customer reads replies on the tracking page: outbound, sent.
    expect(ok(await post(t, web.id, { text: "Your order ships today" }), 201)).toMatchObject({ direction: "outbound", status: "sent", seq: 1 });
    // An explicit note stays a note on web.
    expect(ok(await post(t, web.id, { text: "Customer is VIP", note: true }), 201)).toMatchObject({ direction: "note" });

    const list = await call("GET", "/api/conversations", { token: t.users.staff.token });
    expect(list.dbTrips).toBe(1);
    expect(ok(list).items.map((c: { id: string }) => c.id)).toEqual([web.id, conv.id]);
    expect(list.json.items[0]).toMatchObject({ messageCount: 2, lastMessage: { text: "Customer is VIP", direction: "note" } });
    const byChannel = ok(await call("GET", "/api/conversations?channel=instagram", { token: t.users.staff.token }));
    expect(byChannel.items.map((c: { id: string }) => c.id)).toEqual([conv.id]);
  });

  it("pages conversations and messages by keyset", async () => {
    const t = await ctx.tenant();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(ok(await open(t, { customerId: await insertCustomer(ctx.db, t.id, `C${i}`), channel: "web" }), 201).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = ok(await call("GET", `/api/conversations?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: t.users.staff.token }));
      seen.push(...page.items.map((c: { id: string }) => c.id));
      cursor = page.pagination.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await call("GET", "/api/conversations?cursor=garbage", { token: t.users.staff.token })).status).toBe(400);

    const conv = ids[0]!;
    for (let i = 1; i <= 13; i++) ok(await post(t, conv, { text: `m${i}` }), 201);
    const newest: string[] = [];
    cursor = null;
    do {
      const page: any = ok(await call("GET", `/api/conversations/${conv}/messages?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: t.users.staff.token }));
      newest.push(...page.items.map((m: { text: string }) => m.text));
      cursor = page.pagination.nextCursor;
    } while (cursor);
    expect(newest).toEqual(Array.from({ length: 13 }, (_, i) => `m${13 - i}`));
    const oldest = ok(await call("GET", `/api/conversations/${conv}/messages?order=oldest&limit=10`, { token: t.users.staff.token }));
    expect(oldest.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const rest = ok(await call("GET", `/api/conversations/${conv}/messages?order=oldest&limit=10&cursor=${oldest.pagination.nextCursor}`, { token: t.users.staff.token }));
    expect(rest.items.map((m: { seq: number }) => m.seq)).toEqual([11, 12, 13]);
    // A cursor of one order is refused in the other.
    expect((await call("GET", `/api/conversations/${conv}/messages?order=newest&cursor=${oldest.pagination.nextCursor}`, { token: t.users.staff.token })).status).toBe(400);
  });

  it("PATCH honours If-Match, checks assignee and order, and refuses writing into a closed thread", async () => {
    const t = await ctx.tenant();
    const conv = ok(await open(t, { customerId: await insertCustomer(ctx.db, t.id), channel: "whatsapp" }), 201);
    const stale = await call("PATCH", `/api/conversations/${conv.id}`, { token: t.users.staff.token, body: { status: "closed" }, headers: { "if-match": '"v7"' } });
    expect(stale.status).toBe(412);
    const nobody = await call("PATCH", `/api/conversations/${conv.id}`, { token: t.users.staff.token, body: { assignedTo: "01a20813-0118-73be-a81c-b59c7a651c18" } });
    expect(nobody.status).toBe(422);
    expect(errorOf(nobody).details?.[0]?.path).toBe("assignedTo");
    const orderId = await insertOrder(ctx.db, t);
    const patched = await call("PATCH", `/api/conversations/${conv.id}`, { token: t.users.staff.token, body: { status: "closed", assignedTo: t.users.admin.id, orderId }, headers: { "if-match": '"v1"' } });
    expect(patched.dbTrips).toBe(1);
    expect(ok(patched)).toMatchObject({ status: "closed", assignedTo: t.users.admin.id, orderId, version: 2 });
    const refused = await post(t, conv.id, { text: "hello?" }, { "idempotency-key": "closed-1" });
    expect(refused.status).toBe(409);
    expect(await count(sql`SELECT count(*) AS n FROM messages WHERE conversation_id = ${conv.id}`)).toBe(0);
    const assigned = ok(await call("GET", `/api/conversations?assignedTo=${t.users.admin.id}&status=closed`, { token: t.users.staff.token }));
    expect(assigned.items.map((c: { id: string }) => c.id)).toEqual([conv.id]);
    // A new thread for the same customer and channel can open; reopening the old one then conflicts.
    const fresh = ok(await open(t, { customerId: conv.customerId, channel: "whatsapp" }), 201);
    expect(fresh.id).not.toBe(conv.id);
    const reopen = await call("PATCH", `/api/conversations/${conv.id}`, { token: t.users.staff.token, body: { status: "open" } });
    expect(reopen.status).toBe(409);
    await eventsSettled(ctx.db, t.id);
    const events = (await readAfter(ctx.db, t.id, START, 100)).events.map((e) => e.type);
    expect(events.filter((e) => e === "conversation.updated")).toHaveLength(1);
    expect(events.filter((e) => e === "conversation.opened")).toHaveLength(2);
  });

  it("refuses bad message input and foreign ids with nothing stored", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant("other");
    const conv = ok(await open(t, { customerId: await insertCustomer(ctx.db, t.id), channel: "web" }), 201);
    const bad: [unknown, string][] = [
      ["", "text"],
      ["   \n\t ", "text"],
      ["x".repeat(5001), "text"],
      ["nul\u0000byte", "text"],
    ];
    for (const [text, path] of bad) {
      const result = await post(t, conv.id, { text });
      expect(result.status, String(text).slice(0, 10)).toBe(422);
      expect(errorOf(result).details?.map((d) => d.path)).toContain(path);
    }
    expect(ok(await post(t, conv.id, { text: "x".repeat(5000) }), 201).text).toHaveLength(5000);
    const foreignBlob = `http://127.0.0.1:3000/api/dev/blob?pathname=${encodeURIComponent(`tenants/${other.id}/chat/photo.png`)}`;
    const theirs = await post(t, conv.id, { text: "see photo", attachments: [foreignBlob] });
    expect(theirs.status).toBe(422);
    expect(errorOf(theirs).details?.[0]?.path).toBe("attachments.0");
    const elsewhere = await post(t, conv.id, { text: "see photo", attachments: ["https://evil.example/x.png"] });
    expect(elsewhere.status).toBe(422);
    const mine = `http://127.0.0.1:3000/api/dev/blob?pathname=${encodeURIComponent(`tenants/${t.id}/chat/photo.png`)}`;
    expect(ok(await post(t, conv.id, { text: "see photo", attachments: [mine] }), 201).attachments).toEqual([mine]);
    expect((await open(t, { customerId: await insertCustomer(ctx.db, t.id), channel: "fax" })).status).toBe(422);
    expect((await open(t, { customerId: await insertCustomer(ctx.db, other.id), channel: "web" })).status).toBe(422);
    // Another tenant's conversation: 404 for every route, nothing stored.
    const theirConv = ok(await open(other, { customerId: await insertCustomer(ctx.db, other.id), channel: "web" }), 201);
    expect((await post(t, theirConv.id, { text: "hi" })).status).toBe(404);
    expect((await call("GET", `/api/conversations/${theirConv.id}/messages`, { token: t.users.staff.token })).status).toBe(404);
    expect((await call("POST", `/api/conversations/${theirConv.id}/read`, { token: t.users.staff.token, body: {} })).status).toBe(404);
    expect(await count(sql`SELECT count(*) AS n FROM messages WHERE conversation_id = ${theirConv.id}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM messages WHERE conversation_id = ${conv.id}`)).toBe(2);
  });

  it("stores an inbound message once per (channel, externalId), matching or creating the customer", async () => {
    const t = await ctx.tenant();
    await warm(t);
    const known = ok(await call("POST", "/api/customers", { token: t.users.staff.token, body: { name: "Known", phone: "+1 (555) 010-0000", socialHandle: "@Known.One" } }), 201);
    const byPhone = await inbound(t, { channel: "whatsapp", externalId: "wamid.1", from: { phone: "15550100000" }, text: "Is the vase in stock?" });
    // A lock statement and the write in one atomic batch: one round trip where batches are one
    // (neon-http, production); node-postgres counts BEGIN, both statements and COMMIT.
    if (name.startsWith("neon-http")) expect(byPhone.dbTrips).toBe(1);
    expect(ok(byPhone, 201)).toMatchObject({ customerId: known.id, created: true, message: { direction: "inbound", status: "received", externalId: "wamid.1", author: { type: "customer", id: known.id } } });
    const redelivered = await inbound(t, { channel: "whatsapp", externalId: "wamid.1", from: { phone: "15550100000" }, text: "Is the vase in stock?" });
    expect(ok(redelivered, 200)).toMatchObject({ created: false, message: { id: byPhone.json.message.id } });
    const byHandle = ok(await inbound(t, { channel: "instagram", externalId: "ig.1", from: { handle: "@known.one" }, text: "hi" }), 201);
    expect(byHandle.customerId).toBe(known.id);
    const stranger = ok(await inbound(t, { channel: "instagram", externalId: "ig.2", from: { handle: "@new.face", name: "New Face" }, text: "hello" }), 201);
    expect(stranger.customerId).not.toBe(known.id);
    const customer = ok(await call("GET", `/api/customers/${stranger.customerId}`, { token: t.users.staff.token }));
    expect(customer).toMatchObject({ name: "New Face", socialHandle: "@new.face" });
    // The same externalId on another channel is another message.
    expect((await inbound(t, { channel: "facebook", externalId: "ig.2", from: { handle: "@new.face" }, text: "hello" })).status).toBe(201);
    // Same customer, same channel: the open thread.
    const second = ok(await inbound(t, { channel: "instagram", externalId: "ig.3", from: { handle: "@NEW.FACE" }, text: "still there?" }), 201);
    expect(second.conversationId).toBe(stranger.conversationId);
    expect(second.message.seq).toBe(2);
    for (const body of [
      { channel: "telegram", externalId: "x", from: { handle: "@a" }, text: "hi" },
      { channel: "web", externalId: "x", from: {}, text: "hi" },
      { channel: "web", externalId: "x", from: { handle: "@a" }, text: " " },
      { channel: "web", externalId: "x", from: { handle: "@a" }, text: "x".repeat(5001) },
      { channel: "web", externalId: "x", from: { handle: "@a\u0000" }, text: "hi" },
    ]) {
      const result = await inbound(t, body);
      expect(result.status, JSON.stringify(body).slice(0, 80)).toBe(422);
    }
    expect(await count(sql`SELECT count(*) AS n FROM messages WHERE tenant_id = ${t.id} AND external_id = 'x'`)).toBe(0);
    await eventsSettled(ctx.db, t.id);
    const events = (await readAfter(ctx.db, t.id, START, 100)).events;
    const created = events.filter((e) => e.type === "message.created");
    expect(created).toHaveLength(5);
    expect(created[0]!.actor).toEqual({ type: "api_key", id: t.keys.staff.id });
  });

  it("takes 20 concurrent deliveries of one externalId as one message, one customer, one thread", async () => {
    const t = await ctx.tenant();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => inbound(t, { channel: "instagram", externalId: "dup-1", from: { handle: "@racer", name: "Racer" }, text: "first!" })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(results.map((r) => r.json.message.id)).size).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM messages WHERE tenant_id = ${t.id}`)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM customers WHERE tenant_id = ${t.id}`)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM conversations WHERE tenant_id = ${t.id}`)).toBe(1);
    await eventsSettled(ctx.db, t.id);
    expect((await readAfter(ctx.db, t.id, START, 100)).events.filter((e) => e.type === "message.created")).toHaveLength(1);
  });

  it("keeps unread counts exact per member under concurrent inbound messages and mark-reads", async () => {
    const t = await ctx.tenant();
    const first = ok(await inbound(t, { channel: "web", externalId: "u-0", from: { email: "reader@example.com" }, text: "0" }), 201);
    const convId = first.conversationId;
    const unread = async (token: string) => ok(await call("GET", `/api/conversations/${convId}`, { token })).unreadCount;
    expect(await unread(t.users.staff.token)).toBe(1);
    // Staff and admin read independently; a staff reply is never unread.
    const reads: Promise<CallResult>[] = [];
    const writes: Promise<CallResult>[] = [];
    for (let i = 1; i <= 30; i++) {
      writes.push(inbound(t, { channel: "web", externalId: `u-${i}`, from: { email: "reader@example.com" }, text: String(i) }));
      if (i % 3 === 0) reads.push(call("POST", `/api/conversations/${convId}/read`, { token: t.users.staff.token, body: {} }));
      if (i % 10 === 0) writes.push(post(t, convId, { text: `reply ${i}` }));
    }
    const done = await Promise.all([...writes, ...reads]);
    for (const r of done) expect(r.status, r.text.slice(0, 200)).toBeLessThan(300);
    const marker = Number((await query(ctx.db, sql`SELECT read_seq FROM conversation_reads WHERE conversation_id = ${convId} AND reader_id = ${`user:${t.users.staff.id}`}`))[0]!.read_seq);
    const expected = await count(sql`SELECT count(*) AS n FROM messages WHERE conversation_id = ${convId} AND direction = 'inbound' AND seq > ${marker}`);
    expect(await unread(t.users.staff.token)).toBe(expected);
    expect(await unread(t.users.admin.token)).toBe(31);
    // Sequence numbers are dense and unique: every message took the next one.
    const seqs = (await query(ctx.db, sql`SELECT seq FROM messages WHERE conversation_id = ${convId} ORDER BY seq`)).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 34 }, (_, i) => i + 1));
    // Each mark-read answered the unread count at its marker, and markers never moved back.
    const marks = (await Promise.all(reads)).map((r) => r.json.readSeq as number);
    expect(Math.max(...marks)).toBe(marker);
    const all = ok(await call("POST", `/api/conversations/${convId}/read`, { token: t.users.staff.token, body: {} }));
    expect(all).toMatchObject({ readSeq: 34, unreadCount: 0 });
    expect(await unread(t.users.staff.token)).toBe(0);
    for (let i = 0; i < 5; i++) ok(await inbound(t, { channel: "web", externalId: `late-${i}`, from: { email: "reader@example.com" }, text: "more" }), 201);
    expect(await unread(t.users.staff.token)).toBe(5);
    const unreadList = ok(await call("GET", "/api/conversations?unread=true", { token: t.users.staff.token }));
    expect(unreadList.items.map((c: { id: string }) => c.id)).toEqual([convId]);
    // Reading up to an earlier message never moves the marker back.
    const back = ok(await call("POST", `/api/conversations/${convId}/read`, { token: t.users.staff.token, body: { upToMessageId: first.message.id } }));
    expect(back).toMatchObject({ readSeq: 34, unreadCount: 5 });
    // An API key is a reader of its own.
    expect(await unread(t.keys.staff.key)).toBe(36);
  });

  it("applies status reports forward only, idempotently, within the tenant", async () => {
    const t = await ctx.tenant();
    await warm(t);
    const other = await ctx.tenant("other");
    const conv = ok(await open(t, { customerId: await insertCustomer(ctx.db, t.id), channel: "web" }), 201);
    const message = ok(await post(t, conv.id, { text: "Shipped!" }), 201);
    const report = (status: string, extra: Record<string, unknown> = {}, key = t.keys.staff.key, id = message.id) =>
      call("POST", `/api/integrations/messages/${id}/status`, { token: key, body: { status, ...extra } });
    const read = await report("read");
    expect(read.dbTrips).toBe(1);
    expect(ok(read)).toMatchObject({ applied: true, message: { status: "read" } });
    expect(ok(await report("delivered"))).toMatchObject({ applied: false, message: { status: "read" } });
    expect(ok(await report("read"))).toMatchObject({ applied: false, message: { status: "read" } });
    expect(ok(await report("failed", { reason: "blocked" }))).toMatchObject({ applied: false, message: { status: "read", failureReason: null } });
    expect((await report("read", {}, other.keys.staff.key)).status).toBe(404);
    expect((await report("delivered", { reason: "x" })).status).toBe(422);
    const note = ok(await post(t, conv.id, { text: "internal", note: true }), 201);
    expect((await report("read", {}, t.keys.staff.key, note.id)).status).toBe(409);
    await eventsSettled(ctx.db, t.id);
    const changes = (await readAfter(ctx.db, t.id, START, 100)).events.filter((e) => e.type === "message.status_changed");
    expect(changes.map((e) => e.data)).toMatchObject([{ from: "sent", to: "read" }]);

    // Racing reports: read and delivered at once, many times: always ends at read.
    for (let i = 0; i < 5; i++) {
      const m = ok(await post(t, conv.id, { text: `race ${i}` }), 201);
      await Promise.all([report("delivered", {}, t.keys.staff.key, m.id), report("read", {}, t.keys.staff.key, m.id), report("delivered", {}, t.keys.staff.key, m.id)]);
      expect(ok(await call("GET", `/api/conversations/${conv.id}/messages?limit=10`, { token: t.users.staff.token })).items[0]).toMatchObject({ id: m.id, status: "read" });
    }
  });
});
