import { sql } from "drizzle-orm/sql/sql";
import { atomic } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import type { Role } from "../../lib/auth/roles.js";
import { insertConversation, insertOutboundMessage, insertTrackingLink, insertApiKey, insertCategory, insertCustomer, insertDeletedTenant, insertFeedback, insertItem, insertMember, insertOrder, insertPurchaseOrder, insertStockTake, insertSupplier, SAMPLE_ITEM, type TestTenant } from "./fixtures.js";
import { insertConnector, insertDeadConnectorDelivery, insertDeadDelivery, removeConnector, insertWebhook, WALK_HOOK_URL } from "./webhooks.js";
import { makePng } from "./images.js";
import { IDEMPOTENCY, type IdempotencyCase } from "./idempotency-cases.js";

/**
 * Every route the API serves, with what the shared checks need to exercise it. A test fails when an
 * api/ file exports a method that is missing here, so no route escapes the common checks.
 */
export interface RouteSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  pattern: string;
  /** "user": any signed-in person, no tenant (no membership check, API keys refused). */
  role: Role | "user" | "public" | "cron";
  /** Builds a concrete path for a resource owned by `tenant` (default: the pattern itself). */
  target?: (db: Db, tenant: TestTenant) => Promise<string>;
  body?: unknown;
  /** Status of a successful call with valid input (default 200); the outage test walks every route. */
  success?: number;
  /** A valid body that needs fixtures (default: `body`). */
  validBody?: (db: Db, tenant: TestTenant) => Promise<unknown>;
  /** Not part of the walk with valid input (routes driven by another party's protocol). */
  walk?: false;
  /** Its data lives in Redis only (shop carts, typing indicators): during a Redis outage it answers 503 unavailable. */
  redisData?: true;
  /** A non-JSON body (image uploads), sent with its content type. */
  raw?: () => { bytes: Uint8Array; contentType: string };
  invalid?: { body: unknown; paths: string[] };
  /**
   * The route takes Idempotency-Key (its handler is declared `idempotent`): how the idempotency suite
   * exercises it. tests/idempotency.test.ts fails for a route declared idempotent without this.
   */
  idempotent?: IdempotencyCase;
  /** Only people may call it: an API key, even of a high enough role, is refused with 403. */
  people?: true;
  /**
   * A public shop route that also takes a signed-in shopper's Google ID token (optional): a bad
   * token is 401, never a silent guest; an API key is 403.
   */
  shopper?: true;
  /**
   * The path names no tenant-owned id — a per-tenant singleton such as a chat connector, addressed by
   * its channel — so every tenant's path is the same and the foreign-resource (404) and malformed-id
   * (400) checks do not apply; its own suite tests tenant isolation (tests/connectors.test.ts).
   */
  singleton?: true;
}

const webhook = async (db: Db, t: TestTenant) => `/api/webhooks/${await insertWebhook(db, t.id)}`;
const connector = async (db: Db, t: TestTenant) => {
  await insertConnector(db, t.id, "instagram");
  return "/api/integrations/connectors/instagram";
};
const webhookAction = (action: string) => async (db: Db, t: TestTenant) => `${await webhook(db, t)}/${action}`;
const liveItem = async (db: Db, t: TestTenant) => `/api/items/${await insertItem(db, t.id)}`;
const order = async (db: Db, t: TestTenant) => `/api/orders/${await insertOrder(db, t)}`;
const customer = async (db: Db, t: TestTenant) => `/api/customers/${await insertCustomer(db, t.id)}`;
const feedback = async (db: Db, t: TestTenant) => `/api/feedbacks/${(await insertFeedback(db, t)).id}`;
const conversation = async (db: Db, t: TestTenant) => `/api/conversations/${await insertConversation(db, t)}`;
const supplier = async (db: Db, t: TestTenant) => `/api/suppliers/${await insertSupplier(db, t.id)}`;
const link = async (db: Db, t: TestTenant) => `/api/items/${await insertItem(db, t.id)}/suppliers/${await insertSupplier(db, t.id)}`;
const purchaseOrder = async (db: Db, t: TestTenant, status = "draft") => `/api/purchase-orders/${(await insertPurchaseOrder(db, t, status)).id}`;
const ZERO_ID = "01a20813-0118-73be-a81c-b59c7a651c18";
const insertCategoryRow = async (db: Db, tenantId: string) => {
  const slug = `c-${Math.random().toString(36).slice(2, 10)}`;
  return { id: await insertCategory(db, tenantId, { slug }), slug };
};
const category = async (db: Db, t: TestTenant) => `/api/categories/${await insertCategory(db, t.id)}`;
const deletedItem = async (db: Db, t: TestTenant) => `/api/items/${await insertItem(db, t.id, { deleted: true })}`;

