import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { eventsCte, stockLevelEvents, type Actor } from "../events/outbox.js";
import type { CustomerInput } from "../customers/schemas.js";
import { orderJson, toOrder, type Order } from "./json.js";
import { DELIVERY_WINDOW_DAYS, type OrderLine } from "./schemas.js";
import { todayIn, withinDaysOfTodayIn } from "../tenants/zone.js";
import { fefoCtes, lotBackCtes, lotMoveCtes, lotsMovedGuard, lotsMovedUnless, retryOnLotsMoved } from "./lots.js";

// Every write here is a chain of CTEs that locks the items it touches in id order, moves stock with
// conditional UPDATEs (never read-then-write), writes the order, its lines and the ledger, and — if
// a rule fails — calls tally_fail(), which aborts it so nothing at all changes.
//
// Stock conditions sit in the UPDATE's own WHERE (`i.stock >= q`): Postgres re-checks those on the
// row's latest version after any wait (measured: conditions on a FOR UPDATE CTE's columns instead
// let stock reach the CHECK constraint under a mix of increments and decrements).
//
// Creating an order is ONE statement: it reads no rows another write may change except those it
// updates with such re-checked conditions. Writes to an existing order also read its lines,
// which a statement would see as of its start — before it waited for the order's lock, so two
// edits (or an edit and a cancel) both computed against the same old lines (DESIGN.md §2). So they
// are a batch of statements in one atomic() call (one round trip on neon-http): the first locks the
// order row; the next — whose snapshot is taken after that lock was granted — locks, in id order,
// every item the order holds or will hold; the last does the work, with nothing left to wait for.

const FIRST_ORDER_NUMBER = 1001;

/** Lines as a JSON recordset (portable across drivers, unlike array parameters). */
const linesInput = (lines: OrderLine[]) =>
  sql`SELECT * FROM jsonb_to_recordset(${JSON.stringify(lines.map((l, position) => ({ item_id: l.itemId, quantity: l.quantity, position })))}::jsonb)
      AS x(item_id uuid, quantity int, position int)`;

/** Raises unknown_items / insufficient_stock from a `problems` CTE (item_id, quantity, position, stock, missing). */
const stockFailures = sql`
  WHEN EXISTS (SELECT 1 FROM problems WHERE missing) THEN tally_fail('unknown_items',
    (SELECT jsonb_agg(jsonb_build_object('itemId', item_id, 'position', position) ORDER BY position) FROM problems WHERE missing))
  WHEN EXISTS (SELECT 1 FROM problems) THEN tally_fail('insufficient_stock',
    (SELECT jsonb_agg(jsonb_build_object('itemId', item_id, 'requested', quantity, 'available', stock, 'position', position) ORDER BY position) FROM problems))`;

/**
 * An expected delivery date further than DELIVERY_WINDOW_DAYS from the tenant's today (its timezone,
 * read in this statement) fails the write. `when` says the write is going ahead (CTE go or ok).
 */
function deliveryOutOfWindow(tenantId: string, date: string | null | undefined, when: SQL): SQL {
  if (date === null || date === undefined) return sql``;
  return sql`WHEN ${when} AND NOT ${withinDaysOfTodayIn(tenantId, date, DELIVERY_WINDOW_DAYS)} THEN tally_fail('delivery_date_out_of_window',
    jsonb_build_object('today', ${todayIn(tenantId)}::text, 'days', ${DELIVERY_WINDOW_DAYS}::int))`;
}

export type CustomerRef =
  | { kind: "none" }
  | { kind: "existing"; id: string }
  | { kind: "inline"; id: string; input: CustomerInput }
  /** The tenant's customer with this email (case-insensitive; the oldest if several), created if none. */
  | { kind: "byEmail"; id: string; input: CustomerInput & { email: string } };

