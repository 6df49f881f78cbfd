import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { eventsCte, stockLevelEvents, type Actor } from "../events/outbox.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { receiptLotCode, type PoCreateInput, type PoLineInput, type PoListInput, type PoReceiptInput, type PoStatus, type PoUpdateInput } from "./schemas.js";

// Purchase orders. Like orders: creation is one statement (the per-tenant counter bumped inside it,
// so a failed create leaves no gap); writes to an existing PO are one atomic() batch that first
// locks the PO row, so the acting statement's snapshot — taken after the lock — sees its current
// lines (DESIGN.md §2). Rules that fail raise tally_fail(), rolling everything back.

export interface PoLine {
  itemId: string;
  name: string;
  sku: string | null;
  quantity: number;
  unitCostCents: number;
  receivedQuantity: number;
  lineTotalCents: number;
}

export interface PurchaseOrder {
  id: string;
  number: number;
  /** "PO-0001": the number as people write it. */
  reference: string;
  supplierId: string;
  supplierName: string;
  status: PoStatus;
  expectedOn: string | null;
  notes: string | null;
  totalCents: number;
  lines: PoLine[];
  version: number;
  createdAt: string;
  updatedAt: string;
  orderedAt: string | null;
  receivedAt: string | null;
  cancelledAt: string | null;
  closedAt: string | null;
}

export const poReference = (n: number) => `PO-${String(n).padStart(4, "0")}`;

/** JSON of PO row `p` with its lines from `linesFrom` (a table or CTE with purchase_order_id). */
export function poJson(p: string, linesFrom = "purchase_order_lines"): SQL {
  return sql.raw(`json_build_object(
    'id', ${p}.id, 'number', ${p}.number, 'supplierId', ${p}.supplier_id, 'supplierName', (SELECT ps.name FROM suppliers ps WHERE ps.id = ${p}.supplier_id),
    'status', ${p}.status, 'expectedOn', ${p}.expected_on, 'notes', ${p}.notes, 'totalCents', ${p}.total_cents, 'version', ${p}.version,
    'createdAt', ${p}.created_at, 'updatedAt', ${p}.updated_at, 'orderedAt', ${p}.ordered_at, 'receivedAt', ${p}.received_at,
    'cancelledAt', ${p}.cancelled_at, 'closedAt', ${p}.closed_at,
    'lines', coalesce((SELECT json_agg(json_build_object('itemId', pl.item_id, 'name', pi.name, 'sku', pi.sku, 'quantity', pl.quantity,
        'unitCostCents', pl.unit_cost_cents, 'receivedQuantity', pl.received_quantity, 'lineTotalCents', pl.quantity::bigint * pl.unit_cost_cents) ORDER BY pl.position)
      FROM ${linesFrom} pl JOIN items pi ON pi.id = pl.item_id WHERE pl.purchase_order_id = ${p}.id), '[]'::json))`);
}

export function toPurchaseOrder(value: unknown): PurchaseOrder {
  const p = fromJson(value);
  const number = toNumber(p.number);
  return {
    id: String(p.id),
    number,
    reference: poReference(number),
    supplierId: String(p.supplierId),
    supplierName: String(p.supplierName),
    status: String(p.status) as PoStatus,
    expectedOn: (p.expectedOn as string | null) ?? null,
    notes: (p.notes as string | null) ?? null,
    totalCents: toNumber(p.totalCents),
    lines: (p.lines as Record<string, unknown>[]).map((l) => ({
      itemId: String(l.itemId),
      name: String(l.name),
      sku: (l.sku as string | null) ?? null,
      quantity: toNumber(l.quantity),
      unitCostCents: toNumber(l.unitCostCents),
      receivedQuantity: toNumber(l.receivedQuantity),
      lineTotalCents: toNumber(l.lineTotalCents),
    })),
    version: toNumber(p.version),
    createdAt: toIso(p.createdAt),
    updatedAt: toIso(p.updatedAt),
    orderedAt: toIsoOrNull(p.orderedAt),
    receivedAt: toIsoOrNull(p.receivedAt),
    cancelledAt: toIsoOrNull(p.cancelledAt),
    closedAt: toIsoOrNull(p.closedAt),
  };
}

