import { createHash, createHmac } from "node:crypto";
import { getDb } from "../../db/client.js";
import { atomic, query } from "../../db/atomic.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import { fromJson, toIsoOrNull, toNumber } from "../../db/values.js";
import { invalidate } from "../cache/response-cache.js";
import type { Actor } from "../events/outbox.js";
import { ApiError, notFound, type ErrorDetail } from "../http/errors.js";
import { bindPrincipal, earlierOutcome, requireIdempotency, type IdempotencyRequest } from "../idempotency/keys.js";
import { toOrder, type Order } from "../orders/json.js";
import * as orders from "../orders/repo.js";
import { config } from "../platform/config.js";
import { cartOp } from "./cart-store.js";
import { checkoutExtension, findCheckout, releaseFailedCheckout, type PaymentRecord } from "./checkout-repo.js";
import { retryOnLotsMoved } from "../orders/lots.js";
import { charge, type PaymentOutcome } from "./payments.js";
import type { CheckoutInput } from "./schemas.js";

// Checkout (issue 14): the cart (one Redis trip, with the rate limit), then ONE atomic write — the
// order statement reserves every line with conditional decrements (all or nothing), creates the
// order (channel web, customer found or created by email), the payment record, the ledger rows
// and the events — and after it one Redis trip to empty the cart (or, on cart_changed, to take the
// shopper's confirmation of the new prices).

type Limit = () => Promise<void>;

const EMPTY = () => new ApiError("unprocessable", "The cart is empty.", [{ path: "cart", message: "is empty" }]);

const SHOPPER: Actor = { type: "public", id: null };
const STOCK_MOVED = ["orders", "items", "customers"];

/**
 * The shopper's order access token: an HMAC of the order id under the session id (256 random bits,
 * known only to the shopper), so a replay of the checkout can hand it out again; only its SHA-256 is
 * stored.
 */
export const orderAccessToken = (sessionId: string, orderId: string) => createHmac("sha256", sessionId).update(`order-access:${orderId}`).digest("base64url");

export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

export interface PaymentView {
  id: string;
  method: string;
  status: string;
  amountCents: number;
  cardLast4: string | null;
}

export const toPayment = (value: unknown): PaymentView => {
  const pm = fromJson<Record<string, unknown>>(value);
  return { id: String(pm.id), method: String(pm.method), status: String(pm.status), amountCents: toNumber(pm.amountCents), cardLast4: (pm.cardLast4 as string | null) ?? null };
};

/** 402 payment_failed for a failed simulated charge. */
export function paymentFailed(outcome: Extract<PaymentOutcome, { ok: false }>, orderId: string, replayed = false): ApiError {
  return new ApiError(
    "payment_failed",
    outcome.message,
    [{ path: "payment", message: outcome.message, reason: outcome.code, retryable: outcome.retryable, orderId }],
    replayed ? { "Idempotent-Replayed": "true" } : undefined,
  );
}

export interface CheckoutResult {
  order: Order;
  payment: PaymentView;
  accessToken: string | null;
  reservedUntil: string | null;
  sessionId: string;
  replayed: boolean;
}

function notes(input: CheckoutInput): string | null {
  const a = input.shippingAddress;
  const address = a && `Ship to: ${[a.line1, a.line2, a.city, a.region, a.postalCode, a.country].filter(Boolean).join(", ")}`;
  return [input.notes, address].filter(Boolean).join("\n") || null;
}

function checkoutError(error: unknown, confirm: (prices: Record<string, number>) => Promise<void>): Promise<never> {
  const failure = classifyDbError(error);
  if (failure?.kind !== "rule_failed") throw error;
  const { code, detail } = failure.rule!;
  const entries = (Array.isArray(detail) ? detail : []) as Record<string, unknown>[];
  if (code === "insufficient_stock") {
    throw new ApiError(
      "insufficient_stock",
      "Not enough stock for every line; nothing was reserved.",
      entries.map((e): ErrorDetail => ({ path: `items.${e.position}`, message: `${e.requested} requested, ${e.available ?? 0} available`, itemId: e.itemId, requested: e.requested, available: e.available ?? 0 })),
    );
  }
  if (code === "unknown_shop") throw notFound("Shop");
  if (code === "empty_cart") throw EMPTY();
  if (code === "unknown_items" || code === "cart_changed") {
    const details = entries.map((e): ErrorDetail => ({
      path: "cart",
      message: e.available === false || code === "unknown_items" ? "no longer available" : `price changed from ${e.seenPriceCents} to ${e.priceCents}`,
      itemId: e.itemId,
      ...(e.priceCents !== undefined && e.priceCents !== null ? { seenPriceCents: e.seenPriceCents, priceCents: e.priceCents } : {}),
      available: code === "cart_changed" ? e.available : false,
    }));
    const prices = Object.fromEntries(entries.filter((e) => typeof e.priceCents === "number").map((e) => [String(e.itemId), Number(e.priceCents)]));
    // The answer shows the shopper the new prices: the cart takes them as seen, so checking out again confirms.
    return confirm(prices).then(() => {
      throw new ApiError("cart_changed", "Prices or availability changed since the cart was read; review the cart and check out again.", details);
    });
  }
  throw error;
}

