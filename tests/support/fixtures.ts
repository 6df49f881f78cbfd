import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm/sql/sql";
import { atomic } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { DEV_ISSUER, mintDevToken } from "../../lib/auth/dev-tokens.js";
import type { Role } from "../../lib/auth/roles.js";
import { displayParts, hashKey, mintKey } from "../../lib/auth/api-key-format.js";
import { newToken } from "../../lib/feedback/tokens.js";

export interface TestTenant {
  id: string;
  slug: string;
  users: Record<Role, { id: string; subject: string; email: string; token: string }>;
  /** An API key per role (Authorization: Bearer tly_test_…), bound to this tenant. */
  keys: Record<Role, { id: string; key: string }>;
}

/** Inserts an API key straight into the database; returns the key (the API shows it once). */
export function apiKeyRows(tenantId: string, role: Role, options: { expiresAt?: string; revoked?: boolean } = {}) {
  const id = newId();
  const key = mintKey();
  const { displayPrefix, last4 } = displayParts(key);
  const statement = sql`INSERT INTO api_keys (id, tenant_id, name, role, key_hash, display_prefix, last4, expires_at, revoked_at)
    VALUES (${id}, ${tenantId}, ${`${role} key`}, ${role}, ${hashKey(key)}, ${displayPrefix}, ${last4}, ${options.expiresAt ?? null}::timestamptz, ${options.revoked ? sql`now()` : null})`;
  return { id, key, statement };
}

export async function insertApiKey(db: Db, tenantId: string, role: Role, options: { expiresAt?: string; revoked?: boolean } = {}) {
  const { id, key, statement } = apiKeyRows(tenantId, role, options);
  await atomic(db, [statement]);
  return { id, key };
}

export const devSecret = () => process.env.DEV_AUTH_SECRET!;

export function tokenFor(subject: string, email?: string, extra: { ttlSeconds?: number } = {}) {
  return mintDevToken(devSecret(), { subject, email, name: subject, ...extra });
}

