import { randomBytes } from "node:crypto";
import { inRedis } from "../http/errors.js";
import { getRedis, redisGeneration } from "../platform/redis.js";

// Guest carts: one Redis string per session (JSON), 7-day sliding TTL, in this process's memory
// without Redis (dev, tests). Every cart operation is ONE script call — read, change, write and
// refresh the TTL together — so it is one Redis round trip and concurrent operations on one cart
// never lose each other's lines. Sessions are server-issued: 256 random bits, base64url. An id
// the store does not know (expired, made up, another shop's) is never adopted: the script works on
// a fresh id instead, which the answer hands back.

export const CART_TTL_S = 7 * 24 * 3600;
export const MAX_LINES = 50;
export const MAX_QUANTITY = 99;
export const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export const newSessionId = () => randomBytes(32).toString("base64url");

export interface StoredLine {
  /** Item id. */
  i: string;
  /** Quantity. */
  q: number;
  /** Unit price (minor units) when the shopper put it in the cart or last changed or confirmed it. */
  p: number;
}

export interface StoredCart {
  /** The tenant the cart belongs to. */
  t: string;
  lines: StoredLine[];
}

export type CartOp =
  | { op: "get" }
  | { op: "add"; itemId: string; quantity: number; price: number; tenantId: string }
  | { op: "set"; itemId: string; quantity: number; price: number }
  | { op: "remove"; itemId: string }
  | { op: "clear" }
  /** Drops every line but keeps the session (after a checkout: a retry of it still finds the shop). */
  | { op: "empty" }
  /** Re-stamp every line's price (the shopper was shown the differences). */
  | { op: "confirm"; prices: Record<string, number> };

export type CartResult = { sessionId: string; cart: StoredCart | undefined; error?: "too_many_lines" | "quantity_too_large" | "not_in_cart" };

// KEYS[1]: the session the client named (or a fresh one), KEYS[2]: a fresh one, used when KEYS[1]
// is unknown. ARGV: op, item id, quantity, price, ttl, max lines, max quantity, tenant id, prices JSON.
// Returns {1|2 (which key), cart JSON or '', error or ''}; the JSON comes back behind a '=' so the
// client's automatic JSON parsing leaves it a string.
const SCRIPT = `
local which = 1
local raw = redis.call('GET', KEYS[1])
if not raw then which = 2 end
local key = KEYS[which]
local op = ARGV[1]
if op == 'get' then
  if raw then redis.call('EXPIRE', key, ARGV[5]) end
  return {which, raw and ('=' .. raw) or '', ''}
end
if op == 'clear' then
  if raw then redis.call('DEL', key) end
  return {which, '', ''}
end
local cart
if raw then cart = cjson.decode(raw) else cart = {t = ARGV[8], lines = {}} end
if type(cart.lines) ~= 'table' then cart.lines = {} end
local at = nil
for n, line in ipairs(cart.lines) do if line.i == ARGV[2] then at = n end end
if op == 'add' then
  if at then
    local q = cart.lines[at].q + tonumber(ARGV[3])
    if q > tonumber(ARGV[7]) then return {which, '', 'quantity_too_large'} end
    cart.lines[at].q = q
    cart.lines[at].p = tonumber(ARGV[4])
  else
    if #cart.lines >= tonumber(ARGV[6]) then return {which, '', 'too_many_lines'} end
    table.insert(cart.lines, {i = ARGV[2], q = tonumber(ARGV[3]), p = tonumber(ARGV[4])})
  end
elseif op == 'set' then
  if not at then return {which, '', 'not_in_cart'} end
  cart.lines[at].q = tonumber(ARGV[3])
  cart.lines[at].p = tonumber(ARGV[4])
elseif op == 'remove' then
  if not at then return {which, '', 'not_in_cart'} end
  table.remove(cart.lines, at)
elseif op == 'empty' then
  if not raw then return {which, '', ''} end
  cart.lines = {}
elseif op == 'confirm' then
  if not raw then return {which, '', ''} end
  local prices = cjson.decode(ARGV[9])
  for _, line in ipairs(cart.lines) do if prices[line.i] then line.p = prices[line.i] end end
end
local out = cjson.encode(cart)
redis.call('SET', key, out, 'EX', ARGV[5])
return {which, '=' .. out, ''}
`;

function parse(raw: string | undefined | null): StoredCart | undefined {
  if (!raw) return undefined;
  const cart = JSON.parse(raw) as { t: string; lines: StoredLine[] | Record<string, never> };
  // cjson encodes an empty table as {}.
  return { t: cart.t, lines: Array.isArray(cart.lines) ? cart.lines : [] };
}

