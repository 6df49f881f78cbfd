import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDb, DatabaseNotConfigured, dbOptionsFromEnv, getDb, installDb, setLocalDbFactory, type DbHandle } from "../db/client.js";
import { createPgliteDb } from "../db/pglite.js";
import { forgetPrincipals } from "../lib/auth/session.js";
import { ROUTES } from "./support/catalog.js";
import { call, errorOf } from "./support/client.js";
import { startFakeGoogle } from "./support/google.js";

// A deployment whose DATABASE_URL is missing must say so at once, on every route that needs the
// database — never boot an in-memory PGlite (2–3 s, empty, per instance) and serve from it.
const DB_ENV = ["DATABASE_URL", "NEON_DATABASE_URL", "NEON_FETCH_ENDPOINT", "VERCEL_ENV", "NODE_ENV", "DEV_AUTH_SECRET", "DB_TIMEOUT_MS"] as const;
const saved = Object.fromEntries(DB_ENV.map((k) => [k, process.env[k]]));

function restoreEnv() {
  for (const key of DB_ENV) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
}

afterEach(() => {
  restoreEnv();
  installDb(undefined);
  setLocalDbFactory(undefined);
});

describe("production without a database URL", () => {
  let google: Awaited<ReturnType<typeof startFakeGoogle>>;
  beforeAll(async () => {
    google = await startFakeGoogle();
    process.env.GOOGLE_JWKS_URL = google.url;
  });
  afterAll(() => google.close());

  // Routes that never need the database: the spec is a file of the deployment, ending a shop
  // session only drops its cart in Redis. They keep working.
  const WITHOUT_DATABASE = new Set(["GET /api/openapi.json", "DELETE /api/store/[tenant]/cart"]);

  function production(env: "VERCEL_ENV" | "NODE_ENV") {
    // DEV_AUTH_SECRET in production is its own config_error (500): remove it, as a deployment would.
    for (const key of ["DATABASE_URL", "NEON_DATABASE_URL", "NEON_FETCH_ENDPOINT", "DEV_AUTH_SECRET"]) delete process.env[key];
    process.env[env] = "production";
    installDb(undefined);
    forgetPrincipals();
    // Even a registered local factory (what the dev server and tests install) must not be used.
    const factory = vi.fn(async () => createPgliteDb());
    setLocalDbFactory(factory);
    return factory;
  }

  it.each(["VERCEL_ENV", "NODE_ENV"] as const)("answers 503 config_error on every database route (%s=production) and never creates PGlite", async (env) => {
    const factory = production(env);
    const token = await google.mint({ sub: "g-no-db", email: "no-db@gmail.test" });
    const walked: string[] = [];
    for (const spec of ROUTES) {
      if (spec.pattern === "/api/health" || spec.pattern === "/api/dev/blob" || spec.walk === false) continue;
      const path = spec.pattern.replace(/\[([^\]]+)\]/g, (_, param: string) => (param === "token" ? "t".repeat(43) : "01a20813-0118-73be-a81c-b59c7a651c18")) + (spec.pattern === "/api/public/feedbacks" ? "?tenant=shop" : "");
      const headers: Record<string, string> = spec.role === "cron" ? { authorization: `Bearer ${process.env.CRON_SECRET}` } : {};
      const result = await call(spec.method, path, { token: spec.role === "cron" || spec.role === "public" ? undefined : token, headers, body: spec.body });
      if (WITHOUT_DATABASE.has(`${spec.method} ${spec.pattern}`)) {
        expect(result.status, `${spec.method} ${path}: ${result.text}`).toBeLessThan(300);
        continue;
      }
      expect(result.status, `${spec.method} ${path}: ${result.text}`).toBe(503);
      expect(errorOf(result).code).toBe("config_error");
      expect(result.dbTrips).toBe(0);
      walked.push(`${spec.method} ${spec.pattern}`);
    }
    expect(walked.length).toBeGreaterThan(30);
    expect(factory).not.toHaveBeenCalled();
  });

  it("health answers 503 and says the database URL is missing", async () => {
    const factory = production("VERCEL_ENV");
    const result = await call("GET", "/api/health");
    expect(result.status).toBe(503);
    expect(result.json.database).toEqual({ status: "down", reason: expect.stringContaining("DATABASE_URL is not set") });
    expect(errorOf(result).code).toBe("config_error");
    expect(factory).not.toHaveBeenCalled();
  });

  it("refuses the local factory in createDb itself", async () => {
    production("NODE_ENV");
    await expect(createDb({})).rejects.toBeInstanceOf(DatabaseNotConfigured);
  });
});