/** Lines as a JSON recordset (portable across drivers, unlike array parameters). */
const linesInput = (lines: PoLineInput[]) =>
  sql`SELECT * FROM jsonb_to_recordset(${JSON.stringify(lines.map((l, position) => ({ item_id: l.itemId, quantity: l.quantity, unit_cost_cents: l.unitCostCents, position })))}::jsonb)
      AS x(item_id uuid, quantity int, unit_cost_cents int, position int)`;

const poEvents = (tenantId: string, actor: Actor, rows: SQL) => eventsCte("po_events", tenantId, actor, rows);

/** Raises unknown_items for input lines naming no live item of the tenant (CTEs input, known), when `when` holds. */
const unknownItems = (when: SQL = sql`true`) => sql`WHEN ${when} AND EXISTS (SELECT 1 FROM input x WHERE x.item_id NOT IN (SELECT id FROM known)) THEN tally_fail('unknown_items',
    (SELECT jsonb_agg(jsonb_build_object('itemId', x.item_id, 'position', x.position) ORDER BY x.position) FROM input x WHERE x.item_id NOT IN (SELECT id FROM known)))`;

export async function insertPurchaseOrder(db: Db, tenantId: string, id: string, userId: string, input: PoCreateInput, actor: Actor): Promise<PurchaseOrder> {
  const t = tenantId;
  const rows = await query(
    db,
    sql`
    WITH input AS (${linesInput(input.lines)}),
    supplier AS (SELECT id FROM suppliers WHERE tenant_id = ${t} AND id = ${input.supplierId} AND deleted_at IS NULL),
    -- In id order: the lines' foreign keys lock these rows (KEY SHARE); in input order that could
    -- deadlock with orders, which lock items FOR UPDATE by id.
    known AS (SELECT id FROM items WHERE tenant_id = ${t} AND id IN (SELECT item_id FROM input) AND deleted_at IS NULL ORDER BY id FOR KEY SHARE),
    counter AS (
      INSERT INTO purchase_order_counters (tenant_id, last_number) SELECT ${t}, 1
      ON CONFLICT (tenant_id) DO UPDATE SET last_number = purchase_order_counters.last_number + 1
      RETURNING last_number
    ),
    po AS (
      INSERT INTO purchase_orders (id, tenant_id, number, supplier_id, status, expected_on, notes, total_cents, created_by)
      SELECT ${id}, ${t}, (SELECT last_number FROM counter), s.id, 'draft', ${input.expectedOn ?? null}::date, ${input.notes ?? null},
             (SELECT coalesce(sum(quantity::bigint * unit_cost_cents), 0) FROM input), ${userId}
      FROM supplier s
      RETURNING *
    ),
    lines AS (
      INSERT INTO purchase_order_lines (id, tenant_id, purchase_order_id, item_id, quantity, unit_cost_cents, position)
      SELECT gen_random_uuid(), ${t}, p.id, x.item_id, x.quantity, x.unit_cost_cents, x.position FROM input x CROSS JOIN po p WHERE x.item_id IN (SELECT id FROM known)
      RETURNING *
    ),
    ${poEvents(t, actor, sql`SELECT 'purchase_order.created' AS type, 'purchase_order' AS resource_type, p.id AS resource_id, jsonb_build_object('purchaseOrder', ${poJson("p", "lines")}) AS data FROM po p`)}
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM supplier) THEN tally_fail('unknown_supplier', '{}'::jsonb) ${unknownItems()} END AS failed,
      (SELECT ${poJson("p", "lines")} FROM po p) AS po`,
  );
  return toPurchaseOrder(rows[0]!.po);
}

export async function findPurchaseOrder(db: Db, tenantId: string, id: string): Promise<PurchaseOrder | undefined> {
  const rows = await query(db, sql`SELECT ${poJson("p")} AS po FROM purchase_orders p WHERE p.tenant_id = ${tenantId} AND p.id = ${id}`);
  return rows[0] ? toPurchaseOrder(rows[0].po) : undefined;
}