export async function checkout(limit: Limit, slug: string, sessionId: string | undefined, input: CheckoutInput, idempotency: IdempotencyRequest | undefined): Promise<CheckoutResult> {
  requireIdempotency(idempotency, "Checkout");
  const [, found] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "get" })]);
  const cart = found.cart;
  // An emptied cart of this session still names its shop: a retry of the checkout that emptied it
  // must reach the statement to replay (an empty cart with a fresh key fails there, 422).
  if (!cart) throw EMPTY();
  const session = found.sessionId;
  const tenantId = cart.t;
  // Keys are the session's: another shopper's identical key executes on its own.
  const idem = bindPrincipal(idempotency, `session:${hashSecret(session)}`);
  const orderId = newId();
  const outcome = input.payment.method === "card" ? charge(input.payment.cardNumber) : undefined;
  // One payment per checkout, so it shares the order's id: a replay can name it without a read.
  const payment: PaymentRecord = {
    id: orderId,
    method: input.payment.method,
    status: outcome === undefined ? "pending" : outcome.ok ? "succeeded" : "failed",
    cardLast4: outcome?.last4 ?? null,
    failureCode: outcome && !outcome.ok ? outcome.code : null,
  };
  const accessToken = orderAccessToken(session, orderId);
  const status = outcome === undefined ? "pending" : outcome.ok ? "confirmed" : "cancelled";
  const newOrder: orders.NewOrder = {
    tenantId,
    orderId,
    userId: null,
    channel: "web",
    priority: "normal",
    expectedDeliveryDate: null,
    notes: notes(input),
    lines: cart.lines.map((l) => ({ itemId: l.i, quantity: l.q })),
    customer: { kind: "byEmail", id: newId(), input: { name: input.customer.name, email: input.customer.email, phone: input.customer.phone ?? null } },
    // A failed payment leaves a cancelled order, so its key is kept too, marked failed (the release
    // statement does it): concurrent retries wait on the key and replay the 402 instead of each
    // cancelling an order of their own; a retry with another body (a good card) takes the key over.
    idempotency: idem,
    actor: SHOPPER,
    extend: checkoutExtension(
      tenantId,
      slug,
      cart.lines.map((l) => ({ itemId: l.i, priceCents: l.p })),
      payment,
      { status, reservationMinutes: config.storeReservationMinutes(), accessTokenHash: hashSecret(accessToken), sessionHash: hashSecret(session) },
      SHOPPER,
    ),
  };
  const { db } = await getDb();
  const confirm = async (prices: Record<string, number>) => void (await cartOp(slug, session, { op: "confirm", prices }));
  let row: Record<string, unknown>;
  try {
    row = await retryOnLotsMoved(async () =>
      status === "cancelled"
        ? (await atomic(db, [orders.insertOrderStatement(newOrder), releaseFailedCheckout(tenantId, orderId, SHOPPER, idem)]))[0]![0]!
        : (await query(db, orders.insertOrderStatement(newOrder)))[0]!,
    );
  } catch (error) {
    return checkoutError(error, confirm);
  }
  const written = orders.writeResult([row]);
  const earlier = await earlierOutcome(db, row, idem, tenantId, row.replayed ?? undefined, (id) => findCheckout(db, tenantId, id));
  if (earlier) {
    // The first answer again, from the order as it is now (with its reservedUntil and payment; the token is derived).
    const json = fromJson<Record<string, unknown>>(earlier.value);
    const order = toOrder(json);
    // A recorded failure: the same body, so the same card and the same decline.
    if (earlier.failed && outcome && !outcome.ok) throw paymentFailed(outcome, order.id, true);
    return {
      order,
      payment: toPayment(json.payment),
      accessToken: orderAccessToken(session, order.id),
      reservedUntil: toIsoOrNull(json.reservedUntil),
      sessionId: session,
      replayed: true,
    };
  }
  await invalidate(tenantId, STOCK_MOVED);
  if (outcome && !outcome.ok) throw paymentFailed(outcome, orderId);
  // The order is placed: the cart has done its job.
  await cartOp(slug, session, { op: "empty" });
  return {
    order: written.order!,
    payment: toPayment(row.payment),
    accessToken,
    reservedUntil: toIsoOrNull(row.reserved_until),
    sessionId: session,
    replayed: false,
  };
}
