import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import { toNumber } from "../../db/values.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { ApiError, notFound, staleVersion, type ErrorDetail } from "../http/errors.js";
import { earlierResult, refusalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import type { Order } from "./json.js";
import * as list from "./list.js";
import { readBoard } from "./board.js";
import * as repo from "./repo.js";
import type { OrderCreateInput, OrderLine, OrderListInput, OrderUpdateInput } from "./schemas.js";

const FLOW = ["pending", "confirmed", "preparing", "ready", "completed"];

/**
 * Duplicate lines for one item are merged (quantities added) at the first line's position, so the
 * client's positions stay meaningful in error details.
 */
export function mergeLines(lines: OrderLine[]): { merged: OrderLine[]; positions: number[] } {
  const at = new Map<string, number>();
  const merged: OrderLine[] = [];
  const positions: number[] = [];
  lines.forEach((line, index) => {
    const key = line.itemId.toLowerCase();
    const existing = at.get(key);
    if (existing === undefined) {
      at.set(key, merged.length);
      merged.push({ itemId: key, quantity: line.quantity });
      positions.push(index);
    } else {
      merged[existing]!.quantity += line.quantity;
    }
  });
  return { merged, positions };
}

// Orders embed customers, and every stock change shows in items: cached reads of all three go stale.
const STOCK_MOVED = ["orders", "items", "customers"];

/** Turns a rule raised inside a write (tally_fail) into the API's answer. */
function ruleError(error: unknown, positions: number[] = []): unknown {
  const failure = classifyDbError(error);
  if (failure?.kind !== "rule_failed") return error;
  const { code, detail } = failure.rule!;
  const entries = (Array.isArray(detail) ? detail : []) as { itemId: string; position: number; requested?: number; available?: number | null }[];
  const at = (p: number) => positions[p] ?? p;
  switch (code) {
    case "insufficient_stock":
      return new ApiError(
        "insufficient_stock",
        "Not enough stock for every line; nothing was changed.",
        entries.map((e): ErrorDetail => ({
          path: `items.${at(e.position)}.quantity`,
          message: `${e.requested} requested, ${e.available ?? 0} available`,
          itemId: e.itemId,
          requested: e.requested,
          available: e.available ?? 0,
        })),
      );
    case "unknown_items":
      return new ApiError("unprocessable", "Some items do not exist or are deleted.", entries.map((e) => ({ path: `items.${at(e.position)}.itemId`, message: "unknown or deleted item", itemId: e.itemId })));
    case "delivery_date_out_of_window": {
      const { today, days } = (detail ?? {}) as { today?: string; days?: number };
      return new ApiError("unprocessable", "Invalid body.", [{ path: "expectedDeliveryDate", message: `must be within ${days} days of today (${today} in the tenant's timezone)` }]);
    }
    case "unknown_customer":
      return new ApiError("unprocessable", "The customer does not exist.", [{ path: "customerId", message: "unknown customer" }]);
    default:
      return error;
  }
}

async function attempt<T>(write: () => Promise<T>, positions?: number[]): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw ruleError(error, positions);
  }
}

export interface Written {
  order: Order;
  replayed: boolean;
}

/** Resolves a write that an Idempotency-Key turned into a replay: the resource the first request made. */
async function replayed(tenant: Tenant, { row, replayed: rendered }: repo.WriteResult, idem: IdempotencyRequest | undefined): Promise<Written | undefined> {
  const { db } = await getDb();
  const order = await earlierResult(db, row, idem, tenant.id, rendered, (id) => repo.findOrder(db, tenant.id, id));
  return order ? { order, replayed: true } : undefined;
}

export async function createOrder(auth: AuthContext, input: OrderCreateInput, idempotency: IdempotencyRequest | undefined): Promise<Written> {
  const { db } = await getDb();
  const { merged, positions } = mergeLines(input.items);
  const orderId = newId();
  const customer: repo.CustomerRef = input.customerId
    ? { kind: "existing", id: input.customerId }
    : input.customer
      ? { kind: "inline", id: newId(), input: input.customer }
      : { kind: "none" };
  const written = await attempt(
    () =>
      repo.insertOrder(db, {
        tenantId: auth.tenant.id,
        orderId,
        userId: auth.userId,
        channel: input.channel,
        priority: input.priority,
        expectedDeliveryDate: input.expectedDeliveryDate ?? null,
        notes: input.notes ?? null,
        lines: merged,
        customer,
        idempotency,
        actor: actorOf(auth),
      }),
    positions,
  );
  const replay = await replayed(auth.tenant, written, idempotency);
  if (replay) return replay;
  await invalidate(auth.tenant.id, STOCK_MOVED);
  return { order: written.order!, replayed: false };
}

