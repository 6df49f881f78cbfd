import { createHash, randomBytes } from "node:crypto";
import { config } from "../platform/config.js";

// A feedback link's token: 32 random bytes (256 bits) as base64url, so guessing one is hopeless and
// it is safe in a URL. The database keeps only its SHA-256: a plain hash is enough for a secret with
// this much entropy (no salt or slow hash needed — there is no dictionary to attack), and it lets a
// lookup by hash use an index.
export const TOKEN_BYTES = 32;

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The customer's link, when FEEDBACK_URL_BASE is configured. */
export function feedbackUrl(token: string): string | undefined {
  const base = config.feedbackUrlBase();
  if (!base) return undefined;
  return `${base}${base.includes("?") ? "&" : "?"}token=${token}`;
}
