import { createRequire } from "node:module";
import type * as drizzleSql from "drizzle-orm/sql/sql";

// drizzle's `sql` template, loaded from drizzle-orm's CommonJS build. Why not `import`: Node 24's ESM
// loader looks up the package scope of every .js file it loads and re-parses the package's whole
// "exports" map each time (package_json_reader's lazy getter, defeated by an object spread in
// getPackageScopeConfig). drizzle-orm's map has 447 entries (130 kB of JSON) and sql/sql pulls in 16
// files: 40-60 ms on Node 24 against 13-16 ms on Node 20. The CommonJS loader caches the parsed
// package.json, so the same 16 files load in ~14 ms on both. Vercel's file tracer (nft) follows
// `createRequire(import.meta.url)` and a require() of a string literal, so the .cjs files are deployed.
// Everything the functions import goes through here; a test keeps `drizzle-orm` imports out of api/ and lib/.
const require = createRequire(import.meta.url);
const loaded = require("drizzle-orm/sql/sql") as typeof drizzleSql;

export const sql = loaded.sql;
export type SQL = drizzleSql.SQL;
