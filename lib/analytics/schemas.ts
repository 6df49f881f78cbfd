import * as v from "valibot";
import { countOut, dayOut, nullableString, nullableTimestampOut, uuidOut } from "../http/outputs.js";
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

// Output schemas. Every analytics answer says which timezone its days are in, whether the rollups
// are being rebuilt in a new one, and when they were last refreshed.
const freshness = { timezone: v.string(), rebuilding: v.boolean(), refreshedAt: nullableTimestampOut };
const nullableNumber = v.nullable(v.number());
const salesFigures = { orders: countOut, units: countOut, revenueCents: countOut, averageOrderValueCents: v.nullable(countOut) };
export const SalesOut = v.strictObject({
  from: dayOut,
  to: dayOut,
  groupBy: v.picklist(["day", "week", "month"]),
  channel: v.nullable(v.picklist(CHANNELS)),
  buckets: v.array(v.strictObject({ period: dayOut, ...salesFigures })),
  totals: v.strictObject(salesFigures),
  ...freshness,
});
const periodFigures = { revenueCents: countOut, orders: countOut };
const comparedPeriod = v.strictObject({
  ...periodFigures,
  previous: v.strictObject(periodFigures),
  change: v.strictObject({ revenuePct: nullableNumber, ordersPct: nullableNumber }),
});
export const DashboardOut = v.strictObject({
  today: dayOut,
  periods: v.strictObject({ today: comparedPeriod, last7Days: comparedPeriod, last30Days: comparedPeriod }),
  topItems: v.array(v.strictObject({ itemId: uuidOut, name: v.string(), sku: nullableString, units: countOut, revenueCents: countOut })),
  openOrders: v.strictObject({ pending: countOut, confirmed: countOut, preparing: countOut, ready: countOut }),
  lowStockCount: countOut,
  ...freshness,
});
// An item as the stock reports name it.
const stockedItemOut = { itemId: uuidOut, name: v.string(), sku: nullableString, stock: countOut };
export const InventoryOut = v.strictObject({
  days: countOut,
  totals: v.strictObject({ items: countOut, stockValueCents: countOut, lowStockItems: countOut, unitsSold: countOut }),
  items: v.array(
    v.strictObject({
      ...stockedItemOut,
      priceCents: countOut,
      lowStockThreshold: countOut,
      unitsSold: countOut,
      revenueCents: countOut,
      lowStock: v.boolean(),
      stockValueCents: countOut,
      averageDailyUnits: v.number(),
      turnover: nullableNumber,
      daysOfCover: nullableNumber,
    }),
  ),
  truncated: v.boolean(),
  ...freshness,
});
const reorderLineOut = v.strictObject({
  ...stockedItemOut,
  unitsSold: countOut,
  leadTimeDays: countOut,
  dailyRate: v.number(),
  daysOfCover: v.number(),
  stockoutDate: dayOut,
  suggestedQuantity: countOut,
  supplierId: v.nullable(uuidOut),
  supplierName: nullableString,
  unitCostCents: v.nullable(countOut),
  estimatedCostCents: v.nullable(countOut),
});
export const ReorderOut = v.strictObject({
  leadTimeDays: countOut,
  safetyDays: countOut,
  windowDays: countOut,
  timezone: v.string(),
  items: v.array(reorderLineOut),
  suppliers: v.array(
    v.strictObject({ supplierId: v.nullable(uuidOut), supplierName: nullableString, totalCostCents: countOut, items: v.array(reorderLineOut) }),
  ),
});
const dayUnits = v.strictObject({ date: dayOut, units: v.number() });
export const ForecastOut = v.strictObject({
  item: v.strictObject(stockedItemOut),
  horizon: countOut,
  method: v.string(),
  alpha: v.number(),
  history: v.array(dayUnits),
  forecast: v.array(dayUnits),
  totalUnits: v.number(),
  ...freshness,
});
export const RefreshOut = v.union([
  v.strictObject({ refreshed: v.literal(true), changedOrders: countOut, days: countOut, rowsWritten: countOut, rowsDeleted: countOut, watermark: v.string(), rebuiltTenants: countOut }),
  v.strictObject({ refreshed: v.literal(false), reason: v.string() }),
]);
