import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import { ApiError, notFound, staleVersion, type ErrorDetail } from "../http/errors.js";
import { earlierResult, refusalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { localDay } from "../analytics/service.js";
import * as repo from "./po-repo.js";
import { receiptLotCode, type FromSuggestionsInput, type PoCreateInput, type PoListInput, type PoReceiptInput, type PoStatusInput, type PoUpdateInput } from "./schemas.js";

const PO_TAGS = ["purchase-orders"];
// A receipt moves stock: items, analytics and the PO lists go stale together.
const RECEIVED_TAGS = ["purchase-orders", "items", "analytics"];

/** A rule raised inside a PO write (tally_fail) as the API's answer; `field` names the lines array. */
function ruleError(error: unknown, field: string): unknown {
  const failure = classifyDbError(error);
  if (failure?.kind !== "rule_failed") return error;
  const { code, detail } = failure.rule!;
  const entries = (Array.isArray(detail) ? detail : []) as { itemId: string; position: number; quantity?: number; ordered?: number; received?: number }[];
  switch (code) {
    case "unknown_supplier":
      return new ApiError("unprocessable", "The supplier does not exist or is deleted.", [{ path: "supplierId", message: "unknown or deleted supplier" }]);
    case "unknown_items":
      return new ApiError("unprocessable", "Some items do not exist or are deleted.", entries.map((e) => ({ path: `${field}.${e.position}.itemId`, message: "unknown or deleted item", itemId: e.itemId })));
    case "not_on_purchase_order":
      return new ApiError("unprocessable", "Some items are not on this purchase order; nothing was received.", entries.map((e) => ({ path: `${field}.${e.position}.itemId`, message: "not on this purchase order", itemId: e.itemId })));
    case "over_receipt":
      return new ApiError(
        "conflict",
        "Receiving more than was ordered; nothing was received. Send allowOver: true to accept the extra units.",
        entries.map((e): ErrorDetail => ({
          path: `${field}.${e.position}.quantity`,
          message: `${e.quantity} received now, ${e.received} before, ${e.ordered} ordered`,
          itemId: e.itemId,
          ordered: e.ordered,
          received: e.received,
          outstanding: Math.max(0, (e.ordered ?? 0) - (e.received ?? 0)),
        })),
      );
    default:
      return error;
  }
}

async function attempt<T>(field: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw ruleError(error, field);
  }
}

export async function createPurchaseOrder(auth: AuthContext, input: PoCreateInput) {
  const { db } = await getDb();
  const po = await attempt("lines", () => repo.insertPurchaseOrder(db, auth.tenant.id, newId(), auth.userId, input, actorOf(auth)));
  await invalidate(auth.tenant.id, PO_TAGS);
  return po;
}

export async function getPurchaseOrder(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const po = await repo.findPurchaseOrder(db, tenant.id, id);
  if (!po) throw notFound("Purchase order");
  return po;
}

const badCursor = () => new ApiError("bad_request", "Invalid query.", [{ path: "cursor", message: "is not a valid cursor" }]);

/** Keyset pages, newest first; the cursor is opaque (base64url of the last PO number). */
export async function listPurchaseOrders(tenant: Tenant, input: PoListInput) {
  let after: number | undefined;
  if (input.cursor !== undefined) {
    const decoded = /^n(\d{1,10})$/.exec(Buffer.from(input.cursor, "base64url").toString("utf8"));
    if (!decoded) throw badCursor();
    after = Number(decoded[1]);
  }
  const { db } = await getDb();
  const { items, more } = await repo.listPurchaseOrders(db, tenant.id, input, after);
  const last = items[items.length - 1];
  return { items, pagination: { limit: input.limit, nextCursor: more && last ? Buffer.from(`n${last.number}`).toString("base64url") : null } };
}

function settle(written: repo.PoWrite, expected: number | undefined, what: (status: string) => ApiError): repo.PurchaseOrder {
  if (written.po) return written.po;
  if (written.currentStatus === undefined) throw notFound("Purchase order");
  if (expected !== undefined && written.currentVersion !== expected) throw staleVersion("purchase order", written.currentVersion!);
  throw what(written.currentStatus);
}

