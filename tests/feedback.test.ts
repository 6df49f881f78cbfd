import { sql } from "drizzle-orm/sql/sql";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { hashToken } from "../lib/feedback/tokens.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { insertFeedback, insertItem, insertOrder, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("feedback on %s", (name) => {
  const ctx = withTarget(name);
  afterEach(() => {
    delete process.env.FEEDBACK_URL_BASE;
    delete process.env.FEEDBACK_TOKEN_TTL_DAYS;
  });

  /** A real order through the API, with a named customer, so PII leaks would show. */
  async function placeOrder(t: TestTenant, customer = { name: "Maria Lopez", phone: "+34 600 123 456", email: "maria@example.com" }) {
    const item = await insertItem(ctx.db, t.id, { name: "Blue vase", stock: 50 });
    const order = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "instagram", items: [{ itemId: item, quantity: 2 }], customer } });
    expect(order.status).toBe(201);
    return order.json as { id: string; number: number };
  }

  const issue = (t: TestTenant, orderId: string) => call("POST", `/api/feedbacks/generate-token/${orderId}`, { token: t.users.staff.token });
  const validate = (token: string) => call("POST", "/api/public/feedbacks/validate-token", { body: { token } });
  const submit = (body: Record<string, unknown>, headers: Record<string, string> = {}) => call("POST", "/api/public/feedbacks", { body, headers });

  /** Unusable tokens must be indistinguishable: same status, same body except the request id. */
  function expectGone(result: CallResult) {
    expect(result.status).toBe(410);
    const error = errorOf(result);
    expect({ ...error, requestId: "x" }).toEqual({ code: "gone", message: "This feedback link is invalid or has already been used.", requestId: "x" });
  }

  it("issues a token once, validates it without PII, takes one submission, then refuses it", async () => {
    process.env.FEEDBACK_URL_BASE = "https://shop.example/feedback";
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    const issued = await issue(t, order.id);
    expect(issued.status).toBe(201);
    expect(issued.dbTrips).toBe(1);
    const { token, expiresAt, url } = issued.json;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(url).toBe(`https://shop.example/feedback?token=${token}`);
    const days = (Date.parse(expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(13.9);
    expect(days).toBeLessThanOrEqual(14);

    // Only the hash is stored: no column of the token row holds the token.
    const stored = await query(ctx.db, sql`SELECT row_to_json(t)::text AS row FROM feedback_tokens t WHERE t.order_id = ${order.id}`);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.row).not.toContain(token);
    expect(stored[0]!.row).toContain(hashToken(token));

    const valid = await validate(token);
    expect(valid.status).toBe(200);
    expect(valid.dbTrips).toBe(1);
    expect(valid.json).toMatchObject({ valid: true, tenant: { name: `Tenant ${t.slug}` }, order: { number: order.number, items: [{ name: "Blue vase", quantity: 2 }] } });
    expect(valid.text).not.toMatch(/Maria|Lopez|600 123|maria@/);
    expect(valid.headers.get("cache-control")).toBe("no-store");

    const sent = await submit({ token, rating: 4, productQuality: 5, delivery: 3, communication: 4, comment: "  Arrived a day late, lovely vase  ", consentToPublish: true });
    expect(sent.status).toBe(201);
    expect(sent.dbTrips).toBe(1);
    expect(sent.json).toMatchObject({ rating: 4, productQuality: 5, delivery: 3, communication: 4, comment: "Arrived a day late, lovely vase", consentToPublish: true });
    expect(sent.text).not.toMatch(/Maria|Lopez/);

    expectGone(await validate(token));
    expectGone(await submit({ token, rating: 1 }));
    const staffView = await call("GET", `/api/feedbacks/order/${order.id}`, { token: t.users.staff.token });
    expect(staffView.json).toMatchObject({ id: sent.json.id, source: "customer", rating: 4, orderNumber: order.number, customer: { name: "Maria Lopez" }, isPublic: false });
    // The order has its answer: no new link.
    const again = await issue(t, order.id);
    expect(again.status).toBe(409);
  });

  it("answers unknown, used, expired and revoked tokens identically", async () => {
    process.env.FEEDBACK_TOKEN_TTL_DAYS = "3";
    const t = await ctx.tenant();
    const [a, b, c] = [await placeOrder(t), await placeOrder(t), await placeOrder(t)];
    const used = (await issue(t, a.id)).json.token;
    expect((await submit({ token: used, rating: 5 })).status).toBe(201);
    const expiring = await issue(t, b.id);
    expect((Date.parse(expiring.json.expiresAt) - Date.now()) / 86_400_000).toBeLessThanOrEqual(3);
    await query(ctx.db, sql`UPDATE feedback_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = ${hashToken(expiring.json.token)}`);
    const revoked = (await issue(t, c.id)).json.token;
    const replacement = (await issue(t, c.id)).json.token; // revokes the first

    const unusable = { unknown: "A".repeat(43), used, expired: expiring.json.token, revoked };
    for (const [kind, token] of Object.entries(unusable)) {
      const v = await validate(token);
      expectGone(v);
      const s = await submit({ token, rating: 3 });
      expectGone(s);
      expect(v.text.replace(/"requestId":"[^"]+"/, ""), kind).toBe(s.text.replace(/"requestId":"[^"]+"/, ""));
    }
    expect((await validate(replacement)).status).toBe(200);
    const live = await query(ctx.db, sql`SELECT count(*) AS n FROM feedback_tokens WHERE order_id = ${c.id} AND revoked_at IS NULL AND used_at IS NULL`);
    expect(Number(live[0]!.n)).toBe(1);
  });

  it("refuses links for cancelled orders and answers 404 for unknown orders", async () => {
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    await call("POST", `/api/orders/${order.id}/cancel`, { token: t.users.staff.token });
    const result = await issue(t, order.id);
    expect(result.status).toBe(409);
    expect(errorOf(result).code).toBe("conflict");
    expect((await issue(t, "01a20813-0118-73be-a81c-b59c7a651c18")).status).toBe(404);
  });

  it("lets exactly one of many concurrent submissions use a token", async () => {
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    const token = (await issue(t, order.id)).json.token;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => submit({ token, rating: (i % 5) + 1 }, i % 2 ? { "idempotency-key": `key-${i}` } : {})));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) expectGone(r);
    const rows = await query(ctx.db, sql`SELECT count(*) AS n FROM feedbacks WHERE order_id = ${order.id}`);
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it("replays a submission with the same Idempotency-Key, also when concurrent, and refuses another body", async () => {
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    const token = (await issue(t, order.id)).json.token;
    const body = { token, rating: 5, comment: "Great" };
    const results = await Promise.all(Array.from({ length: 6 }, () => submit(body, { "idempotency-key": "same-key-1" })));
    for (const r of results) expect(r.status).toBe(201);
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(5);
    const later = await submit(body, { "idempotency-key": "same-key-1" });
    expect(later.status).toBe(201);
    expect(later.json).toEqual(results[0]!.json);
    expect(later.dbTrips).toBe(1);
    const changed = await submit({ ...body, rating: 1 }, { "idempotency-key": "same-key-1" });
    expect(changed.status).toBe(422);
    expect(errorOf(changed).code).toBe("idempotency_mismatch");
    expectGone(await submit(body, { "idempotency-key": "another-key" }));
    expectGone(await submit(body));
  });

  it("validates submissions (422 with paths) without touching the token", async () => {
    const t = await ctx.tenant();
    const order = await placeOrder(t);
    const token = (await issue(t, order.id)).json.token;
    const bad = await submit({ token, rating: 0, delivery: 2.5, comment: "x".repeat(2001), consentToPublish: "yes", email: "x@y.z" });
    expect(bad.status).toBe(422);
    expect(errorOf(bad).details!.map((d) => d.path).sort()).toEqual(["comment", "consentToPublish", "delivery", "email", "rating"]);
    expect((await call("POST", "/api/public/feedbacks/validate-token", { body: { token: 42 } })).status).toBe(422);
    expect((await call("POST", "/api/public/feedbacks", { rawBody: "{" })).status).toBe(400);
    expect((await validate(token)).status).toBe(200);
  });

  it("lets admins record, answer and publish feedback (consent required), with versions", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const order = await placeOrder(t);
    const token = (await issue(t, order.id)).json.token;
    const created = await call("POST", "/api/feedbacks", { token: admin, body: { orderId: order.id, rating: 2, delivery: 1, comment: "Told us by phone: late" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ source: "staff", rating: 2, delivery: 1, consentToPublish: false, isPublic: false, version: 1 });
    expect(created.headers.get("location")).toBe(`/api/feedbacks/${created.json.id}`);
    expectGone(await validate(token)); // recording feedback by hand revokes the customer's link
    const duplicate = await call("POST", "/api/feedbacks", { token: admin, body: { orderId: order.id, rating: 5 } });
    expect(duplicate.status).toBe(409);
    const unknown = await call("POST", "/api/feedbacks", { token: admin, body: { orderId: "01a20813-0118-73be-a81c-b59c7a651c18", rating: 5 } });
    expect(unknown.status).toBe(422);
    expect(errorOf(unknown).details![0]!.path).toBe("orderId");
    const publicNoConsent = await call("POST", "/api/feedbacks", { token: admin, body: { orderId: (await placeOrder(t)).id, rating: 5, isPublic: true } });
    expect(publicNoConsent.status).toBe(422);
    expect(errorOf(publicNoConsent).details![0]!.path).toBe("isPublic");

    const id = created.json.id;
    const answered = await call("PUT", `/api/feedbacks/${id}`, { token: admin, headers: { "if-match": '"v1"' }, body: { response: "Sorry — we refunded the delivery." } });
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ response: "Sorry — we refunded the delivery.", version: 2 });
    expect(answered.json.respondedAt).not.toBeNull();
    expect(answered.headers.get("etag")).toBe('"v2"');
    const stale = await call("PUT", `/api/feedbacks/${id}`, { token: admin, headers: { "if-match": '"v1"' }, body: { response: "x" } });
    expect(stale.status).toBe(412);
    const refused = await call("PUT", `/api/feedbacks/${id}`, { token: admin, body: { isPublic: true } });
    expect(refused.status).toBe(409);
    expect(errorOf(refused).details![0]!.path).toBe("isPublic");
    const cleared = await call("PUT", `/api/feedbacks/${id}`, { token: admin, body: { response: "" } });
    expect(cleared.json).toMatchObject({ response: null, respondedAt: null, version: 3 });
    const read = await call("GET", `/api/feedbacks/${id}`, { token: t.users.staff.token });
    expect(read.json).toEqual(cleared.json);
    expect(read.dbTrips).toBe(1);
    expect((await call("GET", `/api/feedbacks/order/${(await placeOrder(t)).id}`, { token: t.users.staff.token })).status).toBe(404);
  });

  it("lists with filters and pages, and computes stats", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const ratings = [5, 5, 4, 3, 1, 4, 5];
    for (const [i, rating] of ratings.entries()) await insertFeedback(ctx.db, t, { rating, consent: i % 2 === 0, isPublic: i % 4 === 0 });
    await query(ctx.db, sql`UPDATE feedbacks SET product_quality = rating, delivery = 3 WHERE tenant_id = ${t.id}`);
    await call("GET", "/api/items", { token: staff }); // warm the membership cache: round trips below are the query's

    const all = await call("GET", "/api/feedbacks?limit=10", { token: staff });
    expect(all.json.pagination).toEqual({ page: 1, limit: 10, total: 7, totalPages: 1 });
    expect(all.dbTrips).toBe(1);
    const fives = await call("GET", "/api/feedbacks?rating=5", { token: staff });
    expect(fives.json.items.map((f: { rating: number }) => f.rating)).toEqual([5, 5, 5]);
    expect((await call("GET", "/api/feedbacks?rating=1,3", { token: staff })).json.pagination.total).toBe(2);
    expect((await call("GET", "/api/feedbacks?rating=1,3&public=false", { token: staff })).json.items.map((f: { rating: number }) => f.rating)).toEqual([3]);
    expect((await call("GET", "/api/feedbacks?public=true", { token: staff })).json.pagination.total).toBe(2);
    const today = new Date().toISOString().slice(0, 10);
    expect((await call("GET", `/api/feedbacks?from=${today}&to=${today}`, { token: staff })).json.pagination.total).toBe(7);
    expect((await call("GET", "/api/feedbacks?to=2000-01-01", { token: staff })).json.pagination.total).toBe(0);
    expect((await call("GET", "/api/feedbacks?rating=6", { token: staff })).status).toBe(400);
    const paged = await call("GET", "/api/feedbacks?limit=10&page=2", { token: staff });
    expect(paged.json.items).toEqual([]);

    const stats = await call("GET", "/api/feedbacks/stats", { token: staff });
    expect(stats.dbTrips).toBe(1);
    expect(stats.json).toEqual({
      count: 7,
      averages: { rating: 3.86, productQuality: 3.86, delivery: 3, communication: null },
      distribution: { "1": 1, "2": 0, "3": 1, "4": 2, "5": 3 },
      positiveShare: 0.7143,
      publicCount: 2,
    });
    const empty = await call("GET", "/api/feedbacks/stats?to=2000-01-01", { token: staff });
    expect(empty.json).toMatchObject({ count: 0, positiveShare: null, averages: { rating: null } });
  });

  it("publishes only consented public feedback, per shop, with first names only", async () => {
    const a = await ctx.tenant("shop-a");
    const b = await ctx.tenant("shop-b");
    const admin = a.users.admin.token;
    const order = await placeOrder(a, { name: "  Maria  Lopez", phone: "+34 600 123 456", email: "maria@example.com" });
    const token = (await issue(a, order.id)).json.token;
    const mine = (await submit({ token, rating: 5, comment: "Beautiful", consentToPublish: true })).json.id;
    const noConsent = await insertFeedback(ctx.db, a, { comment: "Private praise" });
    const notPublished = await insertFeedback(ctx.db, a, { consent: true, comment: "Unpublished" });
    await insertFeedback(ctx.db, b, { consent: true, isPublic: true, comment: "Other shop" });
    expect((await call("PUT", `/api/feedbacks/${mine}`, { token: admin, body: { isPublic: true, response: "Thanks Maria!" } })).status).toBe(200);

    const listed = await call("GET", `/api/public/feedbacks?tenant=${a.slug.toUpperCase()}`);
    expect(listed.status).toBe(200);
    expect(listed.dbTrips).toBe(1);
    expect(listed.json.tenant).toEqual({ name: `Tenant ${a.slug}` });
    expect(listed.json.pagination.total).toBe(1);
    expect(listed.json.items).toEqual([
      { id: mine, rating: 5, productQuality: null, delivery: null, communication: null, comment: "Beautiful", response: "Thanks Maria!", customerFirstName: "Maria", createdAt: expect.any(String) },
    ]);
    expect(listed.text).not.toMatch(/Lopez|600 123|maria@|Private praise|Unpublished|Other shop/);
    expect(listed.text).not.toContain(order.id);
    for (const hidden of [noConsent.id, notPublished.id]) expect(listed.text).not.toContain(hidden);
    const unknown = await call("GET", "/api/public/feedbacks?tenant=no-such-shop");
    expect(unknown.status).toBe(404);
    expect((await call("GET", "/api/public/feedbacks")).status).toBe(400);
  });

  it("never shows one tenant's feedback to another", async () => {
    const a = await ctx.tenant("a");
    const b = await ctx.tenant("b");
    const theirs = await insertFeedback(ctx.db, b, { comment: "Secret feedback", consent: true, isPublic: true });
    await insertFeedback(ctx.db, a);
    const token = a.users.owner.token;
    for (const path of ["/api/feedbacks?limit=100", "/api/feedbacks?public=true", "/api/feedbacks/stats"]) {
      const result = await call("GET", path, { token });
      expect(result.status, path).toBe(200);
      expect(result.text, path).not.toContain(theirs.id);
      expect(result.text, path).not.toContain("Secret");
    }
    expect((await call("GET", "/api/feedbacks/stats", { token })).json.count).toBe(1);
    expect((await call("GET", `/api/feedbacks/${theirs.id}`, { token })).status).toBe(404);
    expect((await call("GET", `/api/feedbacks/order/${theirs.orderId}`, { token })).status).toBe(404);
    expect((await call("PUT", `/api/feedbacks/${theirs.id}`, { token, body: { isPublic: false } })).status).toBe(404);
    expect((await call("POST", "/api/feedbacks", { token, body: { orderId: await insertOrder(ctx.db, b), rating: 1 } })).status).toBe(422);
    const still = await query(ctx.db, sql`SELECT is_public FROM feedbacks WHERE id = ${theirs.id}`);
    expect(still[0]!.is_public).toBe(true);
  });
});
