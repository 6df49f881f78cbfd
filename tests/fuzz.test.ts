import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ROUTES, type RouteSpec } from "./support/catalog.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import type { TestTenant } from "./support/fixtures.js";
import { calendarDate } from "../lib/http/inputs.js";
import { setLogSink } from "../lib/platform/log.js";
import { declarationOf, dotPath, fieldsMatching, numberFields, stringFields, withValueAt, type FieldPath } from "./support/schemas.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Hostile text in every string field of every write route, and NUL in every query and path
// parameter of every route, all taken from the route catalog and the routes' own schemas: a new
// route or field joins without editing this file. Nothing may answer 5xx.

const NOT_TEXT = ["\u0000", "a\u0000b", "\ud800", "x\udfffy", "\udc00\ud800", "trailing high \udbff"];
/** Text around one NUL or unpaired surrogate (ASCII around it, so nothing can pair it up). */
const hostileText = fc
  .tuple(fc.string({ maxLength: 30 }), fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00", "\udfff"), fc.string({ maxLength: 30 }))
  .map(([before, bad, after]) => before + bad + after);
const ONE_MB = "x".repeat(1024 * 1024);

const writeRoutes = ROUTES.filter((r) => r.method !== "GET");

// On every database target: validation should stop all of it before the database, and where it
// would not, real Postgres is the one that refuses NUL (22021).
describe.each(dbTargets())("hostile text never gets a 5xx on %s", (name) => {
  const ctx = withTarget(name);
  // A tenant of its own per route: the walks send valid bodies too (DELETE /api/tenant, leaving,
  // transferring ownership, creating tenants), which would leave a shared tenant unusable.
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await ctx.tenant();
  });
  const tokenFor = (spec: RouteSpec) => (spec.role === "public" ? undefined : spec.role === "cron" ? process.env.CRON_SECRET : tenant.users.owner.token);
  // A fresh Idempotency-Key where the route takes one (checkout requires it: 400 before the body).
  const keyFor = (policy: { idempotent?: true }): Record<string, string> => (policy.idempotent ? { "idempotency-key": randomUUID() } : {});
  const pathOf = (spec: RouteSpec) => (spec.target ? spec.target(ctx.db, tenant) : Promise.resolve(spec.pattern));
  const seen: { route: string; status: number }[] = [];
  const record = (spec: RouteSpec, result: CallResult, what: string) => {
    seen.push({ route: `${spec.method} ${spec.pattern}`, status: result.status });
    expect(result.status, `${spec.method} ${spec.pattern} ${what}: ${result.text.slice(0, 200)}`).toBeLessThan(500);
    return result;
  };

  for (const spec of writeRoutes) {
    it(`${spec.method} ${spec.pattern}: NUL, unpaired surrogates and 1 MB in every string field of the body`, async () => {
      tenant = await ctx.tenant();
      const { policy } = await declarationOf(spec);
      const fields = stringFields(policy.body).text;
      const base = spec.validBody ? await spec.validBody(ctx.db, tenant) : spec.body;
      const send = async (field: FieldPath, value: string) =>
        record(spec, await call(spec.method, await pathOf(spec), { token: tokenFor(spec), headers: keyFor(policy), body: withValueAt(base, field, value) }), `${dotPath(field)}=${JSON.stringify(value.slice(0, 40))}`);
      for (const field of fields) {
        const refusedAsText = (result: CallResult) => {
          expect(result.status, dotPath(field)).toBe(422);
          expect(errorOf(result).details?.map((d) => d.path), dotPath(field)).toContain(dotPath(field));
        };
        for (const value of NOT_TEXT) refusedAsText(await send(field, value));
        await fc.assert(fc.asyncProperty(hostileText, async (value) => refusedAsText(await send(field, value))), { numRuns: 6 });
        expect([413, 422]).toContain((await send(field, ONE_MB)).status);
      }
    });
  }

  it("NUL in every query parameter of every route is a 400 naming it (unknown parameters are ignored)", { timeout: 180_000 }, async () => {
    for (const spec of ROUTES) {
      tenant = await ctx.tenant();
      const { policy } = await declarationOf(spec);
      const declared = Object.keys((policy.query as { entries?: Record<string, unknown> } | undefined)?.entries ?? {});
      for (const param of [...declared, "undeclared"]) {
        for (const value of ["\u0000", "a\u0000b"]) {
          const url = new URL(await pathOf(spec), "http://localhost");
          url.searchParams.set(param, value);
          const result = record(spec, await call(spec.method, `${url.pathname}${url.search}`, { token: tokenFor(spec), body: spec.method === "GET" ? undefined : spec.body }), `?${param}=NUL`);
          if (declared.includes(param)) {
            expect(result.status, `${spec.method} ${spec.pattern}?${param}`).toBe(400);
            expect(errorOf(result).details?.map((d) => d.path)).toContain(param);
          }
        }
      }
    }
  });

  it("NUL in every path parameter of every route is a 400", async () => {
    for (const spec of ROUTES.filter((r) => r.pattern.includes("["))) {
      tenant = await ctx.tenant();
      const path = spec.pattern.replace(/\[[^\]]+\]/g, "a%00b");
      const result = record(spec, await call(spec.method, path, { token: tokenFor(spec), body: spec.method === "GET" ? undefined : spec.body }), "path NUL");
      expect(result.status, `${spec.method} ${spec.pattern}`).toBe(400);
    }
  });

  // Values JSON and the date format allow but Postgres cannot hold. The class-22 backstop would
  // answer them 400 without naming the field and log a validation gap; validation must stop them.
  const refusedByDatabase: unknown[] = [];
  const watchBackstop = () => setLogSink((line) => void (line.includes("validation let through") && refusedByDatabase.push(JSON.parse(line))));
  afterEach(() => setLogSink(undefined));
  const BIG_NUMBERS = [2 ** 31, 2 ** 53 + 2, 1e300, -(2 ** 31) - 1];

  it("every number field of every write route's body: beyond a 32-bit integer is a 422 naming it, never a database refusal", async () => {
    watchBackstop();
    let checked = 0;
    for (const spec of writeRoutes) {
      tenant = await ctx.tenant();
      const { policy } = await declarationOf(spec);
      const base = spec.validBody ? await spec.validBody(ctx.db, tenant) : spec.body;
      for (const field of numberFields(policy.body)) {
        for (const value of BIG_NUMBERS) {
          const result = record(spec, await call(spec.method, await pathOf(spec), { token: tokenFor(spec), headers: keyFor(policy), body: withValueAt(base, field, value) }), `${dotPath(field)}=${value}`);
          expect(result.status, `${spec.method} ${spec.pattern} ${dotPath(field)}=${value}: ${result.text.slice(0, 200)}`).toBe(422);
          expect(errorOf(result).details?.map((d) => d.path), `${spec.method} ${spec.pattern} ${dotPath(field)}`).toContain(dotPath(field));
          checked++;
        }
      }
    }
    expect(refusedByDatabase).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it("every date query parameter: days Postgres cannot take (year 0, near year 1 or 9999) are a 400 naming it or answered, never a database refusal", async () => {
    watchBackstop();
    let checked = 0;
    for (const spec of ROUTES.filter((r) => r.method === "GET")) {
      tenant = await ctx.tenant();
      const { policy } = await declarationOf(spec);
      const params = fieldsMatching(policy.query, (node) => node === calendarDate).map(dotPath);
      for (const value of ["0000-01-01", "0000-12-31", "0001-01-01", "0001-01-20", "9999-12-31"]) {
        for (const set of [...params.map((p) => [p]), params]) {
          if (set.length === 0) continue;
          const url = new URL(await pathOf(spec), "http://localhost");
          for (const param of set) url.searchParams.set(param, value);
          const result = record(spec, await call("GET", `${url.pathname}${url.search}`, { token: tokenFor(spec) }), url.search);
          if (result.status !== 200) {
            expect(result.status, `${spec.pattern}${url.search}: ${result.text.slice(0, 200)}`).toBe(400);
            expect(errorOf(result).details?.length, `${spec.pattern}${url.search}: ${result.text.slice(0, 200)}`).toBeGreaterThan(0);
          }
          checked++;
        }
      }
    }
    expect(refusedByDatabase).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it("covered every write route's text fields and every route (0 × 5xx)", () => {
    expect(seen.filter((s) => s.status >= 500)).toEqual([]);
    expect(new Set(seen.map((s) => s.route)).size).toBe(ROUTES.length);
  });
});
