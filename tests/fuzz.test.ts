import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ROUTES, type RouteSpec } from "./support/catalog.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import type { TestTenant } from "./support/fixtures.js";
import { declarationOf, dotPath, stringFields, withValueAt, type FieldPath } from "./support/schemas.js";
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
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await ctx.tenant();
  });
  const tokenFor = (spec: RouteSpec) => (spec.role === "public" ? undefined : spec.role === "cron" ? process.env.CRON_SECRET : tenant.users.owner.token);
  const pathOf = (spec: RouteSpec) => (spec.target ? spec.target(ctx.db, tenant) : Promise.resolve(spec.pattern));
  const seen: { route: string; status: number }[] = [];
  const record = (spec: RouteSpec, result: CallResult, what: string) => {
    seen.push({ route: `${spec.method} ${spec.pattern}`, status: result.status });
    expect(result.status, `${spec.method} ${spec.pattern} ${what}: ${result.text.slice(0, 200)}`).toBeLessThan(500);
    return result;
  };

  for (const spec of writeRoutes) {
    it(`${spec.method} ${spec.pattern}: NUL, unpaired surrogates and 1 MB in every string field of the body`, async () => {
      const { policy } = await declarationOf(spec);
      const fields = stringFields(policy.body).text;
      const base = spec.validBody ? await spec.validBody(ctx.db, tenant) : spec.body;
      const send = async (field: FieldPath, value: string) => record(spec, await call(spec.method, await pathOf(spec), { token: tokenFor(spec), body: withValueAt(base, field, value) }), `${dotPath(field)}=${JSON.stringify(value.slice(0, 40))}`);
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

  it("NUL in every query parameter of every route is a 400 naming it (unknown parameters are ignored)", async () => {
    for (const spec of ROUTES) {
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
      const path = spec.pattern.replace(/\[[^\]]+\]/g, "a%00b");
      const result = record(spec, await call(spec.method, path, { token: tokenFor(spec), body: spec.method === "GET" ? undefined : spec.body }), "path NUL");
      expect(result.status, `${spec.method} ${spec.pattern}`).toBe(400);
    }
  });

  it("covered every write route's text fields and every route (0 × 5xx)", () => {
    expect(seen.filter((s) => s.status >= 500)).toEqual([]);
    expect(new Set(seen.map((s) => s.route)).size).toBe(ROUTES.length);
  });
});