export async function getOrder(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const order = await repo.findOrder(db, tenant.id, id);
  if (!order) throw notFound("Order");
  return order;
}

export async function listOrders(tenant: Tenant, input: OrderListInput) {
  const { db } = await getDb();
  return list.listOrders(db, tenant.id, input);
}

/** Every order, newest first, as keyset pages (the first already read; see list.allOrders). */
export async function allOrders(tenant: Tenant) {
  const { db } = await getDb();
  return list.allOrders(db, tenant.id);
}

export async function priorityOrders(tenant: Tenant) {
  const { db } = await getDb();
  return { items: await list.priorityOrders(db, tenant.id) };
}

/** Why a guarded order write did nothing, from the order's current status and version (none: missing). */
function refusal(current: { status?: unknown; version?: unknown }, expected: number | undefined, what: string): ApiError {
  if (current.status === null || current.status === undefined) return notFound("Order");
  const version = toNumber(current.version);
  if (expected !== undefined && version !== expected) {
    return staleVersion("order", version);
  }
  return new ApiError("invalid_transition", `An order that is ${current.status} cannot ${what}.`, [{ path: "status", message: String(current.status) }]);
}

const currentOf = (row: Record<string, unknown>) => ({ status: row.current_status, version: row.current_version });

export async function updateOrder(auth: AuthContext, id: string, input: Omit<OrderUpdateInput, "version">, expected: number | undefined) {
  const { db } = await getDb();
  const lines = input.items ? mergeLines(input.items) : undefined;
  const { row, order } = await attempt(
    () =>
      repo.updateOrder(
        db,
        auth.tenant.id,
        auth.userId,
        id,
        {
          lines: lines?.merged,
          customerId: input.customerId,
          priority: input.priority,
          channel: input.channel,
          expectedDeliveryDate: input.expectedDeliveryDate,
          notes: input.notes,
        },
        expected,
        actorOf(auth),
      ),
    lines?.positions,
  );
  if (!order) throw refusal(currentOf(row), expected, input.items ? "have its lines changed (only pending or confirmed orders can)" : "be edited");
  await invalidate(auth.tenant.id, STOCK_MOVED);
  return order;
}

export async function cancelOrder(auth: AuthContext, id: string, expected: number | undefined, idempotency: IdempotencyRequest | undefined): Promise<Written> {
  const { db } = await getDb();
  let written: repo.WriteResult;
  try {
    written = await repo.cancelOrder(db, auth.tenant.id, auth.userId, id, expected, idempotency, actorOf(auth));
  } catch (error) {
    // Refused (missing, stale, already final): the statement raised, so the Idempotency-Key stays free.
    const current = refusalOf(classifyDbError(error));
    throw current ? refusal(current, expected, "be cancelled") : error;
  }
  const replay = await replayed(auth.tenant, written, idempotency);
  if (replay) return replay;
  await invalidate(auth.tenant.id, STOCK_MOVED);
  return { order: written.order!, replayed: false };
}

export async function changeStatus(auth: AuthContext, id: string, status: string, expected: number | undefined) {
  if (status === "cancelled") return (await cancelOrder(auth, id, expected, undefined)).order;
  const step = FLOW.indexOf(status);
  const { db } = await getDb();
  if (step <= 0) {
    // Nothing moves back to pending; still answer 404 for an unknown order rather than 409.
    const current = await repo.findOrder(db, auth.tenant.id, id);
    if (!current) throw notFound("Order");
    throw new ApiError("invalid_transition", `An order cannot move from ${current.status} to ${status}.`, [{ path: "status", message: current.status }]);
  }
  const { row, order } = await repo.advanceOrder(db, auth.tenant.id, id, FLOW[step - 1]!, status, expected, actorOf(auth));
  if (!order) {
    const refused = refusal(currentOf(row), expected, `move to ${status}`);
    if (refused.code === "invalid_transition") {
      throw new ApiError("invalid_transition", `An order cannot move from ${row.current_status} to ${status}; the next step is ${FLOW[FLOW.indexOf(String(row.current_status)) + 1] ?? "none (it is final)"}.`, refused.details);
    }
    throw refused;
  }
  await invalidate(auth.tenant.id, ["orders"]);
  return order;
}


/** Open orders by status and the event cursor to subscribe from (lib/orders/board.ts). */
export async function orderBoard(tenant: Tenant) {
  const { db } = await getDb();
  return readBoard(db, tenant.id);
}
