import { exportFormatField } from "../http/export.js";
import * as v from "valibot";
import { CustomerOut } from "../customers/schemas.js";
import { countOut, dayOut, intOut, nullableString, nullableTimestampOut, PaginationOut, timestampOut, uuidOut } from "../http/outputs.js";
import { CHANNELS, ORDER_STATUSES, PRIORITIES } from "../../db/enums.js";
import { calendarDate, limitField, optionalText, pageField, uuid, text, versionField } from "../http/inputs.js";
import { CustomerFields } from "../customers/schemas.js";

export const MAX_LINES = 100;
export const MAX_QUANTITY = 100_000;
/**
 * Delivery dates more than this many days from the tenant's today are typos, not plans. Checked in
 * the write's own statement (repo.ts, deliveryOutOfWindow), where the tenant's timezone is exact.
 */
export const DELIVERY_WINDOW_DAYS = 2 * 366;

// A coarse bound here (no tenant yet: UTC, two days of slack, wider than any timezone's offset) keeps
// absurd years (0000, which Postgres cannot even store) with the other validation errors.
const deliveryDate = v.pipe(
  calendarDate,
  v.check((s) => Math.abs(Date.parse(`${s}T00:00:00Z`) - Date.now()) <= (DELIVERY_WINDOW_DAYS + 2) * 86_400_000, `must be within ${DELIVERY_WINDOW_DAYS} days of today`),
);

