import { createHash } from "node:crypto";
import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { ApiError, conflict, notFound } from "../http/errors.js";
import { config } from "../platform/config.js";
import { hashToken, newToken } from "../feedback/tokens.js";
import * as repo from "./repo.js";

// Tracking links reuse the feedback links' token scheme (lib/feedback/tokens.ts): 256 random bits,
// base64url, only the SHA-256 stored.

/** One answer for unknown, revoked and expired links alike. */
export const linkUnusable = () => new ApiError("gone", "This order link is invalid or has expired.");

export function trackingUrl(token: string): string | undefined {
  const base = config.trackingUrlBase();
  if (!base) return undefined;
  return `${base}${base.includes("?") ? "&" : "?"}token=${token}`;
}

/** The per-link rate-limit identifier of a tracking route's path (hashed: no token in Redis keys). */
export function trackingLimitKey(request: Request): string | undefined {
  const token = /^\/api\/public\/orders\/([^/]+)/.exec(new URL(request.url).pathname)?.[1];
  return token ? `tracking:${createHash("sha256").update(token).digest("base64url").slice(0, 22)}` : undefined;
}

export async function issueLink(auth: AuthContext, orderId: string) {
  const { db } = await getDb();
  const { token, hash } = newToken();
  let outcome: repo.IssueOutcome;
  try {
    outcome = await repo.issueLink(db, auth.tenant.id, orderId, newId(), hash, auth.userId);
  } catch (error) {
    const failure = classifyDbError(error);
    if (failure?.kind === "unique_violation" && failure.constraint === "order_tracking_tokens_live_order_key") {
      throw new ApiError("conflict", "Another tracking link for this order was just created; retry.", undefined, { "Retry-After": "1" });
    }
    throw error;
  }
  if ("missing" in outcome) throw notFound("Order");
  if ("expired" in outcome) throw conflict(`The order was closed more than ${repo.TRACKING_DAYS} days ago; it gets no tracking link.`, [{ path: "status", message: "closed too long ago" }]);
  const url = trackingUrl(token);
  return { token, expiresAt: outcome.expiresAt, ...(url ? { url } : {}) };
}

export async function publicOrder(token: string) {
  const { db } = await getDb();
  const view = await repo.publicView(db, hashToken(token));
  if (!view) throw linkUnusable();
  return view;
}

export async function publicReply(token: string, text: string) {
  const { db } = await getDb();
  for (let attempt = 0; ; attempt++) {
    let outcome: repo.ReplyOutcome;
    try {
      outcome = await repo.publicReply(db, hashToken(token), { messageId: newId(), customerId: newId(), conversationId: newId() }, text);
    } catch (error) {
      const failure = classifyDbError(error);
      if (attempt < 2 && failure?.kind === "unique_violation" && failure.constraint === "conversations_open_key") continue;
      throw error;
    }
    if ("unusable" in outcome) throw linkUnusable();
    if ("raced" in outcome) {
      if (attempt < 2) continue;
      throw new ApiError("conflict", "The conversation changed while the message was stored; retry.", undefined, { "Retry-After": "1" });
    }
    await invalidate(outcome.tenantId, ["conversations", "customers"]);
    const { id, direction, text: stored, createdAt } = outcome.message;
    return { id, direction: direction as "inbound", text: stored, createdAt };
  }
}
