import * as v from "valibot";
import { OrderOut } from "../orders/schemas.js";
import { booleanField, limitField, pageField, text, uuid } from "../http/inputs.js";
import { countOut, intOut, nullableString, nullableTimestampOut, timestampOut, uuidOut } from "../http/outputs.js";
import { categorySlug } from "../categories/schemas.js";

// The public shop (issue 14). Shops are named by their tenant's slug in the path.
const tenantSlug = v.pipe(text(), v.maxLength(40, "is not a shop"), v.regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "is not a shop"));

export const ShopParams = v.object({ tenant: tenantSlug });
export const ShopItemParams = v.object({ tenant: tenantSlug, id: uuid });
export const ShopCategoryParams = v.object({ tenant: tenantSlug, slug: categorySlug });

export const SORTS = ["newest", "price", "name"] as const;
const price = v.pipe(text(), v.regex(/^\d{1,9}$/, "must be a whole number of minor units"), v.transform(Number));

export const ProductListQuery = v.object({
  page: pageField,
  limit: limitField,
  /** Keyset paging: pagination.nextCursor of the previous page (then `page` is ignored). */
  cursor: v.optional(v.pipe(text(), v.maxLength(300, "is not a cursor"), v.regex(/^[A-Za-z0-9_-]+$/, "is not a cursor"))),
  category: v.optional(categorySlug),
  search: v.optional(v.pipe(text(), v.trim(), v.maxLength(100, "must be at most 100 characters"))),
  minPrice: v.optional(price),
  maxPrice: v.optional(price),
  inStock: booleanField,
  sort: v.optional(v.picklist(SORTS, `must be one of ${SORTS.join(", ")}`), "newest"),
});
export type ProductListInput = v.InferOutput<typeof ProductListQuery>;

export const AVAILABILITY = ["in_stock", "low_stock", "out_of_stock"] as const;

const CategoryRef = v.strictObject({ id: v.string(), name: v.string(), slug: v.string() });

export const ProductOut = v.strictObject({
  id: v.string(),
  name: v.string(),
  description: v.nullable(v.string()),
  priceCents: v.number(),
  compareAtPriceCents: v.nullable(v.number()),
  currency: v.string(),
  imageUrl: v.nullable(v.string()),
  category: v.nullable(CategoryRef),
  availability: v.picklist(AVAILABILITY),
  createdAt: v.string(),
});

export const ProductPageOut = v.strictObject({
  items: v.array(ProductOut),
  pagination: v.strictObject({
    limit: v.number(),
    nextCursor: v.nullable(v.string()),
    page: v.optional(v.number()),
    total: v.optional(v.number()),
    totalPages: v.optional(v.number()),
  }),
});

export interface ShopCategoryNode {
  id: string;
  name: string;
  slug: string;
  position: number;
  /** Published products in this category and every category under it. */
  productCount: number;
  children: ShopCategoryNode[];
}

const CategoryNode: v.GenericSchema<ShopCategoryNode> = v.strictObject({
  id: v.string(),
  name: v.string(),
  slug: v.string(),
  position: v.number(),
  productCount: v.number(),
  children: v.array(v.lazy(() => CategoryNode)),
});
export const ShopCategoriesOut = v.strictObject({ items: v.array(CategoryNode) });

const quantity = v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(1, "must be at least 1"), v.maxValue(99, "must be at most 99"));
export const CartItemAdd = v.strictObject({ itemId: uuid, quantity });
export const CartQuantity = v.strictObject({ quantity });
export const CartItemParams = v.object({ tenant: tenantSlug, itemId: uuid });

const CartLineOut = v.strictObject({
  itemId: v.string(),
  name: v.nullable(v.string()),
  imageUrl: v.nullable(v.string()),
  quantity: v.number(),
  unitPriceCents: v.number(),
  lineTotalCents: v.number(),
  previousPriceCents: v.nullable(v.number()),
  priceChanged: v.boolean(),
  availability: v.picklist([...AVAILABILITY, "unavailable"]),
  available: v.boolean(),
});
export const CartOut = v.strictObject({
  items: v.array(CartLineOut),
  totals: v.strictObject({ lines: v.number(), units: v.number(), subtotalCents: v.number(), currency: v.string() }),
  issues: v.number(),
});
export const CartLineChangeOut = v.strictObject({
  line: v.nullable(v.strictObject({ itemId: v.string(), quantity: v.number(), unitPriceCents: v.number() })),
  totals: v.strictObject({ lines: v.number(), units: v.number() }),
});