export interface NewOrder {
  tenantId: string;
  orderId: string;
  /** Who placed it (created_by); null for a shopper of the storefront. */
  userId: string | null;
  channel: string;
  priority: string;
  expectedDeliveryDate: string | null;
  notes: string | null;
  lines: OrderLine[];
  customer: CustomerRef;
  idempotency?: IdempotencyRequest;
  actor: Actor;
  /**
   * Composable extras for other order sources (the storefront's checkout): the initial status, more
   * order columns (`columns` and `values`, each starting with a comma), more CTEs after the order's
   * own (starting with a comma; they may read input, taken, placed, lines, customer_row), more
   * failure clauses (WHEN … THEN tally_fail(…)) and result columns (starting with a comma).
   */
  extend?: {
    status?: string;
    columns?: SQL;
    values?: SQL;
    work?: SQL;
    failures?: SQL;
    result?: SQL;
    /** What a replay renders from the earlier order's id (default: the order's JSON). */
    render?: (id: SQL) => SQL;
    /** The key may hold a recorded failure that another request may take over (GatedWrite.retakeFailed). */
    retakeFailed?: true;
  };
}

function customerSource(tenantId: string, ref: CustomerRef): SQL {
  switch (ref.kind) {
    case "none":
      return sql`SELECT * FROM customers WHERE false`;
    case "existing":
      return sql`SELECT * FROM customers WHERE tenant_id = ${tenantId} AND id = ${ref.id}`;
    case "inline": {
      const c = ref.input;
      return sql`INSERT INTO customers (id, tenant_id, name, phone, email, social_handle, notes)
        SELECT ${ref.id}, ${tenantId}, ${c.name}, ${c.phone ?? null}, ${c.email ?? null}, ${c.socialHandle ?? null}, ${c.notes ?? null} FROM go
        RETURNING *`;
    }
    case "byEmail":
      return sql`SELECT * FROM customer_found UNION ALL SELECT * FROM customer_new`;
  }
}

/** CTE customer_row (and, for byEmail, the two it reads). */
function customerCtes(tenantId: string, ref: CustomerRef): SQL {
  if (ref.kind !== "byEmail") return sql`customer_row AS (${customerSource(tenantId, ref)})`;
  const c = ref.input;
  return sql`customer_found AS (
      SELECT * FROM customers WHERE tenant_id = ${tenantId} AND lower(email) = lower(${c.email}) AND EXISTS (SELECT 1 FROM go) ORDER BY id LIMIT 1
    ),
    customer_new AS (
      INSERT INTO customers (id, tenant_id, name, phone, email)
      SELECT ${ref.id}, ${tenantId}, ${c.name}, ${c.phone ?? null}, ${c.email} FROM go WHERE NOT EXISTS (SELECT 1 FROM customer_found)
      RETURNING *
    ),
    customer_row AS (${customerSource(tenantId, ref)})`;
}

export interface WriteResult {
  row: Record<string, unknown>;
  order: Order | undefined;
  /** The order an earlier request with the same Idempotency-Key made, when this one is a replay. */
  replayed?: Order;
}

function result(rows: Record<string, unknown>[]): WriteResult {
  const row = rows[0]!;
  return { row, order: row.order ? toOrder(row.order) : undefined, replayed: row.replayed ? toOrder(row.replayed) : undefined };
}

const renderOrder = (tenantId: string) => (id: SQL) => sql`SELECT ${orderJson("r")} FROM orders r WHERE r.tenant_id = ${tenantId} AND r.id = ${id}`;

export async function insertOrder(db: Db, o: NewOrder): Promise<WriteResult> {
  return result(await retryOnLotsMoved(() => query(db, insertOrderStatement(o))));
}

