import type * as prom from "prom-client";
import promModule from "./prom.cjs";
import { DURATION_BUCKETS, parseField } from "./recorder.js";
import type { Gauges } from "./repo.js";

const { Registry, Counter, Gauge } = promModule as { Registry: typeof prom.Registry; Counter: typeof prom.Counter; Gauge: typeof prom.Gauge };

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface Snapshot {
  /** Every metrics hash field with its total (Redis's plus this instance's unshipped counts). */
  counts: Map<string, number>;
  /** undefined: the database could not be read (tally_database_up 0, no business gauges). */
  gauges: Gauges | undefined;
  /** undefined without Redis (counts are this process's). */
  redisUp: boolean | undefined;
}

type Value = { value: number; labels: Record<string, string>; metricName?: string };

/**
 * The Prometheus text for a snapshot, through prom-client's registry (its formatting and label
 * escaping): counters and gauges are set from the totals at scrape time, in a registry made for this
 * scrape. The histogram's buckets arrive already counted, which prom-client's Histogram cannot take
 * (it only observes), so it is registered as a metric object that reports them, in the shape the
 * registry formats (`get()` → name, help, type, values).
 */
export async function renderMetrics(snapshot: Snapshot): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: "tally_http_requests_total", help: "HTTP requests answered, by route pattern, method and status.", labelNames: ["route", "method", "status"], registers });
  const dbTrips = new Counter({ name: "tally_db_round_trips_total", help: "Database round trips made by requests, by route pattern.", labelNames: ["route"], registers });
  const cache = new Counter({ name: "tally_cache_lookups_total", help: "Response cache lookups on cached routes, by result (hit, miss, bypass: Redis unavailable).", labelNames: ["result"], registers });
  const rejections = new Counter({ name: "tally_rate_limit_rejections_total", help: "Requests refused by a rate limit (429), by policy (api, tenant, public, auth).", labelNames: ["policy"], registers });

  type Series = { labels: Record<string, string>; buckets: Map<string, number>; sum: number };
  const histogram = new Map<string, Series>();
  const seriesOf = (route: string, method: string, status: string) => {
    const key = JSON.stringify([route, method, status]);
    let series = histogram.get(key);
    if (!series) histogram.set(key, (series = { labels: { route, method, status }, buckets: new Map(), sum: 0 }));
    return series;
  };

  for (const [field, total] of snapshot.counts) {
    const parsed = parseField(field);
    if (!parsed) continue;
    const [a = "", b = "", c = "", d = ""] = parsed.labels;
    switch (parsed.kind) {
      case "req":
        requests.inc({ route: a, method: b, status: c }, total);
        break;
      case "dur":
        seriesOf(a, b, c).buckets.set(d, (seriesOf(a, b, c).buckets.get(d) ?? 0) + total);
        break;
      case "dursum":
        seriesOf(a, b, c).sum += total;
        break;
      case "db":
        dbTrips.inc({ route: a }, total);
        break;
      case "cache":
        cache.inc({ result: a }, total);
        break;
      case "rl":
        rejections.inc({ policy: a }, total);
        break;
    }
  }

  const name = "tally_http_request_duration_seconds";
  const durations = {
    name,
    help: "Time from a request's arrival to its response headers (a stream's body is not included), by route pattern, method and status.",
    type: "histogram",
    aggregator: "sum",
    get: async () => {
      const values: Value[] = [];
      for (const series of histogram.values()) {
        let cumulative = 0;
        for (const le of [...DURATION_BUCKETS.map(String), "+Inf"]) {
          cumulative += series.buckets.get(le) ?? 0;
          values.push({ value: cumulative, labels: { ...series.labels, le }, metricName: `${name}_bucket` });
        }
        values.push({ value: series.sum, labels: series.labels, metricName: `${name}_sum` });
        values.push({ value: cumulative, labels: series.labels, metricName: `${name}_count` });
      }
      return { name, help: durations.help, type: "histogram", values, aggregator: "sum" };
    },
  };
  registry.registerMetric(durations as unknown as prom.Metric);

  const gauge = (name: string, help: string, value: number, labels?: Record<string, string>, labelNames?: string[]) => {
    const g = new Gauge({ name, help, labelNames: labelNames ?? [], registers });
    if (labels) g.set(labels, value);
    else g.set(value);
    return g;
  };
  gauge("tally_database_up", "1 when the scrape could read the business gauges from the database, else 0.", snapshot.gauges ? 1 : 0);
  if (snapshot.redisUp !== undefined) gauge("tally_metrics_redis_up", "1 when the counters were read from Redis; 0: only this instance's unshipped counts are shown.", snapshot.redisUp ? 1 : 0);
  const g = snapshot.gauges;
  if (g) {
    const open = new Gauge({ name: "tally_orders_open", help: "Open orders (pending to ready) across live tenants, by status.", labelNames: ["status"], registers });
    for (const [status, n] of Object.entries(g.openOrders)) open.set({ status }, n);
    gauge("tally_items_low_stock", "Live items at or below their low-stock threshold, across live tenants.", g.lowStockItems);
    gauge("tally_reservations_active", "Pay-later shop orders holding stock within their reservation, across live tenants.", g.reservations.active);
    gauge("tally_reservations_units", "Units those reservations hold.", g.reservations.units);
    gauge("tally_reservations_overdue", "Pending pay-later orders past their reservation, not yet released (the expiry sweep runs every minute).", g.reservations.overdue);
    gauge("tally_blob_deletions_pending", "Replaced or purged images whose blob deletion is still queued.", g.blobDeletionsPending);
    const backlog = new Gauge({ name: "tally_deliveries_backlog", help: "Webhook and connector deliveries pending or being sent, by endpoint kind.", labelNames: ["kind"], registers });
    for (const kind of new Set(["webhook", ...Object.keys(g.deliveryBacklog)])) backlog.set({ kind }, g.deliveryBacklog[kind] ?? 0);
    if (g.deliveryOldestPendingAgeS !== undefined) gauge("tally_deliveries_oldest_pending_age_seconds", "Age of the oldest delivery still pending or being sent.", g.deliveryOldestPendingAgeS);
    if (g.analyticsRefreshAgeS !== undefined) gauge("tally_analytics_refresh_age_seconds", "Seconds since the analytics rollup refresh last ran.", g.analyticsRefreshAgeS);
  }
  return registry.metrics();
}
