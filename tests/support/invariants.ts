import { createHash, randomUUID } from "node:crypto";
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { call, type CallResult } from "./client.js";
import type { TestTenant } from "./fixtures.js";

// The concurrency invariant suite's machinery (tests/invariants.test.ts runs it).
//
// A run: a few items and orders, then a seeded random mix of every write path — OPERATIONS below —
// all in flight at once, then checks that hold whatever the interleaving was (check()). Every HTTP
// call is recorded as an Entry; the checks compare the database with what the answers claimed:
// every 2xx must be reflected (its version step, its ledger rows, its key) and nothing else may
// have changed anything.
//
// A new write path (checkout, receiving, stock counts) joins by adding one Operation that records
// its calls with the effects they claim (or a new Effect kind and its bookkeeping in check()).

// ---- seeded randomness --------------------------------------------------------------------------

export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, good enough to drive a test, and the same sequence for the same seed. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)]!, chance: (p) => next() < p };
}

// ---- the world and its record -------------------------------------------------------------------

export interface Line {
  itemId: string;
  quantity: number;
}

/** What a call claims to have done if it answered 2xx (and was not a replay). */
export type Effect =
  | { kind: "create"; lines: Line[] }
  | { kind: "edit"; orderId: string; lines: Line[] }
  | { kind: "status"; orderId: string; to: string }
  | { kind: "cancel"; orderId: string }
  | { kind: "adjust"; itemId: string; delta: number }
  | { kind: "set"; itemId: string; stock: number; seenStock: number }
  | { kind: "delete"; itemId: string }
  | { kind: "restore"; itemId: string }
  | { kind: "message"; conversationId: string }
  | { kind: "inbound"; externalId: string }
  | { kind: "receive"; poId: string; lines: Line[]; allowOver: boolean }
  | { kind: "po_status"; poId: string; to: string }
  | { kind: "take_start" }
  | { kind: "take_apply"; takeId: string }
  | { kind: "checkout"; lines: Line[]; payment: string }
  | { kind: "pay"; orderId: string }
  | { kind: "shop_cancel"; orderId: string }
  | { kind: "expire" }
  | { kind: "expire_lots" }
  | { kind: "import"; itemIds: string[] }
  | { kind: "read" };

export interface Entry {
  op: string;
  effect: Effect;
  method: string;
  path: string;
  principal: string;
  key?: string;
  status: number;
  replayed: boolean;
  json: any;
  code?: string;
}

type Role = "owner" | "admin" | "staff";

export interface World {
  db: Db;
  tenant: TestTenant;
  items: { id: string; initial: number; price: number; sku: string }[];
  /** Orders that exist when the mix starts (operations may also create and then act on their own). */
  orders: string[];
  /** Purchase orders in status ordered when the mix starts, with their lines (issue 15: receiving). */
  purchaseOrders: { id: string; lines: Line[] }[];
  entries: Entry[];
  /** The body first used with a (principal, path, key): a key is reused only with its own body. */
  keyBodies: Map<string, unknown>;
  /** A web conversation of a customer with handle "@inv" (issue 16): messages, inbound, mark-read. */
  conversation: string;
  /** Storefront orders placed pay-later in the mix (issue 14): paid, cancelled, expired while the rest runs. */
  webOrders: { id: string; token: string; session: string }[];
  /**
   * Lots made at setup (issue 15): a fresh one per item and, on the first item, one already expired
   * (never sellable; the expire-lots cron writes it off). Receipts add lots L1 and L2 with these dates.
   */
  lots: { id: string; itemId: string; initial: number; expired: boolean }[];
  lotDates: { L1: string; L2: string };
}