/** The order-creation statement, for callers that batch it with more (the storefront's checkout). */
export function insertOrderStatement(o: NewOrder): SQL {
  const t = o.tenantId;
  const x = o.extend ?? {};
  const customerMissing = o.customer.kind === "existing" ? sql`WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM customer_row) THEN tally_fail('unknown_customer', '{}'::jsonb)` : sql``;
  return gatedStatement({
      tenantId: t,
      idem: o.idempotency,
      resourceId: o.orderId,
      work: sql`
    input AS (${linesInput(o.lines)}),
    -- The items as this statement's snapshot shows them. A line the snapshot already shows short is
    -- refused without waiting for any item's row lock (a flash sale's late buyers do not queue behind
    -- the ones still buying); otherwise the rows are locked and the UPDATE re-checks the stock.
    snap AS (SELECT i.id, i.stock FROM items i WHERE i.tenant_id = ${t} AND i.id IN (SELECT item_id FROM input) AND i.deleted_at IS NULL),
    snap_short AS (SELECT 1 FROM input x JOIN snap s ON s.id = x.item_id WHERE s.stock < x.quantity LIMIT 1),
    locked AS (
      SELECT i.id, i.stock, i.lot_stock FROM items i
      WHERE i.tenant_id = ${t} AND i.id IN (SELECT item_id FROM input) AND i.deleted_at IS NULL AND EXISTS (SELECT 1 FROM go)
        AND NOT EXISTS (SELECT 1 FROM snap_short)
      ORDER BY i.id FOR UPDATE
    ),
    ${fefoCtes(t, "input")}
    -- Sellable = unlotted (stock − lot_stock) + the sellable lots; lots go first (FEFO), then unlotted.
    taken AS (
      UPDATE items i SET stock = i.stock - x.quantity, version = i.version + 1, updated_at = now(),
        lot_stock = ${lotsMovedUnless(sql`i.lot_stock >= coalesce(s.from_lots, 0)`, sql`i.lot_stock - coalesce(s.from_lots, 0)`)}
      FROM input x LEFT JOIN lot_sums s ON s.item_id = x.item_id
      WHERE i.id = x.item_id AND i.id IN (SELECT id FROM locked) AND i.stock - i.lot_stock + coalesce(s.from_lots, 0) >= x.quantity
      RETURNING i.id, i.name, i.sku, i.price_cents, x.quantity, x.position, i.stock AS stock_after, i.low_stock_threshold
    ),
    -- A number only for an order whose every line got its stock: a refused one never waits for the
    -- tenant's counter row.
    counter AS (
      INSERT INTO order_counters (tenant_id, last_number) SELECT ${t}, ${FIRST_ORDER_NUMBER} FROM go
      WHERE (SELECT count(*) FROM taken) = (SELECT count(*) FROM input)
      ON CONFLICT (tenant_id) DO UPDATE SET last_number = order_counters.last_number + 1
      RETURNING last_number
    ),
    ${customerCtes(t, o.customer)},
    placed AS (
      INSERT INTO orders (id, tenant_id, number, channel, status, priority, customer_id, expected_delivery_date, notes, total_cents, units, created_by ${x.columns ?? sql``})
      SELECT ${o.orderId}, ${t}, (SELECT last_number FROM counter), ${o.channel}, ${x.status ?? "pending"}, ${o.priority}, (SELECT id FROM customer_row),
             ${o.expectedDeliveryDate}::date, ${o.notes},
             (SELECT coalesce(sum(price_cents::bigint * quantity), 0) FROM taken), (SELECT coalesce(sum(quantity), 0) FROM taken), ${o.userId} ${x.values ?? sql``}
      FROM go WHERE EXISTS (SELECT 1 FROM counter)
      RETURNING *
    ),
    lines AS (
      INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, sku, unit_price_cents, quantity, position)
      SELECT gen_random_uuid(), ${t}, p.id, x.id, x.name, x.sku, x.price_cents, x.quantity, x.position FROM taken x CROSS JOIN placed p
      RETURNING *
    ),
    moves AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id, created_by)
      SELECT gen_random_uuid(), ${t}, x.id, -x.quantity, 'order', p.id, ${o.userId} FROM taken x CROSS JOIN placed p
      RETURNING 1
    ),
    order_lot_moves AS (SELECT lt.lot_id, lt.item_id, -lt.quantity AS delta FROM lot_take lt WHERE lt.quantity > 0 AND EXISTS (SELECT 1 FROM placed)),
    ${lotMoveCtes(t, sql`${o.orderId}::uuid`, "order_lot_moves")}
    problems AS (
      -- Available: sellable (unlotted + sellable lots) where the rows were locked; the snapshot's stock
      -- where the snapshot refused the order without locking (an upper bound: it is short anyway).
      SELECT x.item_id, x.quantity, x.position, coalesce(l.stock - l.lot_stock + coalesce(ps.sellable, 0), s.stock) AS stock,
             (s.id IS NULL OR (l.id IS NULL AND NOT EXISTS (SELECT 1 FROM snap_short))) AS missing
      FROM input x LEFT JOIN locked l ON l.id = x.item_id LEFT JOIN snap s ON s.id = x.item_id LEFT JOIN pool_sums ps ON ps.item_id = x.item_id
      WHERE EXISTS (SELECT 1 FROM go) AND x.item_id NOT IN (SELECT id FROM taken)
        -- Refused from the snapshot: only the lines it shows short (or gone) are the problem.
        AND (NOT EXISTS (SELECT 1 FROM snap_short) OR s.id IS NULL OR s.stock < x.quantity)
    ),
    ${eventsCte("order_events", t, o.actor, sql`SELECT 'order.created' AS type, 'order' AS resource_type, p.id AS resource_id, jsonb_build_object('order', ${orderJson("p", "lines", "customer_row")}) AS data FROM placed p`)},
    ${stockLevelEvents("stock_events", t, o.actor, sql`SELECT id, name, sku, stock_after + quantity AS before, stock_after AS after, low_stock_threshold AS threshold FROM taken`)}
    ${x.work ?? sql``}`,
      failures: sql`${deliveryOutOfWindow(t, o.expectedDeliveryDate, sql`EXISTS (SELECT 1 FROM go)`)} ${stockFailures} ${lotsMovedGuard("order_lot_moves")} ${customerMissing} ${x.failures ?? sql``}`,
      succeeded: sql`EXISTS (SELECT 1 FROM placed)`,
      refusal: sql`'{}'::jsonb`,
      columns: sql`(SELECT count(*) FROM moves) AS moved, (SELECT ${orderJson("p", "lines", "customer_row")} FROM placed p) AS order ${x.result ?? sql``}`,
      render: x.render ?? renderOrder(t),
      retakeFailed: x.retakeFailed,
    });
}