// Checkout. Card numbers may carry spaces or dashes (as printed); anything else is refused here.
export const cardNumber = v.pipe(
  text(),
  v.regex(/^[0-9][0-9 -]{10,28}[0-9]$/, "must be a card number (digits, spaces and dashes)"),
  v.transform((s) => s.replace(/[ -]/g, "")),
  v.check((s) => s.length >= 12 && s.length <= 19, "must have 12 to 19 digits"),
);
const line = (max: number) => v.pipe(text(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(max, `must be at most ${max} characters`));

export const CheckoutBody = v.strictObject({
  customer: v.strictObject({
    name: v.pipe(text(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(100, "must be at most 100 characters")),
    email: v.pipe(text(), v.trim(), v.toLowerCase(), v.maxLength(254, "must be at most 254 characters"), v.email("must be an email address")),
    phone: v.optional(v.pipe(text(), v.trim(), v.maxLength(30, "must be at most 30 characters"), v.regex(/^[+0-9 ().-]*[0-9][+0-9 ().-]*$/, "must be a phone number"))),
  }),
  shippingAddress: v.optional(
    v.strictObject({
      line1: line(200),
      line2: v.optional(line(200)),
      city: line(100),
      postalCode: v.optional(line(20)),
      region: v.optional(line(100)),
      country: line(100),
    }),
  ),
  notes: v.optional(v.pipe(text(), v.trim(), v.maxLength(500, "must be at most 500 characters"))),
  payment: v.variant(
    "method",
    [v.strictObject({ method: v.literal("card"), cardNumber }), v.strictObject({ method: v.literal("pay_later") })],
    'must be { method: "card", cardNumber } or { method: "pay_later" }',
  ),
});
export type CheckoutInput = v.InferOutput<typeof CheckoutBody>;

export const CheckoutOut = v.strictObject({
  order: OrderOut,
  payment: v.strictObject({ id: v.string(), method: v.string(), status: v.string(), amountCents: v.number(), cardLast4: v.nullable(v.string()) }),
  accessToken: v.string(),
  reservedUntil: v.nullable(v.string()),
});

// Shopper orders: read with the order access token (X-Order-Token) or the session that placed it.
export const ShopOrderParams = v.object({ tenant: tenantSlug, id: uuid });

export const PayBody = v.strictObject({ cardNumber });
export type PayInput = v.InferOutput<typeof PayBody>;

export const ORDER_STATUSES = ["pending", "confirmed", "preparing", "ready", "completed", "cancelled"] as const;

export const ShopperOrderOut = v.strictObject({
  id: uuidOut,
  number: intOut,
  status: v.picklist(ORDER_STATUSES),
  /** Why a cancelled order was cancelled: payment_failed, reservation_expired, shopper (null: by the shop, or not cancelled). */
  cancelReason: nullableString,
  totalCents: countOut,
  units: countOut,
  currency: v.string(),
  /** While pending (pay later): until when its stock is held. */
  reservedUntil: nullableTimestampOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
  cancelledAt: nullableTimestampOut,
  lines: v.array(v.strictObject({ itemId: uuidOut, name: v.string(), unitPriceCents: countOut, quantity: countOut, lineTotalCents: countOut })),
  payment: v.nullable(
    v.strictObject({
      id: uuidOut,
      method: v.picklist(["card", "pay_later"]),
      status: v.picklist(["pending", "succeeded", "failed", "refunded", "voided"]),
      amountCents: countOut,
      cardLast4: nullableString,
    }),
  ),
});
export type ShopperOrder = v.InferOutput<typeof ShopperOrderOut>;

export const MyOrdersQuery = v.object({
  limit: limitField,
  /** Keyset paging: pagination.nextCursor of the previous page. */
  cursor: v.optional(uuid),
});

export const MyOrdersOut = v.strictObject({
  items: v.array(ShopperOrderOut),
  pagination: v.strictObject({ limit: countOut, nextCursor: v.nullable(uuidOut) }),
});

export const ExpireReservationsOut = v.strictObject({ expired: countOut, more: v.boolean() });