/** Sends one request and records it. */
export async function send(
  w: World,
  op: string,
  effect: Effect,
  role: Role,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; key?: string } = {},
): Promise<CallResult> {
  const headers = { ...options.headers, ...(options.key ? { "idempotency-key": options.key } : {}) };
  const result = await call(method, path, { token: w.tenant.users[role].token, body: options.body, headers });
  w.entries.push({
    op,
    effect,
    method,
    path,
    principal: `user:${w.tenant.users[role].id}`,
    key: options.key,
    status: result.status,
    replayed: result.headers.get("idempotent-replayed") === "true",
    json: result.json,
    code: result.json?.error?.code,
  });
  return result;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Sends one shopper request (no token; the principal is the session or the order access token) and records it. */
async function sendPublic(
  w: World,
  op: string,
  effect: Effect,
  method: string,
  path: string,
  options: { body?: unknown; session?: string; token?: string; key?: string } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = {
    ...(options.token ? { "x-order-token": options.token } : options.session ? { "x-session-id": options.session } : {}),
    ...(options.key ? { "idempotency-key": options.key } : {}),
  };
  const result = await call(method, path, { body: options.body, headers });
  w.entries.push({
    op,
    effect,
    method,
    path,
    principal: options.token ? `order-token:${sha256(options.token)}` : `session:${sha256(options.session ?? "")}`,
    key: options.key,
    status: result.status,
    replayed: result.headers.get("idempotent-replayed") === "true",
    json: result.json,
    code: result.json?.error?.code,
  });
  return result;
}

const OK_CARD = "4242 4242 4242 4242";
const DECLINED_CARD = "4000 0000 0000 0002";
const cronSecret = () => process.env.CRON_SECRET;

async function shopPay(w: World, r: Rng, order: World["webOrders"][number]) {
  // Key 0 always pays with a good card, key 1 with a declined one: a key is reused only with its body.
  const k = r.int(0, 1);
  const path = `/api/store/${w.tenant.slug}/orders/${order.id}/pay`;
  const byToken = r.chance(0.5);
  await sendPublic(w, "shop pay", { kind: "pay", orderId: order.id }, "POST", path, {
    body: { cardNumber: k === 0 ? OK_CARD : DECLINED_CARD },
    key: `pay-${k}`,
    ...(byToken ? { token: order.token } : { session: order.session }),
  });
}

async function shopCancel(w: World, r: Rng, order: World["webOrders"][number]) {
  const path = `/api/store/${w.tenant.slug}/orders/${order.id}/cancel`;
  await sendPublic(w, "shop cancel", { kind: "shop_cancel", orderId: order.id }, "POST", path, { session: order.session, key: r.chance(0.5) ? `sc-${r.int(0, 1)}` : undefined });
}

/** Storefront paths (issue 14): checkout (card ok, declined, pay later), pay, shopper cancel, expiry by the sweep and lazily. */
export const SHOP_OPERATIONS: Operation[] = [
  {
    name: "checkout",
    weight: 4,
    async run(w, r) {
      // Mostly one line: an item the mix deleted (and maybe failed to restore) turns the whole checkout into cart_changed.
      const lines = randomLines(w, r).slice(0, r.chance(0.7) ? 1 : 2).map((l) => ({ itemId: l.itemId, quantity: r.int(1, 2) }));
      let session: string | undefined;
      for (const line of lines) {
        const added = await call("POST", `/api/store/${w.tenant.slug}/cart/items`, { body: line, headers: session ? { "x-session-id": session } : {} });
        if (added.status !== 201) return; // the item was deleted meanwhile
        session = added.headers.get("x-session-id")!;
      }
      const payment = r.pick([{ method: "card", cardNumber: OK_CARD }, { method: "card", cardNumber: DECLINED_CARD }, { method: "pay_later" }, { method: "pay_later" }]);
      const path = `/api/store/${w.tenant.slug}/checkout`;
      const body = { customer: { name: "Mix shopper", email: `mix${r.int(0, 3)}@example.com` }, payment };
      const key = `co-${r.int(0, 1e9)}`;
      // Sometimes the client retries at once with the same key (a double click).
      const results = await Promise.all(
        Array.from({ length: r.chance(0.25) ? 2 : 1 }, () => sendPublic(w, "checkout", { kind: "checkout", lines, payment: String(payment.method) }, "POST", path, { body, session, key })),
      );
      const placed = results.find((x) => x.status === 201 && x.json.order.status === "pending" && x.headers.get("idempotent-replayed") !== "true");
      if (!placed) return;
      const order = { id: String(placed.json.order.id), token: String(placed.json.accessToken), session: session! };
      w.webOrders.push(order);
      if (r.chance(0.4)) await (r.chance(0.6) ? shopPay(w, r, order) : shopCancel(w, r, order));
    },
  },
  {
    name: "shop pay",
    weight: 1.5,
    run: async (w, r) => {
      if (w.webOrders.length) await shopPay(w, r, r.pick(w.webOrders));
    },
  },
  {
    name: "shop cancel",
    weight: 1,
    run: async (w, r) => {
      if (w.webOrders.length) await shopCancel(w, r, r.pick(w.webOrders));
    },
  },
  {
    // A reservation runs out; the sweep, a shopper read and a late pay race to it.
    name: "expire",
    weight: 1,
    async run(w, r) {
      if (!w.webOrders.length) return;
      const order = r.pick(w.webOrders);
      await query(w.db, sql`UPDATE orders SET reserved_until = now() WHERE id = ${order.id} AND status = 'pending'`);
      await Promise.all([
        call("POST", "/api/cron/expire-reservations", { token: cronSecret() }).then((res) => {
          w.entries.push({ op: "expire", effect: { kind: "expire" }, method: "POST", path: "/api/cron/expire-reservations", principal: "cron", status: res.status, replayed: false, json: res.json, code: res.json?.error?.code });
        }),
        sendPublic(w, "expire", { kind: "read" }, "GET", `/api/store/${w.tenant.slug}/orders/${order.id}`, { token: order.token }),
        r.chance(0.5) ? shopPay(w, r, order) : Promise.resolve(),
      ]);
    },
  },
];

/** Sometimes an Idempotency-Key from a small pool (so keys get reused), with the body it was first used with. */
function keyed<B>(w: World, r: Rng, role: Role, path: string, pool: string, body: B): { key?: string; body: B } {
  if (!r.chance(0.4)) return { body };
  const key = `${pool}-${r.int(0, 3)}`;
  const memo = `${role}|${path}|${key}`;
  if (!w.keyBodies.has(memo)) w.keyBodies.set(memo, body);
  return { key, body: w.keyBodies.get(memo) as B };
}

function randomLines(w: World, r: Rng): Line[] {
  const count = r.int(1, Math.min(3, w.items.length));
  const chosen = new Set<string>();
  while (chosen.size < count) chosen.add(r.pick(w.items).id);
  return [...chosen].map((itemId) => ({ itemId, quantity: r.int(1, 4) }));
}

const FLOW = ["pending", "confirmed", "preparing", "ready", "completed"];

// ---- operations ---------------------------------------------------------------------------------

export interface Operation {
  name: string;
  weight: number;
  run(w: World, r: Rng): Promise<void>;
}

/**
 * Bulk import (upsert by SKU) setting the stock of one or two items: an absolute set, written to the
 * ledger as the difference from the stock the import's lock found.
 */
async function importStock(w: World, r: Rng) {
  const first = r.pick(w.items);
  const second = r.pick(w.items);
  const chosen = first.id === second.id ? [first] : [first, second];
  const path = "/api/items/import?mode=upsert";
  const { key, body } = keyed(w, r, "admin", path, "import", chosen.map((item) => ({ sku: item.sku, stock: r.int(0, 30) })));
  const itemIds = body.map((row) => w.items.find((item) => item.sku === row.sku)!.id);
  await send(w, "import stock", { kind: "import", itemIds }, "admin", "POST", path, { body, key });
}

async function edit(w: World, r: Rng, orderId: string) {
  const lines = randomLines(w, r);
  const headers: Record<string, string> = {};
  if (r.chance(0.4)) {
    const seen = await send(w, "edit lines", { kind: "read" }, "staff", "GET", `/api/orders/${orderId}`);
    if (seen.headers.get("etag")) headers["if-match"] = seen.headers.get("etag")!;
  }
  await send(w, "edit lines", { kind: "edit", orderId, lines }, r.pick(["staff", "admin"] as const), "PUT", `/api/orders/${orderId}`, { body: { items: lines }, headers });
}

async function cancel(w: World, r: Rng, orderId: string) {
  const role = r.pick(["staff", "admin", "owner"] as const);
  const path = `/api/orders/${orderId}/cancel`;
  const { key } = keyed(w, r, role, path, "cancel", null);
  const headers: Record<string, string> = {};
  if (r.chance(0.3)) {
    const seen = await send(w, "cancel", { kind: "read" }, "staff", "GET", `/api/orders/${orderId}`);
    if (seen.headers.get("etag")) headers["if-match"] = seen.headers.get("etag")!;
  }
  await send(w, "cancel", { kind: "cancel", orderId }, role, "POST", path, { key, headers });
}

/** Receives a random part of a purchase order's lines (sometimes more than outstanding, sometimes allowOver). */
async function receive(w: World, r: Rng) {
  const po = r.pick(w.purchaseOrders);
  const count = r.int(1, po.lines.length);
  // Some lines go into lot L1 or L2 (created by the first receipt naming them, topped up after).
  const lines = po.lines.slice(0, count).map((l) => {
    const lot = r.pick([null, null, "L1", "L2"] as const);
    return { itemId: l.itemId, quantity: r.int(1, 6), ...(lot ? { lotCode: lot, expiresOn: w.lotDates[lot] } : {}) };
  });
  const path = `/api/purchase-orders/${po.id}/receipts`;
  const role = r.pick(["staff", "admin"] as const);
  const { key, body } = keyed(w, r, role, path, "receive", { lines, allowOver: r.chance(0.2) });
  await send(w, "receive", { kind: "receive", poId: po.id, lines: body.lines, allowOver: body.allowOver }, role, "POST", path, { body, key });
}

/** The expire-lots cron for this tenant only (?tenant=: other suites' tenants are not this run's). */
async function expire(w: World) {
  const path = `/api/cron/expire-lots?tenant=${w.tenant.id}`;
  const result = await call("POST", path, { headers: { authorization: `Bearer ${process.env.CRON_SECRET}` } });
  w.entries.push({ op: "expire lots", effect: { kind: "expire_lots" }, method: "POST", path, principal: "cron", status: result.status, replayed: false, json: result.json, code: result.json?.error?.code });
}

export const OPERATIONS: Operation[] = [
  { name: "receive", weight: 2, run: receive },
  { name: "expire lots", weight: 0.6, run: (w) => expire(w) },
  {
    // A count of some items, applied after a pause in which the rest of the mix moves their stock.
    name: "stock-take",
    weight: 1,
    async run(w, r) {
      const counted: { itemId: string; lotId?: string; countedQuantity: number }[] = randomLines(w, r).map((l) => ({ itemId: l.itemId, countedQuantity: r.int(0, 30) }));
      // Sometimes a lot too (issue 15): its own line, next to the item's unlotted one.
      if (r.chance(0.6)) {
        const lot = r.pick(w.lots);
        counted.push({ itemId: lot.itemId, lotId: lot.id, countedQuantity: r.int(0, 8) });
      }
      const started = await send(w, "stock-take", { kind: "take_start" }, "admin", "POST", "/api/stock-takes", { body: { lines: counted } });
      if (started.status !== 201) return;
      await new Promise((resolve) => setTimeout(resolve, r.int(0, 20)));
      await send(w, "stock-take", { kind: "take_apply", takeId: started.json.id }, "admin", "POST", `/api/stock-takes/${started.json.id}/apply`);
    },
  },
  {
    name: "close purchase order",
    weight: 0.3,
    async run(w, r) {
      const po = r.pick(w.purchaseOrders);
      await send(w, "close purchase order", { kind: "po_status", poId: po.id, to: "closed" }, "admin", "PATCH", `/api/purchase-orders/${po.id}/status`, { body: { status: "closed" } });
    },
  },
  {
    name: "create order",
    weight: 3,
    async run(w, r) {
      const role = r.pick(["staff", "admin"] as const);
      const { key, body } = keyed(w, r, role, "/api/orders", "order", { channel: r.pick(["web", "call", "instagram"]), items: randomLines(w, r) });
      const created = await send(w, "create order", { kind: "create", lines: body.items }, role, "POST", "/api/orders", { body, key });
      // Sometimes act on the new order at once, racing the rest of the mix.
      if (created.status === 201 && r.chance(0.3)) await (r.chance(0.5) ? edit(w, r, created.json.id) : cancel(w, r, created.json.id));
    },
  },
  { name: "edit lines", weight: 3, run: (w, r) => edit(w, r, r.pick(w.orders)) },
  {
    name: "advance status",
    weight: 2,
    async run(w, r) {
      const orderId = r.pick(w.orders);
      const seen = await send(w, "advance status", { kind: "read" }, "staff", "GET", `/api/orders/${orderId}`);
      const next = FLOW[FLOW.indexOf(seen.json?.status) + 1] ?? r.pick(FLOW.slice(1));
      const headers: Record<string, string> = r.chance(0.5) && seen.headers.get("etag") ? { "if-match": seen.headers.get("etag")! } : {};
      await send(w, "advance status", { kind: "status", orderId, to: next }, "staff", "PATCH", `/api/orders/${orderId}/status`, { body: { status: next }, headers });
    },
  },
  { name: "cancel", weight: 1.5, run: (w, r) => cancel(w, r, r.pick(w.orders)) },
  {
    name: "adjust stock",
    weight: 2,
    async run(w, r) {
      const itemId = r.pick(w.items).id;
      const path = `/api/items/${itemId}/stock-adjustments`;
      const delta = r.chance(0.5) ? r.int(1, 6) : -r.int(1, 6);
      const { key, body } = keyed(w, r, "admin", path, "adjust", { delta, reason: "mix" });
      await send(w, "adjust stock", { kind: "adjust", itemId, delta: body.delta }, "admin", "POST", path, { body, key });
    },
  },
  {
    name: "set stock",
    weight: 1,
    async run(w, r) {
      // Sometimes through a bulk import instead (drawn inside this operation, so the other operations
      // of a seed's mix stay what they were).
      if (r.chance(0.4)) return importStock(w, r);
      const itemId = r.pick(w.items).id;
      const seen = await send(w, "set stock", { kind: "read" }, "admin", "GET", `/api/items/${itemId}`);
      if (seen.status !== 200) return;
      const stock = r.int(0, 30);
      await send(w, "set stock", { kind: "set", itemId, stock, seenStock: seen.json.stock }, "admin", "PUT", `/api/items/${itemId}`, {
        body: { stock },
        headers: { "if-match": seen.headers.get("etag")! },
      });
    },
  },
  {
    name: "post message",
    weight: 1,
    async run(w, r) {
      const role = r.pick(["staff", "admin"] as const);
      const path = `/api/conversations/${w.conversation}/messages`;
      const { key, body } = keyed(w, r, role, path, "message", { text: `staff ${r.int(0, 1e6)}` });
      await send(w, "post message", { kind: "message", conversationId: w.conversation }, role, "POST", path, { body, key });
    },
  },
  {
    // A small pool of external ids, so redeliveries race first deliveries.
    name: "inbound message",
    weight: 1,
    async run(w, r) {
      const externalId = `inv-${r.int(0, 5)}`;
      await send(w, "inbound message", { kind: "inbound", externalId }, "staff", "POST", "/api/integrations/messages", {
        body: { channel: "web", externalId, from: { handle: "@inv" }, text: `customer ${externalId}` },
      });
    },
  },
  { name: "mark read", weight: 0.5, run: (w) => send(w, "mark read", { kind: "read" }, "staff", "POST", `/api/conversations/${w.conversation}/read`, { body: {} }).then(() => {}) },
  {
    name: "delete and restore item",
    weight: 0.7,
    async run(w, r) {
      const itemId = r.pick(w.items).id;
      await send(w, "delete and restore item", { kind: "delete", itemId }, "admin", "DELETE", `/api/items/${itemId}`);
      await new Promise((resolve) => setTimeout(resolve, r.int(0, 5)));
      await send(w, "delete and restore item", { kind: "restore", itemId }, "admin", "POST", `/api/items/${itemId}/restore`);
    },
  },
];

/** Statuses each effect may answer in a mix (anything else, a 5xx above all, fails the run). */
const ALLOWED: Record<Effect["kind"], number[]> = {
  create: [201, 409, 422],
  edit: [200, 409, 412, 422],
  status: [200, 409, 412],
  cancel: [200, 409, 412],
  adjust: [201, 404, 409],
  set: [200, 404, 409, 412],
  delete: [200, 404, 409],
  restore: [200, 404, 409],
  message: [201],
  inbound: [200, 201],
  receive: [201, 409],
  po_status: [200, 409],
  // A count naming an item deleted meanwhile is 422.
  take_start: [201, 422],
  take_apply: [200],
  checkout: [201, 402, 409, 422],
  pay: [200, 402, 409],
  shop_cancel: [200, 409],
  expire: [200],
  expire_lots: [200],
  // 422: an item of the file is deleted at the moment (its SKU matches nothing); 409: deleted while the import ran.
  import: [200, 409, 422],
  read: [200, 404],
};

export function pickOperation(r: Rng, operations = OPERATIONS): Operation {
  const total = operations.reduce((s, o) => s + o.weight, 0);
  let x = r.next() * total;
  for (const o of operations) if ((x -= o.weight) < 0) return o;
  return operations[operations.length - 1]!;
}

// ---- a run --------------------------------------------------------------------------------------

export interface RunOptions {
  seed: number;
  items: number;
  orders: number;
  operations: number;
}

export async function setUp(db: Db, tenant: TestTenant, r: Rng, options: RunOptions, insertItem: (db: Db, tenantId: string, o: { stock: number }) => Promise<string>): Promise<World> {
  const customer = await call("POST", "/api/customers", { token: tenant.users.staff.token, body: { name: "Invariant customer", socialHandle: "@inv" } });
  const conversation = await call("POST", "/api/conversations", { token: tenant.users.staff.token, body: { customerId: customer.json.id, channel: "web" } });
  if (conversation.status !== 201) throw new Error(`setup conversation failed: ${conversation.status} ${conversation.text}`);
  const day = async (n: number) => String((await query(db, sql`SELECT ((now() AT TIME ZONE timezone)::date + ${n}::int)::text AS d FROM tenants WHERE id = ${tenant.id}`))[0]!.d);
  const w: World = {
    db, tenant, items: [], orders: [], purchaseOrders: [], entries: [], keyBodies: new Map(), conversation: conversation.json.id,
    webOrders: [], lots: [], lotDates: { L1: await day(5), L2: await day(15) },
  };
  process.env.CRON_SECRET ??= "invariant-cron-secret-0123456789abcdef";
  for (let i = 0; i < options.items; i++) {
    const initial = r.int(8, 40);
    const id = await insertItem(db, tenant.id, { stock: initial });
    const [row] = await query(db, sql`SELECT sku FROM items WHERE id = ${id}`);
    w.items.push({ id, initial, price: 500, sku: String(row!.sku) });
  }
  // Lots (no draws from r: seeds keep their mix): 4 units expiring in 10 days on every item, and 5
  // already expired on the first. Initial stock includes them (stock = unlotted + lots from the start).
  for (const [k, item] of w.items.entries()) {
    for (const lot of k === 0 ? [{ code: "F", quantity: 4, days: 10 }, { code: "X", quantity: 5, days: -2 }] : [{ code: "F", quantity: 4, days: 10 }]) {
      const id = randomUUID();
      await query(db, sql`INSERT INTO lots (id, tenant_id, item_id, lot_code, expires_on, quantity) VALUES (${id}, ${tenant.id}, ${item.id}, ${lot.code}, ${await day(lot.days)}::date, ${lot.quantity})`);
      await query(db, sql`UPDATE items SET stock = stock + ${lot.quantity}::int, lot_stock = lot_stock + ${lot.quantity}::int WHERE id = ${item.id}`);
      item.initial += lot.quantity;
      w.lots.push({ id, itemId: item.id, initial: lot.quantity, expired: lot.days < 0 });
    }
  }
  // The shop sells the same items (checkouts in the mix).
  await query(db, sql`UPDATE items SET published = true WHERE tenant_id = ${tenant.id}`);
  // Two ordered purchase orders over every item, 12 units a line (no draws from r: seeds keep their mix).
  const supplierId = randomUUID();
  await query(db, sql`INSERT INTO suppliers (id, tenant_id, name) VALUES (${supplierId}, ${tenant.id}, 'Mix supplier')`);
  for (let k = 0; k < 2; k++) {
    const id = randomUUID();
    const lines = w.items.map((item) => ({ itemId: item.id, quantity: 12 }));
    await query(db, sql`INSERT INTO purchase_orders (id, tenant_id, number, supplier_id, status, total_cents) VALUES (${id}, ${tenant.id}, ${k + 1}, ${supplierId}, 'ordered', 0)`);
    for (const [position, line] of lines.entries()) {
      await query(db, sql`INSERT INTO purchase_order_lines (id, tenant_id, purchase_order_id, item_id, quantity, unit_cost_cents, position)
                          VALUES (${randomUUID()}, ${tenant.id}, ${id}, ${line.itemId}, ${line.quantity}, 100, ${position})`);
    }
    w.purchaseOrders.push({ id, lines });
  }
  while (w.orders.length < options.orders) {
    const lines = randomLines(w, r).map((l) => ({ ...l, quantity: 1 }));
    const created = await send(w, "setup", { kind: "create", lines }, "staff", "POST", "/api/orders", { body: { channel: "call", items: lines } });
    if (created.status !== 201) throw new Error(`setup order failed: ${created.status} ${created.text}`);
    w.orders.push(created.json.id);
  }
  return w;
}

/** Starts every operation at once; each draws from its own generator, so the mix depends only on the seed. */
export async function storm(w: World, options: RunOptions, operations = OPERATIONS, shop = SHOP_OPERATIONS): Promise<void> {
  await Promise.all([
    ...Array.from({ length: options.operations }, async (_, i) => {
      const r = seeded(options.seed * 7919 + i + 1);
      const op = pickOperation(r, operations);
      await op.run(w, r);
    }),
    // The storefront's paths on top (issue 14), from generators of their own, so each seed's mix of
    // the other paths stays what it was.
    ...Array.from({ length: shop.length ? Math.ceil(options.operations / 5) : 0 }, async (_, i) => {
      const r = seeded(options.seed * 104_729 + i + 1);
      await pickOperation(r, shop).run(w, r);
    }),
  ]);
}

// ---- the checks ---------------------------------------------------------------------------------

const num = (v: unknown) => Number(v);
const linesKey = (lines: Line[]) =>
  JSON.stringify(
    [...lines].sort((a, b) => (a.itemId < b.itemId ? -1 : 1)).map((l) => [l.itemId, l.quantity]),
  );

/** Every failed invariant, as sentences (empty: the run is consistent). */
export async function check(w: World): Promise<string[]> {
  const problems: string[] = [];
  const t = w.tenant.id;
  const fail = (message: string) => problems.push(message);

  for (const e of w.entries) {
    if (!ALLOWED[e.effect.kind].includes(e.status) || /concurrent change|conflicts with the current state/.test(e.json?.error?.message ?? "")) fail(`${e.method} ${e.path} (${e.op}) answered ${e.status} ${e.code ?? ""}: ${e.json?.error?.message ?? ""}`);
  }
  const ok = (e: Entry) => e.status >= 200 && e.status < 300 && !e.replayed && e.effect.kind !== "read";
  const done = w.entries.filter(ok);

  const items = await query(w.db, sql`SELECT id, stock, version FROM items WHERE tenant_id = ${t}`);
  const moves = await query(w.db, sql`SELECT id, item_id, order_id, reason, delta FROM stock_movements WHERE tenant_id = ${t}`);
  const orders = await query(w.db, sql`SELECT id, status, version, units, total_cents FROM orders WHERE tenant_id = ${t}`);
  const lines = await query(w.db, sql`SELECT order_id, item_id, quantity, unit_price_cents FROM order_lines WHERE tenant_id = ${t}`);
  const keys = await query(w.db, sql`SELECT principal, scope, key FROM idempotency_keys WHERE tenant_id = ${t}`);

  const orderById = new Map(orders.map((o) => [String(o.id), o]));
  const linesOf = (orderId: string) => lines.filter((l) => String(l.order_id) === orderId).map((l) => ({ itemId: String(l.item_id), quantity: num(l.quantity) }));
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

  // Stock: never negative; explained by the ledger; equal to initial − live order units + other movements.
  for (const item of w.items) {
    const row = items.find((i) => String(i.id) === item.id);
    if (!row) {
      fail(`item ${item.id} vanished`);
      continue;
    }
    const stock = num(row.stock);
    const mine = moves.filter((m) => String(m.item_id) === item.id);
    const ledger = sum(mine.map((m) => num(m.delta)));
    const other = sum(mine.filter((m) => !["order", "edit", "cancel", "release"].includes(String(m.reason))).map((m) => num(m.delta)));
    const live = sum(lines.filter((l) => String(l.item_id) === item.id && orderById.get(String(l.order_id))?.status !== "cancelled").map((l) => num(l.quantity)));
    if (stock < 0) fail(`item ${item.id}: stock ${stock} < 0`);
    if (stock !== item.initial + ledger) fail(`item ${item.id}: stock ${stock} ≠ initial ${item.initial} + ledger ${ledger}`);
    if (stock !== item.initial - live + other) fail(`item ${item.id}: stock ${stock} ≠ initial ${item.initial} − live units ${live} + other movements ${other}`);

    // Its version moved once per ledger row, per delete/restore, and per stock set that changed nothing.
    const writes = done.filter((e) => "itemId" in e.effect && e.effect.itemId === item.id);
    const flat = writes.filter((e) => e.effect.kind === "delete" || e.effect.kind === "restore" || (e.effect.kind === "set" && e.effect.stock === e.effect.seenStock)).length;
    if (num(row.version) !== 1 + mine.length + flat) fail(`item ${item.id}: version ${row.version} ≠ 1 + ${mine.length} ledger rows + ${flat} other writes`);

    // Adjustments: exactly the movements the 201s returned.
    const adjusted = writes.filter((e) => e.effect.kind === "adjust").map((e) => `${e.json.movement.id}:${e.json.movement.delta}`).sort();
    const adjustments = mine.filter((m) => m.reason === "adjustment").map((m) => `${m.id}:${num(m.delta)}`).sort();
    if (JSON.stringify(adjusted) !== JSON.stringify(adjustments)) fail(`item ${item.id}: adjustment rows ${adjustments} ≠ answered ${adjusted}`);
    // Sets: one row per set that changed the stock, of the difference from the version it named.
    const setDeltas = writes.flatMap((e) => (e.effect.kind === "set" && e.effect.stock !== e.effect.seenStock ? [e.effect.stock - e.effect.seenStock] : [])).sort((a, b) => a - b);
    const setRows = mine.filter((m) => m.reason === "set").map((m) => num(m.delta)).sort((a, b) => a - b);
    if (JSON.stringify(setDeltas) !== JSON.stringify(setRows)) fail(`item ${item.id}: set rows ${setRows} ≠ answered ${setDeltas}`);
    // Counts: one row per applied stock-take line that moved the item, of the delta it answered.
    const countDeltas = done
      .filter((e) => e.effect.kind === "take_apply")
      .flatMap((e) => (e.json.lines as { itemId: string; appliedDelta: number }[]).filter((l) => l.itemId === item.id && l.appliedDelta !== 0).map((l) => l.appliedDelta))
      .sort((a, b) => a - b);
    const countRows = mine.filter((m) => m.reason === "count").map((m) => num(m.delta)).sort((a, b) => a - b);
    if (JSON.stringify(countDeltas) !== JSON.stringify(countRows)) fail(`item ${item.id}: count rows ${countRows} ≠ answered ${countDeltas}`);
    // Imports: at most one ledger row per answered import naming the item (none when it set the stock it found).
    const imports = done.filter((e) => e.effect.kind === "import" && e.effect.itemIds.includes(item.id)).length;
    const importRows = mine.filter((m) => m.reason === "import").length;
    if (importRows > imports) fail(`item ${item.id}: ${importRows} import rows for ${imports} answered imports`);
  }

  // Orders: exactly the ones answered 201 (replays point at one of them).
  const createdIds = new Set(done.filter((e) => e.effect.kind === "create").map((e) => String(e.json.id)));
  // Storefront orders: every checkout answered 201 (confirmed or pending) or 402 (cancelled, payment_failed).
  const fresh = (e: Entry) => !e.replayed && e.effect.kind === "checkout";
  const webIds = new Set([
    ...w.entries.filter((e) => fresh(e) && e.status === 201).map((e) => String(e.json.order.id)),
    ...w.entries.filter((e) => fresh(e) && e.status === 402).map((e) => String(e.json.error.details[0].orderId)),
  ]);
  if (createdIds.size + webIds.size !== orders.length) fail(`${orders.length} orders in the tenant, ${createdIds.size} answered 201 and ${webIds.size} checkouts`);
  problems.push(...(await checkWebOrders(w, webIds, moves)));
  for (const e of w.entries.filter((x) => x.effect.kind === "create" && x.replayed && !createdIds.has(String(x.json?.id)))) fail(`replay of ${e.key} answered unknown order ${e.json?.id}`);

  for (const order of orders) {
    const id = String(order.id);
    if (webIds.has(id)) continue;
    const own = linesOf(id);
    if (new Set(own.map((l) => l.itemId)).size !== own.length) fail(`order ${id}: several lines for one item`);
    const units = sum(own.map((l) => l.quantity));
    const total = sum(lines.filter((l) => String(l.order_id) === id).map((l) => num(l.quantity) * num(l.unit_price_cents)));
    if (num(order.units) !== units || num(order.total_cents) !== total) fail(`order ${id}: units ${order.units}/total ${order.total_cents} ≠ lines ${units}/${total}`);

    // Each 2xx write was one version step; nothing else moved it.
    const writes = done.filter((e) => "orderId" in e.effect && e.effect.orderId === id);
    const versions = writes.map((e) => num(e.json.version)).sort((a, b) => a - b);
    const expected = Array.from({ length: writes.length }, (_, i) => i + 2);
    if (num(order.version) !== 1 + writes.length || JSON.stringify(versions) !== JSON.stringify(expected)) {
      fail(`order ${id}: version ${order.version}, answered versions [${versions}] for ${writes.length} writes`);
    }
    // Its lines are the last edit's (by version), else the creation's; its status the last status write's.
    const byVersion = (a: Entry, b: Entry) => num(b.json.version) - num(a.json.version);
    const lastEdit = writes.filter((e) => e.effect.kind === "edit").sort(byVersion)[0];
    const creation = done.find((e) => e.effect.kind === "create" && String(e.json.id) === id);
    const wanted = lastEdit ? (lastEdit.effect as { lines: Line[] }).lines : creation ? (creation.effect as { lines: Line[] }).lines : undefined;
    if (wanted && linesKey(wanted) !== linesKey(own)) fail(`order ${id}: lines ${linesKey(own)} ≠ last answered ${linesKey(wanted)}`);
    const lastStatus = writes.filter((e) => e.effect.kind === "status" || e.effect.kind === "cancel").sort(byVersion)[0];
    const status = lastStatus ? (lastStatus.effect.kind === "cancel" ? "cancelled" : (lastStatus.effect as { to: string }).to) : "pending";
    if (order.status !== status) fail(`order ${id}: status ${order.status} ≠ last answered ${status}`);
    if (writes.filter((e) => e.effect.kind === "cancel").length > (order.status === "cancelled" ? 1 : 0)) fail(`order ${id}: cancelled more than once`);

    // Its ledger: taken = its current lines; returned = the same if cancelled, else nothing.
    const orderMoves = moves.filter((m) => String(m.order_id) === id);
    if (!lastEdit && orderMoves.some((m) => m.reason === "edit")) fail(`order ${id}: edit movements without a successful edit`);
    for (const itemId of new Set([...own.map((l) => l.itemId), ...orderMoves.map((m) => String(m.item_id))])) {
      const qty = own.find((l) => l.itemId === itemId)?.quantity ?? 0;
      const taken = -sum(orderMoves.filter((m) => String(m.item_id) === itemId && m.reason !== "cancel").map((m) => num(m.delta)));
      const returned = sum(orderMoves.filter((m) => String(m.item_id) === itemId && m.reason === "cancel").map((m) => num(m.delta)));
      if (taken !== qty || returned !== (order.status === "cancelled" ? qty : 0)) fail(`order ${id}, item ${itemId}: line ${qty}, ledger took ${taken} and returned ${returned}`);
    }
  }

  // Conversations: every answered message is stored once, in a dense sequence the thread's counters
  // agree with; one message per external id; the reader's unread count is exact.
  const stored = await query(w.db, sql`SELECT id, seq, direction, external_id FROM messages WHERE tenant_id = ${t} ORDER BY seq`);
  const [thread] = await query(w.db, sql`SELECT message_count, last_inbound_seq FROM conversations WHERE id = ${w.conversation}`);
  const seqs = stored.map((m) => num(m.seq));
  if (JSON.stringify(seqs) !== JSON.stringify(seqs.map((_, i) => i + 1))) fail(`message sequence not dense: [${seqs}]`);
  if (num(thread!.message_count) !== stored.length) fail(`thread message_count ${thread!.message_count} ≠ ${stored.length} messages`);
  const inboundSeqs = stored.filter((m) => m.direction === "inbound").map((m) => num(m.seq));
  if (num(thread!.last_inbound_seq) !== (inboundSeqs.at(-1) ?? 0)) fail(`thread last_inbound_seq ${thread!.last_inbound_seq} ≠ ${inboundSeqs.at(-1) ?? 0}`);
  const answered = done.filter((e) => e.effect.kind === "message" || (e.effect.kind === "inbound" && e.status === 201)).map((e) => String(e.effect.kind === "message" ? e.json.id : e.json.message.id));
  if (JSON.stringify([...new Set(answered)].sort()) !== JSON.stringify(stored.map((m) => String(m.id)).sort()) || new Set(answered).size !== answered.length) fail(`stored messages ≠ the ${answered.length} answered 201`);
  const externals = stored.flatMap((m) => (m.external_id ? [String(m.external_id)] : []));
  if (new Set(externals).size !== externals.length) fail(`an external id stored twice: [${externals}]`);
  for (const e of w.entries.filter((x) => x.effect.kind === "inbound" && x.status === 200)) {
    const first = stored.find((m) => m.external_id === (e.effect as { externalId: string }).externalId);
    if (String(first?.id) !== String(e.json.message.id)) fail(`redelivery of ${(e.effect as { externalId: string }).externalId} answered another message`);
  }
  const [marker] = await query(w.db, sql`SELECT read_seq FROM conversation_reads WHERE conversation_id = ${w.conversation} AND reader_id = ${`user:${w.tenant.users.staff.id}`}`);
  const unread = inboundSeqs.filter((seq) => seq > num(marker?.read_seq ?? 0)).length;
  const seen = await call("GET", `/api/conversations/${w.conversation}`, { token: w.tenant.users.staff.token });
  if (seen.json?.unreadCount !== unread) fail(`unread count ${seen.json?.unreadCount} ≠ ${unread} inbound messages after the marker`);
  // Purchase orders: received quantities are exactly the answered receipts; never over the order
  // without allowOver; the status follows from them; one version step per answered write.
  const poRows = await query(w.db, sql`SELECT id, status, version FROM purchase_orders WHERE tenant_id = ${t}`);
  const poLines = await query(w.db, sql`SELECT purchase_order_id, item_id, quantity, received_quantity FROM purchase_order_lines WHERE tenant_id = ${t}`);
  const receiptMoves = await query(w.db, sql`SELECT purchase_order_id, item_id, delta FROM stock_movements WHERE tenant_id = ${t} AND reason = 'receipt'`);
  for (const po of w.purchaseOrders) {
    const row = poRows.find((p) => String(p.id) === po.id)!;
    const writes = done.filter((e) => "poId" in e.effect && e.effect.poId === po.id);
    const receipts = writes.filter((e) => e.effect.kind === "receive");
    const closed = writes.some((e) => e.effect.kind === "po_status");
    if (num(row.version) !== 1 + writes.length) fail(`purchase order ${po.id}: version ${row.version} ≠ 1 + ${writes.length} answered writes`);
    let complete = true;
    let any = false;
    for (const line of poLines.filter((l) => String(l.purchase_order_id) === po.id)) {
      const itemId = String(line.item_id);
      const answered = sum(receipts.flatMap((e) => (e.effect as { lines: Line[] }).lines.filter((l) => l.itemId === itemId).map((l) => l.quantity)));
      const ledger = sum(receiptMoves.filter((m) => String(m.purchase_order_id) === po.id && String(m.item_id) === itemId).map((m) => num(m.delta)));
      const received = num(line.received_quantity);
      if (received !== answered || ledger !== answered) fail(`purchase order ${po.id}, item ${itemId}: received ${received}, ledger ${ledger}, answered receipts ${answered}`);
      const overAllowed = receipts.some((e) => (e.effect as { allowOver: boolean }).allowOver);
      if (received > num(line.quantity) && !overAllowed) fail(`purchase order ${po.id}, item ${itemId}: received ${received} of ${line.quantity} without allowOver`);
      if (received < num(line.quantity)) complete = false;
      if (received > 0) any = true;
    }
    const lastReceipt = receipts.sort((a, b) => num(b.json.purchaseOrder.version) - num(a.json.purchaseOrder.version))[0];
    const closedAfter = closed && (!lastReceipt || writes.some((e) => e.effect.kind === "po_status" && num(e.json.version) > num(lastReceipt.json.purchaseOrder.version)));
    const wanted = closedAfter ? "closed" : complete ? "received" : any ? "partially_received" : "ordered";
    if (row.status !== wanted) fail(`purchase order ${po.id}: status ${row.status} ≠ ${wanted} from its answered writes`);
  }

  // Lots (issue 15): per item stock = Σ lots + unlotted, unlotted ≥ 0; per lot, quantity = initial +
  // its ledger rows (receipts, counts, write-offs) − what live orders hold of it; no lot negative;
  // allocations only on live orders, never more than the line; the expired lot never sold, written
  // off at most once (exactly once if a run of the cron answered).
  const lotRows = await query(w.db, sql`SELECT id, item_id, lot_code, quantity, expires_on < (now() AT TIME ZONE (SELECT timezone FROM tenants WHERE id = ${t}))::date AS expired FROM lots WHERE tenant_id = ${t}`);
  const lotStock = await query(w.db, sql`SELECT id, stock, lot_stock FROM items WHERE tenant_id = ${t}`);
  const lotMoves = await query(w.db, sql`SELECT lot_id, reason, delta FROM stock_movements WHERE tenant_id = ${t} AND lot_id IS NOT NULL`);
  const allocs = await query(w.db, sql`SELECT order_id, item_id, lot_id, quantity FROM order_lot_allocations WHERE tenant_id = ${t}`);
  for (const item of lotStock) {
    const inLots = sum(lotRows.filter((l) => String(l.item_id) === String(item.id)).map((l) => num(l.quantity)));
    if (inLots !== num(item.lot_stock)) fail(`item ${item.id}: Σ lots ${inLots} ≠ lot_stock ${item.lot_stock}`);
    if (num(item.stock) - num(item.lot_stock) < 0) fail(`item ${item.id}: unlotted ${num(item.stock) - num(item.lot_stock)} < 0`);
  }
  const setupLot = new Map(w.lots.map((l) => [l.id, l]));
  for (const lot of lotRows) {
    const id = String(lot.id);
    const quantity = num(lot.quantity);
    if (quantity < 0) fail(`lot ${lot.lot_code} of item ${lot.item_id}: quantity ${quantity} < 0`);
    const ledger = sum(lotMoves.filter((m) => String(m.lot_id) === id).map((m) => num(m.delta)));
    const held = sum(allocs.filter((a) => String(a.lot_id) === id).map((a) => num(a.quantity)));
    const initial = setupLot.get(id)?.initial ?? 0;
    if (quantity !== initial + ledger - held) fail(`lot ${lot.lot_code} of item ${lot.item_id}: quantity ${quantity} ≠ initial ${initial} + ledger ${ledger} − held by orders ${held}`);
    if ((lot.expired === true || lot.expired === "t") && held > 0) fail(`expired lot ${lot.lot_code} of item ${lot.item_id}: ${held} units held by orders (sold)`);
  }
  for (const a of allocs) {
    const order = orderById.get(String(a.order_id));
    if (!order || order.status === "cancelled") fail(`allocation of lot ${a.lot_id} on ${order ? "cancelled" : "unknown"} order ${a.order_id}`);
  }
  for (const l of lines) {
    const taken = sum(allocs.filter((a) => String(a.order_id) === String(l.order_id) && String(a.item_id) === String(l.item_id)).map((a) => num(a.quantity)));
    if (taken > num(l.quantity)) fail(`order ${l.order_id}, item ${l.item_id}: ${taken} units from lots > line ${l.quantity}`);
  }
  const cronRan = done.some((e) => e.effect.kind === "expire_lots");
  for (const lot of w.lots) {
    const writeOffs = lotMoves.filter((m) => String(m.lot_id) === lot.id && m.reason === "expired").map((m) => num(m.delta));
    if (!lot.expired && writeOffs.length) fail(`lot ${lot.id} not expired, yet written off: [${writeOffs}]`);
    // Written off once (a count of it may move it first, or give it units to write off again). Other
    // suites' runs of the daily all-tenant cron may be the ones that write it off.
    const counts = lotMoves.filter((m) => String(m.lot_id) === lot.id && m.reason === "count").length;
    const once = writeOffs.length === 1 && writeOffs[0] === -lot.initial;
    if (lot.expired && (writeOffs.length > 1 + counts || (counts === 0 && writeOffs.length > 0 && !once) || (counts === 0 && cronRan && !once))) {
      fail(`expired lot ${lot.id}: write-offs [${writeOffs}] (initial ${lot.initial}, ${counts} counts, a run answered: ${cronRan})`);
    }
  }

  // Idempotency-Keys: stored exactly for the keyed requests that succeeded, once each.
  // A key's scope is the route as called, without its query string (POST /api/items/import?mode=upsert).
  const scopeOf = (e: Entry) => `${e.method} ${e.path.split("?")[0]}`;
  // Keys kept besides successes: a declined checkout's (recorded as failed) and a pay that expired the order.
  const keptFailure = (e: Entry) =>
    !e.replayed && ((e.effect.kind === "checkout" && e.status === 402) || (e.effect.kind === "pay" && e.code === "reservation_expired" && e.json.error.details?.[0]?.released === true));
  const succeeded = w.entries.filter((e) => e.key && (ok(e) || keptFailure(e))).map((e) => `${e.principal}|${scopeOf(e)}|${e.key}`);
  if (new Set(succeeded).size !== succeeded.length) fail(`a key executed twice: ${succeeded.filter((k, i) => succeeded.indexOf(k) !== i)}`);
  const storedKeys = keys.map((k) => `${k.principal}|${k.scope}|${k.key}`).sort();
  if (JSON.stringify(storedKeys) !== JSON.stringify([...new Set(succeeded)].sort())) fail(`stored keys [${storedKeys}] ≠ succeeded keyed requests [${[...new Set(succeeded)].sort()}]`);
  return problems;
}

/**
 * Storefront orders: the stock each holds is its lines while it is live, given back exactly once
 * (release or cancel) when it is cancelled; its status, cancel reason and payment agree with each
 * other and with the answers (a paid order is never released; an answered cancel is cancelled).
 */
async function checkWebOrders(w: World, ids: Set<string>, moves: Record<string, unknown>[]): Promise<string[]> {
  const problems: string[] = [];
  const fail = (message: string) => problems.push(message);
  if (!ids.size) return problems;
  const rows = await query(w.db, sql`SELECT o.id, o.status, o.cancel_reason, o.version, p.status AS payment,
    (SELECT json_agg(json_build_object('itemId', l.item_id, 'quantity', l.quantity)) FROM order_lines l WHERE l.order_id = o.id) AS lines
    FROM orders o LEFT JOIN payments p ON p.order_id = o.id WHERE o.tenant_id = ${w.tenant.id} AND o.session_hash IS NOT NULL`);
  const PAYMENT: Record<string, string[]> = {
    confirmed: ["succeeded"],
    pending: ["pending"],
    "cancelled/payment_failed": ["failed"],
    "cancelled/reservation_expired": ["voided"],
    "cancelled/shopper": ["refunded", "voided"],
  };
  for (const o of rows) {
    const id = String(o.id);
    if (!ids.has(id)) {
      fail(`web order ${id} was never answered by a checkout`);
      continue;
    }
    const state = o.status === "cancelled" ? `cancelled/${o.cancel_reason}` : String(o.status);
    if (!PAYMENT[state]?.includes(String(o.payment))) fail(`web order ${id}: ${state} with payment ${o.payment}`);
    const lines = (typeof o.lines === "string" ? JSON.parse(o.lines) : o.lines ?? []) as { itemId: string; quantity: number }[];
    const mine = moves.filter((m) => String(m.order_id) === id);
    const back = mine.filter((m) => m.reason === "release" || m.reason === "cancel");
    for (const line of lines) {
      const taken = -sum(mine.filter((m) => m.reason === "order" && String(m.item_id) === line.itemId).map((m) => Number(m.delta)));
      const returned = sum(back.filter((m) => String(m.item_id) === line.itemId).map((m) => Number(m.delta)));
      const rowsBack = back.filter((m) => String(m.item_id) === line.itemId).length;
      if (taken !== line.quantity) fail(`web order ${id}, item ${line.itemId}: took ${taken} for a line of ${line.quantity}`);
      if (o.status === "cancelled" ? returned !== line.quantity || rowsBack !== 1 : rowsBack !== 0) fail(`web order ${id} (${state}), item ${line.itemId}: given back ${returned} in ${rowsBack} rows`);
    }
    const answers = w.entries.filter((e) => "orderId" in e.effect && e.effect.orderId === id && !e.replayed);
    if (answers.some((e) => e.effect.kind === "pay" && e.status === 200) && state !== "confirmed" && state !== "cancelled/shopper") fail(`web order ${id}: paid (200), now ${state}`);
    if (answers.some((e) => e.effect.kind === "shop_cancel" && e.status === 200) && o.status !== "cancelled") fail(`web order ${id}: cancel answered 200, now ${state}`);
    const expiredBy = answers.filter((e) => e.code === "reservation_expired" && e.json.error.details?.[0]?.released === true).length;
    if (expiredBy > 1) fail(`web order ${id}: ${expiredBy} pays each released its reservation`);
  }
  return problems;
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/** Answers by operation and status, for the log of a run. */
export function summary(w: World): string {
  const counts = new Map<string, number>();
  for (const e of w.entries) {
    if (e.effect.kind === "read") continue;
    const k = `${e.op} ${e.status}${e.replayed ? " replay" : ""}${e.code ? ` ${e.code}` : ""}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort().map(([k, n]) => `${k}: ${n}`).join(", ");
}
