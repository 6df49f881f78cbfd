import { sql } from "drizzle-orm/sql/sql";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { call } from "./client.js";
import { insertConversation, insertFeedback, insertItem, insertOrder, insertPurchaseOrder, type TestTenant } from "./fixtures.js";
import { insertConnector } from "./webhooks.js";

// How the idempotency suite (tests/idempotency.test.ts) exercises each route that takes
// Idempotency-Key. The route catalog (catalog.ts) points at these through `idempotent`; a route
// declared idempotent without one fails the suite.

export interface Req {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Bearer token; none on public routes. */
  token?: string;
  /** What executions() needs to find the request's effect. */
  meta: Record<string, string>;
}

export interface IdempotencyCase {
  /** Status of a success (201 or 200). */
  success: number;
  /** A request that succeeds. */
  succeeding(db: Db, t: TestTenant): Promise<Req>;
  /**
   * A request refused by the data after its key was looked at (not by validation), its status, and
   * `fix`, which changes the world (and maybe the request's headers) so the same request succeeds.
   */
  failing(db: Db, t: TestTenant): Promise<{ request: Req; status: number; fix(): Promise<Partial<Req> | void> }>;
  /** The same request (same path and key) from another principal. */
  other(db: Db, t: TestTenant, request: Req): Promise<Req>;
  /** Whether that request then succeeds on its own (else it is refused on its own merits, e.g. already cancelled). */
  otherSucceeds: boolean;
  /** The same key with another request; absent where a request has no body (the key is per path). */
  different?: (request: Req) => Req;
  /** How many times `request` has taken effect. */
  executions(db: Db, request: Req): Promise<number>;
  /** The id of what a success made or changed. */
  resourceOf(json: any): string;
  /** Database trips of an immediate replay (default 1). */
  replayTrips?: number;
}

const count = async (db: Db, statement: ReturnType<typeof sql>) => Number((await query(db, statement))[0]!.n);

const order: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 100 });
    return { method: "POST", path: "/api/orders", body: { channel: "web", items: [{ itemId, quantity: 2 }] }, token: t.users.staff.token, meta: { itemId } };
  },
  async failing(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 1 });
    const request = { method: "POST", path: "/api/orders", body: { channel: "web", items: [{ itemId, quantity: 2 }] }, token: t.users.staff.token, meta: { itemId } };
    return { request, status: 409, fix: async () => void (await call("POST", `/api/items/${itemId}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 5, reason: "found" } })) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.admin.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { channel: "web", items: [{ itemId: request.meta.itemId, quantity: 3 }] } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM order_lines WHERE item_id = ${request.meta.itemId}`),
  resourceOf: (json) => json.id,
};

async function placedOrder(db: Db, t: TestTenant) {
  const itemId = await insertItem(db, t.id, { stock: 10 });
  const placed = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId, quantity: 2 }] } });
  return String(placed.json.id);
}

const cancel: IdempotencyCase = {
  success: 200,
  async succeeding(db, t) {
    const orderId = await placedOrder(db, t);
    return { method: "POST", path: `/api/orders/${orderId}/cancel`, token: t.users.staff.token, meta: { orderId } };
  },
  async failing(db, t) {
    const orderId = await placedOrder(db, t);
    const request = { method: "POST", path: `/api/orders/${orderId}/cancel`, token: t.users.staff.token, headers: { "if-match": '"v9"' }, meta: { orderId } };
    // A stale If-Match is 412; the retry with the right version must cancel (If-Match is not part of the request hash).
    return { request, status: 412, fix: async () => ({ headers: { "if-match": '"v1"' } }) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.admin.token }),
  otherSucceeds: false,
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM stock_movements WHERE order_id = ${request.meta.orderId} AND reason = 'cancel'`),
  resourceOf: (json) => json.id,
};

const adjustment: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 10 });
    return { method: "POST", path: `/api/items/${itemId}/stock-adjustments`, body: { delta: 3, reason: "recount" }, token: t.users.admin.token, meta: { itemId } };
  },
  async failing(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 2 });
    const request = { method: "POST", path: `/api/items/${itemId}/stock-adjustments`, body: { delta: -5, reason: "breakage" }, token: t.users.admin.token, meta: { itemId } };
    return { request, status: 409, fix: async () => void (await call("POST", `/api/items/${itemId}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 10, reason: "delivery" } })) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.owner.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { delta: 4, reason: "recount" } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM stock_movements WHERE item_id = ${request.meta.itemId} AND reason = 'adjustment'`),
  resourceOf: (json) => json.movement.id,
};

const staffFeedback: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const orderId = await insertOrder(db, t, "completed");
    return { method: "POST", path: "/api/feedbacks", body: { orderId, rating: 4 }, token: t.users.admin.token, meta: { orderId } };
  },
  async failing(db, t) {
    const { orderId } = await insertFeedback(db, t);
    const request = { method: "POST", path: "/api/feedbacks", body: { orderId, rating: 4 }, token: t.users.admin.token, meta: { orderId } };
    return { request, status: 409, fix: async () => void (await query(db, sql`DELETE FROM feedbacks WHERE order_id = ${orderId}`)) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.owner.token }),
  otherSucceeds: false,
  different: (request) => ({ ...request, body: { orderId: request.meta.orderId, rating: 5 } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM feedbacks WHERE order_id = ${request.meta.orderId}`),
  resourceOf: (json) => json.id,
};

