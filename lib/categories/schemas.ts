import * as v from "valibot";
import { foldToSlug, nonNegativeInt, requiredText, text, uuid, versionField } from "../http/inputs.js";

export const CATEGORY_SLUG_MAX = 60;
export const CATEGORY_SLUG = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const slugMessage = "must be lowercase letters, digits and inner hyphens (a-z, 0-9, -), at most 60 characters";

export const categorySlug = v.pipe(text(), v.maxLength(CATEGORY_SLUG_MAX, slugMessage), v.regex(CATEGORY_SLUG, slugMessage));

/**
 * "Cafés & Bars" -> "cafes-bars". The same folding as the migration's SQL for ASCII names; names
 * with nothing foldable to a-z0-9 get "category".
 */
export function categorySlugFromName(name: string): string {
  const base = foldToSlug(name, CATEGORY_SLUG_MAX);
  return base || "category";
}

const fields = {
  name: requiredText(1, 50),
  slug: categorySlug,
  parentId: v.nullable(uuid),
  position: nonNegativeInt(1_000_000),
};

export const CategoryCreate = v.strictObject({
  name: fields.name,
  slug: v.optional(fields.slug),
  parentId: v.optional(fields.parentId),
  position: v.optional(fields.position, 0),
});
export type CategoryCreateInput = v.InferOutput<typeof CategoryCreate>;

export const CategoryUpdate = v.pipe(
  v.strictObject({
    name: v.optional(fields.name),
    slug: v.optional(fields.slug),
    parentId: v.optional(fields.parentId),
    position: v.optional(fields.position),
    version: versionField,
  }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
);
export type CategoryUpdateInput = v.InferOutput<typeof CategoryUpdate>;

export const CategoryOut = v.strictObject({
  id: v.string(),
  name: v.string(),
  slug: v.string(),
  parentId: v.nullable(v.string()),
  position: v.number(),
  itemCount: v.number(),
  version: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export const CategoryListOut = v.strictObject({ items: v.array(CategoryOut) });
