import { randomBytes } from "node:crypto";
import { foldToSlug } from "../http/inputs.js";

// Rules for tenant slugs, timezones and currencies, shared by the schemas and the service.

export const SLUG_MIN = 3;
export const SLUG_MAX = 40;
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Names that would collide with our own paths, subdomains or support addresses. */
export const RESERVED_SLUGS = new Set([
  "about", "account", "accounts", "admin", "administrator", "api", "app", "apps", "assets", "auth", "billing", "blog",
  "cdn", "dashboard", "demo", "dev", "docs", "help", "home", "login", "logout", "mail", "me", "new", "null", "public",
  "register", "root", "settings", "signin", "signup", "smtp", "static", "staging", "status", "store", "support",
  "system", "tally", "team", "tenant", "tenants", "test", "undefined", "www",
]);

export function slugProblem(slug: string): string | undefined {
  if (slug.length < SLUG_MIN || slug.length > SLUG_MAX) return `must be ${SLUG_MIN}-${SLUG_MAX} characters`;
  if (!SLUG_PATTERN.test(slug)) return "must be lowercase letters, digits and inner hyphens (a-z, 0-9, -)";
  if (RESERVED_SLUGS.has(slug)) return "is reserved";
  return undefined;
}

const suffix = () => randomBytes(4).readUInt32BE(0).toString(36).padStart(6, "0").slice(-6);

/** "Kedai Kopi Ñusa!" -> "kedai-kopi-nusa"; short, empty or reserved results get a random suffix. */
export function slugFromName(name: string): string {
  const base = foldToSlug(name, SLUG_MAX);
  if (!slugProblem(base)) return base;
  return `${(base || "shop").slice(0, SLUG_MAX - 7).replace(/-+$/g, "") || "shop"}-${suffix()}`;
}

/** Free alternatives to offer (or to try, for a generated slug), in order of preference. */
export function slugAlternatives(slug: string): string[] {
  const stem = slug.slice(0, SLUG_MAX - 3).replace(/-+$/g, "");
  const numbered = [2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${stem}-${n}`);
  return [...numbered, `${slug.slice(0, SLUG_MAX - 7).replace(/-+$/g, "")}-${suffix()}`].filter((s) => !slugProblem(s));
}

// IANA names only: Intl also accepts offsets such as "+07:00" (Node 24), which are not zones (no DST
// rules, no history), so a name must start with a letter. "UTC+7" and "Mars/Olympus" fail in Intl.
const ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;

/** The canonical spelling of an IANA timezone name, or undefined if it is not one. */
export function canonicalTimezone(name: string): string | undefined {
  if (name.length > 64 || !ZONE_SHAPE.test(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    return ZONE_SHAPE.test(resolved) ? resolved : undefined;
  } catch {
    return undefined;
  }
}

let currencies: Set<string> | undefined;

/** ISO 4217 codes as the runtime's ICU knows them (current codes, no funds or test codes). */
export function isCurrency(code: string): boolean {
  currencies ??= new Set(Intl.supportedValuesOf("currency"));
  return currencies.has(code);
}

/**
 * Minor-unit exponent: amounts are stored as integers of 10^-exponent of the currency (USD 2:
 * 1250 = $12.50; JPY and IDR 0: 1250 = ¥1250 / Rp1250; KWD 3). The digits CLDR prescribes, as Intl
 * reports them; ISO 4217 lists IDR with 2, but no sub-rupiah amounts are in use.
 */
export function currencyExponent(code: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
}