// A URL pasted wrong is as much a configuration error as a missing one: say so, never 500 `internal`
// (found by the red team: a blank or malformed DATABASE_URL gave 500 on every route and a health
// that blamed an unreachable database), and never echo the URL (it carries the password).
describe.each(["", "   ", "not a url", "postgres//user:secret@host/db"])("production with DATABASE_URL=%j", (url) => {
  const configure = () => {
    for (const key of ["NEON_DATABASE_URL", "NEON_FETCH_ENDPOINT", "DEV_AUTH_SECRET"]) delete process.env[key];
    process.env.DATABASE_URL = url;
    process.env.NODE_ENV = "production";
    installDb(undefined);
    forgetPrincipals();
  };

  it("answers 503 config_error on a database route and health says why, without the URL", async () => {
    configure();
    const route = await call("GET", "/api/public/feedbacks?tenant=shop");
    expect(route.status, route.text).toBe(503);
    expect(errorOf(route).code).toBe("config_error");
    const health = await call("GET", "/api/health");
    expect(health.status).toBe(503);
    expect(errorOf(health).code).toBe("config_error");
    expect(health.json.database.reason).toMatch(/DATABASE_URL is (not set|not a valid URL)/);
    if (url.trim()) expect(health.text).not.toContain("secret");
  });
});

describe("DB_TIMEOUT_MS", () => {
  it("a value that is not a positive number falls back to the default instead of disabling or breaking the query limit", () => {
    for (const bad of ["abc", "", "0", "-5", "Infinity", "1e400"]) expect(dbOptionsFromEnv({ DB_TIMEOUT_MS: bad }).timeoutMs, bad).toBeUndefined();
    expect(dbOptionsFromEnv({ DB_TIMEOUT_MS: "1500" }).timeoutMs).toBe(1500);
    expect(dbOptionsFromEnv({ DATABASE_URL: "  postgres://h/db  " }).url).toBe("postgres://h/db");
    expect(dbOptionsFromEnv({ DATABASE_URL: "  ", NEON_DATABASE_URL: "postgres://n/db" }).url).toBe("postgres://n/db");
  });
});

describe("without a database URL outside production", () => {
  it("uses the factory the dev server or tests registered, once per instance", async () => {
    for (const key of ["DATABASE_URL", "NEON_DATABASE_URL", "NEON_FETCH_ENDPOINT", "VERCEL_ENV"]) delete process.env[key];
    process.env.NODE_ENV = "development";
    installDb(undefined);
    const handle = { kind: "pglite", db: {} as DbHandle["db"], close: async () => {} } satisfies DbHandle;
    const factory = vi.fn(async () => handle);
    setLocalDbFactory(factory);
    expect(await getDb()).toBe(handle);
    expect(await getDb()).toBe(handle);
    expect(factory).toHaveBeenCalledTimes(1);
  });

  it("fails with DatabaseNotConfigured when nothing registered one (no hidden PGlite)", async () => {
    for (const key of ["DATABASE_URL", "NEON_DATABASE_URL", "NEON_FETCH_ENDPOINT", "VERCEL_ENV"]) delete process.env[key];
    process.env.NODE_ENV = "development";
    installDb(undefined);
    await expect(getDb()).rejects.toBeInstanceOf(DatabaseNotConfigured);
  });
});
