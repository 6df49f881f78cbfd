import * as v from "valibot";
import { requiredText, text, uuid } from "../http/inputs.js";

const MAX_LIFETIME_DAYS = 3 * 366;

export const ApiKeyCreate = v.strictObject({
  name: requiredText(1, 100),
  role: v.picklist(["owner", "admin", "staff"], "must be owner, admin or staff"),
  expiresAt: v.optional(
    v.nullable(
      v.pipe(
        text(),
        v.isoTimestamp("must be an ISO 8601 timestamp with a timezone, e.g. 2027-01-31T00:00:00Z"),
        v.transform((s) => new Date(s)),
        v.check((d) => !Number.isNaN(d.getTime()) && d.getTime() > Date.now(), "must be in the future"),
        v.check((d) => d.getTime() <= Date.now() + MAX_LIFETIME_DAYS * 86_400_000, `must be within ${MAX_LIFETIME_DAYS} days`),
        v.transform((d) => d.toISOString()),
      ),
    ),
  ),
});
export type ApiKeyCreateInput = v.InferOutput<typeof ApiKeyCreate>;

export const ApiKeyParams = v.object({ id: uuid });
