import { mkdirSync, writeFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { migrate } from "../../db/migrate.js";
import { TEMPLATE_FILE } from "./targets.js";

// Migrating a fresh PGlite costs seconds; do it once per run and let every test file load the dump.
export default async function setup() {
  const pglite = new PGlite();
  await migrate({ pglite });
  const dump = await pglite.dumpDataDir("none");
  await pglite.close();
  mkdirSync(".data", { recursive: true });
  writeFileSync(TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()));
  const url = process.env.TEST_DATABASE_URL;
  // Locally the real-Postgres suites are optional; in CI skipping them would hide failures.
  if (process.env.CI && !url) throw new Error("CI must set TEST_DATABASE_URL (see .ci/run)");
  if (url) await migrate({ url });
  if (process.env.CI && !process.env.TEST_REDIS_URL) throw new Error("CI must set TEST_REDIS_URL (see .ci/run)");
  if (process.env.CI && !process.env.TEST_REPLICA_URL) throw new Error("CI must set TEST_REPLICA_URL (see .ci/run and .ci/replica)");
}
