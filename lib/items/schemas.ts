import { exportFormatField } from "../http/export.js";
import * as v from "valibot";
import { ItemSupplierOut } from "../inventory/schemas.js";
import { countOut, intOut, nullableString, nullableTimestampOut, pageOf, timestampOut, uuidOut } from "../http/outputs.js";
import { booleanField, limitField, nonNegativeInt, optionalText, pageField, requiredText, text, uuid, versionField } from "../http/inputs.js";

const fields = {
  name: requiredText(1, 100),
  description: optionalText(500),
  sku: optionalText(50),
  priceCents: nonNegativeInt(),
  stock: nonNegativeInt(),
  lowStockThreshold: nonNegativeInt(),
  category: optionalText(50),
  // Storefront (issue 14). `category` (a name) stays for existing clients: it files the item under
  // the category of that name, creating it if needed; `categoryId` names one. Not both.
  categoryId: v.optional(v.nullable(uuid)),
  published: v.optional(v.boolean("must be true or false")),
  compareAtPriceCents: v.optional(v.nullable(nonNegativeInt())),
};

const oneCategoryField = <T extends { category?: unknown; categoryId?: unknown }>() =>
  v.check<T, string>((input) => input.category === undefined || input.categoryId === undefined, "send either category (a name) or categoryId, not both");

export const ItemCreate = v.pipe(v.strictObject({
  name: fields.name,
  description: fields.description,
  sku: fields.sku,
  priceCents: fields.priceCents,
  stock: v.optional(fields.stock, 0),
  // Absent: the tenant's lowStockThresholdDefault (PATCH /api/tenant).
  lowStockThreshold: v.optional(fields.lowStockThreshold),
  category: fields.category,
  categoryId: fields.categoryId,
  published: fields.published,
  compareAtPriceCents: fields.compareAtPriceCents,
}), oneCategoryField());
export type ItemCreateInput = v.InferOutput<typeof ItemCreate>;

// PUT updates the fields it is given (a partial update); `version` is the optimistic-concurrency
// alternative to If-Match for clients that cannot set headers.
export const ItemUpdate = v.pipe(
  v.strictObject({
    name: v.optional(fields.name),
    description: fields.description,
    sku: fields.sku,
    priceCents: v.optional(fields.priceCents),
    stock: v.optional(fields.stock),
    lowStockThreshold: v.optional(fields.lowStockThreshold),
    category: fields.category,
    categoryId: fields.categoryId,
    published: fields.published,
    compareAtPriceCents: fields.compareAtPriceCents,
    version: versionField,
  }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
  oneCategoryField(),
);
export type ItemUpdateInput = v.InferOutput<typeof ItemUpdate>;

export const ItemListQuery = v.object({
  page: pageField,
  limit: limitField,
  search: v.optional(v.pipe(text(), v.trim(), v.maxLength(100, "must be at most 100 characters"))),
  lowStock: booleanField,
  category: v.optional(v.pipe(text(), v.trim(), v.maxLength(50, "must be at most 50 characters"))),
  /** Items linked to this supplier (PUT /api/items/:id/suppliers/:supplierId). */
  supplier: v.optional(uuid),
});
export type ItemListInput = v.InferOutput<typeof ItemListQuery>;

export const DeletedItemListQuery = v.object({ page: pageField, limit: limitField });

/** GET /api/items/low-stock: the items list's filters, always with lowStock=true (seed 004's path). */
export const LowStockQuery = v.object({ ...v.omit(ItemListQuery, ["lowStock"]).entries });

// Output schemas (the answers' bodies; see lib/http/outputs.ts).
export const ItemOut = v.strictObject({
  id: uuidOut,
  name: v.string(),
  description: nullableString,
  sku: nullableString,
  priceCents: countOut,
  stock: countOut,
  lowStockThreshold: countOut,
  lowStock: v.boolean(),
  category: nullableString,
  categoryId: v.nullable(uuidOut),
  published: v.boolean(),
  compareAtPriceCents: v.nullable(countOut),
  imageUrl: nullableString,
  version: intOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
  deletedAt: nullableTimestampOut,
});
export const ItemPageOut = pageOf(ItemOut);
/** One item as GET /api/items/:id shows it: with its supplier links. */
export const ItemDetailOut = v.strictObject({ ...ItemOut.entries, suppliers: v.array(ItemSupplierOut) });

/** POST /api/items/import: `mode` create (an existing SKU is an error on its line) or upsert; `dryRun` checks only. */
export const ItemImportQuery = v.object({
  mode: v.optional(v.picklist(["create", "upsert"], "must be create or upsert"), "create"),
  dryRun: booleanField,
});
/** POST /api/items/import with a JSON object: the file is a Blob client upload (POST /api/items/import/upload). */
export const ItemImportFromBlob = v.strictObject({
  url: v.pipe(text("must be the uploaded import file's blob URL"), v.maxLength(2048, "must be at most 2048 characters"), v.url("must be a URL")),
});
/** OpenAPI only: the rows form of an application/json import (each row checked by the import, with line and column). */
export const ItemImportRows = v.array(v.record(v.string(), v.nullable(v.union([v.string(), v.number(), v.boolean()]))));
/** OpenAPI only: what an application/json import body is — the rows, or `{ url }` of a Blob upload. */
export const ItemImportJson = v.union([ItemImportRows, ItemImportFromBlob]);
export const ItemImportOut = v.strictObject({
  id: v.nullable(uuidOut),
  mode: v.picklist(["create", "upsert"]),
  dryRun: v.boolean(),
  rows: countOut,
  created: countOut,
  updated: countOut,
  unchanged: countOut,
});

/** GET /api/items/export: the list's filters (no paging) and the file format. */
export const ItemExportQuery = v.object({
  search: ItemListQuery.entries.search,
  lowStock: ItemListQuery.entries.lowStock,
  category: ItemListQuery.entries.category,
  supplier: ItemListQuery.entries.supplier,
  format: exportFormatField,
});
/** One exported item (a JSON Lines line; the CSV's columns): the item with its preferred supplier's SKU and unit cost. */
export const ItemExportLineOut = v.strictObject({ ...ItemOut.entries, supplierSku: nullableString, unitCostCents: v.nullable(countOut) });
