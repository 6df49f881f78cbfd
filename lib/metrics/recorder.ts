// Request metrics, counted in this instance and shipped to Redis as passengers of a Redis round trip
// the instance makes anyway (the rate-limit check / cache lookup pipeline, a write's version bump, an
// event-stream poll): lib/platform/redis-transport.ts asks for them whenever it sends a pipeline, so
// metrics add no round trip. A request that makes no Redis trip of its own leaves its counts here
// until the instance's next trip. Without Redis (dev, tests) the counts simply stay here, and the
// scrape reads them from this process.
//
// Counts are increments since the last shipment, one Redis hash field each (HINCRBY; durations'
// sums HINCRBYFLOAT). Histogram buckets are stored per bucket, not cumulative, and added up at
// scrape time. Labels are bounded: the route *pattern* (never the raw path), the method, the status.
// Nothing here imports a client library: every function pays for this module at cold start.

/** Fixed buckets (seconds) of tally_http_request_duration_seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Hash field kinds: what each field of the metrics hash counts. */
export type FieldKind =
  | "req" // [route, method, status] → requests
  | "dur" // [route, method, status, le] → requests whose duration fell in bucket `le` (not cumulative)
  | "dursum" // [route, method, status] → seconds, summed
  | "db" // [route] → database round trips
  | "cache" // [result: hit|miss|bypass] → cached-route lookups
  | "rl"; // [policy] → rate-limit rejections

type Counts = Map<string, number>;
const slot = globalThis as typeof globalThis & { __tallyMetrics?: { pending: Counts } };
const state = (slot.__tallyMetrics ??= { pending: new Map() });

export const fieldOf = (kind: FieldKind, ...labels: string[]) => JSON.stringify([kind, ...labels]);

export function parseField(field: string): { kind: FieldKind; labels: string[] } | undefined {
  try {
    const parsed = JSON.parse(field) as unknown;
    if (!Array.isArray(parsed) || parsed.some((p) => typeof p !== "string")) return undefined;
    const [kind, ...labels] = parsed as string[];
    return { kind: kind as FieldKind, labels };
  } catch {
    return undefined;
  }
}

function add(field: string, by: number): void {
  state.pending.set(field, (state.pending.get(field) ?? 0) + by);
}

export function bucketOf(seconds: number): string {
  for (const le of DURATION_BUCKETS) if (seconds <= le) return String(le);
  return "+Inf";
}

export interface RequestSample {
  /** The route pattern as declared, e.g. /api/orders/[id]. */
  route: string;
  method: string;
  status: number;
  seconds: number;
  dbTrips: number;
  cache?: "hit" | "miss" | "bypass";
}

export function recordRequest(sample: RequestSample): void {
  const status = String(sample.status);
  add(fieldOf("req", sample.route, sample.method, status), 1);
  add(fieldOf("dur", sample.route, sample.method, status, bucketOf(sample.seconds)), 1);
  add(fieldOf("dursum", sample.route, sample.method, status), sample.seconds);
  if (sample.dbTrips > 0) add(fieldOf("db", sample.route), sample.dbTrips);
  if (sample.cache) add(fieldOf("cache", sample.cache), 1);
}

export function recordRateLimitRejection(policy: string): void {
  add(fieldOf("rl", policy), 1);
}

/** This instance's counts not yet shipped (all of them when there is no Redis). */
export function pendingCounts(): ReadonlyMap<string, number> {
  return state.pending;
}

export const metricsKey = (prefix: string) => `${prefix}:metrics`;

/**
 * Hands the pending counts to a Redis pipeline about to be sent, as HINCRBY/HINCRBYFLOAT commands
 * on the metrics hash. `settle(false)` (the pipeline failed) puts them back for the next trip: a
 * pipeline that timed out after Redis applied it is then counted twice — rare, and preferred to
 * losing every count of an outage.
 */
export function takeMetricCommands(prefix: string): { commands: unknown[][]; settle(ok: boolean): void } | undefined {
  if (state.pending.size === 0) return undefined;
  const taken = state.pending;
  state.pending = new Map();
  const key = metricsKey(prefix);
  const commands = [...taken].map(([field, by]) =>
    field.startsWith('["dursum"') ? ["hincrbyfloat", key, field, String(by)] : ["hincrby", key, field, String(Math.round(by))],
  );
  return {
    commands,
    settle(ok) {
      if (!ok) for (const [field, by] of taken) add(field, by);
    },
  };
}

/** Tests: forget this process's pending counts. */
export function resetPendingMetrics(): void {
  state.pending = new Map();
}