/** The first row of a write's result, read. */
export const writeResult = result;

export async function findOrder(db: Db, tenantId: string, id: string): Promise<Order | undefined> {
  const rows = await query(db, sql`SELECT ${orderJson("o")} AS order FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${id}`);
  return rows[0] ? toOrder(rows[0].order) : undefined;
}

export interface OrderChanges {
  lines?: OrderLine[];
  customerId?: string | null;
  priority?: string;
  channel?: string;
  expectedDeliveryDate?: string | null;
  notes?: string | null;
}

/** Statement 1 of every write to an existing order: its row lock (see the top of this file). */
const lockOrder = (tenantId: string, id: string) => sql`SELECT 1 FROM orders WHERE tenant_id = ${tenantId} AND id = ${id} FOR NO KEY UPDATE`;

/** Statement 2 of writes that move stock: the items of the order's lines (and of `lines`), in id order. */
const lockItems = (tenantId: string, id: string, lines: OrderLine[] = []) => sql`
  SELECT 1 FROM items i
  WHERE i.tenant_id = ${tenantId}
    AND (i.id IN (SELECT l.item_id FROM order_lines l WHERE l.order_id = ${id}) OR i.id IN (SELECT item_id FROM (${linesInput(lines)}) x))
  ORDER BY i.id FOR UPDATE`;

/** Runs `statement` after locking the order (and, with `items`, its items), in one atomic batch; its rows. */
async function afterLock(db: Db, tenantId: string, id: string, statement: SQL, items?: { lines?: OrderLine[] }): Promise<Record<string, unknown>[]> {
  const results = await atomic(db, [lockOrder(tenantId, id), ...(items ? [lockItems(tenantId, id, items.lines)] : []), statement]);
  return results[results.length - 1]!;
}

/** The fields an edit sent, as order.updated names them. */
const changedFields = (changes: OrderChanges) =>
  Object.entries(changes)
    .filter(([, value]) => value !== undefined)
    .map(([field]) => (field === "lines" ? "items" : field));

/** Lines can change while an order is pending or confirmed; its other fields until it is final. */
const LINE_EDITABLE = ["pending", "confirmed"];

