import { sql } from "drizzle-orm/sql/sql";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  jsonb,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

import type { Role } from "./enums.js";

export * from "./enums.js";

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
};

// Settings (issue 12): timezone is an IANA name, currency an ISO 4217 code (amounts stay integer
// minor units; the exponent comes from Intl, see lib/tenants/settings.ts). A deleted tenant keeps
// its rows and its slug: deleted_at hides it from every route until its owner restores it.
export const tenants = pgTable(
  "tenants",
  {
    id: uuid("id").primaryKey(),
    slug: text("slug").notNull().unique(),
    name: text("name").notNull(),
    timezone: text("timezone").notNull().default("UTC"),
    // The timezone the sales rollups are built in; differs from `timezone` until the analytics
    // refresh has rebuilt them after a change (answers say `rebuilding: true` meanwhile).
    rollupTimezone: text("rollup_timezone").notNull().default("UTC"),
    currency: text("currency").notNull().default("USD"),
    lowStockThresholdDefault: integer("low_stock_threshold_default").notNull().default(10),
    orderNumberStart: integer("order_number_start").notNull().default(1001),
    version: integer("version").notNull().default(1),
    createdBy: uuid("created_by"),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "string" }),
    ...timestamps,
  },
  (t) => [
    check("tenants_low_stock_threshold_default_check", sql`${t.lowStockThresholdDefault} >= 0`),
    check("tenants_order_number_start_check", sql`${t.orderNumberStart} >= 1`),
  ],
);

// Machine credentials. Only the SHA-256 of a key is stored (plus a display prefix and its last 4
// characters), so a database leak reveals no usable key. A key acts for one tenant with one role.
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    role: text("role").$type<Role>().notNull(),
    keyHash: text("key_hash").notNull(),
    displayPrefix: text("display_prefix").notNull(),
    last4: text("last4").notNull(),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "string" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "string" }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "string" }),
  },
  (t) => [
    uniqueIndex("api_keys_hash_key").on(t.keyHash),
    index("api_keys_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    check("api_keys_role_check", sql`${t.role} IN ('owner', 'admin', 'staff')`),
  ],
);

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    email: text("email"),
    name: text("name"),
    ...timestamps,
  },
  (t) => [uniqueIndex("users_issuer_subject_key").on(t.issuer, t.subject)],
);

// A membership with user_id NULL is a pending invitation; it binds to the first user who signs in
// with a verified token for invited_email.
export const memberships = pgTable(
  "memberships",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    invitedEmail: text("invited_email"),
    role: text("role").$type<Role>().notNull(),
    invitedBy: uuid("invited_by"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("memberships_tenant_user_key").on(t.tenantId, t.userId),
    uniqueIndex("memberships_pending_invite_key")
      .on(t.tenantId, sql`lower(${t.invitedEmail})`)
      .where(sql`${t.userId} IS NULL`),
    index("memberships_user_idx").on(t.userId),
    index("memberships_invited_email_idx").on(sql`lower(${t.invitedEmail})`).where(sql`${t.userId} IS NULL`),
    check("memberships_role_check", sql`${t.role} IN ('owner', 'admin', 'staff')`),
    check("memberships_user_or_invite_check", sql`${t.userId} IS NOT NULL OR ${t.invitedEmail} IS NOT NULL`),
  ],
);

