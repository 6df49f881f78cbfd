import { sql } from "drizzle-orm/sql/sql";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { classifyDbError } from "../db/errors.js";
import { toApiError } from "../lib/http/errors.js";
import { optionalText, requiredText, text, uuid } from "../lib/http/inputs.js";
import { ROUTES } from "./support/catalog.js";
import { declarationOf, dotPath, stringFields } from "./support/schemas.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe("text inputs", () => {
  it("every route declares its strings with text(): no bare v.string() in any params, query or body schema", async () => {
    const raw: string[] = [];
    let texts = 0;
    for (const spec of ROUTES) {
      const { policy } = await declarationOf(spec);
      for (const where of ["params", "query", "body"] as const) {
        const found = stringFields(policy[where]);
        texts += found.text.length;
        raw.push(...found.raw.map((p) => `${spec.method} ${spec.pattern} ${where}.${dotPath(p)}`));
      }
    }
    expect(raw).toEqual([]);
    expect(texts).toBeGreaterThan(50);
  });

  it("the walker tells text() from a bare string wherever it is nested", () => {
    const schema = v.strictObject({
      a: text(),
      b: v.optional(v.pipe(text(), v.trim())),
      c: v.array(v.strictObject({ d: v.string(), e: uuid })),
      f: v.nullable(v.pipe(v.string(), v.maxLength(3))),
      g: optionalText(10),
      h: requiredText(1, 5),
      i: v.union([v.number(), v.string()]),
    });
    const found = stringFields(schema);
    expect(found.raw.map(dotPath)).toEqual(["c.0.d", "f", "i"]);
    expect(found.text.map(dotPath)).toEqual(["a", "b", "c.0.e", "g", "h"]);
  });

  it("text() refuses NUL and unpaired surrogates, and accepts every other character", () => {
    const schema = v.pipe(text(), v.trim());
    for (const bad of ["\u0000", "a\u0000b", "\ud800", "x\udfffy", "\udc00\ud800", `${"é".repeat(10)}\ud83d`]) expect(v.safeParse(schema, bad).success, JSON.stringify(bad)).toBe(false);
    for (const good of ["", "plain", "ünïcödé", "😀 emoji pairs", "\u0001\u001f\u007f", "\uffff", "tab\tnew\nline"]) expect(v.safeParse(schema, good).success, JSON.stringify(good)).toBe(true);
  });
});

describe.each(dbTargets())("data exceptions from the database on %s (the backstop)", (name) => {
  const ctx = withTarget(name);

  it("maps SQLSTATE 22021 (NUL in text) and the rest of class 22 to 400, never 500", async () => {
    const failures = [
      sql`SELECT ${"Zebulon\u0000"}::text AS x`,
      sql`SELECT 1 / ${0}::int AS x`,
      sql`SELECT ${"99999999999"}::int AS x`,
      sql`SELECT ${"not a date"}::date AS x`,
    ];
    const seen: string[] = [];
    for (const statement of failures) {
      const error = await query(ctx.db, statement).then(() => undefined, (e: unknown) => e);
      const db = classifyDbError(error);
      expect(db?.sqlState?.startsWith("22"), String(db?.sqlState)).toBe(true);
      expect(db?.kind).toBe("invalid_input");
      expect(toApiError(error)?.status).toBe(400);
      seen.push(db!.sqlState!);
    }
    expect(seen).toEqual(["22021", "22012", "22003", "22007"]);
  });
});
