import type { Db } from "../../db/client.js";
import type { Role } from "../../lib/auth/roles.js";
import { insertItem, SAMPLE_ITEM, type TestTenant } from "./fixtures.js";

/**
 * Every route the API serves, with what the shared checks need to exercise it. A test fails when an
 * api/ file exports a method that is missing here, so no route escapes the common checks.
 */
export interface RouteSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  pattern: string;
  role: Role | "public";
  /** Builds a concrete path for a resource owned by `tenant` (default: the pattern itself). */
  target?: (db: Db, tenant: TestTenant) => Promise<string>;
  body?: unknown;
  invalid?: { body: unknown; paths: string[] };
}

const liveItem = async (db: Db, t: TestTenant) => `/api/items/${await insertItem(db, t.id)}`;
const deletedItem = async (db: Db, t: TestTenant) => `/api/items/${await insertItem(db, t.id, { deleted: true })}`;

export const ROUTES: RouteSpec[] = [
  { method: "GET", pattern: "/api/health", role: "public" },
  { method: "GET", pattern: "/api/items", role: "staff" },
  {
    method: "POST",
    pattern: "/api/items",
    role: "admin",
    body: SAMPLE_ITEM,
    invalid: { body: { name: "", priceCents: -5, stock: 1.5, sku: "x".repeat(51), extra: true }, paths: ["name", "priceCents", "stock", "sku", "extra"] },
  },
  { method: "GET", pattern: "/api/items/deleted", role: "staff" },
  { method: "GET", pattern: "/api/items/[id]", role: "staff", target: liveItem },
  {
    method: "PUT",
    pattern: "/api/items/[id]",
    role: "admin",
    target: liveItem,
    body: { stock: 3 },
    invalid: { body: { priceCents: "12", lowStockThreshold: -1 }, paths: ["priceCents", "lowStockThreshold"] },
  },
  { method: "DELETE", pattern: "/api/items/[id]", role: "admin", target: liveItem },
  { method: "POST", pattern: "/api/items/[id]/restore", role: "admin", target: async (db, t) => `${await deletedItem(db, t)}/restore` },
  { method: "DELETE", pattern: "/api/items/[id]/permanent", role: "admin", target: async (db, t) => `${await deletedItem(db, t)}/permanent` },
  { method: "GET", pattern: "/api/members", role: "admin" },
  {
    method: "POST",
    pattern: "/api/members",
    role: "admin",
    body: { email: "new.person@example.com", role: "staff" },
    invalid: { body: { email: "not-an-email", role: "king" }, paths: ["email", "role"] },
  },
  { method: "DELETE", pattern: "/api/members/[userId]", role: "admin", target: async (_db, t) => `/api/members/${t.users.staff.id}` },
];