export const items = pgTable(
  "items",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    sku: text("sku"),
    priceCents: integer("price_cents").notNull(),
    stock: integer("stock").notNull().default(0),
    // Issue 15 (lots): how much of `stock` sits in lots (= Σ lots.quantity of the item, kept in step by
    // every statement that moves a lot). The rest, stock − lot_stock, is unlotted; never negative.
    lotStock: integer("lot_stock").notNull().default(0),
    lowStockThreshold: integer("low_stock_threshold").notNull().default(10),
    // The category's name, kept in step with category_id by every write that changes either (item
    // writes, category renames and deletes): the items filter and the item JSON read it as before.
    category: text("category"),
    categoryId: uuid("category_id").references((): AnyPgColumn => categories.id, { onDelete: "set null" }),
    // Storefront (issue 14): only published, live items are in the tenant's public shop.
    published: boolean("published").notNull().default(false),
    compareAtPriceCents: integer("compare_at_price_cents"),
    imageUrl: text("image_url"),
    version: integer("version").notNull().default(1),
    ...timestamps,
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "string" }),
  },
  (t) => [
    index("items_tenant_published_created_idx").on(t.tenantId, t.createdAt, t.id).where(sql`${t.deletedAt} IS NULL AND ${t.published}`),
    index("items_tenant_category_idx").on(t.tenantId, t.categoryId),
    check("items_lot_stock_check", sql`${t.lotStock} >= 0 AND ${t.lotStock} <= ${t.stock}`),
    check("items_compare_at_price_nonnegative", sql`${t.compareAtPriceCents} IS NULL OR ${t.compareAtPriceCents} >= 0`),
    // SKUs are unique per tenant among live items, case-insensitively ("ab-1" and "AB-1" collide).
    uniqueIndex("items_tenant_sku_live_key")
      .on(t.tenantId, sql`lower(${t.sku})`)
      .where(sql`${t.deletedAt} IS NULL AND ${t.sku} IS NOT NULL`),
    // Ascending on purpose: scanned backwards they serve "ORDER BY … DESC" (= DESC NULLS FIRST).
    // drizzle's .desc() means DESC NULLS LAST, which the planner cannot use for that order.
    index("items_tenant_live_created_idx").on(t.tenantId, t.createdAt, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("items_tenant_deleted_idx").on(t.tenantId, t.deletedAt, t.id).where(sql`${t.deletedAt} IS NOT NULL`),
    check("items_stock_nonnegative", sql`${t.stock} >= 0`),
    check("items_price_nonnegative", sql`${t.priceCents} >= 0`),
    check("items_low_stock_threshold_nonnegative", sql`${t.lowStockThreshold} >= 0`),
  ],
);

// Storefront categories (issue 14): a tree per tenant (parent in the same tenant, checked by the
// writes), slug unique per tenant. Deleting one moves its children up to its parent and leaves its
// items uncategorised, in the same statement.
export const categories = pgTable(
  "categories",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    parentId: uuid("parent_id").references((): AnyPgColumn => categories.id, { onDelete: "set null" }),
    position: integer("position").notNull().default(0),
    version: integer("version").notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("categories_tenant_slug_key").on(t.tenantId, t.slug),
    index("categories_tenant_parent_idx").on(t.tenantId, t.parentId, t.position),
    check("categories_not_own_parent", sql`${t.parentId} IS NULL OR ${t.parentId} <> ${t.id}`),
  ],
);

export const customers = pgTable(
  "customers",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    phone: text("phone"),
    email: text("email"),
    socialHandle: text("social_handle"),
    notes: text("notes"),
    version: integer("version").notNull().default(1),
    ...timestamps,
  },
  (t) => [
    index("customers_tenant_name_idx").on(t.tenantId, sql`lower(${t.name})`),
    index("customers_tenant_phone_idx").on(t.tenantId, t.phone),
    // Checkout finds the customer by email; a signed-in shopper's orders are found through it.
    index("customers_tenant_email_idx").on(t.tenantId, sql`lower(${t.email})`),
  ],
);

// Per-tenant order numbers. The counter row is bumped inside the order's own statement, so a failed
// order rolls its number back: numbers are consecutive, with no gaps from failed attempts.
export const orderCounters = pgTable("order_counters", {
  tenantId: uuid("tenant_id").primaryKey().references(() => tenants.id, { onDelete: "cascade" }),
  lastNumber: integer("last_number").notNull(),
});

