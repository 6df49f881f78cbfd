import { AsyncLocalStorage } from "node:async_hooks";

// Every driver reports each trip to the database (and the Redis transport each trip to Redis) here,
// so a request (or a test) can count exactly what it cost. On neon-http a trip is one HTTP request
// (a batch included); PGlite counts one per statement outside a transaction and one per
// transaction, which is what neon-http would send. node-postgres counts every protocol query, so
// BEGIN/COMMIT show up there.
export interface RoundTripScope {
  db: number;
  dbMs: number;
  redis: number;
  redisMs: number;
}

export type TripKind = "db" | "redis";

const scopes = new AsyncLocalStorage<RoundTripScope>();
const totals: Record<TripKind, number> = { db: 0, redis: 0 };

export const newRoundTripScope = (): RoundTripScope => ({ db: 0, dbMs: 0, redis: 0, redisMs: 0 });

export function withRoundTripScope<T>(scope: RoundTripScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

export function currentRoundTripScope(): RoundTripScope | undefined {
  return scopes.getStore();
}

/**
 * Records the start of one trip; call the returned function when it ends. `shared` lists the scopes
 * of every request whose work rides in this trip (the Redis transport coalesces several requests
 * into one HTTP call): each of them is charged the trip, the global total counts it once.
 */
export function startRoundTrip(kind: TripKind = "db", shared?: Iterable<RoundTripScope>): () => void {
  totals[kind] += 1;
  const charged = shared ? new Set(shared) : new Set(scopes.getStore() ? [scopes.getStore()!] : []);
  for (const scope of charged) scope[kind] += 1;
  const started = performance.now();
  return () => {
    const ms = performance.now() - started;
    for (const scope of charged) scope[kind === "db" ? "dbMs" : "redisMs"] += ms;
  };
}

export async function countRoundTrip<T>(trip: () => Promise<T>): Promise<T> {
  const done = startRoundTrip();
  try {
    return await trip();
  } finally {
    done();
  }
}

export function totalRoundTrips(kind: TripKind = "db"): number {
  return totals[kind];
}
