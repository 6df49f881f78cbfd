import type * as drizzle from "drizzle-orm/sql/sql";
import drizzleSql from "./drizzle-sql.cjs";

// drizzle's `sql` template, loaded from drizzle-orm's CommonJS build (through ./drizzle-sql.cjs). Why
// not `import { sql } from "drizzle-orm/sql/sql"`: Node 24's ESM loader looks up the package scope of
// every .js file it loads and re-parses the package's whole "exports" map each time
// (package_json_reader's lazy getter, defeated by an object spread in getPackageScopeConfig).
// drizzle-orm's map has 447 entries (130 kB of JSON) and sql/sql pulls in 16 files: ~45 ms of CPU on
// Node 24 against ~15 on Node 20. The CommonJS loader caches the parsed package.json, so the same
// files cost 14-20 ms on both (npm run bench:cold lists both ways). Functions get the template only from here: a test keeps
// drizzle-orm out of every function's module graph otherwise.
export const sql = (drizzleSql as typeof drizzle).sql;
export type SQL = drizzle.SQL;