export async function updateOrder(db: Db, tenantId: string, userId: string, id: string, changes: OrderChanges, expected: number | undefined, actor: Actor): Promise<WriteResult> {
  const t = tenantId;
  const editable = changes.lines ? LINE_EDITABLE : ["pending", "confirmed", "preparing", "ready"];
  const sets: SQL[] = [];
  if (changes.priority !== undefined) sets.push(sql`priority = ${changes.priority}`);
  if (changes.channel !== undefined) sets.push(sql`channel = ${changes.channel}`);
  if (changes.notes !== undefined) sets.push(sql`notes = ${changes.notes}`);
  if (changes.expectedDeliveryDate !== undefined) sets.push(sql`expected_delivery_date = ${changes.expectedDeliveryDate}::date`);
  if (changes.customerId !== undefined) sets.push(sql`customer_id = (SELECT id FROM customer_row)`);

  const customerCte = changes.customerId
    ? sql`customer_row AS (SELECT * FROM customers WHERE tenant_id = ${t} AND id = ${changes.customerId}),`
    : sql`customer_row AS (SELECT * FROM customers WHERE false),`;
  const customerMissing = changes.customerId
    ? sql`WHEN EXISTS (SELECT 1 FROM ok) AND NOT EXISTS (SELECT 1 FROM customer_row) THEN tally_fail('unknown_customer', '{}'::jsonb)`
    : sql``;

  let lineCtes = sql``;
  let lineFailures = sql``;
  let linesFrom = "order_lines";
  if (changes.lines) {
    sets.push(sql`total_cents = (SELECT coalesce(sum(price::bigint * quantity), 0) FROM final_lines)`, sql`units = (SELECT coalesce(sum(quantity), 0) FROM final_lines)`);
    linesFrom = "added";
    lineCtes = sql`
    input AS (${linesInput(changes.lines)}),
    old AS (SELECT l.* FROM order_lines l WHERE l.order_id = ${id} AND EXISTS (SELECT 1 FROM ok)),
    changes AS (
      SELECT coalesce(x.item_id, o.item_id) AS item_id, coalesce(x.quantity, 0) - coalesce(o.quantity, 0) AS delta,
             coalesce(x.quantity, 0) AS quantity, coalesce(x.position, 0) AS position
      FROM input x FULL JOIN old o ON o.item_id = x.item_id
      WHERE EXISTS (SELECT 1 FROM ok) AND coalesce(x.quantity, 0) <> coalesce(o.quantity, 0)
    ),
    locked AS (
      SELECT i.id, i.stock, i.lot_stock, i.deleted_at FROM items i
      WHERE i.tenant_id = ${t} AND i.id IN (SELECT item_id FROM changes)
      ORDER BY i.id FOR UPDATE
    ),
    -- Lines that grow take FEFO like a new order; lines that shrink give back (lots.ts).
    grow AS (SELECT item_id, delta AS quantity FROM changes WHERE delta > 0),
    ${fefoCtes(t, "grow")}
    give AS (
      SELECT c.item_id, -c.delta AS quantity,
             o.quantity - coalesce((SELECT sum(a.quantity) FROM order_lot_allocations a WHERE a.order_id = ${id} AND a.item_id = c.item_id), 0) AS unlotted
      FROM changes c JOIN old o ON o.item_id = c.item_id WHERE c.delta < 0
    ),
    ${lotBackCtes(id, "give")}
    back_sums AS (SELECT item_id, sum(quantity)::int AS to_lots FROM lot_back GROUP BY item_id),
    moved AS (
      UPDATE items i SET stock = i.stock - c.delta, lot_stock = i.lot_stock - coalesce(s.from_lots, 0) + coalesce(b.to_lots, 0), version = i.version + 1, updated_at = now()
      FROM changes c LEFT JOIN lot_sums s ON s.item_id = c.item_id LEFT JOIN back_sums b ON b.item_id = c.item_id
      WHERE i.id = c.item_id AND i.id IN (SELECT id FROM locked)
        AND (c.delta < 0 OR (i.stock - i.lot_stock + coalesce(s.from_lots, 0) >= c.delta AND i.deleted_at IS NULL))
      RETURNING i.id, c.delta, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    edit_lot_moves AS (
      SELECT lot_id, item_id, -quantity AS delta FROM lot_take WHERE quantity > 0 AND item_id IN (SELECT id FROM moved)
      UNION ALL SELECT lot_id, item_id, quantity AS delta FROM lot_back WHERE quantity > 0 AND item_id IN (SELECT id FROM moved)
    ),
    ${lotMoveCtes(t, sql`${id}::uuid`, "edit_lot_moves")}
    problems AS (
      SELECT c.item_id, c.delta AS quantity, c.position, l.stock - l.lot_stock + coalesce(ps.sellable, 0) AS stock, (l.id IS NULL OR l.deleted_at IS NOT NULL) AS missing
      FROM changes c LEFT JOIN locked l ON l.id = c.item_id LEFT JOIN pool_sums ps ON ps.item_id = c.item_id
      WHERE c.item_id NOT IN (SELECT id FROM moved)
    ),
    final_lines AS (
      SELECT x.item_id, x.quantity, x.position, coalesce(o.name, i.name) AS name, CASE WHEN o.item_id IS NULL THEN i.sku ELSE o.sku END AS sku,
             coalesce(o.unit_price_cents, i.price_cents) AS price
      FROM input x LEFT JOIN old o ON o.item_id = x.item_id LEFT JOIN items i ON i.tenant_id = ${t} AND i.id = x.item_id
    ),
    dropped AS (DELETE FROM order_lines l WHERE l.order_id = ${id} AND EXISTS (SELECT 1 FROM ok) RETURNING 1),
    added AS (
      INSERT INTO order_lines (id, tenant_id, order_id, item_id, name, sku, unit_price_cents, quantity, position)
      SELECT gen_random_uuid(), ${t}, ${id}, f.item_id, f.name, f.sku, f.price, f.quantity, f.position
      FROM final_lines f WHERE f.price IS NOT NULL AND EXISTS (SELECT 1 FROM ok)
      RETURNING *
    ),
    moves AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id, created_by)
      SELECT gen_random_uuid(), ${t}, m.id, -m.delta, 'edit', ${id}, ${userId} FROM moved m
      RETURNING 1
    ),
    ${stockLevelEvents("stock_events", t, actor, sql`SELECT id, name, sku, stock_after + delta AS before, stock_after AS after, low_stock_threshold AS threshold FROM moved`)},`;
    lineFailures = sql`${stockFailures} ${lotsMovedGuard("edit_lot_moves")}`;
  }

  const rows = await afterLock(
    db,
    t,
    id,
    sql`
    WITH target AS (SELECT o.status, o.version FROM orders o WHERE o.tenant_id = ${t} AND o.id = ${id}),
    ok AS (SELECT 1 FROM target WHERE status IN (${sql.join(editable.map((s) => sql`${s}`), sql`, `)}) AND (${expected ?? null}::int IS NULL OR version = ${expected ?? null}::int)),
    ${customerCte}
    ${lineCtes}
    updated AS (
      UPDATE orders o SET ${sql.join([...sets, sql`version = o.version + 1`, sql`updated_at = now()`], sql`, `)}
      WHERE o.tenant_id = ${t} AND o.id = ${id} AND EXISTS (SELECT 1 FROM ok)
      RETURNING *
    ),
    ${eventsCte("order_events", t, actor, sql`SELECT 'order.updated' AS type, 'order' AS resource_type, u.id AS resource_id,
      jsonb_build_object('order', ${orderJson("u", linesFrom, changes.customerId ? "customer_row" : "customers")}, 'changes', ${JSON.stringify(changedFields(changes))}::jsonb) AS data FROM updated u`)}
    SELECT
      CASE WHEN false THEN NULL ${deliveryOutOfWindow(t, changes.expectedDeliveryDate, sql`EXISTS (SELECT 1 FROM ok)`)} ${lineFailures} ${customerMissing} END AS failed,
      (SELECT status FROM target) AS current_status,
      (SELECT version FROM target) AS current_version,
      (SELECT ${orderJson("u", linesFrom, changes.customerId ? "customer_row" : "customers")} FROM updated u) AS order`,
    changes.lines ? { lines: changes.lines } : undefined,
  );
  return result(rows);
}

