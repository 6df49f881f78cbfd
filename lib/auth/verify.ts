// jose's subpath entries: the package root loads every JOSE feature (~15 ms more cold start).
import { createRemoteJWKSet } from "jose/jwks/remote";
import { decodeJwt } from "jose/jwt/decode";
import { jwtVerify } from "jose/jwt/verify";
import type { JWTPayload } from "jose";
import { config, isProduction } from "../platform/config.js";
import { ApiError } from "../http/errors.js";
import { log } from "../platform/log.js";
import { DEV_AUDIENCE, DEV_ISSUER } from "./dev-issuer.js";

export interface Identity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** Seconds since the epoch (the token's exp). */
  expiresAt: number;
}

const GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"];

// The JWKS client caches Google's keys (and refetches on an unknown kid, rate limited by jose), so a
// warm instance verifies without network I/O. Kept on globalThis to survive module re-evaluation.
const slot = globalThis as typeof globalThis & { __tallyJwks?: { url: string; set: ReturnType<typeof createRemoteJWKSet> } };

function googleKeys() {
  const url = config.googleJwksUrl();
  if (slot.__tallyJwks?.url !== url) {
    slot.__tallyJwks = { url, set: createRemoteJWKSet(new URL(url), { cacheMaxAge: 6 * 3600_000, cooldownDuration: 30_000, timeoutDuration: 3000 }) };
  }
  return slot.__tallyJwks.set;
}

const invalidToken = () => new ApiError("unauthorized", "The bearer token is invalid or expired.", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

/** Dev auth in production is a misconfiguration: refuse to serve rather than trust dev tokens. */
export function assertAuthConfigured(): void {
  if (isProduction() && config.devAuthSecret()) {
    throw new ApiError("config_error", "The server is misconfigured.");
  }
}

// Verified tokens, remembered until they expire: checking a signature on every request was a fifth
// of a cached GET's CPU. An entry is only trusted under the configuration that verified it (dev
// secret, accepted audiences, production or not), so changing any of those forgets it.
const MAX_VERIFIED = 5_000;
const verified = ((globalThis as typeof globalThis & { __tallyVerified?: Map<string, { identity: Identity; expiresAt: number; config: string }> }).__tallyVerified ??= new Map());

function configFingerprint(): string {
  return `${isProduction()}|${config.devAuthSecret() ?? ""}|${config.googleClientIds().join(",")}`;
}

export async function verifyBearer(token: string): Promise<Identity> {
  assertAuthConfigured();
  const known = verified.get(token);
  if (known && known.expiresAt > Date.now() && known.config === configFingerprint()) return known.identity;
  const identity = await verifySignature(token);
  if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
  verified.set(token, { identity, expiresAt: identity.expiresAt * 1000, config: configFingerprint() });
  return identity;
}

async function verifySignature(token: string): Promise<Identity> {
  let issuer: string | undefined;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw invalidToken();
  }
  try {
    const payload = issuer === DEV_ISSUER ? await verifyDev(token) : await verifyGoogle(token, issuer);
    assertIssuedInThePast(payload);
    return {
      // Google uses two spellings of its issuer for the same accounts; one user must stay one row.
      issuer: payload.iss === "accounts.google.com" ? "https://accounts.google.com" : payload.iss!,
      subject: payload.sub!,
      email: typeof payload.email === "string" ? payload.email.toLowerCase() : null,
      emailVerified: payload.email_verified === true || payload.email_verified === "true",
      name: typeof payload.name === "string" ? payload.name : null,
      expiresAt: payload.exp!,
    };
  } catch (error) {
    if (error instanceof ApiError && error.code !== "unauthorized") throw error;
    const code = (error as { code?: string }).code;
    if (code === "ERR_JWKS_TIMEOUT" || error instanceof TypeError) {
      // Google's key endpoint is unreachable: a temporary outage, not a bad token.
      throw new ApiError("unavailable", "Sign-in keys could not be fetched; try again shortly.", undefined, { "Retry-After": "5" });
    }
    log("info", "token rejected", { reason: (error as { code?: string }).code ?? (error as Error).message, issuer });
    throw invalidToken();
  }
}

/**
 * jose checks `iat` only when maxTokenAge is set; a token "issued" in the future is either forged
 * with a stolen key to outlive a rotation or comes from a broken clock. Same tolerance as nbf/exp.
 */
function assertIssuedInThePast(payload: JWTPayload): void {
  if (payload.iat === undefined) return;
  if (typeof payload.iat !== "number" || payload.iat > Date.now() / 1000 + config.clockToleranceSeconds()) {
    throw Object.assign(new Error('"iat" is in the future'), { code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
  }
}

async function verifyDev(token: string): Promise<JWTPayload> {
  const secret = config.devAuthSecret();
  if (!secret || isProduction()) throw invalidToken();
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ["HS256"],
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    requiredClaims: ["sub", "exp"],
    clockTolerance: config.clockToleranceSeconds(),
  });
  return payload;
}

async function verifyGoogle(token: string, issuer: string | undefined): Promise<JWTPayload> {
  const audience = config.googleClientIds();
  if (!issuer || !GOOGLE_ISSUERS.includes(issuer) || audience.length === 0) throw invalidToken();
  const { payload } = await jwtVerify(token, googleKeys(), {
    algorithms: ["RS256"],
    issuer: GOOGLE_ISSUERS,
    audience,
    requiredClaims: ["sub", "exp", "iat"],
    clockTolerance: config.clockToleranceSeconds(),
  });
  return payload;
}
