import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { classifyDbError } from "../db/errors.js";
import { gatedStatement, refusalOf } from "../lib/idempotency/keys.js";
import { ROUTES } from "./support/catalog.js";
import { app, call, errorOf, type CallResult } from "./support/client.js";
import type { Req } from "./support/idempotency-cases.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// The idempotency suite: every route that takes Idempotency-Key (from the route catalog, so a new
// one joins by being declared `idempotent` and given a case in support/idempotency-cases.ts) gets
// the same checks. Rules (README "Idempotency"): only a success is stored; a key belongs to its
// principal and route; same key + other request is 422; concurrent duplicates execute once.

const IDEMPOTENT = ROUTES.filter((r) => r.idempotent);
let keys = 0;
const newKey = () => `idem-${process.pid}-${++keys}-${Math.random().toString(36).slice(2, 8)}`;

const send = (request: Req, key: string, extra: Partial<Req> = {}) => {
  const r = { ...request, ...extra };
  return call(r.method, r.path, { token: r.token, body: r.body, headers: { ...r.headers, "idempotency-key": key } });
};
const replayed = (result: CallResult) => result.headers.get("idempotent-replayed") === "true";

describe("which routes take Idempotency-Key", () => {
  it("every route declared idempotent is marked in the catalog, and every marked route is declared", async () => {
    const declared: string[] = [];
    for (const route of app().routes) {
      const module = await import(route.file);
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) if (module[method]?.idempotent === true) declared.push(`${method} ${route.pattern}`);
    }
    expect(declared.sort()).toEqual(IDEMPOTENT.map((r) => `${r.method} ${r.pattern}`).sort());
    expect(declared.length).toBeGreaterThanOrEqual(5);
  });

  it("nothing reads the header but route(), and nothing writes keys but gatedStatement()", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith(".ts")) {
          const source = readFileSync(full, "utf8");
          const readsHeader = /idempotency-key/i.test(source.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "")) || /idempotencyFrom\(/.test(source);
          // lib/openapi/build.ts only names the header in the API description.
          if (readsHeader && !["lib/http/route.ts", "lib/idempotency/keys.ts", "lib/http/cors.ts", "lib/openapi/build.ts"].includes(full)) offenders.push(`${full} reads Idempotency-Key`);
          if (/INSERT INTO idempotency_keys/i.test(source) && full !== "lib/idempotency/keys.ts") offenders.push(`${full} writes idempotency_keys`);
        }
      }
    };
    walk("api");
    walk("lib");
    expect(offenders).toEqual([]);
  });
});

