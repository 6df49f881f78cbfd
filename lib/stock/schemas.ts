import * as v from "valibot";
import { ItemOut } from "../items/schemas.js";
import { intOut, nullableString, pageOf, timestampOut, uuidOut } from "../http/outputs.js";
import { limitField, pageField, requiredText } from "../http/inputs.js";

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