/** Keyset pages, newest first: PO numbers only grow within a tenant, so the cursor is the last number. */
export async function listPurchaseOrders(db: Db, tenantId: string, input: PoListInput, after: number | undefined) {
  const filters = [sql`p.tenant_id = ${tenantId}`];
  if (input.status) filters.push(sql`p.status IN (${sql.join(input.status.map((s) => sql`${s}`), sql`, `)})`);
  if (input.supplier) filters.push(sql`p.supplier_id = ${input.supplier}`);
  if (after !== undefined) filters.push(sql`p.number < ${after}::int`);
  const rows = await query(
    db,
    sql`SELECT ${poJson("p")} AS po FROM (SELECT * FROM purchase_orders p WHERE ${sql.join(filters, sql` AND `)} ORDER BY p.number DESC LIMIT ${input.limit + 1}) p ORDER BY p.number DESC`,
  );
  const all = rows.map((r) => toPurchaseOrder(r.po));
  return { items: all.slice(0, input.limit), more: all.length > input.limit };
}

/** Statement 1 of every write to an existing PO: its row lock. */
const lockPo = (tenantId: string, id: string) => sql`SELECT 1 FROM purchase_orders WHERE tenant_id = ${tenantId} AND id = ${id} FOR NO KEY UPDATE`;

async function afterLock(db: Db, tenantId: string, id: string, statement: SQL): Promise<Record<string, unknown>> {
  const results = await atomic(db, [lockPo(tenantId, id), statement]);
  return results[1]![0]!;
}

export interface PoWrite {
  po: PurchaseOrder | undefined;
  currentStatus: PoStatus | undefined;
  currentVersion: number | undefined;
}

function poWrite(row: Record<string, unknown>): PoWrite {
  return {
    po: row.po ? toPurchaseOrder(row.po) : undefined,
    currentStatus: (row.current_status as PoStatus | null) ?? undefined,
    currentVersion: row.current_version === null || row.current_version === undefined ? undefined : toNumber(row.current_version),
  };
}

/** Statuses in which lines may change; notes and expected date change until the PO is final. */
export const LINES_EDITABLE: PoStatus[] = ["draft"];
export const DETAILS_EDITABLE: PoStatus[] = ["draft", "ordered", "partially_received"];

export async function updatePurchaseOrder(db: Db, tenantId: string, id: string, changes: Omit<PoUpdateInput, "version">, expected: number | undefined, actor: Actor): Promise<PoWrite> {
  const t = tenantId;
  const editable = changes.lines ? LINES_EDITABLE : DETAILS_EDITABLE;
  const sets: SQL[] = [];
  if (changes.notes !== undefined) sets.push(sql`notes = ${changes.notes}`);
  if (changes.expectedOn !== undefined) sets.push(sql`expected_on = ${changes.expectedOn}::date`);
  let lineCtes = sql``;
  let lineFailures = sql``;
  let linesFrom = "purchase_order_lines";
  if (changes.lines) {
    sets.push(sql`total_cents = (SELECT coalesce(sum(quantity::bigint * unit_cost_cents), 0) FROM input)`);
    linesFrom = "final_lines";
    // The kept and new lines are upserted, the others deleted: disjoint rows, so the unique
    // (purchase order, item) index never sees a line twice within the statement.
    lineCtes = sql`
    input AS (${linesInput(changes.lines)}),
    -- In id order: the lines' foreign keys lock these rows (KEY SHARE); in input order that could
    -- deadlock with orders, which lock items FOR UPDATE by id.
    known AS (SELECT id FROM items WHERE tenant_id = ${t} AND id IN (SELECT item_id FROM input) AND deleted_at IS NULL ORDER BY id FOR KEY SHARE),
    dropped AS (DELETE FROM purchase_order_lines l WHERE l.purchase_order_id = ${id} AND l.item_id NOT IN (SELECT item_id FROM input) AND EXISTS (SELECT 1 FROM ok) RETURNING 1),
    upserted AS (
      INSERT INTO purchase_order_lines AS l (id, tenant_id, purchase_order_id, item_id, quantity, unit_cost_cents, position)
      SELECT gen_random_uuid(), ${t}, ${id}, x.item_id, x.quantity, x.unit_cost_cents, x.position FROM input x WHERE EXISTS (SELECT 1 FROM ok)
      ON CONFLICT (purchase_order_id, item_id) DO UPDATE SET quantity = excluded.quantity, unit_cost_cents = excluded.unit_cost_cents, position = excluded.position
      RETURNING 1
    ),
    final_lines AS (SELECT ${id}::uuid AS purchase_order_id, x.item_id, x.quantity, x.unit_cost_cents, 0 AS received_quantity, x.position FROM input x),`;
    lineFailures = unknownItems(sql`EXISTS (SELECT 1 FROM ok)`);
  }
  const row = await afterLock(
    db,
    t,
    id,
    sql`
    WITH target AS (SELECT p.status, p.version FROM purchase_orders p WHERE p.tenant_id = ${t} AND p.id = ${id}),
    ok AS (SELECT 1 FROM target WHERE status IN (${sql.join(editable.map((s) => sql`${s}`), sql`, `)}) AND (${expected ?? null}::int IS NULL OR version = ${expected ?? null}::int)),
    ${lineCtes}
    updated AS (
      UPDATE purchase_orders p SET ${sql.join([...sets, sql`version = p.version + 1`, sql`updated_at = now()`], sql`, `)}
      WHERE p.tenant_id = ${t} AND p.id = ${id} AND EXISTS (SELECT 1 FROM ok)
      RETURNING *
    ),
    ${poEvents(t, actor, sql`SELECT 'purchase_order.updated' AS type, 'purchase_order' AS resource_type, u.id AS resource_id, jsonb_build_object('purchaseOrder', ${poJson("u", linesFrom)}) AS data FROM updated u`)}
    SELECT CASE WHEN false THEN NULL ${lineFailures} END AS failed,
      (SELECT status FROM target) AS current_status, (SELECT version FROM target) AS current_version,
      (SELECT ${poJson("u", linesFrom)} FROM updated u) AS po`,
  );
  return poWrite(row);
}