export const orders = pgTable(
  "orders",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    channel: text("channel").notNull(),
    status: text("status").notNull().default("pending"),
    priority: text("priority").notNull().default("normal"),
    customerId: uuid("customer_id").references(() => customers.id),
    expectedDeliveryDate: date("expected_delivery_date", { mode: "string" }),
    notes: text("notes"),
    totalCents: integer("total_cents").notNull(),
    units: integer("units").notNull(),
    version: integer("version").notNull().default(1),
    createdBy: uuid("created_by"),
    ...timestamps,
    cancelledAt: timestamp("cancelled_at", { withTimezone: true, mode: "string" }),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "string" }),
    // Storefront (issue 14): a pay-later order holds its stock until reserved_until; why an order
    // was cancelled (payment_failed, reservation_expired, shopper); SHA-256 of the shopper's order
    // access token and of the shop session that placed it (never the secrets themselves).
    reservedUntil: timestamp("reserved_until", { withTimezone: true, mode: "string" }),
    cancelReason: text("cancel_reason"),
    accessTokenHash: text("access_token_hash"),
    sessionHash: text("session_hash"),
  },
  (t) => [
    uniqueIndex("orders_tenant_number_key").on(t.tenantId, t.number),
    // The expiry sweep: pending orders whose reservation ran out.
    index("orders_reserved_until_idx").on(t.reservedUntil).where(sql`${t.status} = 'pending' AND ${t.reservedUntil} IS NOT NULL`),
    index("orders_tenant_session_idx").on(t.tenantId, t.sessionHash, t.id).where(sql`${t.sessionHash} IS NOT NULL`),
    // Ids are UUIDv7 (time-ordered), so "newest first" is id order and keyset pages seek on it.
    // Ascending, scanned backwards, for ORDER BY id DESC (see the items indexes).
    index("orders_tenant_id_idx").on(t.tenantId, t.id),
    index("orders_tenant_status_idx").on(t.tenantId, t.status, t.id),
    index("orders_tenant_customer_idx").on(t.tenantId, t.customerId, t.id),
    index("orders_tenant_delivery_idx").on(t.tenantId, sql`coalesce(${t.expectedDeliveryDate}, 'infinity'::date)`, t.id),
    // The analytics refresh finds changed orders by updated_at (every write bumps it) and recomputes
    // a (tenant, day) from the orders created that day.
    index("orders_updated_at_idx").on(t.updatedAt),
    index("orders_tenant_created_idx").on(t.tenantId, t.createdAt),
    check("orders_channel_check", sql`${t.channel} IN ('instagram', 'facebook', 'whatsapp', 'call', 'offline', 'web')`),
    check("orders_status_check", sql`${t.status} IN ('pending', 'confirmed', 'preparing', 'ready', 'completed', 'cancelled')`),
    check("orders_priority_check", sql`${t.priority} IN ('low', 'normal', 'high', 'urgent')`),
    check("orders_totals_check", sql`${t.totalCents} >= 0 AND ${t.units} >= 0`),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    name: text("name").notNull(),
    sku: text("sku"),
    unitPriceCents: integer("unit_price_cents").notNull(),
    quantity: integer("quantity").notNull(),
    position: integer("position").notNull(),
  },
  (t) => [
    index("order_lines_order_idx").on(t.orderId, t.position),
    index("order_lines_item_idx").on(t.itemId),
    check("order_lines_quantity_check", sql`${t.quantity} > 0`),
  ],
);

// The ledger: every stock change, in the same atomic write as the change, so stock can always be
// explained (sum of deltas per item = current stock - initial stock).
export const stockMovements = pgTable(
  "stock_movements",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    delta: integer("delta").notNull(),
    reason: text("reason").notNull(),
    orderId: uuid("order_id").references(() => orders.id),
    purchaseOrderId: uuid("purchase_order_id").references(() => purchaseOrders.id),
    // The lot a receipt, count or expiry write-off moved (orders move items; their lots are in order_lot_allocations).
    lotId: uuid("lot_id").references((): AnyPgColumn => lots.id),
    note: text("note"),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [
    index("stock_movements_item_idx").on(t.tenantId, t.itemId, t.createdAt, t.id),
    index("stock_movements_order_idx").on(t.orderId),
    // The tenant-wide ledger in time order (GET /api/stock-movements/export pages by it).
    index("stock_movements_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    // 'set': PUT /api/items/:id with a stock, recorded as the difference it made.
    // 'receipt': a purchase order received (purchase_order_id set); 'count': a stock-take applied;
    // 'release': a storefront reservation given back (payment failed, reservation expired);
    // 'expired': an expired lot written off by the expire-lots cron (lot_id set). 'import': POST
    // /api/items/import setting an item's stock (or creating it with stock).
    check("stock_movements_reason_check", sql`${t.reason} IN ('order', 'cancel', 'edit', 'adjustment', 'set', 'receipt', 'count', 'release', 'expired', 'import')`),
    check("stock_movements_delta_check", sql`${t.delta} <> 0`),
  ],
);

// Storefront payments (issue 14), from the simulated processor: one per checkout attempt, written in
// the checkout's own statement; a refund flips it in the cancel's.
export const payments = pgTable(
  "payments",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    method: text("method").notNull(),
    status: text("status").notNull(),
    amountCents: integer("amount_cents").notNull(),
    cardLast4: text("card_last4"),
    failureCode: text("failure_code"),
    ...timestamps,
  },
  (t) => [
    index("payments_tenant_order_idx").on(t.tenantId, t.orderId),
    check("payments_method_check", sql`${t.method} IN ('card', 'pay_later')`),
    check("payments_status_check", sql`${t.status} IN ('pending', 'succeeded', 'failed', 'refunded', 'voided')`),
    check("payments_amount_check", sql`${t.amountCents} >= 0`),
  ],
);

// Idempotency-Key records, written in the same statement as the resource they protect. Only
// successful requests leave a record (a failure rolls it back), so a failed request may be retried
// with the same key. A key belongs to a principal ("user:<id>", "link:<token hash>", later
// "apikey:<id>") and a route (scope, e.g. "POST /api/orders/[id]/cancel") within the tenant.
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    principal: text("principal").notNull(),
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    resourceId: uuid("resource_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.principal, t.scope, t.key] })],
);

