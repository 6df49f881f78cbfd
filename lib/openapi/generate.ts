import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { discoverRoutes } from "../dev/routes.js";
import type { Handler } from "../http/route.js";
import type { Schema } from "../http/validation.js";
import { ROUTES } from "../../tests/support/catalog.js";
import { buildSpec, type DeclaredRoute, type Method } from "./build.js";

// `npm run openapi`: writes openapi.json (committed; GET /api/openapi.json serves it, the contract
// tests validate every answer against it, and tests/openapi.test.ts fails when it is stale). A
// development script: it reads the route catalog (tests/support/catalog.ts) for example bodies and
// people-only routes, so it is never part of a function.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SPEC_FILE = join(ROOT, "openapi.json");
/** The /docs page's renderer: Scalar's standalone bundle, served from our origin (public/docs/). */
export const SCALAR_BUNDLE = join(ROOT, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
export const SCALAR_COPY = join(ROOT, "public", "docs", "scalar.js");
const METHODS: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "schema";

/** Every api/ route() declaration, by method and pattern. */
export async function declaredRoutes(): Promise<DeclaredRoute[]> {
  const routes: DeclaredRoute[] = [];
  for (const file of discoverRoutes(join(ROOT, "api"))) {
    const module = (await import(pathToFileURL(file.file).href)) as Record<string, Handler | undefined>;
    for (const method of METHODS) {
      const handler = module[method];
      if (handler?.route) routes.push({ method, pattern: file.pattern, route: handler.route });
    }
  }
  return routes;
}

/** Named schemas: every schema exported by lib/<domain>/schemas.ts, and the error shape as `Error`. */
async function namedSchemas(): Promise<Record<string, Schema>> {
  const named: Record<string, Schema> = {};
  const outputs = await import("../http/outputs.js");
  named.Error = outputs.ErrorOut;
  named.Pagination = outputs.PaginationOut;
  for (const domain of readdirSync(join(ROOT, "lib"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(join(ROOT, "lib", domain, "schemas.ts")).href)) as Record<string, unknown>;
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(`${domain}/schemas`)) continue;
      throw error;
    }
    for (const [name, value] of Object.entries(module)) {
      if (!isSchema(value)) continue;
      if (named[name] && named[name] !== value) throw new Error(`two schemas are named ${name}; rename one (components need unique names)`);
      named[name] = value;
    }
  }
  return named;
}

export async function generateSpec(): Promise<Record<string, unknown>> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return buildSpec({
    routes: await declaredRoutes(),
    components: await namedSchemas(),
    hints: (method, pattern) => {
      const spec = ROUTES.find((r) => r.method === method && r.pattern === pattern);
      return spec && { example: spec.body, people: spec.people === true };
    },
    version: pkg.version,
  });
}

export const specText = (spec: unknown) => `${JSON.stringify(spec, null, 2)}\n`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const text = specText(await generateSpec());
  writeFileSync(SPEC_FILE, text);
  copyFileSync(SCALAR_BUNDLE, SCALAR_COPY);
  const spec = JSON.parse(text) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  console.log(`openapi.json: ${Object.keys(spec.paths).length} paths, ${operations} operations, ${text.length} bytes`);
  process.exit(0);
}