/** Where a status may be set from (partially_received and received follow from receipts). */
export const STATUS_FROM: Record<"ordered" | "cancelled" | "closed", PoStatus[]> = {
  ordered: ["draft"],
  cancelled: ["draft", "ordered"],
  // A short shipment: nothing more will come; what arrived stays received.
  closed: ["ordered", "partially_received"],
};

const STAMP: Record<keyof typeof STATUS_FROM, string> = { ordered: "ordered_at", cancelled: "cancelled_at", closed: "closed_at" };

export async function setPurchaseOrderStatus(db: Db, tenantId: string, id: string, to: keyof typeof STATUS_FROM, expected: number | undefined, actor: Actor): Promise<PoWrite> {
  const t = tenantId;
  const row = await afterLock(
    db,
    t,
    id,
    sql`
    WITH target AS (SELECT p.status, p.version FROM purchase_orders p WHERE p.tenant_id = ${t} AND p.id = ${id}),
    moved AS (
      UPDATE purchase_orders p SET status = ${to}, ${sql.raw(STAMP[to])} = now(), version = p.version + 1, updated_at = now()
      WHERE p.tenant_id = ${t} AND p.id = ${id} AND p.status IN (${sql.join(STATUS_FROM[to].map((s) => sql`${s}`), sql`, `)})
        AND (${expected ?? null}::int IS NULL OR p.version = ${expected ?? null}::int)
      RETURNING *
    ),
    ${poEvents(t, actor, sql`SELECT 'purchase_order.status_changed' AS type, 'purchase_order' AS resource_type, m.id AS resource_id,
      jsonb_build_object('purchaseOrder', ${poJson("m")}, 'from', (SELECT status FROM target), 'to', ${to}::text) AS data FROM moved m`)}
    SELECT (SELECT status FROM target) AS current_status, (SELECT version FROM target) AS current_version, (SELECT ${poJson("m")} FROM moved m) AS po`,
  );
  return poWrite(row);
}

/** A receipt line; lotId, lotCode and expiresOn only on lines received into a lot. */
export interface ReceiptLineOut {
  itemId: string;
  quantity: number;
  lotId?: string;
  lotCode?: string;
  expiresOn?: string | null;
}

export interface Receipt {
  id: string;
  purchaseOrderId: string;
  lines: ReceiptLineOut[];
  note: string | null;
  createdAt: string;
}