// Blobs to delete (an item's replaced or purged image). Queued in the same statement that drops the
// reference, deleted right after the response (waitUntil), retried by the blob-cleanup cron if that
// fails — so a crash between the two can never leave an orphan nobody knows about.
export const blobDeletions = pgTable(
  "blob_deletions",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [index("blob_deletions_created_idx").on(t.createdAt)],
);

// One-time feedback links. Only the SHA-256 of the token is stored, so a database leak reveals no
// usable link. At most one live (unused, unrevoked) token per order: issuing a new one revokes the
// old in the same statement, and the partial unique index settles a race between two issuers.
export const feedbackTokens = pgTable(
  "feedback_tokens",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "string" }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true, mode: "string" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "string" }),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("feedback_tokens_hash_key").on(t.tokenHash),
    uniqueIndex("feedback_tokens_live_order_key").on(t.orderId).where(sql`${t.usedAt} IS NULL AND ${t.revokedAt} IS NULL`),
    index("feedback_tokens_tenant_order_idx").on(t.tenantId, t.orderId),
  ],
);


// One feedback per order, whether the customer sent it with a token or staff recorded it by hand.
// A feedback can only be public if the customer consented (a CHECK, not just an API rule).
export const feedbacks = pgTable(
  "feedbacks",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    tokenId: uuid("token_id").references(() => feedbackTokens.id),
    source: text("source").notNull(),
    rating: smallint("rating").notNull(),
    productQuality: smallint("product_quality"),
    delivery: smallint("delivery"),
    communication: smallint("communication"),
    comment: text("comment"),
    consentToPublish: boolean("consent_to_publish").notNull().default(false),
    isPublic: boolean("is_public").notNull().default(false),
    response: text("response"),
    respondedAt: timestamp("responded_at", { withTimezone: true, mode: "string" }),
    respondedBy: uuid("responded_by"),
    createdBy: uuid("created_by"),
    version: integer("version").notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("feedbacks_order_key").on(t.orderId),
    index("feedbacks_tenant_created_idx").on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index("feedbacks_tenant_published_idx").on(t.tenantId, t.createdAt.desc(), t.id.desc()).where(sql`${t.isPublic} AND ${t.consentToPublish}`),
    check("feedbacks_source_check", sql`${t.source} IN ('customer', 'staff')`),
    check("feedbacks_rating_check", sql`${t.rating} BETWEEN 1 AND 5`),
    check("feedbacks_dimensions_check", sql`coalesce(${t.productQuality}, 1) BETWEEN 1 AND 5 AND coalesce(${t.delivery}, 1) BETWEEN 1 AND 5 AND coalesce(${t.communication}, 1) BETWEEN 1 AND 5`),
    check("feedbacks_text_length_check", sql`coalesce(length(${t.comment}), 0) <= 2000 AND coalesce(length(${t.response}), 0) <= 2000`),
    check("feedbacks_public_needs_consent_check", sql`NOT ${t.isPublic} OR ${t.consentToPublish}`),
  ],
);

