import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: {
      LOG_LEVEL: "silent",
      NODE_ENV: "test",
      DEV_AUTH_SECRET: "test-dev-secret-0123456789abcdef",
      GOOGLE_CLIENT_ID: "test-client.apps.googleusercontent.com",
      CORS_ORIGINS: "https://app.tally.test,https://*-tally.vercel.app",
      DB_TIMEOUT_MS: "2000",
      DB_POOL_MAX: "30",
      CRON_SECRET: "test-cron-secret",
      // Event streams end after a second in the shared route walks (they read every body to the end);
      // tests/events.stream.test.ts sets its own.
      EVENTS_STREAM_MAX_S: "1",
      BLOB_LOCAL_DIR: ".data/test-blobs",
      // The whole suite is one IP making thousands of calls (many deliberately unauthorized); the
      // rate-limit tests set their own small limits.
      RATE_LIMIT_API: "1000000",
      RATE_LIMIT_PUBLIC: "1000000",
      RATE_LIMIT_STORE: "1000000",
      RATE_LIMIT_AUTH_FAILURES: "1000000",
      RATE_LIMIT_TENANT: "1000000",
    },
  },
});
