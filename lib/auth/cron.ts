import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../http/errors.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Vercel Cron sends `Authorization: Bearer $CRON_SECRET`. Compared as fixed-length digests in constant
 * time, so neither the secret nor its length leaks through timing. Without CRON_SECRET the cron
 * routes are closed.
 */
export function assertCronRequest(request: Request): void {
  const secret = process.env.CRON_SECRET;
  const header = request.headers.get("authorization") ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!secret || !timingSafeEqual(digest(presented), digest(secret))) {
    throw new ApiError("unauthorized", "This endpoint is for the scheduler.", undefined, { "WWW-Authenticate": "Bearer" });
  }
}