async function feedbackLink(db: Db, t: TestTenant) {
  const orderId = await insertOrder(db, t, "completed");
  const issued = await call("POST", `/api/feedbacks/generate-token/${orderId}`, { token: t.users.staff.token });
  return { orderId, token: String(issued.json.token) };
}

const publicFeedback: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const { orderId, token } = await feedbackLink(db, t);
    return { method: "POST", path: "/api/public/feedbacks", body: { token, rating: 5, comment: "Lovely" }, meta: { orderId } };
  },
  async failing(db, t) {
    const { orderId, token } = await feedbackLink(db, t);
    await query(db, sql`UPDATE feedback_tokens SET expires_at = now() - interval '1 hour' WHERE order_id = ${orderId}`);
    const request = { method: "POST", path: "/api/public/feedbacks", body: { token, rating: 5 }, meta: { orderId } };
    return { request, status: 410, fix: async () => void (await query(db, sql`UPDATE feedback_tokens SET expires_at = now() + interval '1 day' WHERE order_id = ${orderId}`)) };
  },
  // The principal of a public submission is its feedback link: another customer is another link.
  async other(db, t, request) {
    const { orderId, token } = await feedbackLink(db, t);
    return { ...request, body: { ...(request.body as object), token }, meta: { orderId } };
  },
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { ...(request.body as object), rating: 2 } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM feedbacks WHERE order_id = ${request.meta.orderId}`),
  resourceOf: (json) => json.id,
};

let shops = 0;
const shopName = () => `Idempotent shop ${process.pid}-${++shops}-${Math.random().toString(36).slice(2, 8)}`;

// The caller (a person) becomes the new tenant's owner; the key is filed under the tenant it creates.
const tenant: IdempotencyCase = {
  success: 201,
  async succeeding(_db, t) {
    const name = shopName();
    return { method: "POST", path: "/api/tenants", body: { name, timezone: "Asia/Jakarta" }, token: t.users.owner.token, meta: { name } };
  },
  async failing(db, t) {
    // Taken by the caller's own tenant, then freed by renaming that one.
    const name = shopName();
    const request = { method: "POST", path: "/api/tenants", body: { name, slug: t.slug }, token: t.users.owner.token, meta: { name } };
    return { request, status: 409, fix: async () => void (await query(db, sql`UPDATE tenants SET slug = ${`${t.slug}-renamed`} WHERE id = ${t.id}`)) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.admin.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { ...(request.body as object), timezone: "America/New_York" } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM tenants WHERE name = ${request.meta.name}`),
  resourceOf: (json) => json.id,
  // The creation drops the creator's cached memberships (they gained one), so the replay right
  // after it pays the cold membership lookup besides its one statement.
  replayTrips: 2,
};

