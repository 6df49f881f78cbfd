import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { invalidate } from "../cache/response-cache.js";
import { ApiError, notFound } from "../http/errors.js";
import { sessionFrom } from "../http/shop-session.js";
import { bindPrincipal, earlierOutcome, refusalOf, requireIdempotency, type IdempotencyRequest } from "../idempotency/keys.js";
import { SESSION_ID } from "./cart-store.js";
import { signedInShopper } from "./shopper-account.js";
import { hashSecret, paymentFailed } from "./checkout.js";
import * as repo from "./orders-repo.js";
import { charge } from "./payments.js";
import type { PayInput, ShopperOrder } from "./schemas.js";

// Shopper orders (issue 14). A shopper proves an order is theirs with its order access token
// (header X-Order-Token, handed out by the checkout), with the shop session that placed it
// (X-Session-ID or the session_id cookie), or by signing in with Google (shopper-account.ts: the
// orders placed with their verified email, from any session); anything else — no credential, a
// wrong one, another shop's order — is 404, as if the order did not exist. Each request is one statement (a write: one
// batch, order lock first); any of them expires a pay-later order whose reservation has passed.

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const STOCK_MOVED = ["orders", "items", "customers"];

interface Credentials {
  access: repo.Access;
  /** Idempotency principal: the credential the request used. */
  principal: string;
}

/**
 * Every credential the request carries (any one that matches opens the order). The idempotency
 * principal is the most specific of them: the order's token, else the account, else the session.
 */
async function credentialsOf(request: Request): Promise<Credentials | undefined> {
  const access: repo.Access = {};
  const principals: string[] = [];
  const token = request.headers.get("x-order-token")?.trim();
  if (token && TOKEN.test(token)) {
    access.tokenHash = hashSecret(token);
    principals.push(`order-token:${access.tokenHash}`);
  }
  const account = await signedInShopper(request);
  if (account) {
    access.customerEmail = account.email;
    principals.push(`customer:${hashSecret(account.subject)}`);
  }
  const session = sessionFrom(request);
  if (session && SESSION_ID.test(session)) {
    access.sessionHash = hashSecret(session);
    principals.push(`session:${access.sessionHash}`);
  }
  return principals.length ? { access, principal: principals[0]! } : undefined;
}

const ORDER = () => notFound("Order");

export function toShopperOrder(value: unknown): ShopperOrder {
  const o = fromJson<Record<string, unknown>>(value);
  const pm = o.payment ? fromJson<Record<string, unknown>>(o.payment) : null;
  return {
    id: String(o.id),
    number: toNumber(o.number),
    status: String(o.status) as ShopperOrder["status"],
    cancelReason: (o.cancelReason as string | null) ?? null,
    totalCents: toNumber(o.totalCents),
    units: toNumber(o.units),
    currency: String(o.currency),
    reservedUntil: toIsoOrNull(o.reservedUntil),
    createdAt: toIso(o.createdAt),
    updatedAt: toIso(o.updatedAt),
    cancelledAt: toIsoOrNull(o.cancelledAt),
    lines: (o.lines as Record<string, unknown>[]).map((l) => ({
      itemId: String(l.itemId),
      name: String(l.name),
      unitPriceCents: toNumber(l.unitPriceCents),
      quantity: toNumber(l.quantity),
      lineTotalCents: toNumber(l.lineTotalCents),
    })),
    payment: pm && {
      id: String(pm.id),
      method: String(pm.method) as "card" | "pay_later",
      status: String(pm.status) as "pending" | "succeeded" | "failed" | "refunded" | "voided",
      amountCents: toNumber(pm.amountCents),
      cardLast4: (pm.cardLast4 as string | null) ?? null,
    },
  };
}

/** 409 reservation_expired; `released`: this request is the one that expired the order and released its stock. */
const expiredError = (orderId: string, released: boolean, replayed = false) =>
  new ApiError(
    "reservation_expired",
    "The order's reservation expired before it was paid; its stock was released and the order cancelled.",
    [{ path: "order", message: "reservation expired", orderId, released }],
    replayed ? { "Idempotent-Replayed": "true" } : undefined,
  );

export async function getShopperOrder(slug: string, id: string, request: Request): Promise<ShopperOrder> {
  const credentials = await credentialsOf(request);
  if (!credentials) throw ORDER();
  const { db } = await getDb();
  const read = await repo.readOrder(db, slug, id, credentials.access);
  if (!read.tenantId) throw notFound("Shop");
  if (!read.order) throw ORDER();
  if (read.expired) await invalidate(read.tenantId, STOCK_MOVED);
  return toShopperOrder(read.order);
}

