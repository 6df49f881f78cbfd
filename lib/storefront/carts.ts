import { getDb } from "../../db/client.js";
import { ApiError, notFound } from "../http/errors.js";
import { cartOp, MAX_LINES, MAX_QUANTITY, type StoredCart } from "./cart-store.js";
import { shopItems, type ShopItem } from "./cart-repo.js";

// Guest carts (issue 14). Reads: one Redis trip (the cart, with the rate-limit check in the same
// pipeline) and one database trip (current prices and availability). Writes: one database trip to
// check the item and take its price, then one Redis trip (the change, plus the rate-limit check);
// they answer the changed line and the cart's counts — GET /cart renders the whole cart.

type Limit = () => Promise<void>;

export interface CartLineView {
  itemId: string;
  name: string | null;
  imageUrl: string | null;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
  /** The price when the shopper put it in (or last changed or confirmed it), if different now. */
  previousPriceCents: number | null;
  priceChanged: boolean;
  availability: ShopItem["availability"] | "unavailable";
  /** False when the item is gone (unpublished, deleted) or the shop has fewer than `quantity`. */
  available: boolean;
}

export interface CartView {
  items: CartLineView[];
  totals: { lines: number; units: number; subtotalCents: number; currency: string };
  /** Lines that cannot be bought as they are (checkout would refuse them). */
  issues: number;
}

export function renderCart(cart: StoredCart | undefined, shop: { currency: string; items: Map<string, ShopItem> }): CartView {
  const items = (cart?.lines ?? []).map((line): CartLineView => {
    const item = shop.items.get(line.i);
    const price = item?.priceCents ?? line.p;
    return {
      itemId: line.i,
      name: item?.name ?? null,
      imageUrl: item?.imageUrl ?? null,
      quantity: line.q,
      unitPriceCents: price,
      lineTotalCents: price * line.q,
      previousPriceCents: item && item.priceCents !== line.p ? line.p : null,
      priceChanged: item !== undefined && item.priceCents !== line.p,
      availability: item?.availability ?? "unavailable",
      available: item !== undefined && item.stock >= line.q,
    };
  });
  const buyable = items.filter((l) => l.availability !== "unavailable");
  return {
    items,
    totals: {
      lines: items.length,
      units: buyable.reduce((n, l) => n + l.quantity, 0),
      subtotalCents: buyable.reduce((n, l) => n + l.lineTotalCents, 0),
      currency: shop.currency,
    },
    issues: items.filter((l) => !l.available || l.priceChanged).length,
  };
}

/** A cart another tenant once had under this slug (a purged shop's) is not this shop's. */
const ownCart = (cart: StoredCart | undefined, tenantId: string) => (cart && cart.t === tenantId ? cart : undefined);

export async function getCart(limit: Limit, slug: string, sessionId: string | undefined) {
  const [, found] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "get" })]);
  const { db } = await getDb();
  const shop = await shopItems(db, slug, found.cart?.lines.map((l) => l.i) ?? []);
  if (!shop) throw notFound("Shop");
  return { sessionId: found.sessionId, cart: renderCart(ownCart(found.cart, shop.tenantId), shop) };
}

/** The item as the shop sells it now; 422 when it does not (unknown, unpublished, deleted, another shop's). */
async function sellable(slug: string, itemId: string): Promise<{ tenantId: string; item: ShopItem }> {
  const { db } = await getDb();
  const shop = await shopItems(db, slug, [itemId]);
  if (!shop) throw notFound("Shop");
  const item = shop.items.get(itemId);
  if (!item) throw new ApiError("unprocessable", "Invalid body.", [{ path: "itemId", message: "is not for sale in this shop" }]);
  return { tenantId: shop.tenantId, item };
}

function lineAnswer(sessionId: string, cart: StoredCart | undefined, itemId: string) {
  const lines = cart?.lines ?? [];
  const line = lines.find((l) => l.i === itemId);
  return {
    sessionId,
    body: {
      line: line ? { itemId, quantity: line.q, unitPriceCents: line.p } : null,
      totals: { lines: lines.length, units: lines.reduce((n, l) => n + l.q, 0) },
    },
  };
}

function opError(error: string | undefined): void {
  if (error === "too_many_lines") throw new ApiError("unprocessable", `A cart holds at most ${MAX_LINES} different items.`, [{ path: "itemId", message: `at most ${MAX_LINES} lines` }]);
  if (error === "quantity_too_large") throw new ApiError("unprocessable", `At most ${MAX_QUANTITY} of one item.`, [{ path: "quantity", message: `the line would exceed ${MAX_QUANTITY}` }]);
  if (error === "not_in_cart") throw notFound("Cart line");
}

export async function addToCart(limit: Limit, slug: string, sessionId: string | undefined, input: { itemId: string; quantity: number }) {
  const { tenantId, item } = await sellable(slug, input.itemId);
  const [, result] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "add", itemId: input.itemId, quantity: input.quantity, price: item.priceCents, tenantId })]);
  opError(result.error);
  return lineAnswer(result.sessionId, result.cart, input.itemId);
}

export async function setCartQuantity(limit: Limit, slug: string, sessionId: string | undefined, itemId: string, quantity: number) {
  const { item } = await sellable(slug, itemId);
  const [, result] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "set", itemId, quantity, price: item.priceCents })]);
  opError(result.error);
  return lineAnswer(result.sessionId, result.cart, itemId);
}

/** Removing a line needs no database trip: the cart alone knows what it holds. */
export async function removeFromCart(limit: Limit, slug: string, sessionId: string | undefined, itemId: string) {
  const [, result] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "remove", itemId })]);
  opError(result.error);
  return lineAnswer(result.sessionId, result.cart, itemId);
}

export async function clearCart(limit: Limit, slug: string, sessionId: string | undefined) {
  const [, result] = await Promise.all([limit(), cartOp(slug, sessionId, { op: "clear" })]);
  return { sessionId: result.sessionId };
}
