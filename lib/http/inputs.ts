import * as v from "valibot";

// Building blocks for route schemas. Query strings arrive as strings, so numeric and boolean query
// fields parse from text; bodies are JSON and must carry real numbers.

// NUL and unpaired surrogates (JSON can carry "\ud800") are not text Postgres can store: it answers
// 22021 for NUL and drivers silently turn a lone surrogate into U+FFFD. With the u flag \p{Cs}
// matches only unpaired surrogates (a pair is one astral code point).
const NOT_TEXT = /[\u0000\p{Cs}]/u;
const WELL_FORMED = v.check<string, string>((s) => !NOT_TEXT.test(s), "must not contain NUL characters or unpaired surrogates");

/**
 * The one way route schemas declare a string (tests/validation.test.ts walks every route's schemas
 * and fails on a bare v.string()): a string that is well-formed text. Bodies answer 422 naming the
 * field, query strings and path params 400 (see parseInput).
 */
export const text = (message = "must be a string") => v.pipe(v.string(message), WELL_FORMED);

/** Whether a schema node is a text() string (for the test that walks route schemas). */
export const isTextSchema = (node: unknown): boolean => {
  const pipe = (node as { pipe?: unknown[] } | null)?.pipe;
  return Array.isArray(pipe) && (pipe.includes(WELL_FORMED) || isTextSchema(pipe[0]));
};

/**
 * A UUID, in lower case: Postgres takes either case, so without this one resource had several
 * spellings — and an Idempotency-Key scope (method + path) or a duplicate-line check by id could
 * tell them apart.
 */
export const uuid = v.pipe(text(), v.uuid("must be a UUID"), v.toLowerCase());
export const IdParams = v.object({ id: uuid });

/**
 * A real calendar day, YYYY-MM-DD (2026-02-30 is refused), from 1900 on. JavaScript dates know a year
 * 0 that Postgres does not (22008), and routes reach days before the one given (analytics: the 30 days
 * up to `to`), so years near 1 would fail in the database instead of here.
 */
export const calendarDate = v.pipe(
  text("must be a date (YYYY-MM-DD)"),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date (YYYY-MM-DD)"),
  v.check((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, "is not a calendar date"),
  v.check((s) => s >= "1900-01-01", "must be 1900-01-01 or later"),
);

export const PAGE_LIMITS = [10, 20, 50, 100] as const;
export const MAX_PAGE = 100_000;

const digits = (message: string) => v.pipe(text(), v.regex(/^\d{1,9}$/, message), v.transform(Number));

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
        text(),
        v.trim(),
        v.maxLength(max, `must be at most ${max} characters`),
        v.transform((s) => (s === "" ? null : s)),
      ),
    ),
  );

export const requiredText = (min: number, max: number) =>
  v.pipe(text(), v.trim(), v.minLength(min, min === 1 ? "must not be empty" : `must be at least ${min} characters`), v.maxLength(max, `must be at most ${max} characters`));

export const INT32_MAX = 2_147_483_647;
export const nonNegativeInt = (max = INT32_MAX) =>
  v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(0, "must be at least 0"), v.maxValue(max, `must be at most ${max}`));

/**
 * `version` in a body (optimistic concurrency, like If-Match). Versions are Postgres integers: a
 * larger one can never match, and unchecked it reached the database as an out-of-range value.
 */
export const versionField = v.optional(v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(1, "must be at least 1"), v.maxValue(INT32_MAX, `must be at most ${INT32_MAX}`)));

/** A paged list's query with the usual case-insensitive `search` (customers, suppliers). */
export const SearchListQuery = v.object({
  page: pageField,
  limit: limitField,
  search: v.optional(v.pipe(text(), v.trim(), v.maxLength(100, "must be at most 100 characters"))),
});

export interface Page<T> {
  items: T[];
  pagination: { page: number; limit: number; total: number; totalPages: number };
}

export function page<T>(items: T[], total: number, pageNumber: number, limit: number): Page<T> {
  return { items, pagination: { page: pageNumber, limit, total, totalPages: Math.ceil(total / limit) } };
}

/** "Cafés & Bars!" -> "cafes-bars": accents dropped, runs of anything but a-z0-9 become one "-", at most `max` characters, no hyphen at either end. */
export function foldToSlug(name: string, max: number): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/g, "");
}
