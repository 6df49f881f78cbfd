import * as v from "valibot";
import { countOut, intOut, nullableString, nullableTimestampOut, pageOf, timestampOut, uuidOut } from "../http/outputs.js";
import { booleanField, calendarDate, limitField, optionalText, pageField, uuid, text, versionField } from "../http/inputs.js";

export const MAX_COMMENT = 2000;

const score = (label: string) =>
  v.pipe(v.number(`${label} must be a number`), v.integer("must be an integer"), v.minValue(1, "must be between 1 and 5"), v.maxValue(5, "must be between 1 and 5"));

// Long enough for any token we issue, short enough that nobody sends us a novel to hash.
const token = v.pipe(text("must be a string"), v.minLength(1, "must not be empty"), v.maxLength(200, "is not a feedback token"));

const ratings = {
  rating: score("rating"),
  productQuality: v.optional(v.nullable(score("productQuality"))),
  delivery: v.optional(v.nullable(score("delivery"))),
  communication: v.optional(v.nullable(score("communication"))),
  comment: optionalText(MAX_COMMENT),
  consentToPublish: v.optional(v.boolean("must be true or false"), false),
};

export const TokenBody = v.strictObject({ token });

export const PublicFeedbackCreate = v.strictObject({ token, ...ratings });
export type PublicFeedbackInput = v.InferOutput<typeof PublicFeedbackCreate>;
export type Ratings = Omit<PublicFeedbackInput, "token">;

export const StaffFeedbackCreate = v.pipe(
  v.strictObject({ orderId: uuid, ...ratings, isPublic: v.optional(v.boolean("must be true or false"), false) }),
  v.forward(
    v.check((f) => !f.isPublic || f.consentToPublish, "needs consentToPublish: only feedback the customer agreed to publish can be public"),
    ["isPublic"],
  ),
);
export type StaffFeedbackInput = v.InferOutput<typeof StaffFeedbackCreate>;

export const FeedbackUpdate = v.pipe(
  v.strictObject({
    response: optionalText(MAX_COMMENT),
    isPublic: v.optional(v.boolean("must be true or false")),
    version: versionField,
  }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send response or isPublic"),
);
export type FeedbackUpdateInput = v.InferOutput<typeof FeedbackUpdate>;

const ratingList = v.optional(
  v.pipe(
    text(),
    v.transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean)),
    v.array(v.pipe(v.picklist(["1", "2", "3", "4", "5"], "must be ratings between 1 and 5, comma-separated"), v.transform(Number))),
    v.minLength(1, "must not be empty"),
  ),
);

export const FeedbackListQuery = v.object({
  page: pageField,
  limit: limitField,
  rating: ratingList,
  public: booleanField,
  from: v.optional(calendarDate),
  to: v.optional(calendarDate),
});
export type FeedbackListInput = v.InferOutput<typeof FeedbackListQuery>;

export const FeedbackStatsQuery = v.object({ from: v.optional(calendarDate), to: v.optional(calendarDate) });
export type FeedbackStatsInput = v.InferOutput<typeof FeedbackStatsQuery>;

export const PublicFeedbackListQuery = v.object({
  tenant: v.pipe(text(), v.trim(), v.minLength(1, "must name a tenant slug"), v.maxLength(100, "is not a tenant slug"), v.toLowerCase()),
  page: pageField,
  limit: limitField,
});
export type PublicFeedbackListInput = v.InferOutput<typeof PublicFeedbackListQuery>;

export const OrderIdParams = v.object({ orderId: uuid });

// Output schemas.
const scoreOut = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5));
// What the customer wrote: the staff view and the submitter's receipt both show it.
const answersOut = {
  rating: scoreOut,
  productQuality: v.nullable(scoreOut),
  delivery: v.nullable(scoreOut),
  communication: v.nullable(scoreOut),
  comment: nullableString,
  consentToPublish: v.boolean(),
};
export const FeedbackOut = v.strictObject({
  id: uuidOut,
  orderId: uuidOut,
  orderNumber: intOut,
  customer: v.nullable(v.strictObject({ id: uuidOut, name: v.string() })),
  source: v.picklist(["customer", "staff"]),
  ...answersOut,
  isPublic: v.boolean(),
  response: nullableString,
  respondedAt: nullableTimestampOut,
  version: intOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
});
export const FeedbackPageOut = pageOf(FeedbackOut);
export const SubmittedFeedbackOut = v.strictObject({
  id: uuidOut,
  ...answersOut,
  createdAt: timestampOut,
});
export const FeedbackTokenOut = v.strictObject({ token: v.string(), expiresAt: timestampOut, url: v.optional(v.string()) });
export const TokenValidationOut = v.strictObject({
  valid: v.literal(true),
  expiresAt: timestampOut,
  tenant: v.strictObject({ name: v.string() }),
  order: v.strictObject({ number: intOut, createdAt: timestampOut, items: v.array(v.strictObject({ name: v.string(), quantity: countOut })) }),
});
const average = v.nullable(v.number());
export const FeedbackStatsOut = v.strictObject({
  count: countOut,
  averages: v.strictObject({ rating: average, productQuality: average, delivery: average, communication: average }),
  distribution: v.strictObject({ "1": countOut, "2": countOut, "3": countOut, "4": countOut, "5": countOut }),
  positiveShare: v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  publicCount: countOut,
});
export const TestimonialOut = v.strictObject({
  id: uuidOut,
  rating: scoreOut,
  productQuality: v.nullable(scoreOut),
  delivery: v.nullable(scoreOut),
  communication: v.nullable(scoreOut),
  comment: nullableString,
  response: nullableString,
  customerFirstName: nullableString,
  createdAt: timestampOut,
});
export const TestimonialPageOut = v.strictObject({ tenant: v.strictObject({ name: v.string() }), ...pageOf(TestimonialOut).entries });
