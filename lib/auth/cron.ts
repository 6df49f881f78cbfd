import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Vercel calls cron paths with `Authorization: Bearer $CRON_SECRET`. Both sides are hashed first so
 * timingSafeEqual always compares 32 bytes: the comparison time says nothing about the secret, not
 * even its length. Without CRON_SECRET the routes refuse to run at all (500 config_error), so a
 * deployment that forgot it is loud in the logs instead of silently open or silently never run.
 */
export function assertCronRequest(request: Request): void {
  const secret = config.cronSecret();
  if (!secret) throw new ApiError("config_error", "CRON_SECRET is not configured.");
  const header = request.headers.get("authorization") ?? "";
  const presented = /^Bearer (.+)$/.exec(header)?.[1] ?? "";
  if (!timingSafeEqual(digest(presented), digest(secret))) {
    throw new ApiError("unauthorized", "This path is for the scheduler.", undefined, { "WWW-Authenticate": "Bearer" });
  }
}
