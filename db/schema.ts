import { sql } from "drizzle-orm/sql/sql";
import {
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

// Roles and other closed sets are text + CHECK rather than Postgres enums: adding a value to an enum
// cannot run inside a transaction on older servers, and a CHECK is trivially migrated.
export const ROLES = ["owner", "admin", "staff"] as const;
export type Role = (typeof ROLES)[number];

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
};

export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  ...timestamps,
});

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
    lowStockThreshold: integer("low_stock_threshold").notNull().default(10),
    category: text("category"),
    imageUrl: text("image_url"),
    version: integer("version").notNull().default(1),
    ...timestamps,
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "string" }),
  },
  (t) => [
    // SKUs are unique per tenant among live items, case-insensitively ("ab-1" and "AB-1" collide).
    uniqueIndex("items_tenant_sku_live_key")
      .on(t.tenantId, sql`lower(${t.sku})`)
      .where(sql`${t.deletedAt} IS NULL AND ${t.sku} IS NOT NULL`),
    index("items_tenant_live_created_idx").on(t.tenantId, t.createdAt.desc(), t.id.desc()).where(sql`${t.deletedAt} IS NULL`),
    index("items_tenant_deleted_idx").on(t.tenantId, t.deletedAt.desc()).where(sql`${t.deletedAt} IS NOT NULL`),
    check("items_stock_nonnegative", sql`${t.stock} >= 0`),
    check("items_price_nonnegative", sql`${t.priceCents} >= 0`),
    check("items_low_stock_threshold_nonnegative", sql`${t.lowStockThreshold} >= 0`),
  ],
);