// A staff message (issue 16), on a channel with a connector: the message is queued with its
// delivery in the same statement, so an execution is one message *and* one delivery of it.
// Refused after the key was looked at: the thread is closed (409).
const connectorThread = async (db: Db, t: TestTenant) => {
  await insertConnector(db, t.id, "instagram");
  return insertConversation(db, t, "instagram");
};
const message: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const conversationId = await connectorThread(db, t);
    return { method: "POST", path: `/api/conversations/${conversationId}/messages`, body: { text: "Your order is ready" }, token: t.users.staff.token, meta: { conversationId } };
  },
  async failing(db, t) {
    const conversationId = await connectorThread(db, t);
    await query(db, sql`UPDATE conversations SET status = 'closed' WHERE id = ${conversationId}`);
    const request = { method: "POST", path: `/api/conversations/${conversationId}/messages`, body: { text: "Your order is ready" }, token: t.users.staff.token, meta: { conversationId } };
    return { request, status: 409, fix: async () => void (await query(db, sql`UPDATE conversations SET status = 'open' WHERE id = ${conversationId}`)) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.admin.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { text: "Another text" } }),
  executions: (db, request) =>
    count(db, sql`SELECT count(*) AS n FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.conversation_id = ${request.meta.conversationId} AND m.text = ${(request.body as { text: string }).text}`),
  resourceOf: (json) => json.id,
};

// Receiving goods against a purchase order (issue 15): refused while the PO is a draft, fine once ordered.
const receipt: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const po = await insertPurchaseOrder(db, t, "ordered", { quantity: 20 });
    return { method: "POST", path: `/api/purchase-orders/${po.id}/receipts`, body: { lines: [{ itemId: po.itemId, quantity: 2 }] }, token: t.users.staff.token, meta: { itemId: po.itemId } };
  },
  async failing(db, t) {
    const po = await insertPurchaseOrder(db, t, "draft", { quantity: 20 });
    const request = { method: "POST", path: `/api/purchase-orders/${po.id}/receipts`, body: { lines: [{ itemId: po.itemId, quantity: 2 }] }, token: t.users.staff.token, meta: { itemId: po.itemId } };
    return { request, status: 409, fix: async () => void (await query(db, sql`UPDATE purchase_orders SET status = 'ordered' WHERE id = ${po.id}`)) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.admin.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { lines: [{ itemId: request.meta.itemId, quantity: 3 }] } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM stock_movements WHERE item_id = ${request.meta.itemId} AND reason = 'receipt'`),
  resourceOf: (json) => json.receipt.id,
};

/** A shop session whose cart holds `quantity` of a published item; the session id. */
async function shopCart(t: TestTenant, itemId: string, quantity: number) {
  const added = await call("POST", `/api/store/${t.slug}/cart/items`, { body: { itemId, quantity } });
  return added.headers.get("x-session-id")!;
}

const CHECKOUT_BODY = { customer: { name: "Ana", email: "ana@example.com" }, payment: { method: "card", cardNumber: "4242 4242 4242 4242" } };

// Checkout: the principal is the shop session (keys are per session), so "another principal" is
// another session with the same cart.
const checkout: IdempotencyCase = {
  success: 201,
  async succeeding(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 100, published: true });
    const session = await shopCart(t, itemId, 2);
    return { method: "POST", path: `/api/store/${t.slug}/checkout`, body: CHECKOUT_BODY, headers: { "x-session-id": session }, meta: { itemId, slug: t.slug } };
  },
  async failing(db, t) {
    const itemId = await insertItem(db, t.id, { stock: 2, published: true });
    const session = await shopCart(t, itemId, 2);
    await query(db, sql`UPDATE items SET stock = 1 WHERE id = ${itemId}`);
    const request = { method: "POST", path: `/api/store/${t.slug}/checkout`, body: CHECKOUT_BODY, headers: { "x-session-id": session }, meta: { itemId, slug: t.slug } };
    return { request, status: 409, fix: async () => void (await call("POST", `/api/items/${itemId}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 5, reason: "found" } })) };
  },
  other: async (_db, t, request) => ({ ...request, headers: { "x-session-id": await shopCart(t, request.meta.itemId!, 2) } }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: { ...CHECKOUT_BODY, customer: { name: "Bo", email: "bo@example.com" } } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM order_lines WHERE item_id = ${request.meta.itemId}`),
  resourceOf: (json) => json.order.id,
};

/** A storefront order placed through the API: its id, access token and placing session. */
async function shopOrder(db: Db, t: TestTenant, payment: unknown) {
  const itemId = await insertItem(db, t.id, { stock: 100, published: true });
  const session = await shopCart(t, itemId, 1);
  const placed = await call("POST", `/api/store/${t.slug}/checkout`, { body: { ...CHECKOUT_BODY, payment }, headers: { "x-session-id": session, "idempotency-key": `place-${Math.random()}` } });
  if (placed.status !== 201) throw new Error(`shop order: ${placed.status} ${placed.text}`);
  return { orderId: String(placed.json.order.id), token: String(placed.json.accessToken), session, itemId };
}

const setStatus = (db: Db, orderId: string, status: string) => query(db, sql`UPDATE orders SET status = ${status} WHERE id = ${orderId}`);

// Paying a pay-later order: the principal is the credential used (order access token or session).
// Refused while the order is not pending (409), fine once it is again.
const pay: IdempotencyCase = {
  success: 200,
  async succeeding(db, t) {
    const o = await shopOrder(db, t, { method: "pay_later" });
    return { method: "POST", path: `/api/store/${t.slug}/orders/${o.orderId}/pay`, body: { cardNumber: "4242 4242 4242 4242" }, headers: { "x-order-token": o.token }, meta: { ...o } };
  },
  async failing(db, t) {
    const request = await pay.succeeding(db, t);
    await setStatus(db, request.meta.orderId!, "confirmed");
    return { request, status: 409, fix: async () => void (await setStatus(db, request.meta.orderId!, "pending")) };
  },
  other: async (_db, _t, request) => ({ ...request, headers: { "x-session-id": request.meta.session! } }),
  otherSucceeds: false,
  different: (request) => ({ ...request, body: { cardNumber: "5555 5555 5555 4444" } }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM events WHERE resource_id = ${request.meta.orderId} AND type = 'order.status_changed'`),
  resourceOf: (json) => json.id,
};