/** A tenant of its own per test keeps tests independent on a shared database. */
export async function createTenant(db: Db, label = "t"): Promise<TestTenant> {
  const id = newId();
  const slug = `${label}-${randomUUID().slice(0, 8)}`;
  const roles: Role[] = ["owner", "admin", "staff"];
  const users = Object.fromEntries(
    await Promise.all(
      roles.map(async (role) => {
        const subject = `${slug}-${role}`;
        const email = `${role}@${slug}.test`;
        return [role, { id: newId(), subject, email, token: await tokenFor(subject, email) }] as const;
      }),
    ),
  ) as TestTenant["users"];
  const keyRows = roles.map((role) => [role, apiKeyRows(id, role)] as const);
  await atomic(db, [
    sql`INSERT INTO tenants (id, slug, name) VALUES (${id}, ${slug}, ${`Tenant ${slug}`})`,
    ...roles.map((role) => sql`INSERT INTO users (id, issuer, subject, email) VALUES (${users[role].id}, ${DEV_ISSUER}, ${users[role].subject}, ${users[role].email})`),
    ...roles.map((role) => sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${newId()}, ${id}, ${users[role].id}, ${role})`),
    ...keyRows.map(([, k]) => k.statement),
  ]);
  const keys = Object.fromEntries(keyRows.map(([role, k]) => [role, { id: k.id, key: k.key }])) as TestTenant["keys"];
  return { id, slug, users, keys };
}

export const SAMPLE_ITEM = { name: "Sample mug", sku: "MUG-1", priceCents: 1250, stock: 20, lowStockThreshold: 5, category: "Kitchen" };

let skuCounter = 0;

/** Inserts an item straight into the database (no API), optionally already soft-deleted. */
export async function insertItem(
  db: Db,
  tenantId: string,
  overrides: { deleted?: boolean; stock?: number; name?: string; sku?: string | null; published?: boolean; priceCents?: number; categoryId?: string; lowStockThreshold?: number } = {},
) {
  const id = newId();
  const sku = overrides.sku === undefined ? `SKU-${process.pid}-${++skuCounter}` : overrides.sku;
  await atomic(db, [
    sql`INSERT INTO items (id, tenant_id, name, sku, price_cents, stock, deleted_at, published, category_id, category, low_stock_threshold)
        VALUES (${id}, ${tenantId}, ${overrides.name ?? "Fixture item"}, ${sku}, ${overrides.priceCents ?? 500}, ${overrides.stock ?? 10}, ${overrides.deleted ? sql`now()` : null},
                ${overrides.published ?? false}, ${overrides.categoryId ?? null}, (SELECT name FROM categories WHERE id = ${overrides.categoryId ?? null}), ${overrides.lowStockThreshold ?? 10})`,
  ]);
  return id;
}

/** A category straight into the database; returns its id. */
export async function insertCategory(db: Db, tenantId: string, overrides: { name?: string; slug?: string; parentId?: string | null } = {}) {
  const id = newId();
  const name = overrides.name ?? `Fixture category ${id.slice(-6)}`;
  await atomic(db, [
    sql`INSERT INTO categories (id, tenant_id, name, slug, parent_id) VALUES (${id}, ${tenantId}, ${name}, ${overrides.slug ?? `cat-${id.slice(-12)}`}, ${overrides.parentId ?? null})`,
  ]);
  return id;
}

export async function insertCustomer(db: Db, tenantId: string, name = "Fixture customer") {
  const id = newId();
  await atomic(db, [sql`INSERT INTO customers (id, tenant_id, name) VALUES (${id}, ${tenantId}, ${name})`]);
  return id;
}

let orderCounter = 5000;

/** An order with one line (stock not touched): enough for routes that only need an order to exist. */
export async function insertOrder(db: Db, tenant: TestTenant, status = "pending") {
  const id = newId();
  const itemId = await insertItem(db, tenant.id);
  await atomic(db, [
    sql`INSERT INTO orders (id, tenant_id, number, channel, status, total_cents, units) VALUES (${id}, ${tenant.id}, ${++orderCounter}, 'call', ${status}, 500, 1)`,
    sql`INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, unit_price_cents, quantity, position) VALUES (${newId()}, ${tenant.id}, ${id}, ${itemId}, 'Fixture item', 500, 1, 0)`,
  ]);
  return id;
}

/** A feedback row for a fresh order (straight into the database), e.g. for routes that need one to exist. */
export async function insertFeedback(db: Db, tenant: TestTenant, options: { rating?: number; consent?: boolean; isPublic?: boolean; orderId?: string; comment?: string } = {}) {
  const id = newId();
  const orderId = options.orderId ?? (await insertOrder(db, tenant, "completed"));
  await atomic(db, [
    sql`INSERT INTO feedbacks (id, tenant_id, order_id, source, rating, comment, consent_to_publish, is_public)
        VALUES (${id}, ${tenant.id}, ${orderId}, 'staff', ${options.rating ?? 5}, ${options.comment ?? "Lovely"}, ${options.consent ?? false}, ${options.isPublic ?? false})`,
  ]);
  return { id, orderId };
}

/** A soft-deleted tenant owned by `tenant`'s owner (for the restore route). */
export async function insertDeletedTenant(db: Db, tenant: TestTenant) {
  const id = newId();
  await atomic(db, [
    sql`INSERT INTO tenants (id, slug, name, deleted_at) VALUES (${id}, ${`gone-${randomUUID().slice(0, 8)}`}, 'Deleted shop', now() - interval '1 day')`,
    sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${newId()}, ${id}, ${tenant.users.owner.id}, 'owner')`,
  ]);
  return id;
}

/** Another active member of `tenant` (a user row and its membership); returns the user id. */
export async function insertMember(db: Db, tenant: TestTenant, role: Role = "staff") {
  const userId = newId();
  await atomic(db, [
    sql`INSERT INTO users (id, issuer, subject, email) VALUES (${userId}, ${DEV_ISSUER}, ${`member-${userId}`}, ${`member-${userId}@${tenant.slug}.test`})`,
    sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${newId()}, ${tenant.id}, ${userId}, ${role})`,
  ]);
  return userId;
}

/** A member who signs in with Google (issuer https://accounts.google.com); returns the token subject. */
export async function insertGoogleMember(db: Db, tenant: TestTenant, role: Role) {
  const userId = newId();
  const subject = `google-${userId}`;
  await atomic(db, [
    sql`INSERT INTO users (id, issuer, subject, email) VALUES (${userId}, 'https://accounts.google.com', ${subject}, ${`${subject}@gmail.test`})`,
    sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${newId()}, ${tenant.id}, ${userId}, ${role})`,
  ]);
  return subject;
}

/** An open conversation with a fresh customer (straight into the database). */
export async function insertConversation(db: Db, tenant: TestTenant, channel = "web") {
  const id = newId();
  const customerId = await insertCustomer(db, tenant.id, "Thread customer");
  await atomic(db, [sql`INSERT INTO conversations (id, tenant_id, customer_id, channel) VALUES (${id}, ${tenant.id}, ${customerId}, ${channel})`]);
  return id;
}