// Sales rollups, maintained by the analytics refresh (lib/analytics/refresh.ts). A day is the
// calendar day of the order's created_at in the tenant's rollup_timezone; cancelled orders are not sales. `refreshed_at` tells
// which rows the last run rewrote (the tests use it to prove untouched days are left alone).
export const salesDailyItems = pgTable(
  "sales_daily_items",
  {
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    itemId: uuid("item_id").notNull(),
    units: bigint("units", { mode: "number" }).notNull(),
    revenueCents: bigint("revenue_cents", { mode: "number" }).notNull(),
    orders: integer("orders").notNull(),
    refreshedAt: timestamp("refreshed_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day, t.itemId] }), index("sales_daily_items_item_idx").on(t.tenantId, t.itemId, t.day)],
);

export const salesDailyChannels = pgTable(
  "sales_daily_channels",
  {
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    channel: text("channel").notNull(),
    orders: integer("orders").notNull(),
    units: bigint("units", { mode: "number" }).notNull(),
    revenueCents: bigint("revenue_cents", { mode: "number" }).notNull(),
    refreshedAt: timestamp("refreshed_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day, t.channel] })],
);

// The refresh's bookkeeping: one row for the whole database (the cron refreshes every tenant at
// once), so it is the one table without tenant_id. `watermark`: orders with updated_at >= it may
// not be in the rollups yet. `locked_by`: the transaction running a refresh (see refresh.ts).
export const analyticsState = pgTable(
  "analytics_state",
  {
    id: smallint("id").primaryKey(),
    watermark: timestamp("watermark", { withTimezone: true, mode: "string" }).notNull(),
    runBound: timestamp("run_bound", { withTimezone: true, mode: "string" }),
    lockedBy: text("locked_by"),
    lastRunAt: timestamp("last_run_at", { withTimezone: true, mode: "string" }),
    lastChangedOrders: integer("last_changed_orders"),
    lastDays: integer("last_days"),
  },
  (t) => [check("analytics_state_single_row", sql`${t.id} = 1`)],
);

// xid8: the id of the transaction that wrote a row (pg_current_xact_id()), the commit-order-safe
// cursor of the event log (lib/events/cursor.ts).
const xid8 = customType<{ data: string }>({ dataType: () => "xid8" });

// The outbox and audit log (issue 13): every state change writes its events in the same atomic
// write as the change. Readers only read below pg_snapshot_xmin(pg_current_snapshot()) in
// (transaction_id, seq) order, so an event whose transaction commits late is never skipped.
// No foreign key to tenants: the audit trail outlives what it describes (retention deletes it).
export const events = pgTable(
  "events",
  {
    id: uuid("id").primaryKey(),
    seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity().notNull(),
    transactionId: xid8("transaction_id").notNull().default(sql`pg_current_xact_id()`),
    // Cascades like every tenant table, so purging a tenant (lib/tenants/purge.ts) takes its log too.
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id").notNull(),
    data: jsonb("data").notNull(),
  },
  (t) => [
    index("events_tenant_cursor_idx").on(t.tenantId, t.transactionId, t.seq),
    index("events_tenant_resource_idx").on(t.tenantId, t.resourceType, t.resourceId, t.transactionId, t.seq),
    index("events_occurred_idx").on(t.occurredAt),
    check("events_actor_type_check", sql`${t.actorType} IN ('user', 'api_key', 'system', 'public')`),
  ],
);

// Conversations (issue 16): one thread per customer and channel while it is open (the partial
// unique index settles a race between two openers); a closed thread stays as history and the next
// message opens a new one. `message_count` is the per-thread message sequence: each message takes
// the next number in the same statement that locks the thread row, so sequence order is commit
// order within a thread and a read marker ("read up to seq n") is exact. `last_inbound_seq` makes
// "has unread" a column comparison instead of a count.
export const conversations = pgTable(
  "conversations",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    customerId: uuid("customer_id").notNull().references(() => customers.id, { onDelete: "cascade" }),
    channel: text("channel").notNull(),
    status: text("status").notNull().default("open"),
    assignedTo: uuid("assigned_to"),
    orderId: uuid("order_id").references(() => orders.id, { onDelete: "set null" }),
    messageCount: bigint("message_count", { mode: "number" }).notNull().default(0),
    lastInboundSeq: bigint("last_inbound_seq", { mode: "number" }).notNull().default(0),
    lastMessageId: uuid("last_message_id"),
    lastMessageAt: timestamp("last_message_at", { withTimezone: true, mode: "string" }),
    version: integer("version").notNull().default(1),
    createdBy: text("created_by"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("conversations_open_key").on(t.tenantId, t.customerId, t.channel).where(sql`${t.status} = 'open'`),
    // "Sorted by last message": threads without messages sort by their creation (ids are UUIDv7).
    index("conversations_tenant_activity_idx").on(t.tenantId, sql`coalesce(${t.lastMessageAt}, ${t.createdAt})`, t.id),
    index("conversations_tenant_customer_idx").on(t.tenantId, t.customerId),
    index("conversations_tenant_order_idx").on(t.tenantId, t.orderId),
    check("conversations_channel_check", sql`${t.channel} IN ('instagram', 'facebook', 'whatsapp', 'call', 'offline', 'web')`),
    check("conversations_status_check", sql`${t.status} IN ('open', 'closed')`),
  ],
);

// Messages. `seq` numbers a thread's messages in commit order (see conversations). `external_id`
// is the connector's id: unique per tenant and channel, which makes inbound delivery idempotent.
// Status moves forward only (lib/conversations/status.ts): queued → sent → delivered → read, or
// failed; inbound messages are `received`, notes `sent`.
export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull().references(() => conversations.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    channel: text("channel").notNull(),
    direction: text("direction").notNull(),
    text: text("text").notNull(),
    attachments: jsonb("attachments").notNull().default(sql`'[]'::jsonb`),
    authorType: text("author_type").notNull(),
    authorId: text("author_id"),
    status: text("status").notNull(),
    failureReason: text("failure_reason"),
    externalId: text("external_id"),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "string" }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("messages_conversation_seq_key").on(t.conversationId, t.seq),
    uniqueIndex("messages_external_key").on(t.tenantId, t.channel, t.externalId).where(sql`${t.externalId} IS NOT NULL`),
    index("messages_tenant_conversation_idx").on(t.tenantId, t.conversationId, t.seq),
    check("messages_direction_check", sql`${t.direction} IN ('inbound', 'outbound', 'note')`),
    check("messages_status_check", sql`${t.status} IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')`),
    check("messages_author_type_check", sql`${t.authorType} IN ('user', 'api_key', 'customer')`),
    check("messages_text_check", sql`length(${t.text}) BETWEEN 1 AND 5000`),
  ],
);

// Per-member read markers: the reader (a user, or an API key) has read the thread up to `read_seq`.
// Markers only move forward (GREATEST), so concurrent mark-reads cannot un-read anything.
export const conversationReads = pgTable(
  "conversation_reads",
  {
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull().references(() => conversations.id, { onDelete: "cascade" }),
    readerId: text("reader_id").notNull(),
    readSeq: bigint("read_seq", { mode: "number" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.readerId] }), index("conversation_reads_tenant_reader_idx").on(t.tenantId, t.readerId)],
);

// Customer order-tracking links: like feedback links, only the SHA-256 is stored. One live link per
// order (a new one revokes the old in the same statement). A link expires 30 days after the order
// is completed or cancelled (computed when used, so it follows the order's state).
export const orderTrackingTokens = pgTable(
  "order_tracking_tokens",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "string" }),
    createdBy: text("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("order_tracking_tokens_hash_key").on(t.tokenHash),
    uniqueIndex("order_tracking_tokens_live_order_key").on(t.orderId).where(sql`${t.revokedAt} IS NULL`),
    index("order_tracking_tokens_tenant_order_idx").on(t.tenantId, t.orderId),
  ],
);

