import * as v from "valibot";
import { CHANNELS } from "../../db/enums.js";
import { calendarDate, uuid, text } from "../http/inputs.js";

const format = v.optional(v.picklist(["json", "csv"], "must be json or csv"));

/** Whole days from a query string, within [min, max]. */
const days = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(text(), v.regex(/^\d{1,4}$/, `must be a whole number of days (${min}-${max})`), v.transform(Number), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`)),
    String(fallback),
  );

export const MAX_SALES_RANGE_DAYS = 731;

export const SalesQuery = v.object({
  from: v.optional(calendarDate),
  to: v.optional(calendarDate),
  groupBy: v.optional(v.picklist(["day", "week", "month"], "must be day, week or month"), "day"),
  channel: v.optional(v.picklist(CHANNELS, `must be one of ${CHANNELS.join(", ")}`)),
  format,
});
export type SalesInput = v.InferOutput<typeof SalesQuery>;

export const InventoryQuery = v.object({ days: days(1, 365, 30), format });
export type InventoryInput = v.InferOutput<typeof InventoryQuery>;

export const ReorderQuery = v.object({
  leadTimeDays: days(1, 365, 7),
  safetyDays: days(0, 365, 7),
  windowDays: days(7, 365, 28),
});
export type ReorderInput = v.InferOutput<typeof ReorderQuery>;

export const HISTORY_DAYS = 56;

export const ForecastQuery = v.object({
  itemId: uuid,
  horizon: v.optional(v.pipe(v.picklist(["14", "30"], "must be 14 or 30"), v.transform(Number)), "14"),
});
export type ForecastInput = v.InferOutput<typeof ForecastQuery>;