export function toReceipt(value: unknown): Receipt {
  const r = fromJson(value);
  return {
    id: String(r.id),
    purchaseOrderId: String(r.purchase_order_id),
    lines: fromJson<Record<string, unknown>[]>(r.lines).map((l) => ({
      itemId: String(l.itemId),
      quantity: toNumber(l.quantity),
      ...(l.lotId ? { lotId: String(l.lotId), lotCode: String(l.lotCode), expiresOn: (l.expiresOn as string | null) ?? null } : {}),
    })),
    note: (r.note as string | null) ?? null,
    createdAt: toIso(r.created_at),
  };
}

export const RECEIVABLE: PoStatus[] = ["ordered", "partially_received"];

export interface ReceiptWrite {
  row: Record<string, unknown>;
  receipt: Receipt | undefined;
  po: PurchaseOrder | undefined;
  replayed: { receipt: Receipt; po: PurchaseOrder } | undefined;
}

/**
 * A receipt: stock up by each line (ledger reason 'receipt'), each PO line's received quantity up,
 * the PO's status derived (received once every line is complete, else partially_received) — one
 * batch: the PO row lock, then this statement. Refusals raise: not receivable (status), items not
 * on the PO, more than ordered without allowOver.
 */
export async function receivePurchaseOrder(db: Db, tenantId: string, userId: string, id: string, receiptId: string, input: PoReceiptInput, idem: IdempotencyRequest | undefined, actor: Actor): Promise<ReceiptWrite> {
  const t = tenantId;
  const lines = JSON.stringify(input.lines.map((l, position) => ({ item_id: l.itemId, quantity: l.quantity, position, lot_code: receiptLotCode(l), expires_on: l.expiresOn ?? null })));
  const statement = gatedStatement({
    tenantId: t,
    idem,
    resourceId: receiptId,
    work: sql`
    target AS (SELECT p.id, p.status, p.version FROM purchase_orders p WHERE p.tenant_id = ${t} AND p.id = ${id}),
    input AS (SELECT * FROM jsonb_to_recordset(${lines}::jsonb) AS x(item_id uuid, quantity int, position int, lot_code text, expires_on date)),
    -- Per item (a receipt may bring several lots of one item): the total, how much of it is lotted, and
    -- its lines (one ledger row and one version step each).
    per_item AS (
      SELECT item_id, sum(quantity)::int AS quantity, (sum(quantity) FILTER (WHERE lot_code IS NOT NULL))::int AS lotted, min(position) AS position, count(*)::int AS lines
      FROM input GROUP BY item_id
    ),
    cur AS (SELECT l.* FROM purchase_order_lines l WHERE l.purchase_order_id IN (SELECT id FROM target)),
    ok AS (SELECT 1 FROM target WHERE status IN (${sql.join(RECEIVABLE.map((s) => sql`${s}`), sql`, `)}) AND EXISTS (SELECT 1 FROM go)),
    not_on_po AS (SELECT x.* FROM per_item x WHERE x.item_id NOT IN (SELECT item_id FROM cur)),
    over AS (
      SELECT x.item_id, x.position, x.quantity, c.quantity AS ordered, c.received_quantity AS received
      FROM per_item x JOIN cur c ON c.item_id = x.item_id
      WHERE NOT ${input.allowOver}::boolean AND c.received_quantity + x.quantity > c.quantity
    ),
    fine AS (SELECT 1 FROM ok WHERE NOT EXISTS (SELECT 1 FROM not_on_po) AND NOT EXISTS (SELECT 1 FROM over)),
    locked AS (SELECT i.id FROM items i WHERE i.tenant_id = ${t} AND i.id IN (SELECT item_id FROM per_item) AND EXISTS (SELECT 1 FROM fine) ORDER BY i.id FOR UPDATE),
    stocked AS (
      UPDATE items i SET stock = i.stock + x.quantity, lot_stock = i.lot_stock + coalesce(x.lotted, 0), version = i.version + x.lines, updated_at = now()
      FROM per_item x WHERE i.id = x.item_id AND i.id IN (SELECT id FROM locked)
      RETURNING i.id, x.quantity, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    -- Lots created or topped up; read from stocked, so each item's row lock comes first (every writer
    -- of lots locks the item first: no deadlock with orders). An existing code with another expiry raises.
    lots_in AS (
      INSERT INTO lots AS l (id, tenant_id, item_id, lot_code, expires_on, quantity)
      SELECT gen_random_uuid(), ${t}, x.item_id, x.lot_code, x.expires_on, x.quantity FROM input x JOIN stocked s ON s.id = x.item_id WHERE x.lot_code IS NOT NULL
      ON CONFLICT (tenant_id, item_id, lot_code) DO UPDATE SET quantity = l.quantity + excluded.quantity, updated_at = now(),
        expires_on = CASE WHEN excluded.expires_on IS NULL OR excluded.expires_on = l.expires_on THEN l.expires_on
          WHEN tally_fail('lot_expiry_mismatch', jsonb_build_object('itemId', l.item_id, 'lotCode', l.lot_code, 'expiresOn', l.expires_on, 'sent', excluded.expires_on)) THEN NULL END
      RETURNING l.id, l.item_id, l.lot_code, l.expires_on
    ),
    receipt_lines AS (
      SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('itemId', x.item_id, 'quantity', x.quantity, 'lotId', lt.id, 'lotCode', lt.lot_code, 'expiresOn', lt.expires_on)) ORDER BY x.position), '[]'::jsonb) AS lines
      FROM input x LEFT JOIN lots_in lt ON lt.item_id = x.item_id AND lt.lot_code = x.lot_code
    ),
    counted AS (
      UPDATE purchase_order_lines l SET received_quantity = l.received_quantity + x.quantity
      FROM per_item x WHERE l.purchase_order_id = ${id} AND l.item_id = x.item_id AND EXISTS (SELECT 1 FROM fine)
      RETURNING l.*
    ),
    final_lines AS (
      SELECT c.purchase_order_id, c.item_id, c.quantity, c.unit_cost_cents, c.position, c.received_quantity + coalesce(x.quantity, 0) AS received_quantity
      FROM cur c LEFT JOIN per_item x ON x.item_id = c.item_id
    ),
    complete AS (SELECT NOT EXISTS (SELECT 1 FROM final_lines WHERE received_quantity < quantity) AS done),
    received AS (
      UPDATE purchase_orders p SET status = CASE WHEN (SELECT done FROM complete) THEN 'received' ELSE 'partially_received' END,
        received_at = CASE WHEN (SELECT done FROM complete) THEN now() ELSE p.received_at END, version = p.version + 1, updated_at = now()
      WHERE p.tenant_id = ${t} AND p.id = ${id} AND EXISTS (SELECT 1 FROM fine) AND (SELECT count(*) FROM counted) = (SELECT count(*) FROM per_item)
      RETURNING *
    ),
    receipt AS (
      INSERT INTO purchase_order_receipts (id, tenant_id, purchase_order_id, lines, note, created_by)
      SELECT ${receiptId}, ${t}, r.id, (SELECT lines FROM receipt_lines), ${input.note ?? null}, ${userId} FROM received r
      RETURNING *
    ),
    moves AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, purchase_order_id, lot_id, created_by)
      SELECT gen_random_uuid(), ${t}, x.item_id, x.quantity, 'receipt', r.id, lt.id, ${userId}
      FROM input x JOIN stocked s ON s.id = x.item_id LEFT JOIN lots_in lt ON lt.item_id = x.item_id AND lt.lot_code = x.lot_code CROSS JOIN received r
      RETURNING 1
    ),
    ${poEvents(t, actor, sql`SELECT 'purchase_order.received' AS type, 'purchase_order' AS resource_type, r.id AS resource_id,
      jsonb_build_object('purchaseOrder', ${poJson("r", "final_lines")}, 'receipt', jsonb_build_object('id', ${receiptId}::text, 'lines', (SELECT lines FROM receipt_lines)), 'from', (SELECT status FROM target)) AS data FROM received r`)},
    ${stockLevelEvents("stock_events", t, actor, sql`SELECT id, name, sku, stock_after - quantity AS before, stock_after AS after, low_stock_threshold AS threshold FROM stocked`)}`,
    failures: sql`
      WHEN EXISTS (SELECT 1 FROM ok) AND EXISTS (SELECT 1 FROM not_on_po) THEN tally_fail('not_on_purchase_order',
        (SELECT jsonb_agg(jsonb_build_object('itemId', item_id, 'position', position) ORDER BY position) FROM not_on_po))
      WHEN EXISTS (SELECT 1 FROM ok) AND EXISTS (SELECT 1 FROM over) THEN tally_fail('over_receipt',
        (SELECT jsonb_agg(jsonb_build_object('itemId', item_id, 'position', position, 'quantity', quantity, 'ordered', ordered, 'received', received) ORDER BY position) FROM over))`,
    succeeded: sql`EXISTS (SELECT 1 FROM received)`,
    refusal: sql`jsonb_build_object('status', (SELECT status FROM target))`,
    columns: sql`(SELECT row_to_json(r) FROM receipt r) AS receipt, (SELECT ${poJson("r", "final_lines")} FROM received r) AS po`,
    render: (rid) => sql`SELECT json_build_object('receipt', row_to_json(r), 'po', ${poJson("p")}) FROM purchase_order_receipts r JOIN purchase_orders p ON p.id = r.purchase_order_id
      WHERE r.tenant_id = ${t} AND r.id = ${rid}`,
  });
  const results = await atomic(db, [lockPo(t, id), statement]);
  const row = results[1]![0]!;
  const replayed = fromJson<{ receipt: unknown; po: unknown } | null>(row.replayed);
  return {
    row,
    receipt: row.receipt ? toReceipt(row.receipt) : undefined,
    po: row.po ? toPurchaseOrder(row.po) : undefined,
    replayed: replayed ? { receipt: toReceipt(replayed.receipt), po: toPurchaseOrder(replayed.po) } : undefined,
  };
}

