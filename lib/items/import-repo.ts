import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toNumber } from "../../db/values.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { eventsCte, itemJson, stockLevelEvents, type Actor } from "../events/outbox.js";
import { MAX_REPORTED_PROBLEMS, type ImportMode, type ImportProblem, type statementInput } from "./import.js";

// The import is one atomic batch of two statements (one round trip on neon-http, one transaction
// elsewhere): the first locks, in id order (as orders lock them, so no deadlock), the live items the
// file's SKUs match; the second — whose snapshot is taken after those locks were granted, so it reads
// each item's latest committed stock — does everything else: the checks that need the database
// become `problems`; if there are none, categories are found or created, new items inserted,
// changed ones updated, every stock change written to the ledger (reason 'import') as the difference
// from the stock it replaced, the preferred supplier links updated, item and stock-level events
// queued and the import recorded — else tally_fail('import_rejected') aborts it all.
//
// Every per-row lookup is a LATERAL index probe (items by lower(sku), supplier links by item), not a
// join of CTEs: the planner estimates a JSON recordset at 100 rows and freshly imported items from
// stale statistics, and with those estimates it joined 10,000 rows to 10,000 by nested loops (24 s,
// measured; the statement timeout is 5 s).

export interface ImportCounts {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportRecord extends ImportCounts {
  id: string;
  mode: ImportMode;
  createdAt: string;
}

type Input = ReturnType<typeof statementInput>;

const recordsetColumns = sql.raw(`line int, sku text, name text, price_cents int, stock int, low_stock_threshold int, category_key text,
  description text, published boolean, supplier_sku text, unit_cost_cents int, new_id uuid`);

/** Read-only CTEs (each followed by a comma): input, cats_in, known (each row with its item and link), problems. */
function checks(tenantId: string, mode: ImportMode, input: Input): SQL {
  const createClash =
    mode === "create"
      ? sql`SELECT k.line, 'sku' AS col, 'an item with this SKU exists; nothing was imported (mode=upsert updates existing items)' AS message FROM known k WHERE k.item_id IS NOT NULL`
      : sql`SELECT k.line, c.col, c.col || ' is required: no item has this SKU, so the row creates one' AS message FROM known k
            CROSS JOIN LATERAL (VALUES ('name', k.name IS NULL), ('priceCents', k.price_cents IS NULL)) AS c(col, missing)
            WHERE c.missing AND k.item_id IS NULL`;
  return sql`input AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(input.records)}::jsonb) AS x(${recordsetColumns})),
    cats_in AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(input.categories)}::jsonb) AS c(key text, name text, slug text, id uuid)),
    known AS (
      SELECT x.*, cur.id AS item_id, cur.name AS old_name, cur.sku AS old_sku, cur.price_cents AS old_price, cur.stock AS old_stock, cur.lot_stock AS old_lot_stock,
             cur.low_stock_threshold AS old_threshold, cur.category_id AS old_category_id, cur.description AS old_description,
             cur.published AS old_published, l.supplier_id AS link_supplier_id, l.supplier_sku AS old_supplier_sku, l.unit_cost_cents AS old_unit_cost
      FROM input x
      LEFT JOIN LATERAL (
        SELECT i.* FROM items i
        WHERE i.tenant_id = ${tenantId} AND i.deleted_at IS NULL AND i.sku IS NOT NULL AND lower(i.sku) = lower(x.sku)) cur ON true
      LEFT JOIN LATERAL (
        SELECT l.supplier_id, l.supplier_sku, l.unit_cost_cents FROM item_suppliers l JOIN suppliers s ON s.id = l.supplier_id AND s.deleted_at IS NULL
        WHERE l.item_id = cur.id AND l.tenant_id = ${tenantId} AND l.preferred) l ON true),
    problems AS (
      ${createClash}
      UNION ALL
      SELECT k.line, CASE WHEN k.supplier_sku IS NOT NULL THEN 'supplierSku' ELSE 'unitCostCents' END,
             'the item has no preferred supplier to set this on (link one first: PUT /api/items/:id/suppliers/:supplierId)'
      FROM known k
      WHERE (k.supplier_sku IS NOT NULL OR k.unit_cost_cents IS NOT NULL) AND k.link_supplier_id IS NULL
      UNION ALL
      -- Stock is the units in lots plus the unlotted ones: an import sets the total, never below the lots.
      SELECT k.line, 'stock', 'is below the ' || k.old_lot_stock || ' units this item holds in lots (count or write off lots instead)'
      FROM known k WHERE k.stock IS NOT NULL AND k.item_id IS NOT NULL AND k.stock < k.old_lot_stock),`;
}

/** jsonb {count, problems: [{line, column, message}…]} of the `problems` CTE. */
const problemsJson = sql`(SELECT jsonb_build_object('count', (SELECT count(*) FROM problems), 'problems',
    coalesce((SELECT jsonb_agg(jsonb_build_object('line', p.line, 'column', p.col, 'message', p.message) ORDER BY p.line, p.col)
              FROM (SELECT * FROM problems ORDER BY line, col LIMIT ${MAX_REPORTED_PROBLEMS}) p), '[]'::jsonb)))`;

/** CTEs `plan` and `actions` (one row per input row: create | update | same, and what changes) from `known` and `cat`. */
const plan = sql`
    plan AS (
      SELECT k.*, c.id AS cat_id, c.name AS cat_name,
        (k.name IS NOT NULL AND k.name IS DISTINCT FROM k.old_name) OR k.sku IS DISTINCT FROM k.old_sku
          OR (k.price_cents IS NOT NULL AND k.price_cents IS DISTINCT FROM k.old_price)
          OR (k.stock IS NOT NULL AND k.stock IS DISTINCT FROM k.old_stock)
          OR (k.low_stock_threshold IS NOT NULL AND k.low_stock_threshold IS DISTINCT FROM k.old_threshold)
          OR (k.category_key IS NOT NULL AND c.id IS DISTINCT FROM k.old_category_id)
          OR (k.description IS NOT NULL AND k.description IS DISTINCT FROM k.old_description)
          OR (k.published IS NOT NULL AND k.published IS DISTINCT FROM k.old_published) AS item_changed,
        (k.supplier_sku IS NOT NULL AND k.supplier_sku IS DISTINCT FROM k.old_supplier_sku)
          OR (k.unit_cost_cents IS NOT NULL AND k.unit_cost_cents IS DISTINCT FROM k.old_unit_cost) AS link_changed
      FROM known k LEFT JOIN cat c ON c.key = k.category_key),
    actions AS (
      SELECT p.*, CASE WHEN p.item_id IS NULL THEN 'create' WHEN p.item_changed OR p.link_changed THEN 'update' ELSE 'same' END AS action FROM plan p)`;

const counts = sql`(SELECT count(*) FROM actions)::int AS rows,
  (SELECT count(*) FROM actions WHERE action = 'create')::int AS created,
  (SELECT count(*) FROM actions WHERE action = 'update')::int AS updated,
  (SELECT count(*) FROM actions WHERE action = 'same')::int AS unchanged`;

export const planStatement = (tenantId: string, mode: ImportMode, input: Input) =>
  sql`WITH ${checks(tenantId, mode, input)}
    cat AS (SELECT DISTINCT ON (ci.key) ci.key, c.id, c.name FROM cats_in ci JOIN categories c ON c.tenant_id = ${tenantId} AND lower(c.name) = ci.key ORDER BY ci.key, c.id),
    ${plan}
    SELECT ${counts}, CASE WHEN EXISTS (SELECT 1 FROM problems) THEN ${problemsJson} END AS problems`;

/** A dry run: the same checks and plan on the items as they are (one statement), nothing locked or written. */
export async function planImport(db: Db, tenantId: string, mode: ImportMode, input: Input): Promise<{ counts: ImportCounts; problems: { count: number; problems: ImportProblem[] } | null }> {
  const rows = await query(db, planStatement(tenantId, mode, input));
  const row = rows[0]!;
  return { counts: countsOf(row), problems: fromJson<{ count: number; problems: ImportProblem[] } | null>(row.problems) };
}

const countsOf = (row: Record<string, unknown>): ImportCounts => ({
  rows: toNumber(row.rows),
  created: toNumber(row.created),
  updated: toNumber(row.updated),
  unchanged: toNumber(row.unchanged),
});

export function toImportRecord(value: unknown): ImportRecord {
  const r = (typeof value === "string" ? JSON.parse(value) : value) as Record<string, unknown>;
  return { id: String(r.id), mode: r.mode as ImportMode, ...countsOf(r), createdAt: toIso(r.created_at) };
}

const recordJson = (from: string) =>
  sql.raw(`json_build_object('id', ${from}.id, 'mode', ${from}.mode, 'rows', ${from}.rows, 'created', ${from}.created, 'updated', ${from}.updated,
    'unchanged', ${from}.unchanged, 'created_at', ${from}.created_at)`);

/** The write. Raises tally_fail('import_rejected', {count, problems}) when a database check fails. */
export async function runImport(
  db: Db,
  w: { tenantId: string; userId: string; importId: string; mode: ImportMode; input: Input; idem: IdempotencyRequest | undefined; actor: Actor },
): Promise<{ row: Record<string, unknown>; record: ImportRecord | undefined; replayed: ImportRecord | undefined }> {
  const t = w.tenantId;
  const ready = sql`EXISTS (SELECT 1 FROM ready)`;
  const statement = gatedStatement({
    tenantId: t,
    idem: w.idem,
    resourceId: w.importId,
    before: sql`${checks(t, w.mode, w.input)} no_problems AS (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM problems))`,
    work: sql`
    ready AS (SELECT 1 FROM go, no_problems),
    cat_found AS (
      SELECT DISTINCT ON (ci.key) ci.key, c.id, c.name FROM cats_in ci
      JOIN categories c ON c.tenant_id = ${t} AND lower(c.name) = ci.key ORDER BY ci.key, c.id),
    cat_new AS (
      INSERT INTO categories AS c (id, tenant_id, name, slug)
      SELECT DISTINCT ON (ci.slug) ci.id, ${t}::uuid, ci.name, ci.slug FROM cats_in ci
      WHERE NOT EXISTS (SELECT 1 FROM cat_found f WHERE f.key = ci.key) AND ${ready}
      ORDER BY ci.slug, ci.key
      ON CONFLICT (tenant_id, slug) DO UPDATE SET updated_at = c.updated_at
      RETURNING c.id, c.name, c.slug),
    cat AS (
      SELECT key, id, name FROM cat_found
      UNION ALL
      SELECT ci.key, n.id, n.name FROM cats_in ci JOIN cat_new n ON n.slug = ci.slug WHERE NOT EXISTS (SELECT 1 FROM cat_found f WHERE f.key = ci.key)),
    ${plan},
    created AS (
      INSERT INTO items AS i (id, tenant_id, name, description, sku, price_cents, stock, low_stock_threshold, category, category_id, published)
      SELECT a.new_id, ${t}::uuid, a.name, a.description, a.sku, a.price_cents, coalesce(a.stock, 0),
             coalesce(a.low_stock_threshold, (SELECT low_stock_threshold_default FROM tenants WHERE id = ${t})),
             a.cat_name, a.cat_id, coalesce(a.published, false)
      FROM actions a WHERE a.action = 'create' AND ${ready}
      RETURNING i.*),
    changed AS (
      UPDATE items i SET
        name = coalesce(a.name, i.name), sku = a.sku, price_cents = coalesce(a.price_cents, i.price_cents),
        stock = coalesce(a.stock, i.stock), low_stock_threshold = coalesce(a.low_stock_threshold, i.low_stock_threshold),
        category = CASE WHEN a.category_key IS NULL THEN i.category ELSE a.cat_name END,
        category_id = CASE WHEN a.category_key IS NULL THEN i.category_id ELSE a.cat_id END,
        description = coalesce(a.description, i.description), published = coalesce(a.published, i.published),
        version = i.version + 1, updated_at = now()
      FROM actions a
      WHERE i.tenant_id = ${t} AND i.id = a.item_id AND a.item_changed AND ${ready}
      RETURNING i.*, a.old_stock),
    links_set AS (
      UPDATE item_suppliers l SET supplier_sku = coalesce(a.supplier_sku, l.supplier_sku), unit_cost_cents = coalesce(a.unit_cost_cents, l.unit_cost_cents), updated_at = now()
      FROM actions a
      WHERE l.tenant_id = ${t} AND l.item_id = a.item_id AND l.supplier_id = a.link_supplier_id AND a.link_changed AND ${ready}
      RETURNING 1),
    moved AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, created_by)
      SELECT gen_random_uuid(), ${t}::uuid, c.id, c.stock, 'import', ${w.userId}::uuid FROM created c WHERE c.stock <> 0
      UNION ALL
      SELECT gen_random_uuid(), ${t}::uuid, c.id, c.stock - c.old_stock, 'import', ${w.userId}::uuid FROM changed c WHERE c.stock <> c.old_stock
      RETURNING 1),
    ${eventsCte(
      "item_events",
      t,
      w.actor,
      sql`SELECT 'item.created' AS type, 'item' AS resource_type, c.id AS resource_id, jsonb_build_object('item', ${itemJson("c")}) AS data FROM created c
          UNION ALL
          SELECT 'item.updated', 'item', c.id, jsonb_build_object('item', ${itemJson("c")}) FROM changed c`,
    )},
    ${stockLevelEvents("stock_events", t, w.actor, sql`SELECT c.id, c.name, c.sku, c.old_stock AS before, c.stock AS after, c.low_stock_threshold AS threshold FROM changed c`)},
    record AS (
      INSERT INTO item_imports (id, tenant_id, mode, rows, created, updated, unchanged, created_by)
      SELECT ${w.importId}::uuid, ${t}::uuid, ${w.mode}::text, (SELECT count(*) FROM actions), (SELECT count(*) FROM created),
             (SELECT count(*) FROM actions WHERE action = 'update'), (SELECT count(*) FROM actions WHERE action = 'same'), ${w.userId}::uuid
      FROM ready
      RETURNING *)`,
    failures: sql`WHEN EXISTS (SELECT 1 FROM go) AND EXISTS (SELECT 1 FROM problems) THEN tally_fail('import_rejected', ${problemsJson})`,
    succeeded: sql`EXISTS (SELECT 1 FROM record)`,
    refusal: sql`'{}'::jsonb`,
    columns: sql`(SELECT ${recordJson("r")} FROM record r) AS record`,
    render: (id) => sql`SELECT ${recordJson("r")} FROM item_imports r WHERE r.tenant_id = ${t} AND r.id = ${id}`,
  });
  // Locks the items the file names, in id order; the statement after it reads them as they are now.
  // Deleted ones too: one restored between the two statements would otherwise be written unlocked,
  // its ledger delta taken from a stock an order changed meanwhile (the invariant suite caught that).
  const skus = JSON.stringify([...new Set(w.input.records.map((r) => r.sku.toLowerCase()))]);
  const lock = sql`SELECT 1 FROM items i
    WHERE i.tenant_id = ${t} AND i.sku IS NOT NULL AND lower(i.sku) IN (SELECT jsonb_array_elements_text(${skus}::jsonb))
    ORDER BY i.id FOR UPDATE`;
  const row = (await atomic(db, [lock, statement]))[1]![0]!;
  const record = row.record === null || row.record === undefined ? undefined : toImportRecord(row.record);
  const replayed = row.replayed === null || row.replayed === undefined ? undefined : toImportRecord(row.replayed);
  return { row, record, replayed };
}

export async function findImport(db: Db, tenantId: string, id: string): Promise<ImportRecord | undefined> {
  const rows = await query(db, sql`SELECT ${recordJson("r")} AS record FROM item_imports r WHERE r.tenant_id = ${tenantId} AND r.id = ${id}`);
  return rows[0] ? toImportRecord(rows[0].record) : undefined;
}