const Line = v.strictObject({
  itemId: uuid,
  quantity: v.pipe(v.number("must be a number"), v.integer("must be an integer"), v.minValue(1, "must be at least 1"), v.maxValue(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`)),
});

const Lines = v.pipe(
  v.array(Line, "must be a list of { itemId, quantity }"),
  v.minLength(1, "must have at least one line"),
  v.maxLength(MAX_LINES, `must have at most ${MAX_LINES} lines`),
  // Duplicate lines for one item are merged (see mergeLines), so the cap applies to their sum,
  // reported on the first line of the item, where the merged line sits.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const totals = new Map<string, { first: number; quantity: number }>();
    dataset.value.forEach((line, index) => {
      const key = line.itemId.toLowerCase();
      const total = totals.get(key) ?? { first: index, quantity: 0 };
      total.quantity += line.quantity;
      totals.set(key, total);
    });
    for (const { first, quantity } of totals.values()) {
      if (quantity <= MAX_QUANTITY) continue;
      const line = dataset.value[first]!;
      addIssue({
        message: `lines for this item add up to ${quantity}; at most ${MAX_QUANTITY}`,
        path: [
          { type: "array", origin: "value", input: dataset.value, key: first, value: line },
          { type: "object", origin: "value", input: line, key: "quantity", value: line.quantity },
        ],
      });
    }
  }),
);

export const OrderCreate = v.pipe(
  v.strictObject({
    channel: v.picklist(CHANNELS, `must be one of ${CHANNELS.join(", ")}`),
    items: Lines,
    customerId: v.optional(uuid),
    customer: v.optional(CustomerFields),
    priority: v.optional(v.picklist(PRIORITIES, `must be one of ${PRIORITIES.join(", ")}`), "normal"),
    expectedDeliveryDate: v.optional(v.nullable(deliveryDate)),
    notes: optionalText(1000),
  }),
  v.forward(
    v.check((o) => !(o.customerId && o.customer), "send customerId or customer, not both"),
    ["customer"],
  ),
);
export type OrderCreateInput = v.InferOutput<typeof OrderCreate>;

export const OrderUpdate = v.pipe(
  v.strictObject({
    items: v.optional(Lines),
    customerId: v.optional(v.nullable(uuid)),
    priority: v.optional(v.picklist(PRIORITIES, `must be one of ${PRIORITIES.join(", ")}`)),
    channel: v.optional(v.picklist(CHANNELS, `must be one of ${CHANNELS.join(", ")}`)),
    expectedDeliveryDate: v.optional(v.nullable(deliveryDate)),
    notes: optionalText(1000),
    version: versionField,
  }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send at least one field to change"),
);
export type OrderUpdateInput = v.InferOutput<typeof OrderUpdate>;

export const OrderStatusChange = v.strictObject({
  status: v.picklist(ORDER_STATUSES, `must be one of ${ORDER_STATUSES.join(", ")}`),
  version: versionField,
});


export const csvOf = <T extends readonly string[]>(values: T, label: string) =>
  v.optional(
    v.pipe(
      text(),
      v.transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean)),
      v.array(v.picklist(values, `must be ${label}: ${values.join(", ")}`)),
      v.minLength(1, "must not be empty"),
    ),
  );

export const OrderListQuery = v.object({
  page: pageField,
  limit: limitField,
  cursor: v.optional(v.pipe(text(), v.maxLength(200, "is not a valid cursor"))),
  status: csvOf(ORDER_STATUSES, "one or more of"),
  channel: csvOf(CHANNELS, "one or more of"),
  priority: csvOf(PRIORITIES, "one or more of"),
  customerId: v.optional(uuid),
  from: v.optional(calendarDate),
  to: v.optional(calendarDate),
  sort: v.optional(v.picklist(["created", "delivery"], "must be created or delivery"), "created"),
});
export type OrderListInput = v.InferOutput<typeof OrderListQuery>;

export type OrderLine = v.InferOutput<typeof Line>;

// Output schemas.
export const OrderLineOut = v.strictObject({
  itemId: uuidOut,
  name: v.string(),
  sku: nullableString,
  unitPriceCents: countOut,
  quantity: countOut,
  lineTotalCents: countOut,
});
const orderFields = {
  id: uuidOut,
  number: intOut,
  channel: v.picklist(CHANNELS),
  status: v.picklist(ORDER_STATUSES),
  priority: v.picklist(PRIORITIES),
  customerId: v.nullable(uuidOut),
  customer: v.nullable(CustomerOut),
  expectedDeliveryDate: v.nullable(dayOut),
  notes: nullableString,
  totalCents: countOut,
  units: countOut,
  lines: v.array(OrderLineOut),
  version: intOut,
  createdAt: timestampOut,
  updatedAt: timestampOut,
  cancelledAt: nullableTimestampOut,
  completedAt: nullableTimestampOut,
};
export const OrderOut = v.strictObject(orderFields);
/** Page mode carries page, total and totalPages; keyset mode (`cursor`) only nextCursor. */
export const OrderPageOut = v.strictObject({
  items: v.array(OrderOut),
  pagination: v.strictObject({
    limit: countOut,
    nextCursor: v.nullable(v.string()),
    page: v.optional(PaginationOut.entries.page),
    total: v.optional(countOut),
    totalPages: v.optional(countOut),
  }),
});
/** Streamed: the body is complete only when it ends with `count` (see README, Big responses stream). */
export const AllOrdersOut = v.strictObject({ items: v.array(OrderOut), count: countOut });
export const PriorityOrdersOut = v.strictObject({ items: v.array(v.strictObject({ ...orderFields, overdue: v.boolean() })) });
const openColumns = <T extends v.GenericSchema>(of: T) => v.strictObject({ pending: of, confirmed: of, preparing: of, ready: of });
export const BoardOut = v.strictObject({ columns: openColumns(v.array(OrderOut)), counts: openColumns(countOut), cursor: v.string() });

/** GET /api/orders/export: the list's filters (no paging or sort: newest first, every match) and the file format. */
export const OrderExportQuery = v.object({
  status: OrderListQuery.entries.status,
  channel: OrderListQuery.entries.channel,
  priority: OrderListQuery.entries.priority,
  customerId: OrderListQuery.entries.customerId,
  from: OrderListQuery.entries.from,
  to: OrderListQuery.entries.to,
  format: exportFormatField,
});
