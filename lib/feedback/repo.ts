import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import type { FeedbackListInput, FeedbackStatsInput, FeedbackUpdateInput, PublicFeedbackListInput, Ratings } from "./schemas.js";
import { dayEndIn, dayStartIn } from "../tenants/zone.js";
import { eventsCte, type Actor } from "../events/outbox.js";

// Every request is one statement. Token rules live in the WHERE clauses of conditional UPDATEs
// (a token is consumed by `UPDATE ... WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at >
// now()`), so two submissions racing for one token cannot both pass: the second waits for the
// first's row lock, re-checks, and finds it used.

export interface Feedback {
  id: string;
  orderId: string;
  orderNumber: number;
  customer: { id: string; name: string } | null;
  source: "customer" | "staff";
  rating: number;
  productQuality: number | null;
  delivery: number | null;
  communication: number | null;
  comment: string | null;
  consentToPublish: boolean;
  isPublic: boolean;
  response: string | null;
  respondedAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What the customer who wrote it sees back: their own words, nothing about anyone else. */
export type SubmittedFeedback = Pick<Feedback, "id" | "rating" | "productQuality" | "delivery" | "communication" | "comment" | "consentToPublish" | "createdAt">;

/** JSON for feedback row `f`, with its order's number and customer (staff views). */
function feedbackJson(f: string): SQL {
  return sql.raw(`json_build_object(
    'id', ${f}.id, 'orderId', ${f}.order_id, 'source', ${f}.source, 'rating', ${f}.rating,
    'productQuality', ${f}.product_quality, 'delivery', ${f}.delivery, 'communication', ${f}.communication,
    'comment', ${f}.comment, 'consentToPublish', ${f}.consent_to_publish, 'isPublic', ${f}.is_public,
    'response', ${f}.response, 'respondedAt', ${f}.responded_at, 'version', ${f}.version,
    'createdAt', ${f}.created_at, 'updatedAt', ${f}.updated_at,
    'orderNumber', (SELECT fo.number FROM orders fo WHERE fo.id = ${f}.order_id),
    'customer', (SELECT json_build_object('id', fc.id, 'name', fc.name) FROM orders fo JOIN customers fc ON fc.id = fo.customer_id WHERE fo.id = ${f}.order_id))`);
}

const score = (value: unknown) => (value === null || value === undefined ? null : toNumber(value));

export function toFeedback(value: unknown): Feedback {
  const f = fromJson(value);
  const customer = f.customer as { id: string; name: string } | null;
  return {
    id: String(f.id),
    orderId: String(f.orderId),
    orderNumber: toNumber(f.orderNumber),
    customer: customer ? { id: String(customer.id), name: String(customer.name) } : null,
    source: f.source as Feedback["source"],
    rating: toNumber(f.rating),
    productQuality: score(f.productQuality),
    delivery: score(f.delivery),
    communication: score(f.communication),
    comment: (f.comment as string | null) ?? null,
    consentToPublish: f.consentToPublish === true,
    isPublic: f.isPublic === true,
    response: (f.response as string | null) ?? null,
    respondedAt: toIsoOrNull(f.respondedAt),
    version: toNumber(f.version),
    createdAt: toIso(f.createdAt),
    updatedAt: toIso(f.updatedAt),
  };
}

function toSubmitted(value: unknown): SubmittedFeedback {
  const { id, rating, productQuality, delivery, communication, comment, consentToPublish, createdAt } = toFeedback(value);
  return { id, rating, productQuality, delivery, communication, comment, consentToPublish, createdAt };
}

const ratingValues = (r: Ratings) =>
  sql`${r.rating}::smallint, ${r.productQuality ?? null}::smallint, ${r.delivery ?? null}::smallint, ${r.communication ?? null}::smallint, ${r.comment ?? null}, ${r.consentToPublish}::boolean`;

// ---- tokens ---------------------------------------------------------------------------------

export type IssueOutcome = { expiresAt: string } | { missing: true } | { cancelled: true } | { hasFeedback: true };

/**
 * Issues a token for an order: revokes the order's live token and inserts the new one in the same
 * statement (the insert runs after the revoke because it reads the revoke's count).
 */
export async function issueToken(db: Db, tenantId: string, orderId: string, tokenId: string, hash: string, ttlDays: number, userId: string): Promise<IssueOutcome> {
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT o.id, o.status FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${orderId}),
    answered AS (SELECT 1 FROM feedbacks f WHERE f.tenant_id = ${tenantId} AND f.order_id = ${orderId}),
    ok AS (SELECT id FROM target WHERE status <> 'cancelled' AND NOT EXISTS (SELECT 1 FROM answered)),
    revoked AS (
      UPDATE feedback_tokens t SET revoked_at = now()
      WHERE t.tenant_id = ${tenantId} AND t.order_id IN (SELECT id FROM ok) AND t.used_at IS NULL AND t.revoked_at IS NULL
      RETURNING 1
    ),
    issued AS (
      INSERT INTO feedback_tokens (id, tenant_id, order_id, token_hash, expires_at, created_by)
      SELECT ${tokenId}, ${tenantId}, ok.id, ${hash}, now() + make_interval(days => ${ttlDays}::int), ${userId}
      FROM ok CROSS JOIN (SELECT count(*) FROM revoked) r
      RETURNING expires_at
    )
    SELECT (SELECT status FROM target) AS status, EXISTS (SELECT 1 FROM answered) AS answered, (SELECT expires_at FROM issued) AS expires_at`,
  );
  const row = rows[0]!;
  if (row.expires_at !== null && row.expires_at !== undefined) return { expiresAt: toIso(row.expires_at) };
  if (row.status === null || row.status === undefined) return { missing: true };
  if (row.answered === true) return { hasFeedback: true };
  return { cancelled: true };
}

export interface TokenView {
  expiresAt: string;
  tenant: { name: string };
  order: { number: number; createdAt: string; items: { name: string; quantity: number }[] };
}

/** The order a live token covers — number, line names and quantities, the shop's name; no customer data. */
export async function findLiveToken(db: Db, hash: string): Promise<TokenView | undefined> {
  const rows = await query(
    db,
    sql`
    SELECT json_build_object(
      'expiresAt', t.expires_at,
      'tenant', json_build_object('name', tn.name),
      'order', json_build_object('number', o.number, 'createdAt', o.created_at,
        'items', coalesce((SELECT json_agg(json_build_object('name', l.name, 'quantity', l.quantity) ORDER BY l.position) FROM order_lines l WHERE l.order_id = o.id), '[]'::json))
    ) AS view
    FROM feedback_tokens t JOIN orders o ON o.id = t.order_id JOIN tenants tn ON tn.id = t.tenant_id AND tn.deleted_at IS NULL
    WHERE t.token_hash = ${hash} AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()`,
  );
  if (!rows[0]) return undefined;
  const view = fromJson<TokenView>(rows[0].view);
  return { ...view, expiresAt: toIso(view.expiresAt), order: { ...view.order, createdAt: toIso(view.order.createdAt) } };
}

export interface SubmitResult {
  row: Record<string, unknown>;
  /** The token's tenant (the caller has no other way to know it). */
  tenantId?: string;
  tokenFound: boolean;
  feedback?: SubmittedFeedback;
  replayed?: SubmittedFeedback;
}

/** CTE `feedback_events`: feedback.received for the row `created` inserted (none if it did not). */
const feedbackEvents = (tenantId: string | SQL, actor: Actor) =>
  eventsCte("feedback_events", tenantId, actor, sql`SELECT 'feedback.received' AS type, 'feedback' AS resource_type, c.id AS resource_id, jsonb_build_object('feedback', ${feedbackJson("c")}) AS data FROM created c`);

/** A customer answering through their feedback link. */
const PUBLIC: Actor = { type: "public", id: null };

/** The tenant a feedback token belongs to, as an SQL expression (public routes know no other way). */
export const tokenTenant = (hash: string) => sql`(SELECT tenant_id FROM feedback_tokens WHERE token_hash = ${hash})`;

/**
 * A customer's feedback: consumes the token and inserts the feedback in one statement. The tenant
 * is known only from the token, so the Idempotency-Key is filed under the token's tenant (and its
 * principal is the link, so two customers' keys never meet). If the token is not live the
 * statement raises, taking the key row with it: only a success is recorded.
 */
export async function submitFeedback(db: Db, hash: string, feedbackId: string, r: Ratings, idem: IdempotencyRequest | undefined): Promise<SubmitResult> {
  const tenant = sql`(SELECT tenant_id FROM tok)`;
  const rows = await query(
    db,
    gatedStatement({
      tenantId: tenant,
      idem,
      resourceId: feedbackId,
      // A deleted tenant's links answer like unknown ones.
      before: sql`tok AS (SELECT t.id, t.tenant_id, t.order_id FROM feedback_tokens t JOIN tenants tn ON tn.id = t.tenant_id AND tn.deleted_at IS NULL WHERE t.token_hash = ${hash})`,
      onlyIf: sql`EXISTS (SELECT 1 FROM tok)`,
      work: sql`
    consumed AS (
      UPDATE feedback_tokens t SET used_at = now()
      WHERE t.token_hash = ${hash} AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now() AND EXISTS (SELECT 1 FROM go)
      RETURNING t.id, t.tenant_id, t.order_id
    ),
    created AS (
      INSERT INTO feedbacks (id, tenant_id, order_id, token_id, source, rating, product_quality, delivery, communication, comment, consent_to_publish)
      SELECT ${feedbackId}, c.tenant_id, c.order_id, c.id, 'customer', ${ratingValues(r)} FROM consumed c
      RETURNING *
    ),
    ${feedbackEvents(tenant, PUBLIC)}`,
      succeeded: sql`EXISTS (SELECT 1 FROM created)`,
      refusal: sql`'{}'::jsonb`,
      columns: sql`EXISTS (SELECT 1 FROM tok) AS token_found, (SELECT tenant_id FROM tok) AS tenant_id, (SELECT ${feedbackJson("c")} FROM created c) AS feedback`,
      render: (id) => sql`SELECT ${feedbackJson("e")} FROM feedbacks e WHERE e.tenant_id = ${tenant} AND e.id = ${id}`,
    }),
  );
  const row = rows[0]!;
  return {
    row,
    tokenFound: row.token_found === true,
    tenantId: row.tenant_id ? String(row.tenant_id) : undefined,
    feedback: row.feedback ? toSubmitted(row.feedback) : undefined,
    replayed: row.replayed ? toSubmitted(row.replayed) : undefined,
  };
}

/** The feedback an earlier submission with the same key created (replays that lost a race). */
export async function findSubmitted(db: Db, hash: string, feedbackId: string): Promise<SubmittedFeedback | undefined> {
  const rows = await query(
    db,
    sql`SELECT ${feedbackJson("f")} AS feedback FROM feedbacks f JOIN feedback_tokens t ON t.id = f.token_id WHERE t.token_hash = ${hash} AND f.id = ${feedbackId}`,
  );
  return rows[0] ? toSubmitted(rows[0].feedback) : undefined;
}

// ---- staff ----------------------------------------------------------------------------------

export interface StaffCreateResult {
  row: Record<string, unknown>;
  feedback?: Feedback;
  replayed?: Feedback;
}

/**
 * Feedback recorded by staff (by phone, in person). Revokes the order's live token: it has its
 * answer. Refused (unknown order, feedback already there) it raises with `orderFound`.
 */
export async function insertStaffFeedback(db: Db, tenantId: string, id: string, orderId: string, r: Ratings & { isPublic: boolean }, userId: string, idem: IdempotencyRequest | undefined, actor: Actor): Promise<StaffCreateResult> {
  const rows = await query(
    db,
    gatedStatement({
      tenantId,
      idem,
      resourceId: id,
      work: sql`
    target AS (SELECT o.id FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${orderId} AND EXISTS (SELECT 1 FROM go)),
    revoked AS (
      UPDATE feedback_tokens t SET revoked_at = now()
      WHERE t.tenant_id = ${tenantId} AND t.order_id IN (SELECT id FROM target) AND t.used_at IS NULL AND t.revoked_at IS NULL
      RETURNING 1
    ),
    created AS (
      INSERT INTO feedbacks (id, tenant_id, order_id, source, rating, product_quality, delivery, communication, comment, consent_to_publish, is_public, created_by)
      SELECT ${id}, ${tenantId}, target.id, 'staff', ${ratingValues(r)}, ${r.isPublic}::boolean, ${userId}
      FROM target CROSS JOIN (SELECT count(*) FROM revoked) rv
      ON CONFLICT (order_id) DO NOTHING
      RETURNING *
    ),
    ${feedbackEvents(tenantId, actor)}`,
      succeeded: sql`EXISTS (SELECT 1 FROM created)`,
      refusal: sql`jsonb_build_object('orderFound', EXISTS (SELECT 1 FROM target))`,
      columns: sql`(SELECT ${feedbackJson("c")} FROM created c) AS feedback`,
      render: (fid) => sql`SELECT ${feedbackJson("e")} FROM feedbacks e WHERE e.tenant_id = ${tenantId} AND e.id = ${fid}`,
    }),
  );
  const row = rows[0]!;
  return { row, feedback: row.feedback ? toFeedback(row.feedback) : undefined, replayed: row.replayed ? toFeedback(row.replayed) : undefined };
}

export async function findFeedback(db: Db, tenantId: string, id: string): Promise<Feedback | undefined> {
  const rows = await query(db, sql`SELECT ${feedbackJson("f")} AS feedback FROM feedbacks f WHERE f.tenant_id = ${tenantId} AND f.id = ${id}`);
  return rows[0] ? toFeedback(rows[0].feedback) : undefined;
}

export async function findFeedbackForOrder(db: Db, tenantId: string, orderId: string): Promise<Feedback | undefined> {
  const rows = await query(db, sql`SELECT ${feedbackJson("f")} AS feedback FROM feedbacks f WHERE f.tenant_id = ${tenantId} AND f.order_id = ${orderId}`);
  return rows[0] ? toFeedback(rows[0].feedback) : undefined;
}

export type UpdateOutcome = { feedback: Feedback } | { missing: true } | { staleVersion: number } | { noConsent: true };

/** Adds or clears the shop's response and toggles publication; publishing needs the customer's consent. */
export async function updateFeedback(db: Db, tenantId: string, id: string, input: Omit<FeedbackUpdateInput, "version">, expected: number | undefined, userId: string): Promise<UpdateOutcome> {
  const sets: SQL[] = [sql`version = f.version + 1`, sql`updated_at = now()`];
  if (input.response !== undefined) {
    sets.push(sql`response = ${input.response}`, sql`responded_at = CASE WHEN ${input.response}::text IS NULL THEN NULL ELSE now() END`, sql`responded_by = ${userId}`);
  }
  if (input.isPublic !== undefined) sets.push(sql`is_public = ${input.isPublic}::boolean`);
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT f.version, f.consent_to_publish FROM feedbacks f WHERE f.tenant_id = ${tenantId} AND f.id = ${id}),
    changed AS (
      UPDATE feedbacks f SET ${sql.join(sets, sql`, `)}
      WHERE f.tenant_id = ${tenantId} AND f.id = ${id}
        AND (${expected ?? null}::int IS NULL OR f.version = ${expected ?? null}::int)
        AND (NOT ${input.isPublic === true}::boolean OR f.consent_to_publish)
      RETURNING *
    )
    SELECT (SELECT version FROM target) AS current_version, (SELECT consent_to_publish FROM target) AS consent,
           (SELECT ${feedbackJson("c")} FROM changed c) AS feedback`,
  );
  const row = rows[0]!;
  if (row.feedback) return { feedback: toFeedback(row.feedback) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  const current = toNumber(row.current_version);
  if (expected !== undefined && current !== expected) return { staleVersion: current };
  return { noConsent: true };
}

