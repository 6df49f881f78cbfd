import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildMigration, normalHost } from "../db/build-migration.js";
import { defaultRedisKeyPrefix } from "../lib/platform/config.js";

const PROD = "postgresql://app:pw@ep-calm-sun-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require";
const PROD_DIRECT = "postgresql://app:pw@ep-calm-sun-123456.us-east-2.aws.neon.tech/neondb?sslmode=require";
const BRANCH = "postgresql://app:pw@ep-wild-rain-654321-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require";
const BRANCH_DIRECT = "postgresql://app:pw@ep-wild-rain-654321.us-east-2.aws.neon.tech/neondb?sslmode=require";
const PROD_HOST = "ep-calm-sun-123456.us-east-2.aws.neon.tech";

describe("migrations at build time", () => {
  it("migrate outside Vercel (npm run migrate), to the configured URL", () => {
    expect(buildMigration({ DATABASE_URL: "postgres://localhost/x" })).toMatchObject({ action: "migrate", url: "postgres://localhost/x" });
  });

  it("migrate a production build; fail it without a database URL", () => {
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "production", DATABASE_URL: PROD })).toMatchObject({ action: "migrate", url: PROD });
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "production" })).toMatchObject({ action: "fail" });
  });

  it("use the unpooled URL the Neon integration provides (advisory locks need a session)", () => {
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "production", DATABASE_URL: PROD, DATABASE_URL_UNPOOLED: PROD_DIRECT })).toMatchObject({ action: "migrate", url: PROD_DIRECT });
  });

  it("skip a preview when production's host is unknown, and say why", () => {
    const decision = buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: BRANCH });
    expect(decision).toMatchObject({ action: "skip" });
    expect(decision.reason).toContain("PRODUCTION_DATABASE_HOST");
  });

  it("treat a Vercel build without VERCEL_ENV as a preview, never as production", () => {
    expect(buildMigration({ VERCEL: "1", DATABASE_URL: PROD })).toMatchObject({ action: "skip" });
    expect(buildMigration({ VERCEL: "1", DATABASE_URL: PROD, PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "skip" });
    expect(buildMigration({ VERCEL: "1", DATABASE_URL: BRANCH, PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "migrate" });
  });

  it("skip a preview whose database is production's, pooled or direct, by host or URL", () => {
    for (const url of [PROD, PROD_DIRECT, PROD.toUpperCase().replace("POSTGRESQL", "postgresql")]) {
      for (const production of [PROD_HOST, PROD, PROD_DIRECT, `${PROD_HOST.toUpperCase()}:5432`]) {
        const decision = buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: url, PRODUCTION_DATABASE_HOST: production });
        expect(decision, `${url} vs ${production}`).toMatchObject({ action: "skip" });
        expect(decision.reason).toContain("production's");
      }
    }
  });

  it("skip when either the runtime or the migration URL is production's", () => {
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: PROD, DATABASE_URL_UNPOOLED: BRANCH_DIRECT, PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "skip" });
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: BRANCH, DATABASE_URL_UNPOOLED: PROD_DIRECT, PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "skip" });
  });

  it("migrate a preview on its own Neon branch", () => {
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: BRANCH, DATABASE_URL_UNPOOLED: BRANCH_DIRECT, PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "migrate", url: BRANCH_DIRECT });
  });

  it("skip a preview without a database, and one whose URL does not parse", () => {
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "skip" });
    expect(buildMigration({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: "postgres://[bad", PRODUCTION_DATABASE_HOST: PROD_HOST })).toMatchObject({ action: "skip" });
  });

  it("normalises hosts", () => {
    expect(normalHost("ep-a-1-pooler.eu-central-1.aws.neon.tech")).toBe("ep-a-1.eu-central-1.aws.neon.tech");
    expect(normalHost("postgres://u@DB.example.com:6543/x")).toBe("db.example.com");
    expect(normalHost("")).toBeUndefined();
  });
});

