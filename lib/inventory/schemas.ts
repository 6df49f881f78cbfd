import * as v from "valibot";
import { calendarDate, limitField, nonNegativeInt, optionalText, requiredText, text, uuid, versionField, SearchListQuery } from "../http/inputs.js";
import { isCurrency } from "../tenants/settings.js";
import { countOut, dayOut, intOut, uuidOut } from "../http/outputs.js";

// Inventory (issue 15): suppliers, item ↔ supplier links, purchase orders and their receipts.

export const MAX_LEAD_TIME_DAYS = 365;
export const MAX_PO_LINES = 200;
export const MAX_LINE_QUANTITY = 1_000_000;
export const MAX_UNIT_COST_CENTS = 100_000_000;

const leadTimeDays = v.optional(v.nullable(nonNegativeInt(MAX_LEAD_TIME_DAYS)));
const phone = v.optional(
  v.nullable(
    v.pipe(
      text(),
      v.trim(),
      v.maxLength(30, "must be at most 30 characters"),
      v.regex(/^$|^[+0-9 ().-]*[0-9][+0-9 ().-]*$/, "must be a phone number"),
      v.transform((s) => (s === "" ? null : s)),
    ),
  ),
);
const email = v.optional(v.nullable(v.pipe(text(), v.trim(), v.toLowerCase(), v.maxLength(254, "must be at most 254 characters"), v.email("must be an email address"))));
const currency = v.optional(v.nullable(v.pipe(text(), v.toUpperCase(), v.check((s) => /^[A-Z]{3}$/.test(s) && isCurrency(s), "must be an ISO 4217 currency code, e.g. IDR"))));

const supplierFields = {
  name: requiredText(1, 100),
  contactName: optionalText(100),
  email,
  phone,
  address: optionalText(500),
  notes: optionalText(2000),
  leadTimeDays,
  currency,
};

export const SupplierCreate = v.strictObject(supplierFields);
export type SupplierCreateInput = v.InferOutput<typeof SupplierCreate>;