function listFilters(tenantId: string, input: { from?: string; to?: string; rating?: number[]; public?: boolean }): SQL {
  const filters = [sql`f.tenant_id = ${tenantId}`];
  if (input.rating) filters.push(sql`f.rating IN (${sql.join(input.rating.map((r) => sql`${r}`), sql`, `)})`);
  if (input.public !== undefined) filters.push(input.public ? sql`f.is_public` : sql`NOT f.is_public`);
  // The tenant's calendar days (its timezone, DST-correct), both ends inclusive.
  if (input.from) filters.push(sql`f.created_at >= ${dayStartIn(tenantId, input.from)}`);
  if (input.to) filters.push(sql`f.created_at < ${dayEndIn(tenantId, input.to)}`);
  return sql.join(filters, sql` AND `);
}

export async function listFeedback(db: Db, tenantId: string, input: FeedbackListInput): Promise<{ items: Feedback[]; total: number }> {
  const where = listFilters(tenantId, input);
  const rows = await query(
    db,
    sql`
    WITH page AS (SELECT f.* FROM feedbacks f WHERE ${where} ORDER BY f.created_at DESC, f.id DESC LIMIT ${input.limit} OFFSET ${(input.page - 1) * input.limit})
    SELECT (SELECT count(*) FROM feedbacks f WHERE ${where}) AS total,
           (SELECT json_agg(${feedbackJson("p")} ORDER BY p.created_at DESC, p.id DESC) FROM page p) AS items`,
  );
  const row = rows[0]!;
  return { total: toNumber(row.total), items: (fromJson<unknown[] | null>(row.items) ?? []).map(toFeedback) };
}