export async function findReceipt(db: Db, tenantId: string, receiptId: string) {
  const rows = await query(
    db,
    sql`SELECT row_to_json(r) AS receipt, ${poJson("p")} AS po FROM purchase_order_receipts r JOIN purchase_orders p ON p.id = r.purchase_order_id WHERE r.tenant_id = ${tenantId} AND r.id = ${receiptId}`,
  );
  return rows[0] ? { receipt: toReceipt(rows[0].receipt), po: toPurchaseOrder(rows[0].po) } : undefined;
}

export interface SuggestionParams {
  today: string;
  supplierId: string | undefined;
  leadTimeDays: number;
  safetyDays: number;
  windowDays: number;
}

/**
 * Drafts one purchase order per preferred supplier from the reorder suggestions, in one statement:
 * the same rule as GET /api/analytics/reorder-suggestions, except that what is already on open
 * purchase orders (draft, ordered, partially received: ordered − received) counts as stock, so a
 * second click does not order everything twice. Quantity: ceil(rate × (lead + safety)) − stock −
 * on order, at least 1 and at least the supplier's minimum, at the link's unit cost. Items that need
 * reordering but have no preferred supplier come back as `skipped`.
 */
export async function draftFromSuggestions(db: Db, tenantId: string, userId: string, p: SuggestionParams, actor: Actor) {
  const t = tenantId;
  const rows = await query(
    db,
    sql`
    WITH sold AS (
      SELECT item_id, sum(units) AS units FROM sales_daily_items
      WHERE tenant_id = ${t} AND day > ${p.today}::date - ${p.windowDays}::int AND day <= ${p.today}::date
      GROUP BY item_id
    ),
    on_order AS (
      SELECT l.item_id, sum(greatest(l.quantity - l.received_quantity, 0)) AS units
      FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.purchase_order_id
      WHERE l.tenant_id = ${t} AND o.status IN ('draft', 'ordered', 'partially_received')
      GROUP BY l.item_id
    ),
    cand AS (
      SELECT i.id AS item_id, i.name, i.stock + coalesce(oo.units, 0) AS position_units, s.units AS sold_units, pref.supplier_id, pref.unit_cost_cents, pref.min_order_quantity,
             coalesce(pref.lead_time_days, ${p.leadTimeDays}::int) AS lead
      FROM sold s JOIN items i ON i.id = s.item_id AND i.tenant_id = ${t} AND i.deleted_at IS NULL
      LEFT JOIN on_order oo ON oo.item_id = i.id
      LEFT JOIN LATERAL (
        SELECT l.supplier_id, l.unit_cost_cents, l.min_order_quantity, coalesce(l.lead_time_days, su.lead_time_days) AS lead_time_days
        FROM item_suppliers l JOIN suppliers su ON su.id = l.supplier_id AND su.deleted_at IS NULL
        WHERE l.tenant_id = ${t} AND l.item_id = i.id AND l.preferred
      ) pref ON true
      WHERE s.units > 0
    ),
    due AS (SELECT * FROM cand c WHERE c.position_units::bigint * ${p.windowDays}::int <= c.sold_units * c.lead),
    sized AS (
      SELECT d.*, greatest(d.min_order_quantity, 1, ceil(d.sold_units::numeric * (d.lead + ${p.safetyDays}::int) / ${p.windowDays}::int - d.position_units))::int AS quantity
      FROM due d WHERE d.supplier_id IS NOT NULL AND (${p.supplierId ?? null}::uuid IS NULL OR d.supplier_id = ${p.supplierId ?? null}::uuid)
    ),
    -- The lines' foreign keys lock their items (KEY SHARE): take those locks in id order first.
    keyed AS (SELECT id FROM items WHERE id IN (SELECT item_id FROM sized) ORDER BY id FOR KEY SHARE),
    groups AS (
      SELECT g.supplier_id, row_number() OVER (ORDER BY lower(su.name), g.supplier_id) AS k, count(*) OVER () AS n
      FROM (SELECT DISTINCT supplier_id FROM sized) g JOIN suppliers su ON su.id = g.supplier_id
    ),
    counter AS (
      INSERT INTO purchase_order_counters (tenant_id, last_number) SELECT ${t}, (SELECT count(*) FROM groups) WHERE EXISTS (SELECT 1 FROM groups)
      ON CONFLICT (tenant_id) DO UPDATE SET last_number = purchase_order_counters.last_number + (SELECT count(*) FROM groups)
      RETURNING last_number
    ),
    po AS (
      INSERT INTO purchase_orders (id, tenant_id, number, supplier_id, status, notes, total_cents, created_by)
      SELECT gen_random_uuid(), ${t}, (SELECT last_number FROM counter) - g.n + g.k, g.supplier_id, 'draft', 'Drafted from reorder suggestions',
             (SELECT sum(z.quantity::bigint * z.unit_cost_cents) FROM sized z WHERE z.supplier_id = g.supplier_id), ${userId}
      FROM groups g
      RETURNING *
    ),
    lines AS (
      INSERT INTO purchase_order_lines (id, tenant_id, purchase_order_id, item_id, quantity, unit_cost_cents, position)
      SELECT gen_random_uuid(), ${t}, o.id, z.item_id, z.quantity, z.unit_cost_cents, (row_number() OVER (PARTITION BY z.supplier_id ORDER BY lower(z.name), z.item_id) - 1)::int
      FROM sized z JOIN po o ON o.supplier_id = z.supplier_id WHERE z.item_id IN (SELECT id FROM keyed)
      RETURNING *
    ),
    ${poEvents(t, actor, sql`SELECT 'purchase_order.created' AS type, 'purchase_order' AS resource_type, o.id AS resource_id, jsonb_build_object('purchaseOrder', ${poJson("o", "lines")}) AS data FROM po o`)}
    SELECT (SELECT json_agg(${poJson("o", "lines")} ORDER BY o.number) FROM po o) AS pos,
      (SELECT json_agg(json_build_object('itemId', d.item_id) ORDER BY lower(d.name)) FROM due d WHERE d.supplier_id IS NULL AND ${p.supplierId ?? null}::uuid IS NULL) AS skipped`,
  );
  const row = rows[0]!;
  return {
    purchaseOrders: (fromJson<unknown[] | null>(row.pos) ?? []).map(toPurchaseOrder),
    skipped: (fromJson<{ itemId: string }[] | null>(row.skipped) ?? []).map((s) => ({ itemId: String(s.itemId), reason: "no preferred supplier" })),
  };
}
