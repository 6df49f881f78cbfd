import { SignJWT } from "jose/jwt/sign";
import { DEV_AUDIENCE, DEV_ISSUER } from "./dev-issuer.js";

// Local dev tokens: HS256, signed with DEV_AUTH_SECRET. Never accepted in production (see verify.ts).
export { DEV_AUDIENCE, DEV_ISSUER };

export interface DevTokenClaims {
  subject: string;
  email?: string;
  name?: string;
  /** Seconds until expiry; default 12 hours. */
  ttlSeconds?: number;
}

export async function mintDevToken(secret: string, claims: DevTokenClaims): Promise<string> {
  const jwt = new SignJWT({ email: claims.email, email_verified: claims.email !== undefined, name: claims.name })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(claims.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 12 * 3600));
  return jwt.sign(new TextEncoder().encode(secret));
}

/** The demo tenant's seeded users are `dev|demo-<role>`; the token CLI and dev server mint for them. */
export function demoSubject(tenantSlug: string, role: string): string {
  return `${tenantSlug}-${role}`;
}