export async function cancelOrder(db: Db, tenantId: string, userId: string, id: string, expected: number | undefined, idem: IdempotencyRequest | undefined, actor: Actor): Promise<WriteResult> {
  const t = tenantId;
  const rows = await afterLock(
    db,
    t,
    id,
    gatedStatement({
      tenantId: t,
      idem,
      resourceId: id,
      work: sql`
    target AS (SELECT o.status, o.version FROM orders o WHERE o.tenant_id = ${t} AND o.id = ${id}),
    cancelled AS (
      UPDATE orders o SET status = 'cancelled', cancelled_at = now(), version = o.version + 1, updated_at = now()
      WHERE o.tenant_id = ${t} AND o.id = ${id} AND o.status NOT IN ('completed', 'cancelled')
        AND (${expected ?? null}::int IS NULL OR o.version = ${expected ?? null}::int) AND EXISTS (SELECT 1 FROM go)
      RETURNING *
    ),
    returned AS (SELECT l.item_id, sum(l.quantity)::int AS quantity FROM order_lines l WHERE l.order_id IN (SELECT id FROM cancelled) GROUP BY l.item_id),
    -- Every unit the order took from a lot goes back to that lot (expired or not: the cron writes it off).
    cancel_lot_moves AS (SELECT a.lot_id, a.item_id, a.quantity AS delta FROM order_lot_allocations a WHERE a.order_id IN (SELECT id FROM cancelled)),
    back_sums AS (SELECT item_id, sum(delta)::int AS to_lots FROM cancel_lot_moves GROUP BY item_id),
    locked AS (SELECT i.id FROM items i WHERE i.id IN (SELECT item_id FROM returned) ORDER BY i.id FOR UPDATE),
    restocked AS (
      UPDATE items i SET stock = i.stock + r.quantity, lot_stock = i.lot_stock + coalesce(b.to_lots, 0), version = i.version + 1, updated_at = now()
      FROM returned r LEFT JOIN back_sums b ON b.item_id = r.item_id WHERE i.id = r.item_id AND i.id IN (SELECT id FROM locked)
      RETURNING i.id, r.quantity, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    ${lotMoveCtes(t, sql`${id}::uuid`, "cancel_lot_moves")}
    moves AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id, created_by)
      SELECT gen_random_uuid(), ${t}, r.id, r.quantity, 'cancel', ${id}, ${userId} FROM restocked r
      RETURNING 1
    ),
    ${eventsCte("order_events", t, actor, sql`SELECT 'order.cancelled' AS type, 'order' AS resource_type, c.id AS resource_id,
      jsonb_build_object('order', ${orderJson("c")}, 'from', (SELECT status FROM target)) AS data FROM cancelled c`)},
    ${stockLevelEvents("stock_events", t, actor, sql`SELECT id, name, sku, stock_after - quantity AS before, stock_after AS after, low_stock_threshold AS threshold FROM restocked`)}`,
      failures: lotsMovedGuard("cancel_lot_moves"),
      succeeded: sql`EXISTS (SELECT 1 FROM cancelled)`,
      refusal: sql`jsonb_build_object('status', (SELECT status FROM target), 'version', (SELECT version FROM target))`,
      columns: sql`(SELECT count(*) FROM moves) AS moved, (SELECT ${orderJson("c")} FROM cancelled c) AS order`,
      render: renderOrder(t),
    }),
    {},
  );
  return result(rows);
}

