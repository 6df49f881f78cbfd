import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DATA_DIR = ".data";

/** DEV_AUTH_SECRET, or a random one kept in .data/ so tokens survive restarts of the dev server. */
export function devSecret(): string {
  if (process.env.DEV_AUTH_SECRET) return process.env.DEV_AUTH_SECRET;
  const file = join(DATA_DIR, "dev-auth-secret");
  if (!existsSync(file)) {
    mkdirSync(DATA_DIR, { recursive: true });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}