// The delivery engine (lib/delivery): signed outbound requests with retries. An endpoint is a target
// of one `kind` (webhooks: "webhook"; chat connectors add their own kind); a delivery is one message
// to one endpoint, retried on a schedule until delivered or dead-lettered. Its id is the message id
// the receiver sees (webhook-id), the same on every attempt.
export const deliveryEndpoints = pgTable(
  "delivery_endpoints",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    url: text("url").notNull(),
    // Signing keys (whsec_…) must be usable to sign, so they are stored, never shown after creation.
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretUntil: timestamp("previous_secret_until", { withTimezone: true, mode: "string" }),
    // Webhooks: the event types (or "*") the endpoint receives; other kinds may leave it empty.
    eventTypes: text("event_types").array().notNull().default(sql`'{}'::text[]`),
    // Chat connectors (kind "connector"): the channel the endpoint carries outbound messages for
    // (one per tenant and channel); null for webhooks.
    channel: text("channel"),
    description: text("description"),
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    disabledAt: timestamp("disabled_at", { withTimezone: true, mode: "string" }),
    // Start of the current run of failures (null after any success): 5 days of it disables the endpoint.
    failingSince: timestamp("failing_since", { withTimezone: true, mode: "string" }),
    version: integer("version").notNull().default(1),
    ...timestamps,
  },
  (t) => [
    index("delivery_endpoints_tenant_kind_idx").on(t.tenantId, t.kind, t.createdAt, t.id),
    uniqueIndex("delivery_endpoints_connector_channel_key").on(t.tenantId, t.channel).where(sql`${t.kind} = 'connector'`),
    check("delivery_endpoints_connector_channel_check", sql`${t.kind} <> 'connector' OR ${t.channel} IN ('instagram', 'facebook', 'whatsapp', 'web')`),
  ],
);

export const deliveries = pgTable(
  "deliveries",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id").notNull().references(() => deliveryEndpoints.id, { onDelete: "cascade" }),
    // The body is either an event of the log (rendered as the API renders it) or a stored payload.
    eventId: uuid("event_id").references(() => events.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload"),
    // Connector deliveries carry one outbound message: the engine's outcome moves it to sent or failed
    // in the statement that records the attempt (lib/connectors/outcome.ts).
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "cascade" }),
    // pending (due at next_attempt_at) → sending (claimed; next_attempt_at is the lease) → delivered | dead.
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    // attempts counted before the last manual retry: the schedule restarts from there.
    roundStart: integer("round_start").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true, mode: "string" }),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastBody: text("last_body"),
    deliveredAt: timestamp("delivered_at", { withTimezone: true, mode: "string" }),
    ...timestamps,
  },
  (t) => [
    index("deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} IN ('pending', 'sending')`),
    index("deliveries_endpoint_created_idx").on(t.endpointId, t.createdAt, t.id),
    uniqueIndex("deliveries_endpoint_event_key").on(t.endpointId, t.eventId),
    index("deliveries_message_idx").on(t.messageId).where(sql`${t.messageId} IS NOT NULL`),
    check("deliveries_status_check", sql`${t.status} IN ('pending', 'sending', 'delivered', 'dead')`),
    check("deliveries_body_check", sql`${t.eventId} IS NOT NULL OR ${t.payload} IS NOT NULL`),
  ],
);

