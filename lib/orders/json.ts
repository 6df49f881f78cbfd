import { sql, type SQL } from "../../db/sql.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { toCustomer, type Customer } from "../customers/repo.js";

// Orders leave the database as JSON built in SQL (lines and customer included), so every order
// query — one order, a page, a write's result — is one statement with no N+1.

export interface OrderLineView {
  itemId: string;
  name: string;
  sku: string | null;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

export interface Order {
  id: string;
  number: number;
  channel: string;
  status: string;
  priority: string;
  customerId: string | null;
  customer: Customer | null;
  expectedDeliveryDate: string | null;
  notes: string | null;
  totalCents: number;
  units: number;
  lines: OrderLineView[];
  version: number;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  completedAt: string | null;
}

const customerJsonText = (c: string) =>
  `json_build_object('id', ${c}.id, 'name', ${c}.name, 'phone', ${c}.phone, 'email', ${c}.email, 'socialHandle', ${c}.social_handle, 'notes', ${c}.notes, 'version', ${c}.version, 'createdAt', ${c}.created_at, 'updatedAt', ${c}.updated_at)`;

/** JSON for order row `o`, its lines read from `linesFrom` and its customer from `customersFrom` (tables or CTEs). */
export function orderJson(o: string, linesFrom = "order_lines", customersFrom = "customers"): SQL {
  return sql.raw(`json_build_object(
    'id', ${o}.id, 'number', ${o}.number, 'channel', ${o}.channel, 'status', ${o}.status, 'priority', ${o}.priority,
    'customerId', ${o}.customer_id, 'expectedDeliveryDate', ${o}.expected_delivery_date, 'notes', ${o}.notes,
    'totalCents', ${o}.total_cents, 'units', ${o}.units, 'version', ${o}.version,
    'createdAt', ${o}.created_at, 'updatedAt', ${o}.updated_at, 'cancelledAt', ${o}.cancelled_at, 'completedAt', ${o}.completed_at,
    'customer', (SELECT ${customerJsonText("oc")} FROM ${customersFrom} oc WHERE oc.id = ${o}.customer_id),
    'lines', coalesce((SELECT json_agg(json_build_object('itemId', ol.item_id, 'name', ol.name, 'sku', ol.sku,
        'unitPriceCents', ol.unit_price_cents, 'quantity', ol.quantity, 'lineTotalCents', ol.unit_price_cents::bigint * ol.quantity) ORDER BY ol.position)
      FROM ${linesFrom} ol WHERE ol.order_id = ${o}.id), '[]'::json))`);
}

export function toOrder(value: unknown): Order {
  const o = fromJson(value);
  const lines = (o.lines as Record<string, unknown>[]).map((l) => ({
    itemId: String(l.itemId),
    name: String(l.name),
    sku: (l.sku as string | null) ?? null,
    unitPriceCents: toNumber(l.unitPriceCents),
    quantity: toNumber(l.quantity),
    lineTotalCents: toNumber(l.lineTotalCents),
  }));
  return {
    id: String(o.id),
    number: toNumber(o.number),
    channel: String(o.channel),
    status: String(o.status),
    priority: String(o.priority),
    customerId: (o.customerId as string | null) ?? null,
    customer: o.customer ? toCustomer(o.customer as Record<string, unknown>) : null,
    expectedDeliveryDate: (o.expectedDeliveryDate as string | null) ?? null,
    notes: (o.notes as string | null) ?? null,
    totalCents: toNumber(o.totalCents),
    units: toNumber(o.units),
    lines,
    version: toNumber(o.version),
    createdAt: toIso(o.createdAt),
    updatedAt: toIso(o.updatedAt),
    cancelledAt: toIsoOrNull(o.cancelledAt),
    completedAt: toIsoOrNull(o.completedAt),
  };
}