/** Moves an order one step along pending → confirmed → preparing → ready → completed. */
export async function advanceOrder(db: Db, tenantId: string, id: string, from: string, to: string, expected: number | undefined, actor: Actor): Promise<WriteResult> {
  const rows = await afterLock(
    db,
    tenantId,
    id,
    sql`
    WITH target AS (SELECT o.status, o.version FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${id}),
    moved AS (
      UPDATE orders o SET status = ${to}, version = o.version + 1, updated_at = now(),
        completed_at = CASE WHEN ${to} = 'completed' THEN now() ELSE o.completed_at END
      WHERE o.tenant_id = ${tenantId} AND o.id = ${id} AND o.status = ${from}
        AND (${expected ?? null}::int IS NULL OR o.version = ${expected ?? null}::int)
      RETURNING *
    ),
    ${eventsCte("order_events", tenantId, actor, sql`SELECT 'order.status_changed' AS type, 'order' AS resource_type, m.id AS resource_id,
      jsonb_build_object('order', ${orderJson("m")}, 'from', ${from}::text, 'to', ${to}::text) AS data FROM moved m`)}
    SELECT (SELECT status FROM target) AS current_status, (SELECT version FROM target) AS current_version,
           (SELECT ${orderJson("m")} FROM moved m) AS order`,
  );
  return result(rows);
}