/** The orders of this shop session and, for a signed-in shopper, of their account (any session). */
export async function listMyOrders(slug: string, request: Request, input: { limit: number; cursor?: string }) {
  // An order's token opens that order only, not a list. Without a (well-formed) session or an
  // account there is nobody's orders to list; the statement still checks the shop.
  const { tokenHash: _oneOrder, ...access } = (await credentialsOf(request))?.access ?? {};
  const { db } = await getDb();
  const page = await repo.listOrders(db, slug, access, input.limit, input.cursor);
  if (!page.tenantId) throw notFound("Shop");
  if (page.expired) await invalidate(page.tenantId, STOCK_MOVED);
  const orders = page.orders.map(toShopperOrder);
  const more = orders.length > input.limit;
  const items = orders.slice(0, input.limit);
  return { items, pagination: { limit: input.limit, nextCursor: more ? items[items.length - 1]!.id : null } };
}

export interface WriteAnswer {
  order: ShopperOrder;
  replayed: boolean;
}

/** Maps a refused pay/cancel (the order's status as the statement saw it) to its 4xx. */
function refused(error: unknown, id: string, what: string, declined?: ReturnType<typeof charge>): never {
  const refusal = refusalOf(classifyDbError(error));
  if (!refusal) throw error;
  const status = refusal.status as string | null | undefined;
  if (!status) throw ORDER();
  if (status === "cancelled" && refusal.cancelReason === "reservation_expired") throw expiredError(id, false);
  if (status === "pending" && declined && !declined.ok) throw paymentFailed(declined, id);
  throw new ApiError("invalid_transition", `An order that is ${status} cannot ${what}.`, [{ path: "status", message: status }]);
}

async function settle(
  row: Record<string, unknown>,
  slug: string,
  idem: IdempotencyRequest | undefined,
  onReplay: (order: ShopperOrder) => void,
): Promise<WriteAnswer> {
  const tenantId = row.tenant_id as string | null;
  if (!tenantId) throw notFound("Shop");
  const { db } = await getDb();
  const earlier = await earlierOutcome(db, row, idem, tenantId, row.replayed ?? undefined, (rid) => repo.findShopperOrder(db, slug, rid));
  if (earlier) {
    const order = toShopperOrder(earlier.value);
    onReplay(order);
    return { order, replayed: true };
  }
  await invalidate(tenantId, STOCK_MOVED);
  return { order: toShopperOrder(row.order), replayed: false };
}

/**
 * Pays a pending pay-later order by card within its reservation (Idempotency-Key required). After
 * the reservation: 409 reservation_expired, the stock released (once). A declined card: 402, the
 * order stays pending until its reservation ends.
 */
export async function payShopperOrder(slug: string, id: string, request: Request, input: PayInput, idempotency: IdempotencyRequest | undefined): Promise<WriteAnswer> {
  requireIdempotency(idempotency, "Paying an order");
  const credentials = await credentialsOf(request);
  if (!credentials) throw ORDER();
  const idem = bindPrincipal(idempotency, credentials.principal);
  const outcome = charge(input.cardNumber);
  const { db } = await getDb();
  let row: Record<string, unknown>;
  try {
    row = await repo.payOrder(db, slug, id, credentials.access, outcome, idem);
  } catch (error) {
    return refused(error, id, "be paid", outcome);
  }
  const answer = await settle(row, slug, idem, (order) => {
    if (order.status === "cancelled" && order.cancelReason === "reservation_expired") throw expiredError(id, false, true);
  });
  // This request found the reservation passed: it expired the order (its key records that).
  if (!answer.replayed && (row.expired === true || row.expired === "t")) throw expiredError(id, true);
  return answer;
}

/** The shopper cancels a pending or confirmed order: stock back once, the payment refunded or voided. */
export async function cancelShopperOrder(slug: string, id: string, request: Request, idempotency: IdempotencyRequest | undefined): Promise<WriteAnswer> {
  const credentials = await credentialsOf(request);
  if (!credentials) throw ORDER();
  const idem = bindPrincipal(idempotency, credentials.principal);
  const { db } = await getDb();
  let row: Record<string, unknown>;
  try {
    row = await repo.cancelOrder(db, slug, id, credentials.access, idem);
  } catch (error) {
    return refused(error, id, "be cancelled");
  }
  return settle(row, slug, idem, () => {});
}

/** The cron sweep: expires up to 500 passed reservations a run (the rest next run, or lazily). */
export async function expireReservations(): Promise<{ expired: number; more: boolean }> {
  const { db } = await getDb();
  const swept = await repo.sweepExpired(db, 500);
  await Promise.all(swept.tenants.map((tenantId) => invalidate(tenantId, STOCK_MOVED)));
  return { expired: swept.expired, more: swept.more };
}