/** An outbound message (status `sent`) in a fresh conversation, as the thread's next message. */
export async function insertOutboundMessage(db: Db, tenant: TestTenant) {
  const conversationId = await insertConversation(db, tenant);
  const id = newId();
  await atomic(db, [
    sql`UPDATE conversations SET message_count = 1, last_message_id = ${id}, last_message_at = now() WHERE id = ${conversationId}`,
    sql`INSERT INTO messages (id, tenant_id, conversation_id, seq, channel, direction, text, author_type, author_id, status, sent_at)
        VALUES (${id}, ${tenant.id}, ${conversationId}, 1, 'web', 'outbound', 'Fixture message', 'user', ${tenant.users.staff.id}, 'sent', now())`,
  ]);
  return { id, conversationId };
}

/** A live order-tracking link for a fresh order; returns the token (only its hash is stored). */
export async function insertTrackingLink(db: Db, tenant: TestTenant) {
  const orderId = await insertOrder(db, tenant);
  const { token, hash } = newToken();
  await atomic(db, [sql`INSERT INTO order_tracking_tokens (id, tenant_id, order_id, token_hash) VALUES (${newId()}, ${tenant.id}, ${orderId}, ${hash})`]);
  return { token, orderId };
}

/** A supplier straight into the database (inventory, issue 15). */
export async function insertSupplier(db: Db, tenantId: string, overrides: { name?: string; leadTimeDays?: number | null; deleted?: boolean } = {}) {
  const id = newId();
  await atomic(db, [
    sql`INSERT INTO suppliers (id, tenant_id, name, lead_time_days, deleted_at)
        VALUES (${id}, ${tenantId}, ${overrides.name ?? "Fixture supplier"}, ${overrides.leadTimeDays ?? null}::int, ${overrides.deleted ? sql`now()` : null})`,
  ]);
  return id;
}

let poCounter = 7000;

/** A purchase order with one line of 10 units for a fresh item (straight into the database). */
export async function insertPurchaseOrder(db: Db, tenant: TestTenant, status = "draft", options: { supplierId?: string; itemId?: string; quantity?: number } = {}) {
  const id = newId();
  const supplierId = options.supplierId ?? (await insertSupplier(db, tenant.id));
  const itemId = options.itemId ?? (await insertItem(db, tenant.id));
  const quantity = options.quantity ?? 10;
  await atomic(db, [
    sql`INSERT INTO purchase_orders (id, tenant_id, number, supplier_id, status, total_cents) VALUES (${id}, ${tenant.id}, ${++poCounter}, ${supplierId}, ${status}, ${quantity * 300})`,
    sql`INSERT INTO purchase_order_lines (id, tenant_id, purchase_order_id, item_id, quantity, unit_cost_cents, position) VALUES (${newId()}, ${tenant.id}, ${id}, ${itemId}, ${quantity}, 300, 0)`,
  ]);
  return { id, supplierId, itemId };
}

/**
 * A lot of `quantity` units straight into the database (expired ones too, which receipts refuse):
 * the item's stock and lot_stock rise with it, as initial stock (no ledger row).
 */
export async function insertLot(db: Db, tenantId: string, itemId: string, lot: { code: string; expiresOn: string | null; quantity: number }) {
  const id = newId();
  await atomic(db, [
    sql`INSERT INTO lots (id, tenant_id, item_id, lot_code, expires_on, quantity) VALUES (${id}, ${tenantId}, ${itemId}, ${lot.code}, ${lot.expiresOn}::date, ${lot.quantity})`,
    sql`UPDATE items SET stock = stock + ${lot.quantity}::int, lot_stock = lot_stock + ${lot.quantity}::int WHERE id = ${itemId}`,
  ]);
  return id;
}

/** An open stock-take of one fresh item (expected 10, counted 8), straight into the database. */
export async function insertStockTake(db: Db, tenant: TestTenant) {
  const id = newId();
  const itemId = await insertItem(db, tenant.id, { stock: 10 });
  await atomic(db, [
    sql`INSERT INTO stock_takes (id, tenant_id) VALUES (${id}, ${tenant.id})`,
    sql`INSERT INTO stock_take_lines (stock_take_id, tenant_id, item_id, position, expected_quantity, counted_quantity) VALUES (${id}, ${tenant.id}, ${itemId}, 0, 10, 8)`,
  ]);
  return { id, itemId };
}
