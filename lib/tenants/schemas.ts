import * as v from "valibot";
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
