import * as v from "valibot";
import { ROLES } from "../../db/enums.js";
import { nullableTimestampOut, timestampOut, uuidOut } from "../http/outputs.js";
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
        // The pattern allows 2027-02-30, which Date would quietly roll over to March 2.
        v.check((s) => new Date(`${s.slice(0, 10)}T00:00:00Z`).toISOString().startsWith(s.slice(0, 10)), "is not a calendar date"),
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

// Output schemas. The key itself appears only in ApiKeyCreatedOut, once.
const apiKeyFields = {
  id: uuidOut,
  name: v.string(),
  role: v.picklist(ROLES),
  prefix: v.string(),
  last4: v.string(),
  status: v.picklist(["active", "expired", "revoked"]),
  createdAt: timestampOut,
  expiresAt: nullableTimestampOut,
  revokedAt: nullableTimestampOut,
  lastUsedAt: nullableTimestampOut,
};
export const ApiKeyOut = v.strictObject(apiKeyFields);
export const ApiKeyListOut = v.strictObject({ items: v.array(ApiKeyOut) });
export const ApiKeyCreatedOut = v.strictObject({ ...apiKeyFields, key: v.pipe(v.string(), v.regex(/^tly_(live|test)_[0-9A-Za-z]+$/)) });
