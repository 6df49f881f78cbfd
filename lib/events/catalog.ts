// The event catalog: every event type the API emits, with the JSON Schema of its `data`. Versioned
// as a whole: adding a type or an optional field is a minor change; removing or renaming anything,
// or changing a field's meaning, is a major one (consumers pin the major). The envelope is the same
// for every type (EVENT_ENVELOPE). tests/events.test.ts checks every emitted event against it.

// 1.1.0: payment.refunded, payment.voided (shop), lot.expired (lots), connector.disabled (connectors).
export const EVENT_CATALOG_VERSION = "1.1.0";

type JsonSchema = Record<string, unknown>;

const nullable = (type: string) => ({ type: [type, "null"] });
const str = { type: "string" };
const int = { type: "integer" };
const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({ type: "object", properties, required });

const orderLine = obj({ itemId: str, name: str, sku: nullable("string"), unitPriceCents: int, quantity: int, lineTotalCents: int });
const order = obj({
  id: str,
  number: int,
  channel: str,
  status: str,
  priority: str,
  customerId: nullable("string"),
  customer: nullable("object"),
  expectedDeliveryDate: nullable("string"),
  notes: nullable("string"),
  totalCents: int,
  units: int,
  lines: { type: "array", items: orderLine },
  version: int,
  createdAt: str,
  updatedAt: str,
  cancelledAt: nullable("string"),
  completedAt: nullable("string"),
});
const item = obj({
  id: str,
  name: str,
  description: nullable("string"),
  sku: nullable("string"),
  priceCents: int,
  stock: int,
  lowStockThreshold: int,
  lowStock: { type: "boolean" },
  category: nullable("string"),
  categoryId: nullable("string"),
  published: { type: "boolean" },
  compareAtPriceCents: nullable("integer"),
  imageUrl: nullable("string"),
  version: int,
  createdAt: str,
  updatedAt: str,
  deletedAt: nullable("string"),
});
const stockLevel = obj({ itemId: str, name: str, sku: nullable("string"), stock: int, previousStock: int, lowStockThreshold: int });
const message = obj({
  id: str,
  conversationId: str,
  seq: int,
  channel: str,
  direction: { enum: ["inbound", "outbound", "note"] },
  text: str,
  attachments: { type: "array", items: str },
  author: obj({ type: { enum: ["user", "api_key", "customer"] }, id: nullable("string") }),
  status: { enum: ["received", "queued", "sent", "delivered", "read", "failed"] },
  failureReason: nullable("string"),
  externalId: nullable("string"),
  sentAt: nullable("string"),
  createdAt: str,
  updatedAt: str,
});
const conversation = obj({
  id: str,
  customerId: str,
  channel: str,
  status: { enum: ["open", "closed"] },
  assignedTo: nullable("string"),
  orderId: nullable("string"),
  messageCount: int,
  lastMessageId: nullable("string"),
  lastMessageAt: nullable("string"),
  version: int,
  createdAt: str,
  updatedAt: str,
});
const purchaseOrderLine = obj({ itemId: str, name: str, sku: nullable("string"), quantity: int, unitCostCents: int, receivedQuantity: int, lineTotalCents: int });
const purchaseOrder = obj({
  id: str,
  number: int,
  supplierId: str,
  supplierName: str,
  status: { enum: ["draft", "ordered", "partially_received", "received", "cancelled", "closed"] },
  expectedOn: nullable("string"),
  notes: nullable("string"),
  totalCents: int,
  lines: { type: "array", items: purchaseOrderLine },
  version: int,
  createdAt: str,
  updatedAt: str,
  orderedAt: nullable("string"),
  receivedAt: nullable("string"),
  cancelledAt: nullable("string"),
  closedAt: nullable("string"),
});
const member = obj({ id: str, userId: nullable("string"), email: nullable("string"), role: str });

export const EVENT_ENVELOPE: JsonSchema = obj({
  id: str,
  type: str,
  occurredAt: str,
  tenantId: str,
  actor: obj({ type: { enum: ["user", "api_key", "system", "public"] }, id: nullable("string") }),
  resource: obj({ type: str, id: str }),
  data: { type: "object" },
  cursor: str,
});

