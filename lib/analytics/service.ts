import { readDb } from "../../db/replicas.js";
import type { Tenant } from "../auth/session.js";
import { ApiError, notFound } from "../http/errors.js";
import { forecastDaily, ALPHA, METHOD } from "./forecast.js";
import * as repo from "./repo.js";
import { HISTORY_DAYS, MAX_SALES_RANGE_DAYS, type ForecastInput, type InventoryInput, type ReorderInput, type SalesInput } from "./schemas.js";

// Numbers come from the rollups, which the cron refresh keeps up to date (every answer carries
// `refreshedAt`, the last refresh). Money is integer minor units, like everywhere else.

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const addDays = (day: string, n: number) => utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
export const todayUtc = () => utcDay(Date.now());

// Days are the tenant's days: "today" is the calendar date now in the tenant's timezone.
const dayFormats = new Map<string, Intl.DateTimeFormat>();
export function localDay(ms: number, timezone = "UTC"): string {
  let format = dayFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormats.set(timezone, format);
  }
  return format.format(ms);
}
const todayFor = (tenant: Tenant) => localDay(Date.now(), tenant.timezone);
const zoneOf = (tenant: Tenant) => tenant.timezone ?? "UTC";

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;
/** Average order value in cents; undefined (null) without orders. */
const aov = (revenueCents: number, orders: number) => (orders ? Math.round(revenueCents / orders) : null);
/** Percent change against the previous period; null when there is nothing to compare with. */
const change = (current: number, previous: number) => (previous ? round(((current - previous) / previous) * 100, 1) : null);

export async function sales(tenant: Tenant, input: SalesInput) {
  const to = input.to ?? todayFor(tenant);
  const from = input.from ?? addDays(to, -29);
  const span = daysBetween(from, to);
  if (span < 0) throw new ApiError("bad_request", "Invalid query.", [{ path: "from", message: "must not be after to" }]);
  if (span >= MAX_SALES_RANGE_DAYS) throw new ApiError("bad_request", "Invalid query.", [{ path: "from", message: `the range must be at most ${MAX_SALES_RANGE_DAYS} days` }]);
  const db = await readDb();
  const { buckets, refreshedAt, rebuilding } = await repo.salesBuckets(db, tenant.id, from, to, input.groupBy, input.channel);
  const totals = buckets.reduce((t, b) => ({ orders: t.orders + b.orders, units: t.units + b.units, revenueCents: t.revenueCents + b.revenueCents }), { orders: 0, units: 0, revenueCents: 0 });
  return {
    from,
    to,
    groupBy: input.groupBy,
    channel: input.channel ?? null,
    buckets: buckets.map((b) => ({ ...b, averageOrderValueCents: aov(b.revenueCents, b.orders) })),
    totals: { ...totals, averageOrderValueCents: aov(totals.revenueCents, totals.orders) },
    timezone: zoneOf(tenant),
    rebuilding,
    refreshedAt,
  };
}

export async function dashboard(tenant: Tenant) {
  const db = await readDb();
  const today = todayFor(tenant);
  const d = await repo.dashboard(db, tenant.id, today);
  const compare = (current: string, previous: string) => {
    const c = d.period(current);
    const p = d.period(previous);
    return { ...c, previous: p, change: { revenuePct: change(c.revenueCents, p.revenueCents), ordersPct: change(c.orders, p.orders) } };
  };
  return {
    today,
    periods: { today: compare("today", "yesterday"), last7Days: compare("last7", "prev7"), last30Days: compare("last30", "prev30") },
    topItems: d.topItems,
    openOrders: d.openOrders,
    lowStockCount: d.lowStockCount,
    timezone: zoneOf(tenant),
    rebuilding: d.rebuilding,
    refreshedAt: d.refreshedAt,
  };
}

/**
 * Per live item over the `days` days ending today: stock value (stock × current price), units sold,
 * turnover (units sold ÷ current stock — we do not keep past stock levels, so current stock stands
 * in for the average) and days of cover (stock ÷ average daily units; null when nothing sold).
 * Sorted by days of cover, the items about to run out first.
 */
export async function inventory(tenant: Tenant, input: InventoryInput) {
  const db = await readDb();
  const { items, truncated, refreshedAt, rebuilding } = await repo.inventory(db, tenant.id, todayFor(tenant), input.days);
  const rows = items.map((i) => {
    const dailyUnits = i.unitsSold / input.days;
    return {
      ...i,
      lowStock: i.stock <= i.lowStockThreshold,
      stockValueCents: i.stock * i.priceCents,
      averageDailyUnits: round(dailyUnits, 3),
      turnover: i.stock > 0 ? round(i.unitsSold / i.stock, 3) : null,
      daysOfCover: dailyUnits > 0 ? round(i.stock / dailyUnits, 1) : null,
    };
  });
  rows.sort((a, b) => (a.daysOfCover ?? Infinity) - (b.daysOfCover ?? Infinity) || a.name.localeCompare(b.name));
  return {
    days: input.days,
    totals: {
      items: rows.length,
      stockValueCents: rows.reduce((s, r) => s + r.stockValueCents, 0),
      lowStockItems: rows.filter((r) => r.lowStock).length,
      unitsSold: rows.reduce((s, r) => s + r.unitsSold, 0),
    },
    items: rows,
    truncated,
    timezone: zoneOf(tenant),
    rebuilding,
    refreshedAt,
  };
}

