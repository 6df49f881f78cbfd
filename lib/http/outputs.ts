import * as v from "valibot";
import { ERROR_STATUS } from "./errors.js";

// Building blocks for output schemas (the success bodies routes declare as `output`; OpenAPI builds
// its response schemas from them and the contract tests hold every answer to them). Objects are
// strict: a field the code starts sending without the schema knowing fails the contract tests.
// Plain v.string() is right here: these schemas describe what we send, they never parse input.

/** An ISO 8601 instant, as every timestamp is sent (UTC, `Z`). */
export const timestampOut = v.pipe(v.string(), v.isoTimestamp());
export const nullableTimestampOut = v.nullable(timestampOut);
/** A calendar day, YYYY-MM-DD. */
export const dayOut = v.pipe(v.string(), v.isoDate());
export const uuidOut = v.pipe(v.string(), v.uuid());
export const intOut = v.pipe(v.number(), v.integer());
export const countOut = v.pipe(v.number(), v.integer(), v.minValue(0));
export const nullableString = v.nullable(v.string());

/** The page of a `?page=&limit=` list. */
export const PaginationOut = v.strictObject({ page: countOut, limit: countOut, total: countOut, totalPages: countOut });
export const pageOf = <T extends v.GenericSchema>(item: T) => v.strictObject({ items: v.array(item), pagination: PaginationOut });

/** The one error shape (lib/http/errors.ts). The spec narrows `code` per operation and status. */
export const ErrorOut = v.strictObject({
  error: v.strictObject({
    code: v.picklist(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
    message: v.string(),
    requestId: v.string(),
    details: v.optional(v.array(v.looseObject({ path: v.optional(v.string()), message: v.string() }))),
  }),
});
