import { personToken } from "../auth/session.js";
import { verifyBearer } from "../auth/verify.js";
import { ApiError } from "../http/errors.js";

// A shopper signed in with Google (issue 14's `customer` principal): a person, not a tenant member,
// who may have shopped in any number of sessions and on any device. Their orders in a shop are the
// orders of that shop's customers with their (verified) email address — the checkout files every
// order under a customer found or created by email. So signing in needs no account table and no
// sign-up: the ID token is the whole credential, verified like a member's (lib/auth/verify.ts).

export interface ShopperAccount {
  /** Lower-case, verified by Google. */
  email: string;
  /** issuer|subject: stable for the account even if its email changes (the idempotency principal). */
  subject: string;
}

/**
 * The signed-in shopper of a store request, if it sends `Authorization: Bearer <ID token>`. A
 * token that is sent must be good: a bad or expired one is 401 (never silently a guest), an API key
 * 403 (it acts for a tenant, not a shopper), an account without a verified email 403 (an unverified
 * address would show anyone the orders placed with it).
 */
export async function signedInShopper(request: Request): Promise<ShopperAccount | undefined> {
  if (request.headers.get("authorization") === null) return undefined;
  const token = personToken(request, "API keys act for a tenant, not a shopper; sign in with Google.");
  const identity = await verifyBearer(token);
  if (!identity.email || !identity.emailVerified) {
    throw new ApiError("forbidden", "Sign in with an account whose email address is verified: a shopper's orders are found by it.");
  }
  return { email: identity.email, subject: `${identity.issuer}|${identity.subject}` };
}
