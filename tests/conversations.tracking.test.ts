import { sql } from "drizzle-orm/sql/sql";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { hashToken } from "../lib/feedback/tokens.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("order tracking links on %s", (name) => {
  const ctx = withTarget(name);
  afterEach(() => {
    delete process.env.TRACKING_URL_BASE;
    delete process.env.RATE_LIMIT_PUBLIC;
  });

  async function placeOrder(t: TestTenant, customer: Record<string, unknown> | null = { name: "Maria Lopez", phone: "+34 600 123 456", email: "maria@example.com" }) {
    const item = await insertItem(ctx.db, t.id, { name: "Blue vase", stock: 50 });
    const order = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 2 }], ...(customer ? { customer } : {}) } });
    expect(order.status).toBe(201);
    return order.json as { id: string; number: number; customerId: string | null };
  }
  const issue = (t: TestTenant, orderId: string) => call("POST", `/api/orders/${orderId}/tracking-link`, { token: t.users.staff.token });
  const view = (token: string) => call("GET", `/api/public/orders/${token}`);
  const reply = (token: string, text: unknown, clientAddress?: string) => call("POST", `/api/public/orders/${token}/messages`, { body: { text }, clientAddress });
  const expectGone = (r: CallResult) => {
    expect(r.status, r.text.slice(0, 200)).toBe(410);
    expect(errorOf(r).code).toBe("gone");
  };

  it("issues a hashed link; the page shows number, timeline, lines and non-note messages, nothing else", async () => {
    process.env.TRACKING_URL_BASE = "https://shop.example/track";
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    const issued = await issue(t, order.id);
    expect(issued.status).toBe(201);
    expect(issued.dbTrips).toBe(1);
    const { token, url, expiresAt } = issued.json;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`https://shop.example/track?token=${token}`);
    expect(expiresAt).toBeNull(); // open orders' links do not expire
    const stored = await query(ctx.db, sql`SELECT row_to_json(k)::text AS row FROM order_tracking_tokens k WHERE k.order_id = ${order.id}`);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.row).not.toContain(token);
    expect(stored[0]!.row).toContain(hashToken(token));

    await call("PATCH", `/api/orders/${order.id}/status`, { token: t.users.staff.token, body: { status: "confirmed" } });
    // The customer writes first (inbound on web), staff answers, and keeps an internal note.
    const sent = await reply(token, "  Can you gift-wrap it?  ");
    expect(sent.status, sent.text).toBe(201);
    expect(sent.json).toMatchObject({ direction: "inbound", text: "Can you gift-wrap it?" });
    const threads = await call("GET", `/api/conversations?customerId=${order.customerId}`, { token: t.users.staff.token });
    expect(threads.json.items).toHaveLength(1);
    const thread = threads.json.items[0];
    expect(thread).toMatchObject({ channel: "web", orderId: order.id, unreadCount: 1 });
    await call("POST", `/api/conversations/${thread.id}/messages`, { token: t.users.staff.token, body: { text: "Sure, no charge." } });
    await call("POST", `/api/conversations/${thread.id}/messages`, { token: t.users.staff.token, body: { text: "Customer is rude", note: true } });

    const page = await view(token);
    expect(page.status).toBe(200);
    expect(page.dbTrips).toBe(1);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.json).toMatchObject({
      order: { number: order.number, status: "confirmed", lines: [{ name: "Blue vase", quantity: 2 }] },
      shop: { name: `Tenant ${t.slug}` },
      messages: [
        { direction: "inbound", text: "Can you gift-wrap it?" },
        { direction: "outbound", text: "Sure, no charge." },
      ],
      expiresAt: null,
    });
    expect(page.json.order.timeline.map((s: { status: string }) => s.status)).toEqual(["pending", "confirmed"]);
    expect(page.text).not.toMatch(/Maria|Lopez|600 123|maria@|rude/);
    expect(page.text).not.toContain(t.users.staff.id);
    expect(Object.keys(page.json).sort()).toEqual(["expiresAt", "messages", "order", "shop"]);

    // A second reply lands in the same thread.
    expect((await reply(token, "Thanks!")).status).toBe(201);
    expect((await call("GET", `/api/conversations/${thread.id}`, { token: t.users.staff.token })).json.unreadCount).toBe(2);

    // A new link revokes the old one.
    const second = (await issue(t, order.id)).json.token;
    expectGone(await view(token));
    expectGone(await reply(token, "hello?"));
    expect((await view(second)).status).toBe(200);
  });

  it("expires 30 days after completion; unknown, revoked and expired links answer alike", async () => {
    const t = await ctx.tenant();
    const order = await placeOrder(t, null);
    const { token } = (await issue(t, order.id)).json;
    for (const status of ["confirmed", "preparing", "ready", "completed"]) await call("PATCH", `/api/orders/${order.id}/status`, { token: t.users.staff.token, body: { status } });
    const page = await view(token);
    expect(page.status).toBe(200);
    const days = (Date.parse(page.json.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(page.json.order.timeline.map((s: { status: string }) => s.status)).toEqual(["pending", "confirmed", "preparing", "ready", "completed"]);
    // An order without a customer: the reply creates one named after the order.
    const sent = await reply(token, "Got it, thanks");
    expect(sent.status).toBe(201);
    const customers = await query(ctx.db, sql`SELECT name FROM customers WHERE tenant_id = ${t.id}`);
    expect(customers.map((c) => c.name)).toEqual([`Order #${order.number}`]);

    await query(ctx.db, sql`UPDATE orders SET completed_at = now() - interval '30 days 1 minute' WHERE id = ${order.id}`);
    const before = Number((await query(ctx.db, sql`SELECT count(*) AS n FROM messages WHERE tenant_id = ${t.id}`))[0]!.n);
    const expired = await view(token);
    const unknown = await view("A".repeat(43));
    expectGone(expired);
    expectGone(unknown);
    expect(expired.text.replace(/"requestId":"[^"]+"/, "")).toBe(unknown.text.replace(/"requestId":"[^"]+"/, ""));
    expectGone(await reply(token, "still there?"));
    expect(Number((await query(ctx.db, sql`SELECT count(*) AS n FROM messages WHERE tenant_id = ${t.id}`))[0]!.n)).toBe(before);
    // No new link for an order closed that long ago.
    expect((await issue(t, order.id)).status).toBe(409);
    // Malformed tokens never reach the database.
    expect((await view("short")).status).toBe(400);
  });

  it("refuses bad replies with nothing stored, and limits replies per link and per IP", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant("other");
    const order = await placeOrder(t);
    const { token } = (await issue(t, order.id)).json;
    expect((await call("POST", `/api/orders/${order.id}/tracking-link`, { token: other.users.staff.token })).status).toBe(404);
    for (const text of ["", "   ", "x".repeat(5001), "a\u0000b", 5]) {
      const r = await reply(token, text);
      expect(r.status, String(text).slice(0, 10)).toBe(422);
      expect(errorOf(r).details?.[0]?.path).toBe("text");
    }
    expect(Number((await query(ctx.db, sql`SELECT count(*) AS n FROM messages WHERE tenant_id = ${t.id}`))[0]!.n)).toBe(0);

    process.env.RATE_LIMIT_PUBLIC = "3";
    // Per link: a fourth reply from three different addresses is refused.
    const statuses = [];
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]) statuses.push((await reply(token, "hi", ip)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    // Per IP: one address cannot spread replies over many links.
    const links = await Promise.all([1, 2, 3, 4].map(async () => (await issue(t, (await placeOrder(t)).id)).json.token as string));
    const fromOne = [];
    for (const link of links) fromOne.push((await reply(link, "hi", "10.9.9.9")).status);
    expect(fromOne).toEqual([201, 201, 201, 429]);
  });
});
