// Per-endpoint latency, sequential (one request in flight), measured around the whole exchange
// including reading the body, plus database round trips per request counted at the driver.
import { totalRoundTrips } from "../../db/round-trips.js";
import { invalidate } from "../../lib/cache/response-cache.js";
import { DEMO_TENANT } from "../../lib/dev/seed.js";
import { CREATED_PREFIX } from "./fixtures.js";

// The endpoint table measures the database path: every cached GET is made a miss first. Cache hits
// are measured separately (cache.ts).
const miss = () => invalidate(DEMO_TENANT.id, ["items"]);

export interface RequestSpec {
  method: string;
  path: string;
  body?: unknown;
  expect: number;
  /** Untimed preparation (here: invalidating the response cache so a GET measures the database path). */
  before?: () => Promise<void>;
}

/** One iteration sends one request per row, in order (DELETE then restore is one scenario, two rows). */
export interface Scenario {
  rows: string[];
  next(i: number): RequestSpec[];
}

export type Send = (spec: RequestSpec) => Promise<Response>;

export interface RowResult {
  endpoint: string;
  latencyMs: number[];
  trips: number[];
}

export function itemScenarios(ids: { read: string[]; update: string[]; remove: string[] }): Scenario[] {
  const pick = (list: string[], i: number) => list[i % list.length]!;
  const one = (row: string, make: (i: number) => Omit<RequestSpec, "method"> & { method?: string }): Scenario => ({
    rows: [row],
    next: (i) => [{ method: row.split(" ")[0]!, ...make(i) }],
  });
  return [
    one("GET /api/items", () => ({ path: "/api/items?limit=20", expect: 200, before: miss })),
    one("GET /api/items?search=…", (i) => ({ path: `/api/items?search=${["candle", "mug #1", "bench-01", "tea"][i % 4]}&limit=20`, expect: 200, before: miss })),
    one("GET /api/items/deleted", () => ({ path: "/api/items/deleted?limit=20", expect: 200, before: miss })),
    one("GET /api/items/:id", (i) => ({ path: `/api/items/${pick(ids.read, i)}`, expect: 200, before: miss })),
    one("POST /api/items", (i) => ({ path: "/api/items", body: { name: `${CREATED_PREFIX} ${i}`, priceCents: 1234, stock: 5, category: "Bench" }, expect: 201 })),
    one("PUT /api/items/:id", (i) => ({ path: `/api/items/${pick(ids.update, i)}`, body: { lowStockThreshold: i % 40, priceCents: 1000 + (i % 500) }, expect: 200 })),
    {
      rows: ["DELETE /api/items/:id (soft)", "POST /api/items/:id/restore"],
      next: (i) => {
        const id = pick(ids.remove, i);
        return [
          { method: "DELETE", path: `/api/items/${id}`, expect: 200 },
          { method: "POST", path: `/api/items/${id}/restore`, expect: 200 },
        ];
      },
    },
    one("GET /api/health", () => ({ path: "/api/health", expect: 200 })),
  ];
}

export interface LatencyOptions {
  warmup: number;
  iterations: number;
  /** Stop a scenario early (after at least minIterations) once it has run this long. */
  maxMsPerScenario: number;
  minIterations: number;
}

export async function measureScenario(send: Send, scenario: Scenario, options: LatencyOptions): Promise<RowResult[]> {
  const results = scenario.rows.map((endpoint) => ({ endpoint, latencyMs: [] as number[], trips: [] as number[] }));
  for (let i = 0; i < options.warmup; i++) {
    for (const spec of scenario.next(i)) await exchange(send, spec);
  }
  const started = performance.now();
  for (let i = 0; i < options.iterations; i++) {
    if (i >= options.minIterations && performance.now() - started > options.maxMsPerScenario) break;
    const specs = scenario.next(options.warmup + i);
    for (const [j, spec] of specs.entries()) {
      await spec.before?.();
      const tripsBefore = totalRoundTrips();
      const t0 = performance.now();
      await exchange(send, spec);
      results[j]!.latencyMs.push(performance.now() - t0);
      results[j]!.trips.push(totalRoundTrips() - tripsBefore);
    }
  }
  return results;
}

/** Sends one request and reads the whole body; an unexpected status stops the bench. */
export async function exchange(send: Send, spec: RequestSpec): Promise<void> {
  const response = await send(spec);
  const text = await response.text();
  if (response.status !== spec.expect) {
    throw new Error(`${spec.method} ${spec.path}: expected ${spec.expect}, got ${response.status}: ${text.slice(0, 500)}`);
  }
}

export function requestInit(spec: RequestSpec, token: string): RequestInit {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (spec.body !== undefined) headers["content-type"] = "application/json";
  return { method: spec.method, headers, body: spec.body === undefined ? undefined : JSON.stringify(spec.body) };
}