// The shopper's cancel: refused once the order is being prepared (409), fine once it is confirmed again.
const shopCancel: IdempotencyCase = {
  success: 200,
  async succeeding(db, t) {
    const o = await shopOrder(db, t, { method: "card", cardNumber: "4242 4242 4242 4242" });
    return { method: "POST", path: `/api/store/${t.slug}/orders/${o.orderId}/cancel`, headers: { "x-order-token": o.token }, meta: { ...o } };
  },
  async failing(db, t) {
    const request = await shopCancel.succeeding(db, t);
    await setStatus(db, request.meta.orderId!, "preparing");
    return { request, status: 409, fix: async () => void (await setStatus(db, request.meta.orderId!, "confirmed")) };
  },
  other: async (_db, _t, request) => ({ ...request, headers: { "x-session-id": request.meta.session! } }),
  otherSucceeds: false,
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM stock_movements WHERE order_id = ${request.meta.orderId} AND reason = 'cancel'`),
  resourceOf: (json) => json.id,
};

// Bulk import, in upsert mode (so another principal's same file succeeds on its own: it finds the
// item and changes nothing). Refused by the data: an unknown SKU without name and price.
let importSku = 0;
const itemImport: IdempotencyCase = {
  success: 200,
  async succeeding(_db, t) {
    const sku = `IMP-${process.pid}-${++importSku}`;
    return { method: "POST", path: "/api/items/import?mode=upsert", body: [{ name: "Imported", sku, priceCents: 250, stock: 3 }], token: t.users.admin.token, meta: { sku, tenantId: t.id } };
  },
  async failing(db, t) {
    const sku = `IMP-${process.pid}-${++importSku}`;
    const request = { method: "POST", path: "/api/items/import?mode=upsert", body: [{ sku, stock: 4 }], token: t.users.admin.token, meta: { sku, tenantId: t.id } };
    return { request, status: 422, fix: async () => void (await insertItem(db, t.id, { sku, stock: 1 })) };
  },
  other: async (_db, t, request) => ({ ...request, token: t.users.owner.token }),
  otherSucceeds: true,
  different: (request) => ({ ...request, body: [{ name: "Imported", sku: request.meta.sku, priceCents: 250, stock: 9 }] }),
  executions: (db, request) => count(db, sql`SELECT count(*) AS n FROM item_imports WHERE tenant_id = ${request.meta.tenantId}`),
  resourceOf: (json) => json.id,
};

export const IDEMPOTENCY = { order, cancel, adjustment, staffFeedback, publicFeedback, tenant, message, receipt, checkout, pay, shopCancel, itemImport };