export async function updatePurchaseOrder(auth: AuthContext, id: string, input: Omit<PoUpdateInput, "version">, expected: number | undefined) {
  const { db } = await getDb();
  const written = await attempt("lines", () => repo.updatePurchaseOrder(db, auth.tenant.id, id, input, expected, actorOf(auth)));
  const po = settle(written, expected, (status) =>
    input.lines
      ? new ApiError("invalid_transition", `Lines can change only while a purchase order is a draft; this one is ${status}.`, [{ path: "lines", message: `purchase order is ${status}` }])
      : new ApiError("invalid_transition", `A purchase order that is ${status} cannot change.`, [{ path: "status", message: status }]),
  );
  await invalidate(auth.tenant.id, PO_TAGS);
  return po;
}

export async function setPurchaseOrderStatus(auth: AuthContext, id: string, input: PoStatusInput, expected: number | undefined) {
  const { db } = await getDb();
  const written = await repo.setPurchaseOrderStatus(db, auth.tenant.id, id, input.status, expected, actorOf(auth));
  const po = settle(
    written,
    expected,
    (status) =>
      new ApiError("invalid_transition", `A purchase order cannot move from ${status} to ${input.status} (allowed from: ${repo.STATUS_FROM[input.status].join(", ")}).`, [
        { path: "status", message: `current status is ${status}` },
      ]),
  );
  await invalidate(auth.tenant.id, PO_TAGS);
  return po;
}

/**
 * Lot expiry on receipt: a date before the tenant's today is refused (422 naming the line) — goods
 * already expired are not sellable and would only be written off by the next expire-lots run.
 * A date of today is accepted (sellable through today).
 */
function pastExpiries(tenant: Tenant, input: PoReceiptInput): ErrorDetail[] {
  const today = localDay(Date.now(), tenant.timezone);
  return input.lines.flatMap((l, n) => (l.expiresOn !== undefined && l.expiresOn < today ? [{ path: `lines.${n}.expiresOn`, message: `${l.expiresOn} is before today (${today}): the lot has expired` }] : []));
}

export async function receivePurchaseOrder(auth: AuthContext, id: string, input: PoReceiptInput, idem: IdempotencyRequest | undefined) {
  const past = pastExpiries(auth.tenant, input);
  if (past.length) throw new ApiError("unprocessable", "A lot's expiry date is in the past; nothing was received.", past);
  const { db } = await getDb();
  let written: repo.ReceiptWrite;
  try {
    written = await attempt("lines", () => repo.receivePurchaseOrder(db, auth.tenant.id, auth.userId, id, newId(), input, idem, actorOf(auth)));
  } catch (error) {
    const failure = classifyDbError(error);
    if (failure?.kind === "rule_failed" && failure.rule!.code === "lot_expiry_mismatch") {
      const lot = failure.rule!.detail as { itemId: string; lotCode: string; expiresOn: string | null };
      const n = input.lines.findIndex((l) => l.itemId === lot.itemId && receiptLotCode(l) === lot.lotCode);
      throw new ApiError("unprocessable", `Lot ${lot.lotCode} of this item already exists with expiry ${lot.expiresOn ?? "none"}; nothing was received.`, [
        { path: `lines.${n}.expiresOn`, message: `lot ${lot.lotCode} expires ${lot.expiresOn ?? "never"}`, itemId: lot.itemId },
      ]);
    }
    const refusal = refusalOf(failure);
    if (!refusal) throw error;
    if (refusal.status === null || refusal.status === undefined) throw notFound("Purchase order");
    throw new ApiError("invalid_transition", `Only an ordered or partially received purchase order can receive goods; this one is ${refusal.status}.`, [
      { path: "status", message: `purchase order is ${refusal.status}` },
    ]);
  }
  const earlier = await earlierResult(db, written.row, idem, auth.tenant.id, written.replayed, (rid) => repo.findReceipt(db, auth.tenant.id, rid));
  if (earlier) return { receipt: earlier.receipt, purchaseOrder: earlier.po, replayed: true };
  await invalidate(auth.tenant.id, RECEIVED_TAGS);
  return { receipt: written.receipt!, purchaseOrder: written.po!, replayed: false };
}

/** One draft per preferred supplier from the reorder suggestions (see po-repo draftFromSuggestions). */
export async function draftFromSuggestions(auth: AuthContext, input: FromSuggestionsInput) {
  const { db } = await getDb();
  const { supplierId, ...rule } = input;
  const drafted = await repo.draftFromSuggestions(db, auth.tenant.id, auth.userId, { today: localDay(Date.now(), auth.tenant.timezone), supplierId, ...rule }, actorOf(auth));
  if (drafted.purchaseOrders.length) await invalidate(auth.tenant.id, PO_TAGS);
  return drafted;
}