interface Store {
  run(keys: [string, string], args: string[]): Promise<[number, string, string]>;
}

function memoryCarts(): Store {
  const carts = new Map<string, { value: string; expires: number }>();
  return {
    async run([given, fresh], [op, itemId, quantity, price, ttl, maxLines, maxQuantity, tenantId, prices]) {
      const now = Date.now();
      const live = (key: string) => {
        const hit = carts.get(key);
        if (hit && hit.expires <= now) carts.delete(key);
        return hit && hit.expires > now ? hit.value : undefined;
      };
      const raw = live(given);
      const which = raw === undefined ? 2 : 1;
      const key = which === 1 ? given : fresh;
      const ttlMs = Number(ttl) * 1000;
      if (op === "get") {
        if (raw !== undefined) carts.set(key, { value: raw, expires: now + ttlMs });
        return [which, raw ?? "", ""];
      }
      if (op === "clear") {
        carts.delete(key);
        return [which, "", ""];
      }
      const cart = parse(raw) ?? { t: tenantId!, lines: [] };
      const line = cart.lines.find((l) => l.i === itemId);
      if (op === "add") {
        if (line) {
          if (line.q + Number(quantity) > Number(maxQuantity)) return [which, raw ?? "", "quantity_too_large"];
          line.q += Number(quantity);
          line.p = Number(price);
        } else {
          if (cart.lines.length >= Number(maxLines)) return [which, raw ?? "", "too_many_lines"];
          cart.lines.push({ i: itemId!, q: Number(quantity), p: Number(price) });
        }
      } else if (op === "set" || op === "remove") {
        if (!line) return [which, raw ?? "", "not_in_cart"];
        if (op === "set") {
          line.q = Number(quantity);
          line.p = Number(price);
        } else cart.lines.splice(cart.lines.indexOf(line), 1);
      } else if (op === "empty") {
        if (raw === undefined) return [which, "", ""];
        cart.lines = [];
      } else if (op === "confirm") {
        if (raw === undefined) return [which, "", ""];
        const table = JSON.parse(prices!) as Record<string, number>;
        for (const l of cart.lines) if (table[l.i] !== undefined) l.p = table[l.i]!;
      }
      const out = JSON.stringify(cart);
      carts.set(key, { value: out, expires: now + ttlMs });
      return [which, out, ""];
    },
  };
}

const slot = globalThis as typeof globalThis & { __tallyCarts?: { generation: number; store: Promise<{ store: Store; prefix: string }> } };

async function build(): Promise<{ store: Store; prefix: string }> {
  const handle = await getRedis();
  if (!handle) return { store: memoryCarts(), prefix: "tally" };
  return {
    prefix: handle.prefix,
    store: {
      async run(keys, args) {
        const [which, raw, error] = await inRedis("The cart store", () => handle.redis.eval<string[], [number, string, string]>(SCRIPT, keys, args));
        return [Number(which), raw ? String(raw).slice(1) : "", error ? String(error) : ""];
      },
    },
  };
}

function carts(): Promise<{ store: Store; prefix: string }> {
  const generation = redisGeneration();
  if (slot.__tallyCarts?.generation !== generation) slot.__tallyCarts = { generation, store: build() };
  return slot.__tallyCarts.store;
}

/**
 * Runs one cart operation for shop `shop` (its slug) and the session the client sent (if well
 * formed). The store is reached in the caller's event-loop turn, so a rate-limit check started in
 * the same turn shares the round trip.
 */
export async function cartOp(shop: string, sessionId: string | undefined, op: CartOp): Promise<CartResult> {
  const { store, prefix } = await carts();
  const fresh = newSessionId();
  const given = sessionId && SESSION_ID.test(sessionId) ? sessionId : fresh;
  // One hash slot per shop ({…}), as a script's keys must share one on a Redis cluster.
  const key = (id: string) => `${prefix}:{cart:${shop}}:${id}`;
  const args = [
    op.op,
    "itemId" in op ? op.itemId : "",
    "quantity" in op ? String(op.quantity) : "",
    "price" in op ? String(op.price) : "",
    String(CART_TTL_S),
    String(MAX_LINES),
    String(MAX_QUANTITY),
    op.op === "add" ? op.tenantId : "",
    op.op === "confirm" ? JSON.stringify(op.prices) : "{}",
  ];
  const [which, raw, error] = await store.run([key(given), key(fresh)], args);
  return { sessionId: which === 1 ? given : fresh, cart: parse(raw), ...(error ? { error: error as CartResult["error"] } : {}) };
}
