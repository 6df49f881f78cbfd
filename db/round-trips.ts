import { AsyncLocalStorage } from "node:async_hooks";

// Every driver reports each trip to the database here, so a request (or a test) can count exactly
// what it cost. On neon-http a trip is one HTTP request (a batch included); PGlite counts one per
// statement outside a transaction and one per transaction, which is what neon-http would send.
// node-postgres counts every protocol query, so BEGIN/COMMIT show up there.
export interface RoundTripScope {
  db: number;
  dbMs: number;
}

const scopes = new AsyncLocalStorage<RoundTripScope>();
const totals = { db: 0 };

export function withRoundTripScope<T>(scope: RoundTripScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

export function currentRoundTripScope(): RoundTripScope | undefined {
  return scopes.getStore();
}

/** Records the start of one trip; call the returned function when it ends. */
export function startRoundTrip(): () => void {
  totals.db += 1;
  const scope = scopes.getStore();
  if (scope) scope.db += 1;
  const started = performance.now();
  return () => {
    if (scope) scope.dbMs += performance.now() - started;
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

export function totalRoundTrips(): number {
  return totals.db;
}
