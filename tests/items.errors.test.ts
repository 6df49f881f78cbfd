import fc from "fast-check";
import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { SAMPLE_ITEM } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("items bad input on %s", (name) => {
  const ctx = withTarget(name);
  const countItems = async (tenantId: string) => Number((await query(ctx.db, sql`SELECT count(*) AS n FROM items WHERE tenant_id = ${tenantId}`))[0]!.n);
  const fingerprint = async (tenantId: string) =>
    JSON.stringify(await query(ctx.db, sql`SELECT id, name, sku, price_cents, stock, version, deleted_at FROM items WHERE tenant_id = ${tenantId} ORDER BY id`));

  it("rejects duplicate SKUs case-insensitively among live items, and allows reuse after a soft delete", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const first = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, sku: "AB-1" } });
    const dup = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, sku: "ab-1" } });
    expect(dup.status).toBe(409);
    expect(errorOf(dup)).toMatchObject({ code: "conflict", details: [{ path: "sku" }] });

    const other = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, sku: "AB-2" } });
    const renameClash = await call("PUT", `/api/items/${other.json.id}`, { token: admin, body: { sku: "Ab-1" } });
    expect(renameClash.status).toBe(409);

    await call("DELETE", `/api/items/${first.json.id}`, { token: admin });
    const reuse = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, sku: "AB-1" } });
    expect(reuse.status).toBe(201);
    const restoreClash = await call("POST", `/api/items/${first.json.id}/restore`, { token: admin });
    expect(restoreClash.status).toBe(409);
    expect(errorOf(restoreClash).details?.[0]?.path).toBe("sku");
    // Items without a SKU never collide.
    for (let i = 0; i < 2; i++) expect((await call("POST", "/api/items", { token: admin, body: { name: "No sku", priceCents: 1 } })).status).toBe(201);
  });

  it("enforces versions: stale If-Match is 412, unparseable If-Match is 412, header/body disagreement is 400", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { id } = (await call("POST", "/api/items", { token: admin, body: SAMPLE_ITEM })).json;
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 1, version: 1 } })).status).toBe(200);
    const stale = await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2 }, headers: { "if-match": '"v1"' } });
    expect(stale.status).toBe(412);
    expect(errorOf(stale).code).toBe("precondition_failed");
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2, version: 1 } })).status).toBe(412);
    expect((await call("DELETE", `/api/items/${id}`, { token: admin, headers: { "if-match": '"v1"' } })).status).toBe(412);
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2 }, headers: { "if-match": "garbage" } })).status).toBe(412);
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2, version: 2 }, headers: { "if-match": '"v3"' } })).status).toBe(400);
    const fresh = await call("GET", `/api/items/${id}`, { token: admin });
    expect(fresh.json).toMatchObject({ stock: 1, version: 2 });
    // "*" matches any version: fine for other fields, not enough to set stock (see items.stock tests).
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { name: "Any" }, headers: { "if-match": "*" } })).status).toBe(200);
  });

  it("lets exactly one of many concurrent edits at the same version win", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { id } = (await call("POST", "/api/items", { token: admin, body: SAMPLE_ITEM })).json;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 100 + i }, headers: { "if-match": '"v1"' } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(7);
    expect((await call("GET", `/api/items/${id}`, { token: admin })).json.version).toBe(2);
  });

  it("answers state conflicts: purge or restore of a live item is 409, editing a deleted item is 404", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { id } = (await call("POST", "/api/items", { token: admin, body: SAMPLE_ITEM })).json;
    expect(errorOf(await call("DELETE", `/api/items/${id}/permanent`, { token: admin })).code).toBe("conflict");
    expect(errorOf(await call("POST", `/api/items/${id}/restore`, { token: admin })).code).toBe("conflict");
    await call("DELETE", `/api/items/${id}`, { token: admin });
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { name: "Gone" } })).status).toBe(404);
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 1, version: 2 } })).status).toBe(404);
    expect((await call("DELETE", `/api/items/${id}`, { token: admin })).status).toBe(404);
  });

  it("rejects bad queries with 400 and the field path", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const cases: [string, string][] = [
      ["limit=7", "limit"],
      ["limit=abc", "limit"],
      ["page=0", "page"],
      ["page=-1", "page"],
      ["page=1.5", "page"],
      ["page=99999999999", "page"],
      ["lowStock=yes", "lowStock"],
      [`search=${"x".repeat(101)}`, "search"],
    ];
    for (const [qs, path] of cases) {
      const result = await call("GET", `/api/items?${qs}`, { token: staff });
      expect(result.status, qs).toBe(400);
      expect(errorOf(result).details?.map((d) => d.path), qs).toEqual([path]);
    }
  });

  it("rejects bad bodies with a 4xx and changes nothing", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { id } = (await call("POST", "/api/items", { token: admin, body: SAMPLE_ITEM })).json;
    const before = await fingerprint(t.id);
    const bad: [string, string, unknown, number][] = [
      ["POST", "/api/items", { ...SAMPLE_ITEM, priceCents: "12" }, 422],
      ["POST", "/api/items", { ...SAMPLE_ITEM, priceCents: 3_000_000_000 }, 422],
      ["POST", "/api/items", { ...SAMPLE_ITEM, stock: -1 }, 422],
      ["POST", "/api/items", { ...SAMPLE_ITEM, name: "x".repeat(101) }, 422],
      ["POST", "/api/items", { ...SAMPLE_ITEM, description: "x".repeat(501) }, 422],
      ["POST", "/api/items", { ...SAMPLE_ITEM, name: "   " }, 422],
      ["POST", "/api/items", [SAMPLE_ITEM], 422],
      ["POST", "/api/items", "just a string", 422],
      ["POST", "/api/items", null, 422],
      ["PUT", `/api/items/${id}`, {}, 422],
      ["PUT", `/api/items/${id}`, { version: 1 }, 422],
      ["PUT", `/api/items/${id}`, { stock: null }, 422],
      ["PUT", `/api/items/${id}`, { id: crypto.randomUUID() }, 422],
      ["PUT", `/api/items/${id}`, { tenantId: crypto.randomUUID() }, 422],
    ];
    for (const [method, path, body, status] of bad) {
      const result = await call(method, path, { token: admin, body });
      expect(result.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      errorOf(result);
    }
    const wrongType = await call("POST", "/api/items", { token: admin, rawBody: JSON.stringify(SAMPLE_ITEM), headers: { "content-type": "text/plain" } });
    expect(wrongType.status).toBe(415);
    const empty = await call("POST", "/api/items", { token: admin, rawBody: "" });
    expect(empty.status).toBe(400);
    const huge = await call("POST", "/api/items", { token: admin, rawBody: JSON.stringify({ ...SAMPLE_ITEM, description: "x".repeat(200_000) }) });
    expect(huge.status).toBe(413);
    expect(errorOf(huge).code).toBe("payload_too_large");
    expect(await fingerprint(t.id)).toBe(before);
  });

  it("never answers random input with a 5xx (property test)", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { id } = (await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, sku: null } })).json;
    const field = fc.oneof(fc.string({ maxLength: 120 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    const body = fc.oneof(
      fc.record({ name: field, priceCents: field, stock: field, sku: field, description: field, lowStockThreshold: field, category: field }, { requiredKeys: [] }),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("POST", "PUT"), async (input, method) => {
        const path = method === "POST" ? "/api/items" : `/api/items/${id}`;
        const result = await call(method, path, { token: admin, body: input === undefined ? {} : input });
        expect(result.status).toBeLessThan(500);
        if (result.status >= 400) errorOf(result);
      }),
      { numRuns: name === "pglite" ? 120 : 40 },
    );
    const items = await countItems(t.id);
    expect(items).toBeGreaterThanOrEqual(1);
  });
});
