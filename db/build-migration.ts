// Whether a build may run migrations. Vercel runs the buildCommand for production and for every
// preview; a preview whose DATABASE_URL is production's (the project-wide value, or a Neon branch
// the integration failed to create) would migrate production with unreviewed code. The Neon
// integration injects the same variable names (DATABASE_URL, DATABASE_URL_UNPOOLED, PG*) into
// previews as into production, so names prove nothing: a preview migrates only when its database
// host is known to differ from production's (PRODUCTION_DATABASE_HOST). When unsure, it skips.

export type BuildMigration =
  | { action: "migrate"; url: string | undefined; reason: string }
  | { action: "skip"; reason: string }
  | { action: "fail"; reason: string };

export interface BuildEnv {
  VERCEL?: string;
  VERCEL_ENV?: string;
  DATABASE_URL?: string;
  DATABASE_URL_UNPOOLED?: string;
  NEON_DATABASE_URL?: string;
  PRODUCTION_DATABASE_HOST?: string;
}

export function buildMigration(env: BuildEnv): BuildMigration {
  const runtimeUrl = env.DATABASE_URL || env.NEON_DATABASE_URL || undefined;
  // Migrations take a session-level advisory lock: use the direct (unpooled) endpoint when the
  // Neon integration provides one; PgBouncer's transaction pooling would not hold the lock.
  const url = env.DATABASE_URL_UNPOOLED || runtimeUrl;
  if (!env.VERCEL) return { action: "migrate", url, reason: "not a Vercel build" };
  const environment = env.VERCEL_ENV || "(unset)";
  if (environment === "production") {
    if (!url) return { action: "fail", reason: "DATABASE_URL (or NEON_DATABASE_URL) must be set for a production build" };
    return { action: "migrate", url, reason: "production build" };
  }
  if (!url) return { action: "skip", reason: `${environment} build without DATABASE_URL: nothing to migrate` };
  const production = env.PRODUCTION_DATABASE_HOST ? normalHost(env.PRODUCTION_DATABASE_HOST) : undefined;
  if (!production) {
    return { action: "skip", reason: `${environment} build: PRODUCTION_DATABASE_HOST is not set, so this database cannot be shown not to be production's` };
  }
  const hosts = [...new Set([url, runtimeUrl].filter((u): u is string => !!u).map(normalHost))];
  if (hosts.some((h) => h === undefined)) return { action: "skip", reason: `${environment} build: a database URL does not parse` };
  if (hosts.includes(production)) {
    return { action: "skip", reason: `${environment} build: its database host is production's (${production})` };
  }
  return { action: "migrate", url, reason: `${environment} build on its own database (${hosts.join(", ")}, production is ${production})` };
}

/** Host of a URL or bare host name, lowercased, with Neon's `-pooler` endpoint suffix removed. */
export function normalHost(value: string): string | undefined {
  let host = value.trim().toLowerCase();
  if (host.includes("://")) {
    try {
      host = new URL(host).hostname;
    } catch {
      return undefined;
    }
  }
  host = host.replace(/:\d+$/, "");
  if (!host) return undefined;
  const [first, ...rest] = host.split(".");
  return [first!.replace(/-pooler$/, ""), ...rest].join(".");
}