/**
 * Items that run out within their lead time at their sales rate over the last `windowDays` days.
 * The lead time is the preferred supplier's (link, else supplier default), else `leadTimeDays`.
 * Suggested quantity: enough to cover the lead time plus the safety window at that rate, less what
 * is in stock — ceil(rate × (lead + safety)) − stock, at least 1 and at least the supplier's minimum
 * order. `suppliers` groups the same rows by preferred supplier (null: no preferred supplier) with
 * the estimated cost at the supplier's unit cost.
 */
export async function reorderSuggestions(tenant: Tenant, input: ReorderInput) {
  const db = await readDb();
  const today = todayFor(tenant);
  const candidates = await repo.reorderCandidates(db, tenant.id, today, input.windowDays, input.leadTimeDays);
  const items = reorderLines(candidates, input, today);
  return { leadTimeDays: input.leadTimeDays, safetyDays: input.safetyDays, windowDays: input.windowDays, timezone: zoneOf(tenant), items, suppliers: bySupplier(items) };
}

export type ReorderLine = ReturnType<typeof reorderLines>[number];

export function reorderLines(candidates: Awaited<ReturnType<typeof repo.reorderCandidates>>, input: ReorderInput, today: string) {
  return candidates
    .map(({ supplier, ...c }) => {
      const rate = c.unitsSold / input.windowDays;
      const cover = c.stock / rate;
      const needed = Math.max(1, Math.ceil(rate * (c.leadTimeDays + input.safetyDays) - c.stock));
      const suggestedQuantity = Math.max(needed, supplier?.minOrderQuantity ?? 1);
      return {
        ...c,
        dailyRate: round(rate, 3),
        daysOfCover: round(cover, 1),
        stockoutDate: addDays(today, Math.floor(cover)),
        suggestedQuantity,
        supplierId: supplier?.supplierId ?? null,
        supplierName: supplier?.name ?? null,
        unitCostCents: supplier?.unitCostCents ?? null,
        estimatedCostCents: supplier ? supplier.unitCostCents * suggestedQuantity : null,
      };
    })
    .sort((a, b) => a.daysOfCover - b.daysOfCover || a.name.localeCompare(b.name));
}

function bySupplier(items: ReorderLine[]) {
  const groups = new Map<string | null, { supplierId: string | null; supplierName: string | null; totalCostCents: number; items: ReorderLine[] }>();
  for (const item of items) {
    let group = groups.get(item.supplierId);
    if (!group) groups.set(item.supplierId, (group = { supplierId: item.supplierId, supplierName: item.supplierName, totalCostCents: 0, items: [] }));
    group.items.push(item);
    group.totalCostCents += item.estimatedCostCents ?? 0;
  }
  // Suppliers by name, items without a preferred supplier last.
  return [...groups.values()].sort((a, b) => (a.supplierName === null ? 1 : b.supplierName === null ? -1 : a.supplierName.localeCompare(b.supplierName)));
}

/** The next `horizon` days (today first) from up to 56 complete days of history (see forecast.ts). */
export async function demandForecast(tenant: Tenant, input: ForecastInput) {
  const db = await readDb();
  const today = todayFor(tenant);
  const found = await repo.itemHistory(db, tenant.id, input.itemId, addDays(today, -HISTORY_DAYS), today);
  if (!found) throw notFound("Item");
  // Days before the item existed are not zero sales; start the history at its first day.
  const first = found.item.firstDay > addDays(today, -HISTORY_DAYS) ? found.item.firstDay : addDays(today, -HISTORY_DAYS);
  const length = Math.max(0, daysBetween(first, today));
  const history = Array.from({ length }, (_, t) => {
    const date = addDays(first, t);
    return { date, units: found.sales.get(date) ?? 0 };
  });
  const values = forecastDaily(history.map((h) => h.units), new Date(`${first}T00:00:00Z`).getUTCDay(), input.horizon);
  const forecast = values.map((units, k) => ({ date: addDays(today, k), units: round(units) }));
  return {
    item: { itemId: found.item.itemId, name: found.item.name, sku: found.item.sku, stock: found.item.stock },
    horizon: input.horizon,
    method: METHOD,
    alpha: ALPHA,
    history,
    forecast,
    totalUnits: round(values.reduce((a, b) => a + b, 0)),
    timezone: zoneOf(tenant),
    rebuilding: found.rebuilding,
    refreshedAt: found.refreshedAt,
  };
}
