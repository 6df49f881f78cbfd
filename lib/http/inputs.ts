import * as v from "valibot";

// Building blocks for route schemas. Query strings arrive as strings, so numeric and boolean query
// fields parse from text; bodies are JSON and must carry real numbers.
export const uuid = v.pipe(v.string(), v.uuid("must be a UUID"));
export const IdParams = v.object({ id: uuid });

/** A real calendar day, YYYY-MM-DD (2026-02-30 is refused). */
export const calendarDate = v.pipe(
  v.string("must be a date (YYYY-MM-DD)"),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date (YYYY-MM-DD)"),
  v.check((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, "is not a calendar date"),
);

export const PAGE_LIMITS = [10, 20, 50, 100] as const;
export const MAX_PAGE = 100_000;

const digits = (message: string) => v.pipe(v.string(), v.regex(/^\d{1,9}$/, message), v.transform(Number));

export const pageField = v.optional(v.pipe(digits("must be a positive integer"), v.minValue(1, "must be at least 1"), v.maxValue(MAX_PAGE, `must be at most ${MAX_PAGE}`)), "1");
export const limitField = v.optional(
  v.pipe(digits("must be one of 10, 20, 50, 100"), v.picklist(PAGE_LIMITS, "must be one of 10, 20, 50, 100")),
  "10",
);
export const booleanField = v.optional(v.pipe(v.picklist(["true", "false"], "must be true or false"), v.transform((s) => s === "true")));

/** A trimmed string of bounded length; empty after trimming counts as absent (null). */
export const optionalText = (max: number) =>
  v.optional(
    v.nullable(
      v.pipe(
        v.string(),
        v.trim(),
        v.maxLength(max, `must be at most ${max} characters`),
        v.transform((s) => (s === "" ? null : s)),
      ),
    ),
  );

export const requiredText = (min: number, max: number) =>
  v.pipe(v.string(), v.trim(), v.minLength(min, min === 1 ? "must not be empty" : `must be at least ${min} characters`), v.maxLength(max, `must be at most ${max} characters`));

export const INT32_MAX = 2_147_483_647;
export const nonNegativeInt = (max = INT32_MAX) =>
  v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(0, "must be at least 0"), v.maxValue(max, `must be at most ${max}`));

export interface Page<T> {
  items: T[];
  pagination: { page: number; limit: number; total: number; totalPages: number };
}

export function page<T>(items: T[], total: number, pageNumber: number, limit: number): Page<T> {
  return { items, pagination: { page: pageNumber, limit, total, totalPages: Math.ceil(total / limit) } };
}