// Inventory (issue 15). Suppliers are soft-deleted (purchase orders keep naming them).
export const suppliers = pgTable(
  "suppliers",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    contactName: text("contact_name"),
    email: text("email"),
    phone: text("phone"),
    address: text("address"),
    notes: text("notes"),
    leadTimeDays: integer("lead_time_days"),
    // Null: the tenant's currency.
    currency: text("currency"),
    version: integer("version").notNull().default(1),
    ...timestamps,
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "string" }),
  },
  (t) => [
    index("suppliers_tenant_live_idx").on(t.tenantId, t.id).where(sql`${t.deletedAt} IS NULL`),
    check("suppliers_lead_time_check", sql`${t.leadTimeDays} IS NULL OR ${t.leadTimeDays} BETWEEN 0 AND 365`),
  ],
);

// What an item costs from a supplier. At most one preferred supplier per item (partial unique index);
// the reorder suggestions use that one's lead time and cost.
export const itemSuppliers = pgTable(
  "item_suppliers",
  {
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id, { onDelete: "cascade" }),
    supplierId: uuid("supplier_id").notNull().references(() => suppliers.id, { onDelete: "cascade" }),
    supplierSku: text("supplier_sku"),
    unitCostCents: integer("unit_cost_cents").notNull(),
    leadTimeDays: integer("lead_time_days"),
    minOrderQuantity: integer("min_order_quantity").notNull().default(1),
    preferred: boolean("preferred").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.itemId, t.supplierId] }),
    uniqueIndex("item_suppliers_preferred_key").on(t.itemId).where(sql`${t.preferred}`),
    index("item_suppliers_supplier_idx").on(t.tenantId, t.supplierId, t.itemId),
    check("item_suppliers_cost_check", sql`${t.unitCostCents} >= 0`),
    check("item_suppliers_lead_time_check", sql`${t.leadTimeDays} IS NULL OR ${t.leadTimeDays} BETWEEN 0 AND 365`),
    check("item_suppliers_moq_check", sql`${t.minOrderQuantity} >= 1`),
  ],
);

// Per-tenant purchase order numbers (PO-0001…), bumped inside the creating statement like orders'.
export const purchaseOrderCounters = pgTable("purchase_order_counters", {
  tenantId: uuid("tenant_id").primaryKey().references(() => tenants.id, { onDelete: "cascade" }),
  lastNumber: integer("last_number").notNull(),
});

export const purchaseOrders = pgTable(
  "purchase_orders",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    supplierId: uuid("supplier_id").notNull().references(() => suppliers.id),
    status: text("status").notNull().default("draft"),
    expectedOn: date("expected_on", { mode: "string" }),
    notes: text("notes"),
    totalCents: bigint("total_cents", { mode: "number" }).notNull(),
    version: integer("version").notNull().default(1),
    createdBy: uuid("created_by"),
    ...timestamps,
    orderedAt: timestamp("ordered_at", { withTimezone: true, mode: "string" }),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "string" }),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true, mode: "string" }),
    closedAt: timestamp("closed_at", { withTimezone: true, mode: "string" }),
  },
  (t) => [
    uniqueIndex("purchase_orders_tenant_number_key").on(t.tenantId, t.number),
    index("purchase_orders_tenant_id_idx").on(t.tenantId, t.id),
    index("purchase_orders_tenant_status_idx").on(t.tenantId, t.status, t.id),
    index("purchase_orders_tenant_supplier_idx").on(t.tenantId, t.supplierId, t.id),
    check("purchase_orders_status_check", sql`${t.status} IN ('draft', 'ordered', 'partially_received', 'received', 'cancelled', 'closed')`),
  ],
);

export const purchaseOrderLines = pgTable(
  "purchase_order_lines",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    purchaseOrderId: uuid("purchase_order_id").notNull().references(() => purchaseOrders.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    quantity: integer("quantity").notNull(),
    unitCostCents: integer("unit_cost_cents").notNull(),
    receivedQuantity: integer("received_quantity").notNull().default(0),
    position: integer("position").notNull(),
  },
  (t) => [
    uniqueIndex("purchase_order_lines_item_key").on(t.purchaseOrderId, t.itemId),
    index("purchase_order_lines_item_idx").on(t.itemId),
    check("purchase_order_lines_quantity_check", sql`${t.quantity} > 0`),
    check("purchase_order_lines_cost_check", sql`${t.unitCostCents} >= 0`),
    check("purchase_order_lines_received_check", sql`${t.receivedQuantity} >= 0`),
  ],
);

