import { createHash, randomBytes } from "node:crypto";
import { isProduction } from "../platform/config.js";

// API keys: "tly_live_" (production) or "tly_test_" (anywhere else), then 22 base62 characters of
// 128 random bits, then 6 base62 characters of a checksum (the first 32 bits of the SHA-256 of
// everything before it). A mistyped or truncated key fails the checksum, so it is refused without
// any I/O; a key from the other environment is refused the same way.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_CHARS = 22; // 62^22 > 2^128
const CHECK_CHARS = 6; // 62^6 > 2^32
const SHAPE = /^tly_(live|test)_[0-9A-Za-z]{28}$/;

export const KEY_MARK = "tly_";

function base62(bytes: Uint8Array, width: number): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out.padStart(width, "0");
}

const checksum = (body: string) => base62(createHash("sha256").update(body).digest().subarray(0, 4), CHECK_CHARS);

export const keyPrefix = () => (isProduction() ? "tly_live_" : "tly_test_");

export function mintKey(): string {
  const body = keyPrefix() + base62(randomBytes(16), SECRET_CHARS);
  return body + checksum(body);
}

/** Shape, environment and checksum: all a key must pass before it is worth a lookup. */
export function isWellFormedKey(token: string): boolean {
  if (!SHAPE.test(token) || !token.startsWith(keyPrefix())) return false;
  const body = token.slice(0, -CHECK_CHARS);
  return checksum(body) === token.slice(-CHECK_CHARS);
}

/** What is stored and looked up: the key itself never is. */
export const hashKey = (token: string) => createHash("sha256").update(token).digest("hex");

/** What a listing shows: enough to recognise a key, useless to use it. */
export const displayParts = (token: string) => ({ displayPrefix: token.slice(0, keyPrefix().length + 4), last4: token.slice(-4) });