export const EVENT_TYPES = {
  "order.created": { resource: "order", description: "An order was placed (its stock is taken).", data: obj({ order }) },
  "order.updated": { resource: "order", description: "An order's lines or details changed; `changes` names the fields sent.", data: obj({ order, changes: { type: "array", items: str } }) },
  "order.status_changed": { resource: "order", description: "An order moved along pending → confirmed → preparing → ready → completed. Cancelling emits order.cancelled instead.", data: obj({ order, from: str, to: str }) },
  "order.cancelled": { resource: "order", description: "An order was cancelled and its stock returned.", data: obj({ order, from: str }) },
  "payment.succeeded": { resource: "payment", description: "A storefront card payment went through (simulated processor).", data: obj({ payment: obj({ id: str, orderId: str, method: str, status: str, amountCents: int, cardLast4: nullable("string"), failureCode: nullable("string") }) }) },
  "payment.failed": { resource: "payment", description: "A storefront card payment failed; the order is cancelled (reason payment_failed) and its stock released.", data: obj({ payment: obj({ id: str, orderId: str, method: str, status: str, amountCents: int, cardLast4: nullable("string"), failureCode: nullable("string") }) }) },
  "payment.pending": { resource: "payment", description: "A storefront order chose to pay later; its stock is reserved until reservedUntil.", data: obj({ payment: obj({ id: str, orderId: str, method: str, status: str, amountCents: int, cardLast4: nullable("string"), failureCode: nullable("string") }), reservedUntil: str }) },
  "payment.refunded": { resource: "payment", description: "A storefront shopper cancelled a paid order; the simulated card payment was refunded.", data: obj({ payment: obj({ id: str, orderId: str, method: str, status: str, amountCents: int, cardLast4: nullable("string"), failureCode: nullable("string") }) }) },
  "payment.voided": { resource: "payment", description: "A pending (pay-later) storefront payment will not be collected: the shopper cancelled or the reservation expired.", data: obj({ payment: obj({ id: str, orderId: str, method: str, status: str, amountCents: int, cardLast4: nullable("string"), failureCode: nullable("string") }) }) },
  "item.created": { resource: "item", description: "An item was created.", data: obj({ item }) },
  "item.updated": { resource: "item", description: "An item's fields (or its image) changed.", data: obj({ item }) },
  "item.deleted": { resource: "item", description: "An item was soft-deleted.", data: obj({ item }) },
  "item.restored": { resource: "item", description: "A soft-deleted item was restored.", data: obj({ item }) },
  "item.purged": { resource: "item", description: "A soft-deleted item was deleted permanently.", data: obj({ item }) },
  "item.stock_low": { resource: "item", description: "Stock fell to or under the item's low-stock threshold (or rose from 0 to it).", data: stockLevel },
  "item.out_of_stock": { resource: "item", description: "Stock reached 0.", data: stockLevel },
  "item.restocked": { resource: "item", description: "Stock rose above the low-stock threshold.", data: stockLevel },
  "feedback.received": {
    resource: "feedback",
    description: "Feedback on an order arrived (from the customer's link: actor public; or recorded by staff).",
    data: obj({ feedback: obj({ id: str, orderId: str, source: str, rating: int }) }),
  },
  "purchase_order.created": { resource: "purchase_order", description: "A purchase order was drafted (by hand or from reorder suggestions).", data: obj({ purchaseOrder }) },
  "purchase_order.updated": { resource: "purchase_order", description: "A purchase order's lines (while draft), notes or expected date changed.", data: obj({ purchaseOrder }) },
  "purchase_order.status_changed": {
    resource: "purchase_order",
    description: "A purchase order was set to ordered, cancelled or closed (short-shipped). Receipts emit purchase_order.received instead.",
    data: obj({ purchaseOrder, from: str, to: str }),
  },
  "purchase_order.received": {
    resource: "purchase_order",
    description: "Goods arrived against a purchase order: stock rose by the receipt's lines (lines received into a lot carry lotId, lotCode, expiresOn); the status is partially_received or received.",
    data: obj({ purchaseOrder, receipt: obj({ id: str, lines: { type: "array", items: obj({ itemId: str, quantity: int, lotId: str, lotCode: str, expiresOn: nullable("string") }, ["itemId", "quantity"]) } }), from: str }),
  },
  "stock_take.applied": {
    resource: "stock_take",
    description: "A stock-take was applied: each line (an item's unlotted units, or one lot: `lotId`) moved by counted − expected (floored at 0); `lines` lists the movements.",
    data: obj({ stockTakeId: str, lines: { type: "array", items: obj({ itemId: str, lotId: str, delta: int }, ["itemId", "delta"]) } }),
  },
  "lot.expired": {
    resource: "lot",
    description: "The expire-lots cron wrote off a lot past its expiry date: `quantity` units left its item's stock (ledger reason expired). Actor system.",
    data: obj({
      lot: obj({ id: str, itemId: str, lotCode: str, expiresOn: str }),
      quantity: int,
      itemName: str,
      itemSku: nullable("string"),
    }),
  },
  "member.invited": { resource: "member", description: "Someone was invited to the tenant.", data: obj({ member }) },
  "member.role_changed": { resource: "member", description: "A member's role changed.", data: obj({ member, from: str }) },
  "member.removed": { resource: "member", description: "A member (or invitation) was removed.", data: obj({ member }) },
  "conversation.opened": { resource: "conversation", description: "A conversation was opened (by staff, or by a customer's first inbound message on a channel).", data: obj({ conversation }) },
  "conversation.updated": { resource: "conversation", description: "A conversation's status, assignee or order changed; `changes` names the fields sent.", data: obj({ conversation, changes: { type: "array", items: str } }) },
  "message.created": {
    resource: "message",
    description: "A message was added to a conversation: inbound from a customer, outbound to one, or an internal note. `conversation` is the thread after it.",
    data: obj({ message, conversation }),
  },
  "message.status_changed": { resource: "message", description: "An outbound message moved forward: queued → sent → delivered → read, or failed.", data: obj({ message, from: str, to: str }) },
  "webhook.disabled": {
    resource: "webhook",
    description: "A webhook endpoint was disabled by the delivery engine: it answered 410 Gone (reason gone) or failed every attempt for 5 days (reason failing).",
    data: obj({
      endpoint: obj({ id: str, url: str, events: { type: "array", items: str }, description: nullable("string"), enabled: { type: "boolean" }, disabledReason: nullable("string"), disabledAt: nullable("string"), failingSince: nullable("string"), version: int, createdAt: str, updatedAt: str }),
      reason: { enum: ["gone", "failing"] },
    }),
  },
  "connector.disabled": {
    resource: "connector",
    description: "A chat connector was disabled by the delivery engine: it answered 410 Gone (reason gone) or failed every attempt for 5 days (reason failing). Staff messages on its channel are notes until it is re-enabled (PUT).",
    data: obj({
      endpoint: obj({ id: str, channel: str, url: str, events: { type: "array", items: str }, description: nullable("string"), enabled: { type: "boolean" }, disabledReason: nullable("string"), disabledAt: nullable("string"), failingSince: nullable("string"), version: int, createdAt: str, updatedAt: str }),
      reason: { enum: ["gone", "failing"] },
    }),
  },
} as const satisfies Record<string, { resource: string; description: string; data: JsonSchema }>;

export type EventType = keyof typeof EVENT_TYPES;

export const isEventType = (name: string): name is EventType => Object.hasOwn(EVENT_TYPES, name);

/** The catalog as served (GET /api/events/catalog). */
export const catalog = () => ({
  version: EVENT_CATALOG_VERSION,
  envelope: EVENT_ENVELOPE,
  types: Object.entries(EVENT_TYPES).map(([type, t]) => ({ type, resource: t.resource, description: t.description, data: t.data })),
});