export const ROUTES: RouteSpec[] = [
  { method: "GET", pattern: "/api/health", role: "public" },
  { method: "GET", pattern: "/api/openapi.json", role: "public" },
  // Its own bearer (METRICS_TOKEN, unset in the suite: 404); tests/metrics.test.ts covers it.
  { method: "GET", pattern: "/api/metrics", role: "public", walk: false },
  { method: "GET", pattern: "/api/items", role: "staff" },
  {
    method: "POST",
    pattern: "/api/items",
    role: "admin",
    body: SAMPLE_ITEM,
    success: 201,
    validBody: async () => ({ ...SAMPLE_ITEM, sku: null }),
    invalid: { body: { name: "", priceCents: -5, stock: 1.5, sku: "x".repeat(51), extra: true }, paths: ["name", "priceCents", "stock", "sku", "extra"] },
  },
  { method: "GET", pattern: "/api/items/deleted", role: "staff" },
  { method: "GET", pattern: "/api/items/low-stock", role: "staff" },
  { method: "GET", pattern: "/api/items/expiring-soon", role: "staff" },
  { method: "GET", pattern: "/api/items/export", role: "admin" },
  {
    method: "POST",
    pattern: "/api/items/import",
    role: "admin",
    // A fresh SKU each time: the walk sends it more than once, and create mode refuses an existing SKU.
    raw: () => ({ bytes: new TextEncoder().encode(`name,sku,priceCents,stock\r\nWalked,WALK-${crypto.randomUUID()},100,2\r\n`), contentType: "text/csv" }),
    idempotent: IDEMPOTENCY.itemImport,
  },
  // Vercel Blob's handleUpload protocol, like the image upload: token requests are checked inside (tests/items.import-blob.test.ts).
  { method: "POST", pattern: "/api/items/import/upload", role: "public", walk: false },
  { method: "GET", pattern: "/api/items/[id]", role: "staff", target: liveItem },
  {
    method: "PUT",
    pattern: "/api/items/[id]",
    role: "admin",
    target: liveItem,
    body: { lowStockThreshold: 3 },
    invalid: { body: { priceCents: "12", lowStockThreshold: -1 }, paths: ["priceCents", "lowStockThreshold"] },
  },
  { method: "DELETE", pattern: "/api/items/[id]", role: "admin", target: liveItem },
  { method: "POST", pattern: "/api/items/[id]/restore", role: "admin", target: async (db, t) => `${await deletedItem(db, t)}/restore` },
  { method: "DELETE", pattern: "/api/items/[id]/permanent", role: "admin", target: async (db, t) => `${await deletedItem(db, t)}/permanent`, success: 204 },
  {
    method: "POST",
    pattern: "/api/items/[id]/stock-adjustments",
    role: "admin",
    target: async (db, t) => `${await liveItem(db, t)}/stock-adjustments`,
    body: { delta: 5, reason: "Recount" },
    success: 201,
    idempotent: IDEMPOTENCY.adjustment,
    invalid: { body: { delta: 0, reason: "", note: 1 }, paths: ["delta", "reason", "note"] },
  },
  { method: "PUT", pattern: "/api/items/[id]/image", role: "admin", target: async (db, t) => `${await liveItem(db, t)}/image`, raw: () => ({ bytes: makePng(), contentType: "image/png" }) },
  { method: "DELETE", pattern: "/api/items/[id]/image", role: "admin", target: async (db, t) => `${await liveItem(db, t)}/image` },
  { method: "POST", pattern: "/api/items/[id]/image/upload", role: "public", walk: false },
  {
    method: "POST",
    pattern: "/api/items/[id]/image/complete",
    role: "admin",
    target: async (db, t) => `${await liveItem(db, t)}/image/complete`,
    body: { url: "http://127.0.0.1:3000/api/dev/blob?pathname=x.png" },
    walk: false,
    invalid: { body: { url: "not a url", extra: 1 }, paths: ["url", "extra"] },
  },
  { method: "GET", pattern: "/api/dev/blob", role: "public", walk: false },
  { method: "GET", pattern: "/api/cron/blob-cleanup", role: "cron" },
  { method: "GET", pattern: "/api/items/[id]/stock-movements", role: "staff", target: async (db, t) => `${await liveItem(db, t)}/stock-movements` },
  // Storefront categories (issue 14).
  { method: "GET", pattern: "/api/categories", role: "staff" },
  {
    method: "POST",
    pattern: "/api/categories",
    role: "admin",
    body: { name: "Kitchen" },
    validBody: async () => ({ name: `Kitchen ${Math.random().toString(36).slice(2, 8)}` }),
    success: 201,
    invalid: { body: { name: "", slug: "Not A Slug", parentId: "x", position: -1, extra: 1 }, paths: ["name", "slug", "parentId", "position", "extra"] },
  },
  {
    method: "PUT",
    pattern: "/api/categories/[id]",
    role: "admin",
    target: category,
    body: { position: 3 },
    invalid: { body: { name: 5, slug: "UPPER", parentId: 7 }, paths: ["name", "slug", "parentId"] },
  },
  { method: "DELETE", pattern: "/api/categories/[id]", role: "admin", target: category },
  { method: "GET", pattern: "/api/customers", role: "staff" },
  {
    method: "POST",
    pattern: "/api/customers",
    role: "staff",
    body: { name: "Dana", phone: "+44 20 7946 0000" },
    success: 201,
    invalid: { body: { name: "", phone: "call me", email: "nope" }, paths: ["name", "phone", "email"] },
  },
  { method: "GET", pattern: "/api/customers/[id]", role: "staff", target: customer },
  {
    method: "PUT",
    pattern: "/api/customers/[id]",
    role: "staff",
    target: customer,
    body: { notes: "Prefers pickup" },
    invalid: { body: { name: 5, socialHandle: "x".repeat(101) }, paths: ["name", "socialHandle"] },
  },
  { method: "GET", pattern: "/api/orders", role: "staff" },
  {
    method: "POST",
    pattern: "/api/orders",
    role: "staff",
    body: { channel: "instagram", items: [{ itemId: "01a20813-0118-73be-a81c-b59c7a651c18", quantity: 1 }] },
    validBody: async (db, t) => ({ channel: "instagram", items: [{ itemId: await insertItem(db, t.id), quantity: 1 }] }),
    success: 201,
    idempotent: IDEMPOTENCY.order,
    invalid: { body: { channel: "fax", items: [{ itemId: "x", quantity: 0 }], priority: "asap" }, paths: ["channel", "items.0.itemId", "items.0.quantity", "priority"] },
  },
  { method: "GET", pattern: "/api/orders/all", role: "staff" },
  { method: "GET", pattern: "/api/orders/export", role: "admin" },
  { method: "GET", pattern: "/api/stock-movements/export", role: "admin" },
  { method: "GET", pattern: "/api/orders/priority", role: "staff" },
  { method: "GET", pattern: "/api/orders/[id]", role: "staff", target: order },
  {
    method: "PUT",
    pattern: "/api/orders/[id]",
    role: "staff",
    target: order,
    body: { notes: "Leave at the door" },
    invalid: { body: { items: [], expectedDeliveryDate: "2026-02-30" }, paths: ["items", "expectedDeliveryDate"] },
  },
  {
    method: "PATCH",
    pattern: "/api/orders/[id]/status",
    role: "staff",
    target: async (db, t) => `${await order(db, t)}/status`,
    body: { status: "confirmed" },
    invalid: { body: { status: "shipped" }, paths: ["status"] },
  },
  { method: "POST", pattern: "/api/orders/[id]/cancel", role: "staff", target: async (db, t) => `${await order(db, t)}/cancel`, idempotent: IDEMPOTENCY.cancel },
  { method: "GET", pattern: "/api/members", role: "admin" },
  {
    method: "POST",
    pattern: "/api/members",
    role: "admin",
    body: { email: "catalog.invitee@example.com", role: "staff" },
    success: 201,
    invalid: { body: { email: "not-an-email", role: "king" }, paths: ["email", "role"] },
  },
  { method: "DELETE", pattern: "/api/members/[userId]", role: "admin", target: async (_db, t) => `/api/members/${t.users.staff.id}`, success: 204 },
  { method: "GET", pattern: "/api/feedbacks", role: "staff" },
  {
    method: "POST",
    pattern: "/api/feedbacks",
    role: "admin",
    body: { orderId: "01a20813-0118-73be-a81c-b59c7a651c18", rating: 5 },
    validBody: async (db, t) => ({ orderId: await insertOrder(db, t), rating: 5 }),
    success: 201,
    idempotent: IDEMPOTENCY.staffFeedback,
    invalid: { body: { orderId: "nope", rating: 6, delivery: 0, comment: "x".repeat(2001), consentToPublish: "yes" }, paths: ["orderId", "rating", "delivery", "comment", "consentToPublish"] },
  },
  { method: "GET", pattern: "/api/feedbacks/stats", role: "staff" },
  { method: "GET", pattern: "/api/feedbacks/[id]", role: "staff", target: feedback },
  {
    method: "PUT",
    pattern: "/api/feedbacks/[id]",
    role: "admin",
    target: feedback,
    body: { response: "Thank you!" },
    invalid: { body: { response: 5, isPublic: "yes", rating: 1 }, paths: ["response", "isPublic", "rating"] },
  },
  { method: "GET", pattern: "/api/feedbacks/order/[orderId]", role: "staff", target: async (db, t) => `/api/feedbacks/order/${(await insertFeedback(db, t)).orderId}` },
  { method: "POST", pattern: "/api/feedbacks/generate-token/[orderId]", role: "staff", target: async (db, t) => `/api/feedbacks/generate-token/${await insertOrder(db, t)}`, success: 201 },
  // Public: the shared checks only cover the 405; tests/feedback.*.test.ts cover the rest.
  { method: "GET", pattern: "/api/public/feedbacks", role: "public", target: async (_db, t) => `/api/public/feedbacks?tenant=${t.slug}` },
  { method: "POST", pattern: "/api/public/feedbacks", role: "public", walk: false, idempotent: IDEMPOTENCY.publicFeedback },
  { method: "POST", pattern: "/api/public/feedbacks/validate-token", role: "public", walk: false },
  // The public shop (issue 14); tests/storefront.*.test.ts cover them in depth.
  { method: "GET", pattern: "/api/store/[tenant]/products", role: "public", target: async (_db, t) => `/api/store/${t.slug}/products` },
  { method: "GET", pattern: "/api/store/[tenant]/products/[id]", role: "public", target: async (db, t) => `/api/store/${t.slug}/products/${await insertItem(db, t.id, { published: true })}` },
  { method: "GET", pattern: "/api/store/[tenant]/categories", role: "public", target: async (_db, t) => `/api/store/${t.slug}/categories` },
  {
    method: "GET",
    pattern: "/api/store/[tenant]/categories/[slug]/products",
    role: "public",
    target: async (db, t) => `/api/store/${t.slug}/categories/${(await insertCategoryRow(db, t.id)).slug}/products`,
  },
  { method: "GET", pattern: "/api/store/[tenant]/cart", role: "public", redisData: true, target: async (_db, t) => `/api/store/${t.slug}/cart` },
  { method: "DELETE", pattern: "/api/store/[tenant]/cart", role: "public", redisData: true, target: async (_db, t) => `/api/store/${t.slug}/cart`, success: 204 },
  {
    method: "POST",
    pattern: "/api/store/[tenant]/cart/items",
    role: "public",
    redisData: true,
    target: async (_db, t) => `/api/store/${t.slug}/cart/items`,
    body: { itemId: "01a20813-0118-73be-a81c-b59c7a651c18", quantity: 1 },
    validBody: async (db, t) => ({ itemId: await insertItem(db, t.id, { published: true }), quantity: 1 }),
    success: 201,
    invalid: { body: { itemId: "x", quantity: 100, extra: 1 }, paths: ["itemId", "quantity", "extra"] },
  },
  // A line needs a session that holds it: tests/storefront.carts.test.ts.
  {
    method: "PUT",
    pattern: "/api/store/[tenant]/cart/items/[itemId]",
    role: "public",
    walk: false,
    target: async (db, t) => `/api/store/${t.slug}/cart/items/${await insertItem(db, t.id, { published: true })}`,
    body: { quantity: 2 },
    invalid: { body: { quantity: 0 }, paths: ["quantity"] },
  },
  { method: "DELETE", pattern: "/api/store/[tenant]/cart/items/[itemId]", role: "public", walk: false, target: async (db, t) => `/api/store/${t.slug}/cart/items/${await insertItem(db, t.id, { published: true })}` },
  // Needs a session with a cart: tests/storefront.checkout.test.ts and the idempotency suite.
  {
    method: "POST",
    pattern: "/api/store/[tenant]/checkout",
    role: "public",
    walk: false,
    target: async (_db, t) => `/api/store/${t.slug}/checkout`,
    body: { customer: { name: "Ana", email: "ana@example.com" }, payment: { method: "card", cardNumber: "4242 4242 4242 4242" } },
    idempotent: IDEMPOTENCY.checkout,
    invalid: { body: { customer: { name: "", email: "x" }, payment: { method: "card", cardNumber: "abc" } }, paths: ["customer.name", "customer.email", "payment.cardNumber"] },
  },
  // Shopper orders: the order access token (X-Order-Token) or the placing session; without either, 404.
  // tests/storefront.orders.test.ts covers them; pay and cancel also the idempotency suite.
  { method: "GET", pattern: "/api/store/[tenant]/orders/[id]", role: "public", shopper: true, walk: false, target: async (_db, t) => `/api/store/${t.slug}/orders/${ZERO_ID}` },
  { method: "GET", pattern: "/api/store/[tenant]/my-orders", role: "public", shopper: true, target: async (_db, t) => `/api/store/${t.slug}/my-orders` },
  {
    method: "POST",
    pattern: "/api/store/[tenant]/orders/[id]/pay",
    role: "public",
    shopper: true,
    walk: false,
    target: async (_db, t) => `/api/store/${t.slug}/orders/${ZERO_ID}/pay`,
    body: { cardNumber: "4242 4242 4242 4242" },
    idempotent: IDEMPOTENCY.pay,
    invalid: { body: { cardNumber: "abc", extra: 1 }, paths: ["cardNumber", "extra"] },
  },
  { method: "POST", pattern: "/api/store/[tenant]/orders/[id]/cancel", role: "public", shopper: true, walk: false, target: async (_db, t) => `/api/store/${t.slug}/orders/${ZERO_ID}/cancel`, idempotent: IDEMPOTENCY.shopCancel },
  { method: "GET", pattern: "/api/cron/expire-reservations", role: "cron" },
  { method: "POST", pattern: "/api/cron/expire-reservations", role: "cron" },
  { method: "GET", pattern: "/api/cron/refresh-analytics", role: "cron" },
  { method: "GET", pattern: "/api/cron/purge-tenants", role: "cron" },
  { method: "GET", pattern: "/api/analytics/sales", role: "staff" },
  { method: "GET", pattern: "/api/analytics/dashboard", role: "staff" },
  { method: "GET", pattern: "/api/analytics/inventory", role: "staff" },
  { method: "GET", pattern: "/api/analytics/reorder-suggestions", role: "staff" },
  { method: "GET", pattern: "/api/analytics/demand-forecast", role: "staff", target: async (db, t) => `/api/analytics/demand-forecast?itemId=${await insertItem(db, t.id)}` },
  // Inventory (issue 15): suppliers, item links, purchase orders.
  { method: "GET", pattern: "/api/suppliers", role: "staff" },
  {
    method: "POST",
    pattern: "/api/suppliers",
    role: "admin",
    body: { name: "Kopi Jaya", leadTimeDays: 5, currency: "idr" },
    success: 201,
    invalid: { body: { name: "", email: "nope", leadTimeDays: 400, currency: "XYZ", extra: 1 }, paths: ["name", "email", "leadTimeDays", "currency", "extra"] },
  },
  { method: "GET", pattern: "/api/suppliers/[id]", role: "staff", target: supplier },
  {
    method: "PUT",
    pattern: "/api/suppliers/[id]",
    role: "admin",
    target: supplier,
    body: { notes: "Ships Mondays" },
    invalid: { body: { name: 5, leadTimeDays: -1 }, paths: ["name", "leadTimeDays"] },
  },
  { method: "DELETE", pattern: "/api/suppliers/[id]", role: "admin", target: supplier },
  { method: "GET", pattern: "/api/items/[id]/suppliers", role: "staff", target: async (db, t) => `${await liveItem(db, t)}/suppliers` },
  {
    method: "PUT",
    pattern: "/api/items/[id]/suppliers/[supplierId]",
    role: "admin",
    target: link,
    body: { unitCostCents: 450, preferred: true },
    invalid: { body: { unitCostCents: -1, minOrderQuantity: 0, preferred: "yes" }, paths: ["unitCostCents", "minOrderQuantity", "preferred"] },
  },
  {
    method: "DELETE",
    pattern: "/api/items/[id]/suppliers/[supplierId]",
    role: "admin",
    target: async (db, t) => {
      const path = await link(db, t);
      const [, , , itemId, , supplierId] = path.split("/");
      await atomic(db, [sql`INSERT INTO item_suppliers (tenant_id, item_id, supplier_id, unit_cost_cents) VALUES (${t.id}, ${itemId}, ${supplierId}, 100)`]);
      return path;
    },
    success: 204,
  },
  { method: "GET", pattern: "/api/purchase-orders", role: "staff" },
  {
    method: "POST",
    pattern: "/api/purchase-orders",
    role: "admin",
    body: { supplierId: ZERO_ID, lines: [{ itemId: ZERO_ID, quantity: 1, unitCostCents: 100 }] },
    validBody: async (db, t) => ({ supplierId: await insertSupplier(db, t.id), lines: [{ itemId: await insertItem(db, t.id), quantity: 5, unitCostCents: 300 }] }),
    success: 201,
    invalid: { body: { supplierId: "x", lines: [{ itemId: ZERO_ID, quantity: 0, unitCostCents: -1 }], expectedOn: "2026-02-30" }, paths: ["supplierId", "lines.0.quantity", "lines.0.unitCostCents", "expectedOn"] },
  },
  {
    method: "POST",
    pattern: "/api/purchase-orders/from-suggestions",
    role: "admin",
    body: {},
    invalid: { body: { supplierId: "x", windowDays: 3, safetyDays: "7", extra: 1 }, paths: ["supplierId", "windowDays", "safetyDays", "extra"] },
  },
  { method: "GET", pattern: "/api/purchase-orders/[id]", role: "staff", target: purchaseOrder },
  {
    method: "PUT",
    pattern: "/api/purchase-orders/[id]",
    role: "admin",
    target: purchaseOrder,
    body: { notes: "Call before delivery" },
    invalid: { body: { lines: [], expectedOn: "soon" }, paths: ["lines", "expectedOn"] },
  },
  {
    method: "PATCH",
    pattern: "/api/purchase-orders/[id]/status",
    role: "admin",
    target: async (db, t) => `${await purchaseOrder(db, t)}/status`,
    body: { status: "ordered" },
    invalid: { body: { status: "received" }, paths: ["status"] },
  },
  {
    method: "POST",
    pattern: "/api/purchase-orders/[id]/receipts",
    role: "staff",
    target: async (db, t) => `${await purchaseOrder(db, t, "ordered")}/receipts`,
    body: { lines: [{ itemId: ZERO_ID, quantity: 1 }] },
    validBody: async () => ({ lines: [{ itemId: ZERO_ID, quantity: 1 }] }),
    walk: false,
    success: 201,
    idempotent: IDEMPOTENCY.receipt,
    invalid: { body: { lines: [{ itemId: "x", quantity: 0 }], allowOver: "yes" }, paths: ["lines.0.itemId", "lines.0.quantity", "allowOver"] },
  },
  {
    method: "POST",
    pattern: "/api/stock-takes",
    role: "admin",
    body: { lines: [{ itemId: ZERO_ID, countedQuantity: 1 }] },
    validBody: async (db, t) => ({ lines: [{ itemId: await insertItem(db, t.id), countedQuantity: 7 }], note: "Shelf A" }),
    success: 201,
    invalid: { body: { lines: [{ itemId: ZERO_ID, countedQuantity: -1 }], note: 5 }, paths: ["lines.0.countedQuantity", "note"] },
  },
  { method: "GET", pattern: "/api/stock-takes/[id]", role: "staff", target: async (db, t) => `/api/stock-takes/${(await insertStockTake(db, t)).id}` },
  { method: "POST", pattern: "/api/stock-takes/[id]/apply", role: "admin", target: async (db, t) => `/api/stock-takes/${(await insertStockTake(db, t)).id}/apply` },
  // Events (issue 13).
  { method: "GET", pattern: "/api/events", role: "admin" },
  { method: "GET", pattern: "/api/events/catalog", role: "staff" },
  // Streams end after EVENTS_STREAM_MAX_S (1 s under the test config): the walks read them to the end.
  { method: "GET", pattern: "/api/events/stream", role: "staff" },
  { method: "POST", pattern: "/api/events/stream-token", role: "staff", success: 201 },
  { method: "GET", pattern: "/api/orders/board", role: "staff" },
  { method: "GET", pattern: "/api/cron/events-retention", role: "cron" },
  // Lots (issue 15): Vercel's cron sends GET; POST runs it by hand.
  { method: "GET", pattern: "/api/cron/expire-lots", role: "cron" },
  { method: "POST", pattern: "/api/cron/expire-lots", role: "cron" },
  // Conversations (issue 16).
  { method: "GET", pattern: "/api/conversations", role: "staff" },
  {
    method: "POST",
    pattern: "/api/conversations",
    role: "staff",
    body: { customerId: "01a20813-0118-73be-a81c-b59c7a651c18", channel: "web" },
    validBody: async (db, t) => ({ customerId: await insertCustomer(db, t.id), channel: "web" }),
    success: 201,
    invalid: { body: { customerId: "nope", channel: "fax", orderId: 5, extra: 1 }, paths: ["customerId", "channel", "orderId", "extra"] },
  },
  { method: "GET", pattern: "/api/conversations/[id]", role: "staff", target: conversation },
  {
    method: "PATCH",
    pattern: "/api/conversations/[id]",
    role: "staff",
    target: conversation,
    body: { status: "closed" },
    invalid: { body: { status: "archived", assignedTo: "someone" }, paths: ["status", "assignedTo"] },
  },
  { method: "GET", pattern: "/api/conversations/[id]/messages", role: "staff", target: async (db, t) => `${await conversation(db, t)}/messages` },
  {
    method: "POST",
    pattern: "/api/conversations/[id]/messages",
    role: "staff",
    target: async (db, t) => `${await conversation(db, t)}/messages`,
    body: { text: "Your order is on its way" },
    success: 201,
    idempotent: IDEMPOTENCY.message,
    invalid: { body: { text: "   ", attachments: "photo.png", note: "yes" }, paths: ["text", "attachments", "note"] },
  },
  {
    method: "POST",
    pattern: "/api/conversations/[id]/read",
    role: "staff",
    target: async (db, t) => `${await conversation(db, t)}/read`,
    body: {},
    invalid: { body: { upToMessageId: "last", extra: true }, paths: ["upToMessageId", "extra"] },
  },
  {
    method: "POST",
    pattern: "/api/integrations/messages",
    role: "staff",
    body: { channel: "instagram", externalId: "catalog-1", from: { handle: "@catalog" }, text: "Hello" },
    validBody: async () => ({ channel: "instagram", externalId: `catalog-${Math.random()}`, from: { handle: "@catalog", name: "Catalog" }, text: "Hello" }),
    success: 201,
    invalid: { body: { channel: "telegram", externalId: "", from: { phone: "call me" }, text: "" }, paths: ["channel", "externalId", "from.phone", "text"] },
  },
  {
    method: "POST",
    pattern: "/api/integrations/messages/[id]/status",
    role: "staff",
    target: async (db, t) => `/api/integrations/messages/${(await insertOutboundMessage(db, t)).id}/status`,
    body: { status: "delivered" },
    invalid: { body: { status: "lost", reason: 5 }, paths: ["status", "reason"] },
  },
  // Chat connectors (issue 16, outbound). They point at a closed local port: deliveries fail quietly.
  { method: "GET", pattern: "/api/integrations/connectors", role: "admin" },
  { method: "GET", pattern: "/api/integrations/connectors/[channel]", role: "admin", target: connector, singleton: true },
  {
    method: "PUT",
    pattern: "/api/integrations/connectors/[channel]",
    role: "admin",
    target: async (db, t) => {
      await removeConnector(db, t.id, "whatsapp");
      return "/api/integrations/connectors/whatsapp";
    },
    body: { url: WALK_HOOK_URL, enabled: true },
    success: 201,
    singleton: true,
    invalid: { body: { url: "http://169.254.169.254/", enabled: "yes", extra: 1 }, paths: ["url", "enabled", "extra"] },
  },
  { method: "DELETE", pattern: "/api/integrations/connectors/[channel]", role: "admin", target: connector, success: 204, singleton: true },
  { method: "POST", pattern: "/api/integrations/connectors/[channel]/rotate-secret", role: "admin", target: async (db, t) => `${await connector(db, t)}/rotate-secret`, singleton: true },
  { method: "GET", pattern: "/api/integrations/connectors/[channel]/deliveries", role: "admin", target: async (db, t) => `${await connector(db, t)}/deliveries`, singleton: true },
  {
    method: "POST",
    pattern: "/api/integrations/connectors/[channel]/replay",
    role: "admin",
    target: async (db, t) => `${await connector(db, t)}/replay`,
    singleton: true,
    success: 202,
    validBody: async () => ({ from: new Date(Date.now() - 3600_000).toISOString() }),
    body: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
    invalid: { body: { from: "yesterday", extra: 1 }, paths: ["from", "extra"] },
  },
  {
    method: "POST",
    pattern: "/api/integrations/connectors/[channel]/deliveries/[deliveryId]/retry",
    role: "admin",
    success: 202,
    target: async (db, t) => `/api/integrations/connectors/instagram/deliveries/${(await insertDeadConnectorDelivery(db, t.id, "instagram")).deliveryId}/retry`,
  },
  { method: "POST", pattern: "/api/conversations/[id]/typing", role: "staff", redisData: true, target: async (db, t) => `${await conversation(db, t)}/typing` },
  {
    method: "POST",
    pattern: "/api/integrations/typing",
    role: "staff",
    redisData: true,
    body: { channel: "instagram", from: { handle: "@catalog" } },
    invalid: { body: { channel: "sms", from: { handle: 5 } }, paths: ["channel", "from.handle"] },
  },
  { method: "POST", pattern: "/api/orders/[id]/tracking-link", role: "staff", target: async (db, t) => `${await order(db, t)}/tracking-link`, success: 201 },
  // Public: the link's token is the credential (tests/conversations.tracking.test.ts covers the rest).
  { method: "GET", pattern: "/api/public/orders/[token]", role: "public", target: async (db, t) => `/api/public/orders/${(await insertTrackingLink(db, t)).token}` },
  {
    method: "POST",
    pattern: "/api/public/orders/[token]/messages",
    role: "public",
    target: async (db, t) => `/api/public/orders/${(await insertTrackingLink(db, t)).token}/messages`,
    body: { text: "When will it arrive?" },
    success: 201,
  },
  // Webhooks (issue 13). Endpoints point at a closed local port: the walk's deliveries fail quietly.
  { method: "GET", pattern: "/api/webhooks", role: "admin" },
  {
    method: "POST",
    pattern: "/api/webhooks",
    role: "admin",
    body: { url: WALK_HOOK_URL, events: ["order.created"], description: "walk" },
    success: 201,
    invalid: { body: { url: "ftp://example.com/", events: "order.created", enabled: "yes", extra: true }, paths: ["url", "events", "enabled", "extra"] },
  },
  { method: "GET", pattern: "/api/webhooks/[id]", role: "admin", target: webhook },
  {
    method: "PATCH",
    pattern: "/api/webhooks/[id]",
    role: "admin",
    target: webhook,
    body: { events: ["*"], description: "changed" },
    invalid: { body: { url: "http://169.254.169.254/", events: ["order.exploded"] }, paths: ["url", "events.0"] },
  },
  { method: "DELETE", pattern: "/api/webhooks/[id]", role: "admin", target: webhook, success: 204 },
  { method: "POST", pattern: "/api/webhooks/[id]/rotate-secret", role: "admin", target: webhookAction("rotate-secret") },
  { method: "POST", pattern: "/api/webhooks/[id]/test", role: "admin", target: webhookAction("test"), success: 202 },
  { method: "GET", pattern: "/api/webhooks/[id]/deliveries", role: "admin", target: webhookAction("deliveries") },
  {
    method: "POST",
    pattern: "/api/webhooks/[id]/deliveries/[deliveryId]/retry",
    role: "admin",
    success: 202,
    target: async (db, t) => {
      const { endpointId, deliveryId } = await insertDeadDelivery(db, t.id);
      return `/api/webhooks/${endpointId}/deliveries/${deliveryId}/retry`;
    },
  },
  {
    method: "POST",
    pattern: "/api/webhooks/[id]/replay",
    role: "admin",
    target: webhookAction("replay"),
    success: 202,
    validBody: async () => ({ from: new Date(Date.now() - 3600_000).toISOString() }),
    body: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
    invalid: { body: { from: "yesterday", extra: 1 }, paths: ["from", "extra"] },
  },
  { method: "GET", pattern: "/api/cron/deliver-webhooks", role: "cron" },
  // Tenancy (issue 12). Order matters for the walks that share one tenant and its owner (fuzz,
  // Redis outage): tenant-scoped routes first; then the tenant is deleted, and the owner creates
  // another tenant and restores a deleted one.
  { method: "GET", pattern: "/api/tenant", role: "staff" },
  {
    method: "PATCH",
    pattern: "/api/tenant",
    role: "admin",
    body: { timezone: "Asia/Jakarta", lowStockThresholdDefault: 4 },
    invalid: { body: { timezone: "Mars/Olympus", currency: "XYZ", lowStockThresholdDefault: -1, orderNumberStart: 0, color: "red" }, paths: ["timezone", "currency", "lowStockThresholdDefault", "orderNumberStart", "color"] },
  },
  {
    method: "PATCH",
    pattern: "/api/members/[userId]",
    role: "admin",
    target: async (db, t) => `/api/members/${await insertMember(db, t)}`,
    body: { role: "admin" },
    invalid: { body: { role: "king", extra: 1 }, paths: ["role", "extra"] },
  },
  { method: "GET", pattern: "/api/api-keys", role: "admin", people: true },
  {
    method: "POST",
    pattern: "/api/api-keys",
    role: "admin",
    people: true,
    body: { name: "Storefront server", role: "staff" },
    success: 201,
    invalid: { body: { name: "", role: "root", expiresAt: "2001-01-01T00:00:00Z" }, paths: ["name", "role", "expiresAt"] },
  },
  { method: "DELETE", pattern: "/api/api-keys/[id]", role: "admin", people: true, target: async (db, t) => `/api/api-keys/${(await insertApiKey(db, t.id, "staff")).id}`, success: 204 },
  // Leaving and handing over ownership change who the walk's owner is: covered in tests/tenancy.test.ts.
  { method: "DELETE", pattern: "/api/members/me", role: "staff", walk: false, success: 204, people: true },
  {
    method: "POST",
    pattern: "/api/tenant/transfer-ownership",
    role: "owner",
    people: true,
    body: { userId: "01a20813-0118-73be-a81c-b59c7a651c18" },
    walk: false,
    invalid: { body: { userId: "nope", extra: true }, paths: ["userId", "extra"] },
  },
  { method: "GET", pattern: "/api/me", role: "user" },
  { method: "DELETE", pattern: "/api/tenant", role: "owner" },
  {
    method: "POST",
    pattern: "/api/tenants",
    role: "user",
    body: { name: "Corner Shop", timezone: "America/New_York", currency: "usd" },
    success: 201,
    idempotent: IDEMPOTENCY.tenant,
    invalid: { body: { name: "", slug: "Not A Slug", timezone: "UTC+7", currency: "dollars", plan: "pro" }, paths: ["name", "slug", "timezone", "currency", "plan"] },
  },
  { method: "POST", pattern: "/api/tenants/[id]/restore", role: "user", target: async (db, t) => `/api/tenants/${await insertDeletedTenant(db, t)}/restore` },
];