describe.each(dbTargets())("Idempotency-Key on %s", (name) => {
  const ctx = withTarget(name);
  // undefined: wherever the key was filed (POST /api/tenants files it under the tenant it creates);
  // the per-route tests' keys are unique to the test (newKey), so nothing else can match.
  const keyRows = async (tenantId: string | undefined, key: string) =>
    Number((await query(ctx.db, sql`SELECT count(*) AS n FROM idempotency_keys WHERE (${tenantId ?? null}::uuid IS NULL OR tenant_id = ${tenantId ?? null}::uuid) AND key = ${key}`))[0]!.n);

  it("a gated statement cannot commit its key without its success", async () => {
    const t = await ctx.tenant();
    const statement = (key: string, succeeded: boolean) =>
      gatedStatement({
        tenantId: t.id,
        idem: { key, scope: "POST /test", principal: "user:test", hash: "h" },
        resourceId: crypto.randomUUID(),
        work: sql`work AS (SELECT 1 AS done FROM go)`,
        succeeded: succeeded ? sql`EXISTS (SELECT 1 FROM work)` : sql`false`,
        refusal: sql`jsonb_build_object('why', 'test')`,
        columns: sql`1 AS one`,
        render: () => sql`SELECT NULL::json`,
      });
    const [failKey, okKey] = [newKey(), newKey()];
    const failed = await query(ctx.db, statement(failKey, false)).catch((error) => error);
    expect(refusalOf(classifyDbError(failed))).toEqual({ why: "test" });
    expect(await keyRows(t.id, failKey)).toBe(0);
    const done = await query(ctx.db, statement(okKey, true));
    expect(done[0]).toMatchObject({ fresh: true });
    expect(await keyRows(t.id, okKey)).toBe(1);
  });

  for (const spec of IDEMPOTENT) {
    const c = spec.idempotent!;
    describe(`${spec.method} ${spec.pattern}`, () => {
      it("a failure keeps nothing: the same key, once the failure is fixed, executes", async () => {
        const t = await ctx.tenant();
        const { request, status, fix } = await c.failing(ctx.db, t);
        const key = newKey();
        const failed = await send(request, key);
        expect(failed.status, failed.text).toBe(status);
        expect(await keyRows(undefined, key)).toBe(0);
        // Failing again is the same failure, not "in progress" nor a replay.
        expect((await send(request, key)).status).toBe(status);
        const changes = (await fix()) ?? {};
        const before = await c.executions(ctx.db, request);
        const retried = await send(request, key, changes);
        expect(retried.status, retried.text).toBe(c.success);
        expect(replayed(retried)).toBe(false);
        expect(await c.executions(ctx.db, request)).toBe(before + 1);
        const again = await send(request, key, changes);
        expect(again.status).toBe(c.success);
        expect(replayed(again)).toBe(true);
        expect(again.json).toEqual(retried.json);
      });

      it("a success replays: same status, same body, Idempotent-Replayed, executed once", async () => {
        const t = await ctx.tenant();
        const request = await c.succeeding(ctx.db, t);
        const key = newKey();
        const first = await send(request, key);
        expect(first.status, first.text).toBe(c.success);
        expect(replayed(first)).toBe(false);
        const second = await send(request, key);
        expect(second.status).toBe(c.success);
        expect(replayed(second)).toBe(true);
        expect(second.json).toEqual(first.json);
        // One round trip (node-postgres counts BEGIN and COMMIT of a batch as trips of their own).
        if (ctx.kind !== "node-postgres") expect(second.dbTrips).toBe(c.replayTrips ?? 1);
        expect(await c.executions(ctx.db, request)).toBe(1);
        expect(await keyRows(undefined, key)).toBe(1);
      });

      // Found by the red team: the key's scope held the path as sent, so a retry whose client
      // spelled the id in capitals (UUIDs are case-insensitive; Postgres takes either) ran again.
      it("a retry naming the same resource with its id in capitals replays", async () => {
        const t = await ctx.tenant();
        const request = await c.succeeding(ctx.db, t);
        const key = newKey();
        const first = await send(request, key);
        expect(first.status, first.text).toBe(c.success);
        const shouting = { ...request, path: request.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => id.toUpperCase()) };
        const second = await send(shouting, key);
        expect(second.status, second.text).toBe(c.success);
        expect(replayed(second)).toBe(true);
        expect(await c.executions(ctx.db, request)).toBe(1);
      });

      it("the same key from another principal executes on its own", async () => {
        const t = await ctx.tenant();
        const request = await c.succeeding(ctx.db, t);
        const key = newKey();
        const first = await send(request, key);
        expect(first.status).toBe(c.success);
        const other = await c.other(ctx.db, t, request);
        const theirs = await send(other, key);
        expect(replayed(theirs)).toBe(false);
        if (c.otherSucceeds) {
          expect(theirs.status, theirs.text).toBe(c.success);
          expect(c.resourceOf(theirs.json)).not.toBe(c.resourceOf(first.json));
          expect(await keyRows(undefined, key)).toBe(2);
        } else {
          // Refused on its own merits (e.g. the order is already cancelled), not given the first answer.
          expect(theirs.status).toBeGreaterThanOrEqual(400);
          expect(theirs.status).toBeLessThan(500);
          expect(await keyRows(undefined, key)).toBe(1);
        }
        // And the first principal still gets its own replay.
        const mine = await send(request, key);
        expect(replayed(mine)).toBe(true);
        expect(c.resourceOf(mine.json)).toBe(c.resourceOf(first.json));
      });

      if (c.different) {
        const different = c.different;
        it("the same key with another request is 422 idempotency_mismatch and executes nothing", async () => {
          const t = await ctx.tenant();
          const request = await c.succeeding(ctx.db, t);
          const key = newKey();
          expect((await send(request, key)).status).toBe(c.success);
          const mismatch = await send(different(request), key);
          expect(mismatch.status).toBe(422);
          expect(errorOf(mismatch).code).toBe("idempotency_mismatch");
          expect(await c.executions(ctx.db, request)).toBe(1);
        });
      }

      it("concurrent duplicates execute once and all answer the one result", async () => {
        const t = await ctx.tenant();
        const request = await c.succeeding(ctx.db, t);
        const key = newKey();
        const results = await Promise.all(Array.from({ length: 12 }, () => send(request, key)));
        expect(results.map((r) => r.status)).toEqual(results.map(() => c.success));
        expect(results.filter((r) => !replayed(r))).toHaveLength(1);
        expect(new Set(results.map((r) => c.resourceOf(r.json))).size).toBe(1);
        expect(await c.executions(ctx.db, request)).toBe(1);
      });
    });
  }
});