describe("npm run migrate as the Vercel build runs it", () => {
  // An unreachable database: had the command tried to migrate, it would have failed.
  const UNREACHABLE = "postgres://postgres@127.0.0.1:9/tally";
  const migrateCli = (env: Record<string, string>) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|NEON_|VERCEL|PRODUCTION_DATABASE_HOST|PGLITE)/.test(k)));
    return spawnSync(process.execPath, ["--import", "tsx", "db/migrate-cli.ts"], { env: { ...base, ...env }, encoding: "utf8", timeout: 60_000 });
  };

  it("a preview on production's database skips, exit 0, and prints why", () => {
    const result = migrateCli({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: UNREACHABLE, PRODUCTION_DATABASE_HOST: "127.0.0.1" });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/migrations skipped: preview build: its database host is production's \(127\.0\.0\.1\)/);
  });

  it("a preview without PRODUCTION_DATABASE_HOST skips", () => {
    const result = migrateCli({ VERCEL: "1", VERCEL_ENV: "preview", DATABASE_URL: UNREACHABLE });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("migrations skipped");
  });

  it("a production build on an unreachable database fails with one line", () => {
    const result = migrateCli({ VERCEL: "1", VERCEL_ENV: "production", DATABASE_URL: UNREACHABLE });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^migrate: failed: .*ECONNREFUSED/)]);
  });

  it("a production build without a database URL fails", () => {
    const result = migrateCli({ VERCEL: "1", VERCEL_ENV: "production" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("must be set for a production build");
  });
});

describe("default Redis key prefix", () => {
  it("separates production, each preview branch, and local runs", () => {
    const production = defaultRedisKeyPrefix({ VERCEL_ENV: "production", VERCEL_GIT_COMMIT_REF: "main", NODE_ENV: "production" });
    const previewA = defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_GIT_COMMIT_REF: "feature/a", NODE_ENV: "production" });
    const previewB = defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_GIT_COMMIT_REF: "feature/b", NODE_ENV: "production" });
    const cliPreview = defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_DEPLOYMENT_ID: "dpl_abc", NODE_ENV: "production" });
    expect(production).toBe("tally:production");
    expect(previewA).toBe("tally:preview:feature/a");
    expect(cliPreview).toBe("tally:preview:dpl_abc");
    expect(new Set([production, previewA, previewB, cliPreview, defaultRedisKeyPrefix({ NODE_ENV: "test" })]).size).toBe(5);
    // No preview prefix is production's, nor starts with it (prefix scans must not overlap).
    for (const p of [previewA, previewB, cliPreview]) expect(p.startsWith(production)).toBe(false);
  });

  it("keeps odd branch names one bounded segment, and distinct", () => {
    const a = defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_GIT_COMMIT_REF: "fix:colon bug" });
    const b = defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_GIT_COMMIT_REF: "fix colon:bug" });
    expect(a.split(":")).toHaveLength(3);
    expect(a).not.toBe(b);
    expect(defaultRedisKeyPrefix({ VERCEL_ENV: "preview", VERCEL_GIT_COMMIT_REF: "x".repeat(300) }).length).toBeLessThan(80);
  });

  it("NODE_ENV=production off Vercel is production; REDIS_KEY_PREFIX still overrides", async () => {
    expect(defaultRedisKeyPrefix({ NODE_ENV: "production" })).toBe("tally:production");
    const { config } = await import("../lib/platform/config.js");
    const saved = { prefix: process.env.REDIS_KEY_PREFIX, env: process.env.VERCEL_ENV, ref: process.env.VERCEL_GIT_COMMIT_REF };
    try {
      process.env.VERCEL_ENV = "preview";
      process.env.VERCEL_GIT_COMMIT_REF = "feature/a";
      delete process.env.REDIS_KEY_PREFIX;
      expect(config.redisKeyPrefix()).toBe("tally:preview:feature/a");
      process.env.REDIS_KEY_PREFIX = "shop";
      expect(config.redisKeyPrefix()).toBe("shop");
    } finally {
      for (const [key, value] of [["REDIS_KEY_PREFIX", saved.prefix], ["VERCEL_ENV", saved.env], ["VERCEL_GIT_COMMIT_REF", saved.ref]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