export interface FeedbackStats {
  count: number;
  averages: { rating: number | null; productQuality: number | null; delivery: number | null; communication: number | null };
  distribution: Record<"1" | "2" | "3" | "4" | "5", number>;
  /** Share of ratings that are 4 or 5 (0..1), the NPS-style "promoters" share; null with no feedback. */
  positiveShare: number | null;
  publicCount: number;
}

export async function feedbackStats(db: Db, tenantId: string, input: FeedbackStatsInput): Promise<FeedbackStats> {
  const rows = await query(
    db,
    sql`
    SELECT count(*) AS n, avg(rating) AS rating, avg(product_quality) AS product_quality, avg(delivery) AS delivery, avg(communication) AS communication,
           count(*) FILTER (WHERE rating = 1) AS r1, count(*) FILTER (WHERE rating = 2) AS r2, count(*) FILTER (WHERE rating = 3) AS r3,
           count(*) FILTER (WHERE rating = 4) AS r4, count(*) FILTER (WHERE rating = 5) AS r5, count(*) FILTER (WHERE is_public) AS published
    FROM feedbacks f WHERE ${listFilters(tenantId, input)}`,
  );
  const row = rows[0]!;
  const count = toNumber(row.n);
  const avg = (value: unknown) => (value === null || value === undefined ? null : Math.round(toNumber(value) * 100) / 100);
  const d = { "1": toNumber(row.r1), "2": toNumber(row.r2), "3": toNumber(row.r3), "4": toNumber(row.r4), "5": toNumber(row.r5) };
  return {
    count,
    averages: { rating: avg(row.rating), productQuality: avg(row.product_quality), delivery: avg(row.delivery), communication: avg(row.communication) },
    distribution: d,
    positiveShare: count ? Math.round(((d["4"] + d["5"]) / count) * 10_000) / 10_000 : null,
    publicCount: toNumber(row.published),
  };
}

