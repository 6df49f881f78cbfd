import * as v from "valibot";
import { ItemOut } from "../items/schemas.js";
import { intOut, nullableString, pageOf, timestampOut, uuidOut } from "../http/outputs.js";
import { calendarDate, limitField, pageField, requiredText, uuid } from "../http/inputs.js";
import { exportFormatField } from "../http/export.js";
import { csvOf } from "../orders/schemas.js";

export const MAX_ADJUSTMENT = 1_000_000;

export const StockAdjustment = v.strictObject({
  delta: v.pipe(
    v.number("must be a number"),
    v.integer("must be an integer"),
    v.minValue(-MAX_ADJUSTMENT, `must be at least -${MAX_ADJUSTMENT}`),
    v.maxValue(MAX_ADJUSTMENT, `must be at most ${MAX_ADJUSTMENT}`),
    v.check((n) => n !== 0, "must not be 0"),
  ),
  reason: requiredText(1, 200),
});
export type StockAdjustmentInput = v.InferOutput<typeof StockAdjustment>;

export const MovementListQuery = v.object({ page: pageField, limit: limitField });

// Output schemas.
export const MovementOut = v.strictObject({
  id: uuidOut,
  itemId: uuidOut,
  delta: intOut,
  reason: v.string(),
  orderId: v.nullable(uuidOut),
  note: nullableString,
  createdBy: v.nullable(uuidOut),
  createdAt: timestampOut,
});
export const MovementPageOut = pageOf(MovementOut);
export const StockAdjustmentOut = v.strictObject({ item: ItemOut, movement: MovementOut });

export const MOVEMENT_REASONS = ["order", "cancel", "edit", "adjustment", "set", "receipt", "count", "release", "import"] as const;

/** GET /api/stock-movements/export: the tenant's whole ledger, oldest first, optionally narrowed. */
export const MovementExportQuery = v.object({
  itemId: v.optional(uuid),
  reason: csvOf(MOVEMENT_REASONS, "one or more of"),
  from: v.optional(calendarDate),
  to: v.optional(calendarDate),
  format: exportFormatField,
});
/** One exported ledger row (a JSON Lines line; the CSV's columns). */
export const MovementExportLineOut = v.strictObject({
  id: uuidOut,
  createdAt: timestampOut,
  itemId: uuidOut,
  itemName: v.string(),
  sku: nullableString,
  delta: intOut,
  reason: v.picklist(MOVEMENT_REASONS),
  orderId: v.nullable(uuidOut),
  purchaseOrderId: v.nullable(uuidOut),
  note: nullableString,
  createdBy: v.nullable(uuidOut),
});