// One receipt per POST /api/purchase-orders/:id/receipts: what arrived, the resource an
// Idempotency-Key replays.
export const purchaseOrderReceipts = pgTable(
  "purchase_order_receipts",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    purchaseOrderId: uuid("purchase_order_id").notNull().references(() => purchaseOrders.id, { onDelete: "cascade" }),
    lines: jsonb("lines").notNull(),
    note: text("note"),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [index("purchase_order_receipts_po_idx").on(t.purchaseOrderId, t.createdAt)],
);

// Stock-takes: a count snapshots each line's expected stock when it starts; applying it moves stock by
// counted − expected (so sales made while counting stay sold), reason 'count'.
export const stockTakes = pgTable(
  "stock_takes",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    status: text("status").notNull().default("open"),
    note: text("note"),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
    appliedAt: timestamp("applied_at", { withTimezone: true, mode: "string" }),
    appliedBy: uuid("applied_by"),
  },
  (t) => [index("stock_takes_tenant_idx").on(t.tenantId, t.id), check("stock_takes_status_check", sql`${t.status} IN ('open', 'applied')`)],
);

export const stockTakeLines = pgTable(
  "stock_take_lines",
  {
    stockTakeId: uuid("stock_take_id").notNull().references(() => stockTakes.id, { onDelete: "cascade" }),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    // Counts one lot of the item; null counts the item's unlotted units (all of it for an item without lots).
    lotId: uuid("lot_id").references((): AnyPgColumn => lots.id),
    position: integer("position").notNull(),
    expectedQuantity: integer("expected_quantity").notNull(),
    countedQuantity: integer("counted_quantity").notNull(),
    // Set when applied: the stock at apply time and the movement written (counted − expected, floored
    // so stock stays >= 0).
    stockAtApply: integer("stock_at_apply"),
    appliedDelta: integer("applied_delta"),
  },
  (t) => [
    unique("stock_take_lines_item_lot_key").on(t.stockTakeId, t.itemId, t.lotId).nullsNotDistinct(),
    check("stock_take_lines_counted_check", sql`${t.countedQuantity} >= 0`),
  ],
);

// Lots (issue 15): units of an item received under one lot code, with an optional expiry date.
// Σ quantity per item = items.lot_stock, always (every statement that moves a lot moves both).
// Orders consume lots FEFO; an expired lot (expires_on before the tenant's today) is not sellable and
// the expire-lots cron writes it off. Rows are never deleted (a cancel may return units to a lot).
export const lots = pgTable(
  "lots",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    lotCode: text("lot_code").notNull(),
    expiresOn: date("expires_on", { mode: "string" }),
    quantity: integer("quantity").notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("lots_item_code_key").on(t.tenantId, t.itemId, t.lotCode),
    index("lots_item_idx").on(t.itemId, t.expiresOn),
    index("lots_tenant_expiry_idx").on(t.tenantId, t.expiresOn, t.id).where(sql`${t.quantity} > 0`),
    check("lots_quantity_check", sql`${t.quantity} >= 0`),
  ],
);

// Which lots an order's line took (one row per order, item and lot); the rest of the line came from
// unlotted stock. Cancels and edits that lower a line give units back to these lots.
export const orderLotAllocations = pgTable(
  "order_lot_allocations",
  {
    orderId: uuid("order_id").notNull().references(() => orders.id, { onDelete: "cascade" }),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    itemId: uuid("item_id").notNull().references(() => items.id),
    lotId: uuid("lot_id").notNull().references(() => lots.id),
    quantity: integer("quantity").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.itemId, t.lotId] }),
    index("order_lot_allocations_lot_idx").on(t.lotId),
    check("order_lot_allocations_quantity_check", sql`${t.quantity} > 0`),
  ],
);

// Bulk item imports (POST /api/items/import): one row per import that wrote, with its counts — the
// resource an Idempotency-Key replays. Dry runs leave none.
export const itemImports = pgTable(
  "item_imports",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    mode: text("mode").notNull(),
    rows: integer("rows").notNull(),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
    unchanged: integer("unchanged").notNull(),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  },
  (t) => [index("item_imports_tenant_created_idx").on(t.tenantId, t.createdAt), check("item_imports_mode_check", sql`${t.mode} IN ('create', 'upsert')`)],
);