// ---- public testimonials ----------------------------------------------------------------------

export interface Testimonial {
  id: string;
  rating: number;
  productQuality: number | null;
  delivery: number | null;
  communication: number | null;
  comment: string | null;
  response: string | null;
  /** The first word of the customer's name — the only personal detail a testimonial shows. */
  customerFirstName: string | null;
  createdAt: string;
}

/** Published feedback of one tenant (public and consented), newest first; `tenantName` undefined when the slug is unknown. */
export async function listPublished(db: Db, input: PublicFeedbackListInput) {
  const rows = await query(
    db,
    sql`
    WITH tn AS (SELECT id, name FROM tenants WHERE slug = ${input.tenant} AND deleted_at IS NULL),
    matching AS (SELECT f.* FROM feedbacks f WHERE f.tenant_id = (SELECT id FROM tn) AND f.is_public AND f.consent_to_publish),
    page AS (SELECT * FROM matching ORDER BY created_at DESC, id DESC LIMIT ${input.limit} OFFSET ${(input.page - 1) * input.limit})
    SELECT (SELECT name FROM tn) AS tenant_name, (SELECT count(*) FROM matching) AS total,
      (SELECT json_agg(json_build_object(
          'id', p.id, 'rating', p.rating, 'productQuality', p.product_quality, 'delivery', p.delivery, 'communication', p.communication,
          'comment', p.comment, 'response', p.response, 'createdAt', p.created_at,
          'customerFirstName', (SELECT nullif(split_part(btrim(c.name), ' ', 1), '') FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = p.order_id)
        ) ORDER BY p.created_at DESC, p.id DESC) FROM page p) AS items`,
  );
  const row = rows[0]!;
  const items = (fromJson<Record<string, unknown>[] | null>(row.items) ?? []).map(
    (t): Testimonial => ({
      id: String(t.id),
      rating: toNumber(t.rating),
      productQuality: score(t.productQuality),
      delivery: score(t.delivery),
      communication: score(t.communication),
      comment: (t.comment as string | null) ?? null,
      response: (t.response as string | null) ?? null,
      customerFirstName: (t.customerFirstName as string | null) ?? null,
      createdAt: toIso(t.createdAt),
    }),
  );
  return { tenantName: (row.tenant_name as string | null) ?? undefined, total: toNumber(row.total), items };
}
