import * as v from "valibot";
import { intOut, nullableString, pageOf, timestampOut, uuidOut } from "../http/outputs.js";
import { optionalText, requiredText, text, versionField, SearchListQuery } from "../http/inputs.js";

const phone = v.optional(
  v.nullable(
    v.pipe(
      text(),
      v.trim(),
      v.maxLength(30, "must be at most 30 characters"),
      v.regex(/^$|^[+0-9 ().-]*[0-9][+0-9 ().-]*$/, "must be a phone number"),
      v.transform((s) => (s === "" ? null : s)),
    ),
  ),
);
const email = v.optional(
  v.nullable(v.pipe(text(), v.trim(), v.toLowerCase(), v.maxLength(254, "must be at most 254 characters"), v.email("must be an email address"))),
);

const fields = {
  name: requiredText(1, 100),
  phone,
  email,
  socialHandle: optionalText(100),
  notes: optionalText(1000),
};

export const CustomerFields = v.strictObject(fields);
export type CustomerInput = v.InferOutput<typeof CustomerFields>;

export const CustomerUpdate = v.pipe(
  v.strictObject({ ...fields, name: v.optional(fields.name), version: versionField }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
);
export type CustomerUpdateInput = v.InferOutput<typeof CustomerUpdate>;

export const CustomerListQuery = SearchListQuery;
export type CustomerListInput = v.InferOutput<typeof CustomerListQuery>;

// Output schemas.
export const CustomerOut = v.strictObject({
  id: uuidOut,
  name: v.string(),
  phone: nullableString,
  email: nullableString,
  socialHandle: nullableString,
  notes: nullableString,
  version: intOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
});
export const CustomerPageOut = pageOf(CustomerOut);
