import * as v from "valibot";
import { ROLES } from "../../db/enums.js";
import { countOut, intOut, nullableString, timestampOut, uuidOut } from "../http/outputs.js";
import { nonNegativeInt, requiredText, text, uuid } from "../http/inputs.js";
import { canonicalTimezone, isCurrency, slugProblem } from "./settings.js";

const slug = v.pipe(
  text(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = slugProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

const timezone = v.pipe(
  text(),
  v.check((s) => canonicalTimezone(s) !== undefined, "must be an IANA timezone name, e.g. Asia/Jakarta"),
  v.transform((s) => canonicalTimezone(s)!),
);

const currency = v.pipe(text(), v.toUpperCase(), v.check((s) => /^[A-Z]{3}$/.test(s) && isCurrency(s), "must be an ISO 4217 currency code, e.g. IDR"));

const tenantName = requiredText(1, 100);

export const TenantCreate = v.strictObject({
  name: tenantName,
  slug: v.optional(slug),
  timezone: v.optional(timezone),
  currency: v.optional(currency),
});
export type TenantCreateInput = v.InferOutput<typeof TenantCreate>;

export const ORDER_NUMBER_MAX = 1_000_000_000;

export const TenantUpdate = v.strictObject({
  name: v.optional(tenantName),
  timezone: v.optional(timezone),
  currency: v.optional(currency),
  lowStockThresholdDefault: v.optional(nonNegativeInt(1_000_000)),
  orderNumberStart: v.optional(v.pipe(nonNegativeInt(ORDER_NUMBER_MAX), v.minValue(1, "must be at least 1"))),
  version: v.optional(v.pipe(nonNegativeInt(), v.minValue(1, "must be at least 1"))),
});
export type TenantUpdateInput = v.InferOutput<typeof TenantUpdate>;

export const TenantIdParams = v.object({ id: uuid });

// Output schemas.
export const TenantOut = v.strictObject({
  id: uuidOut,
  slug: v.string(),
  name: v.string(),
  timezone: v.string(),
  currency: v.pipe(v.string(), v.regex(/^[A-Z]{3}$/)),
  currencyExponent: countOut,
  lowStockThresholdDefault: countOut,
  orderNumberStart: intOut,
  analyticsRebuilding: v.boolean(),
  version: intOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
});
const tenantRef = v.strictObject({ id: uuidOut, slug: v.string(), name: v.string() });
export const MeOut = v.strictObject({
  user: v.strictObject({ id: uuidOut, email: nullableString, name: nullableString, emailVerified: v.boolean() }),
  memberships: v.array(v.strictObject({ tenant: tenantRef, role: v.picklist(ROLES) })),
  deletedTenants: v.array(v.strictObject({ tenant: tenantRef, deletedAt: timestampOut, restorableUntil: timestampOut })),
});
export const TenantDeletedOut = v.strictObject({ id: uuidOut, slug: v.string(), deletedAt: timestampOut, restorableUntil: timestampOut });
export const PurgeOut = v.strictObject({
  purged: countOut,
  imagesQueued: countOut,
  waitingForBlobs: countOut,
});
