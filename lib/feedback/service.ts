import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { ApiError, conflict, notFound, staleVersion } from "../http/errors.js";
import { page } from "../http/inputs.js";
import { bindPrincipal, earlierResult, refusalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { config } from "../platform/config.js";
import * as repo from "./repo.js";
import type { FeedbackListInput, FeedbackStatsInput, FeedbackUpdateInput, PublicFeedbackInput, PublicFeedbackListInput, StaffFeedbackInput } from "./schemas.js";
import { feedbackUrl, hashToken, newToken } from "./tokens.js";
import { actorOf } from "../events/outbox.js";

/**
 * The one answer for every token that cannot be used — unknown, used, expired, revoked — so a
 * caller learns nothing about which. Same status, same body (only requestId differs).
 */
export const tokenUnusable = () => new ApiError("gone", "This feedback link is invalid or has already been used.");

export async function generateToken(auth: AuthContext, orderId: string) {
  const { db } = await getDb();
  const { token, hash } = newToken();
  let outcome: repo.IssueOutcome;
  try {
    outcome = await repo.issueToken(db, auth.tenant.id, orderId, newId(), hash, config.feedbackTokenTtlDays(), auth.userId);
  } catch (error) {
    // Two issuers racing for one order: the partial unique index lets one live token through.
    const failure = classifyDbError(error);
    if (failure?.kind === "unique_violation" && failure.constraint === "feedback_tokens_live_order_key") {
      throw new ApiError("conflict", "Another feedback link for this order was just created; retry.", undefined, { "Retry-After": "1" });
    }
    throw error;
  }
  if ("missing" in outcome) throw notFound("Order");
  if ("cancelled" in outcome) throw conflict("A cancelled order does not get a feedback link.", [{ path: "status", message: "cancelled" }]);
  if ("hasFeedback" in outcome) throw conflict("This order already has feedback.");
  const url = feedbackUrl(token);
  return { token, expiresAt: outcome.expiresAt, ...(url ? { url } : {}) };
}

export async function validateToken(token: string) {
  const { db } = await getDb();
  const view = await repo.findLiveToken(db, hashToken(token));
  if (!view) throw tokenUnusable();
  return { valid: true, ...view };
}

/**
 * Idempotency-Key on this public route: there is no signed-in user, so the key is filed under the
 * token's tenant with the feedback link as its principal — one customer's key can neither replay
 * nor block another's.
 */
export async function submitFeedback(input: PublicFeedbackInput, idempotency: IdempotencyRequest | undefined) {
  const { db } = await getDb();
  const { token, ...ratings } = input;
  const hash = hashToken(token);
  const idem = bindPrincipal(idempotency, `link:${hash}`);
  let result: repo.SubmitResult;
  try {
    result = await repo.submitFeedback(db, hash, newId(), ratings, idem);
  } catch (error) {
    const failure = classifyDbError(error);
    // Refused: used, expired or revoked; a unique violation: staff recorded feedback for the order
    // at the same moment. Either way the link is spent (and the key was not kept).
    if (refusalOf(failure) || (failure?.kind === "unique_violation" && failure.constraint === "feedbacks_order_key")) throw tokenUnusable();
    throw error;
  }
  if (!result.tokenFound) throw tokenUnusable();
  const earlier = await earlierResult(db, result.row, idem, repo.tokenTenant(hash), result.replayed, (id) => repo.findSubmitted(db, hash, id));
  if (earlier) return { feedback: earlier, replayed: true };
  await invalidate(result.tenantId!, ["feedbacks"]);
  return { feedback: result.feedback!, replayed: false };
}

export async function createStaffFeedback(auth: AuthContext, input: StaffFeedbackInput, idempotency: IdempotencyRequest | undefined) {
  const { db } = await getDb();
  const { orderId, ...ratings } = input;
  let result: repo.StaffCreateResult;
  try {
    result = await repo.insertStaffFeedback(db, auth.tenant.id, newId(), orderId, ratings, auth.userId, idempotency, actorOf(auth));
  } catch (error) {
    const refused = refusalOf(classifyDbError(error));
    if (!refused) throw error;
    if (refused.orderFound !== true) throw new ApiError("unprocessable", "The order does not exist.", [{ path: "orderId", message: "unknown order" }]);
    throw conflict("This order already has feedback.", [{ path: "orderId", message: "already has feedback" }]);
  }
  const earlier = await earlierResult(db, result.row, idempotency, auth.tenant.id, result.replayed, (id) => repo.findFeedback(db, auth.tenant.id, id));
  if (earlier) return { feedback: earlier, replayed: true };
  await invalidate(auth.tenant.id, ["feedbacks"]);
  return { feedback: result.feedback!, replayed: false };
}

export async function listFeedback(tenant: Tenant, input: FeedbackListInput) {
  const { db } = await getDb();
  const { items, total } = await repo.listFeedback(db, tenant.id, input);
  return page(items, total, input.page, input.limit);
}

export async function getFeedback(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const feedback = await repo.findFeedback(db, tenant.id, id);
  if (!feedback) throw notFound("Feedback");
  return feedback;
}

export async function getFeedbackForOrder(tenant: Tenant, orderId: string) {
  const { db } = await getDb();
  const feedback = await repo.findFeedbackForOrder(db, tenant.id, orderId);
  if (!feedback) throw notFound("Feedback");
  return feedback;
}

export async function feedbackStats(tenant: Tenant, input: FeedbackStatsInput) {
  const { db } = await getDb();
  return repo.feedbackStats(db, tenant.id, input);
}

export async function updateFeedback(auth: AuthContext, id: string, input: Omit<FeedbackUpdateInput, "version">, expected: number | undefined) {
  const { db } = await getDb();
  const outcome = await repo.updateFeedback(db, auth.tenant.id, id, input, expected, auth.userId);
  if ("missing" in outcome) throw notFound("Feedback");
  if ("staleVersion" in outcome) throw staleVersion("feedback", outcome.staleVersion);
  if ("noConsent" in outcome) throw conflict("The customer did not consent to publishing this feedback.", [{ path: "isPublic", message: "no consent to publish" }]);
  await invalidate(auth.tenant.id, ["feedbacks"]);
  return outcome.feedback;
}

export async function listPublished(input: PublicFeedbackListInput) {
  const { db } = await getDb();
  const { tenantName, total, items } = await repo.listPublished(db, input);
  if (tenantName === undefined) throw notFound("Shop");
  return { tenant: { name: tenantName }, ...page(items, total, input.page, input.limit) };
}