export const SupplierUpdate = v.pipe(
  v.strictObject({ ...supplierFields, name: v.optional(supplierFields.name), version: versionField }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
);
export type SupplierUpdateInput = v.InferOutput<typeof SupplierUpdate>;

export const SupplierListQuery = SearchListQuery;
export type SupplierListInput = v.InferOutput<typeof SupplierListQuery>;

export const ItemSupplierParams = v.object({ id: uuid, supplierId: uuid });

export const ItemSupplierLink = v.strictObject({
  supplierSku: optionalText(50),
  unitCostCents: nonNegativeInt(MAX_UNIT_COST_CENTS),
  leadTimeDays,
  minOrderQuantity: v.optional(v.pipe(nonNegativeInt(MAX_LINE_QUANTITY), v.minValue(1, "must be at least 1")), 1),
  preferred: v.optional(v.boolean("must be true or false"), false),
});
export type ItemSupplierLinkInput = v.InferOutput<typeof ItemSupplierLink>;

// Purchase orders.
export const PO_STATUSES = ["draft", "ordered", "partially_received", "received", "cancelled", "closed"] as const;
export type PoStatus = (typeof PO_STATUSES)[number];

const quantity = v.pipe(nonNegativeInt(MAX_LINE_QUANTITY), v.minValue(1, "must be at least 1"));

const PoLine = v.strictObject({ itemId: uuid, quantity, unitCostCents: nonNegativeInt(MAX_UNIT_COST_CENTS) });
export type PoLineInput = v.InferOutput<typeof PoLine>;

const poLines = v.pipe(
  v.array(PoLine, "must be an array"),
  v.minLength(1, "must have at least one line"),
  v.maxLength(MAX_PO_LINES, `must have at most ${MAX_PO_LINES} lines`),
  v.check((lines) => new Set(lines.map((l) => l.itemId)).size === lines.length, "must name each item once"),
);

export const PoCreate = v.strictObject({
  supplierId: uuid,
  lines: poLines,
  expectedOn: v.optional(v.nullable(calendarDate)),
  notes: optionalText(2000),
});
export type PoCreateInput = v.InferOutput<typeof PoCreate>;

export const PoUpdate = v.pipe(
  v.strictObject({ lines: v.optional(poLines), expectedOn: v.optional(v.nullable(calendarDate)), notes: optionalText(2000), version: versionField }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
);
export type PoUpdateInput = v.InferOutput<typeof PoUpdate>;

/** Statuses a client may set; partially_received and received follow from receipts. */
export const SETTABLE_PO_STATUSES = ["ordered", "cancelled", "closed"] as const;
export const PoStatusChange = v.strictObject({
  status: v.picklist(SETTABLE_PO_STATUSES, `must be one of ${SETTABLE_PO_STATUSES.join(", ")}`),
  version: versionField,
});
export type PoStatusInput = v.InferOutput<typeof PoStatusChange>;

const csv = <T extends readonly string[]>(values: T, name: string) =>
  v.optional(
    v.pipe(
      text(),
      v.transform((s) => s.split(",").map((x) => x.trim())),
      v.check((list) => list.length <= values.length && list.every((x) => (values as readonly string[]).includes(x)), `must be one or more of ${values.join(", ")} (${name})`),
      v.transform((list) => [...new Set(list)] as T[number][]),
    ),
  );

export const PoListQuery = v.object({
  status: csv(PO_STATUSES, "comma-separated"),
  supplier: v.optional(uuid),
  limit: limitField,
  cursor: v.optional(v.pipe(text(), v.maxLength(200, "is not a valid cursor"))),
});
export type PoListInput = v.InferOutput<typeof PoListQuery>;

export const MAX_LOT_CODE = 64;
/** A lot code as received: trimmed, 1–64 characters. */
export const lotCode = requiredText(1, MAX_LOT_CODE);
// lotCode and/or expiresOn put the line's units in a lot (created, or topped up if the item already
// has a lot with that code); expiresOn without lotCode uses the date as the code.
const ReceiptLine = v.strictObject({ itemId: uuid, quantity, lotCode: v.optional(lotCode), expiresOn: v.optional(calendarDate) });
/** The lot a receipt line names (null: unlotted). */
export const receiptLotCode = (l: { lotCode?: string; expiresOn?: string }) => l.lotCode ?? l.expiresOn ?? null;
export const PoReceipt = v.strictObject({
  lines: v.pipe(
    v.array(ReceiptLine, "must be an array"),
    v.minLength(1, "must have at least one line"),
    v.maxLength(MAX_PO_LINES, `must have at most ${MAX_PO_LINES} lines`),
    v.check((lines) => new Set(lines.map((l) => `${l.itemId}|${receiptLotCode(l) ?? ""}`)).size === lines.length, "must name each item (and lot) once"),
  ),
  allowOver: v.optional(v.boolean("must be true or false"), false),
  note: optionalText(500),
});
export type PoReceiptInput = v.InferOutput<typeof PoReceipt>;

const wholeDays = (min: number, max: number, fallback: number) =>
  v.optional(v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`)), fallback);

/** The reorder-suggestions parameters (same defaults), optionally for one supplier. */
export const FromSuggestions = v.strictObject({
  supplierId: v.optional(uuid),
  leadTimeDays: wholeDays(1, 365, 7),
  safetyDays: wholeDays(0, 365, 7),
  windowDays: wholeDays(7, 365, 28),
});
export type FromSuggestionsInput = v.InferOutput<typeof FromSuggestions>;

export const ItemSupplierQuery = v.object({ supplier: v.optional(uuid) });

// Success bodies (OpenAPI response schemas).
const nullableString = v.nullable(v.string());
export const SupplierOut = v.strictObject({
  id: v.string(),
  name: v.string(),
  contactName: nullableString,
  email: nullableString,
  phone: nullableString,
  address: nullableString,
  notes: nullableString,
  leadTimeDays: v.nullable(v.number()),
  currency: nullableString,
  version: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
  deletedAt: nullableString,
});
export const SupplierPageOut = v.strictObject({
  items: v.array(SupplierOut),
  pagination: v.strictObject({ page: v.number(), limit: v.number(), total: v.number(), totalPages: v.number() }),
});
export const ItemSupplierOut = v.strictObject({
  itemId: v.string(),
  supplierId: v.string(),
  supplierName: v.string(),
  supplierSku: nullableString,
  unitCostCents: v.number(),
  leadTimeDays: v.nullable(v.number()),
  effectiveLeadTimeDays: v.nullable(v.number()),
  minOrderQuantity: v.number(),
  preferred: v.boolean(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export const ItemSupplierListOut = v.strictObject({ items: v.array(ItemSupplierOut) });

const PoLineOut = v.strictObject({
  itemId: v.string(),
  name: v.string(),
  sku: nullableString,
  quantity: v.number(),
  unitCostCents: v.number(),
  receivedQuantity: v.number(),
  lineTotalCents: v.number(),
});
export const PurchaseOrderOut = v.strictObject({
  id: v.string(),
  number: v.number(),
  reference: v.string(),
  supplierId: v.string(),
  supplierName: v.string(),
  status: v.picklist(PO_STATUSES),
  expectedOn: nullableString,
  notes: nullableString,
  totalCents: v.number(),
  lines: v.array(PoLineOut),
  version: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
  orderedAt: nullableString,
  receivedAt: nullableString,
  cancelledAt: nullableString,
  closedAt: nullableString,
});
export const PurchaseOrderPageOut = v.strictObject({ items: v.array(PurchaseOrderOut), pagination: v.strictObject({ limit: v.number(), nextCursor: nullableString }) });
export const ReceiptOut = v.strictObject({
  receipt: v.strictObject({ id: v.string(), purchaseOrderId: v.string(), lines: v.array(v.strictObject({ itemId: v.string(), quantity: v.number(), lotId: v.optional(v.string()), lotCode: v.optional(v.string()), expiresOn: v.optional(v.nullable(v.string())) })), note: nullableString, createdAt: v.string() }),
  purchaseOrder: PurchaseOrderOut,
});
export const FromSuggestionsOut = v.strictObject({ purchaseOrders: v.array(PurchaseOrderOut), skipped: v.array(v.strictObject({ itemId: v.string(), reason: v.string() })) });

// Stock-takes.
export const MAX_STOCK_TAKE_LINES = 1000;
export const StockTakeCreate = v.strictObject({
  lines: v.pipe(
    // lotId counts one lot of the item; without it the line counts the item's unlotted units.
    v.array(v.strictObject({ itemId: uuid, lotId: v.optional(uuid), countedQuantity: nonNegativeInt(MAX_LINE_QUANTITY) }), "must be an array"),
    v.minLength(1, "must have at least one line"),
    v.maxLength(MAX_STOCK_TAKE_LINES, `must have at most ${MAX_STOCK_TAKE_LINES} lines`),
    v.check((lines) => new Set(lines.map((l) => `${l.itemId}|${l.lotId ?? ""}`)).size === lines.length, "must name each item (and lot) once"),
  ),
  note: optionalText(500),
});
export type StockTakeCreateInput = v.InferOutput<typeof StockTakeCreate>;

const StockTakeLineOut = v.strictObject({
  itemId: v.string(),
  lotId: nullableString,
  lotCode: nullableString,
  expiresOn: nullableString,
  name: v.string(),
  sku: nullableString,
  expectedQuantity: v.number(),
  countedQuantity: v.number(),
  variance: v.number(),
  unitCostCents: v.nullable(v.number()),
  varianceValueCents: v.nullable(v.number()),
  stockAtApply: v.nullable(v.number()),
  movedSinceSnapshot: v.nullable(v.number()),
  appliedDelta: v.nullable(v.number()),
});
export const StockTakeOut = v.strictObject({
  id: v.string(),
  status: v.picklist(["open", "applied"]),
  note: nullableString,
  createdAt: v.string(),
  appliedAt: nullableString,
  lines: v.array(StockTakeLineOut),
  totals: v.strictObject({ lines: v.number(), varianceUnits: v.number(), varianceValueCents: v.number(), linesWithoutCost: v.number(), movedLines: v.number() }),
});

// Lots (issue 15).
export const MAX_EXPIRING_DAYS = 365;
export const ExpiringSoonQuery = v.strictObject({
  days: v.optional(
    v.pipe(
      text("must be a whole number of days"),
      v.regex(/^\d{1,3}$/, `must be a whole number of days from 1 to ${MAX_EXPIRING_DAYS}`),
      v.transform(Number),
      v.minValue(1, "must be at least 1"),
      v.maxValue(MAX_EXPIRING_DAYS, `must be at most ${MAX_EXPIRING_DAYS}`),
    ),
    "30",
  ),
  limit: limitField,
  cursor: v.optional(v.pipe(text(), v.maxLength(200, "is not a valid cursor"))),
});
export type ExpiringSoonInput = v.InferOutput<typeof ExpiringSoonQuery>;

export const ExpiringLotOut = v.strictObject({
  lotId: uuidOut,
  lotCode: v.string(),
  expiresOn: v.nullable(dayOut),
  daysLeft: intOut,
  expired: v.boolean(),
  quantity: countOut,
  item: v.strictObject({ id: uuidOut, name: v.string(), sku: nullableString }),
  unitCostCents: v.nullable(countOut),
  valueCents: v.nullable(countOut),
});
export const ExpiringSoonOut = v.strictObject({
  days: countOut,
  today: dayOut,
  items: v.array(ExpiringLotOut),
  pagination: v.strictObject({ limit: countOut, nextCursor: nullableString }),
});
/** ?tenant= runs the write-off for one tenant only (by hand); the daily run does every tenant. */
export const ExpireLotsQuery = v.strictObject({ tenant: v.optional(uuid) });
export type ExpireLotsInput = v.InferOutput<typeof ExpireLotsQuery>;
export const ExpireLotsOut = v.strictObject({ lots: countOut, units: countOut, tenants: countOut, remaining: v.boolean() });
