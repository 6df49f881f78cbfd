import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../lib/http/errors.js";
import { declaredRoutes, generateSpec, SPEC_FILE, specText } from "../lib/openapi/generate.js";
import { ROUTES } from "./support/catalog.js";
import { call } from "./support/client.js";

// The spec cannot drift from the code: it is generated from the route declarations (a stale
// committed file fails here), every catalog route is in it and vice versa, every route declares the
// schema of its answer, and every answer the suites provoke is checked against it (support/contract.ts).

type Operation = {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema?: { allOf?: unknown[]; properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } }> }>;
};
type Spec = {
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

const apiFiles = (dir = "api"): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? apiFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
const committed = () => readFileSync(SPEC_FILE, "utf8");
let parsed: Spec | undefined;
const spec = () => (parsed ??= JSON.parse(committed()) as Spec);
const operations = () => Object.entries(spec().paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
const toPattern = (path: string) => path.replace(/\{(\w+)\}/g, "[$1]");

describe("OpenAPI document", () => {
  it("openapi.json is what `npm run openapi` generates from the code (run it and commit the result)", async () => {
    expect(committed()).toBe(specText(await generateSpec()));
  }, 60_000);

  it("is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)", async () => {
    const result = await new Validator().validate(spec());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route of the catalog and nothing else", () => {
    const documented = operations().map((o) => `${o.method} ${toPattern(o.path)}`).sort();
    const catalog = ROUTES.map((r) => `${r.method} ${r.pattern}`).sort();
    expect(documented).toEqual(catalog);
  });

  it("every route declares what it answers: an output schema, 204, or its non-JSON formats", async () => {
    const undeclared = (await declaredRoutes())
      .filter(({ route }) => !route.policy.output && route.policy.status !== 204 && !route.policy.formats?.length)
      .map((r) => `${r.method} ${r.pattern}`);
    expect(undeclared).toEqual([]);
    for (const { path, method, op } of operations()) {
      const success = Object.entries(op.responses).filter(([status]) => status.startsWith("2"));
      // One success status; find-or-create writes document two (200 found, 201 created).
      const statuses = success.map(([status]) => status).sort();
      if (statuses.length > 1) expect(statuses, `${method} ${path}`).toEqual(["200", "201"]);
      else expect(statuses.length, `${method} ${path}`).toBe(1);
      const [status, response] = success[0]!;
      if (status !== "204") expect(Object.keys(response.content ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
    }
  });

  it("every error response lists codes of the error table with the response's own status", () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses).filter(([s]) => Number(s) >= 400)) {
        const codes = response.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum ?? [];
        expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const code of codes) {
          const statuses = code === "config_error" ? [500, 503] : [ERROR_STATUS[code as keyof typeof ERROR_STATUS]];
          expect(statuses, `${method} ${path} ${status} ${code}`).toContain(Number(status));
        }
      }
      // Server failures are possible anywhere: every operation documents them.
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(["500", "503"]));
    }
  });

  it("tags, security schemes and $refs all resolve; operation ids are unique", () => {
    const document = spec();
    const tags = new Set(document.tags.map((t) => t.name));
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      for (const tag of op.tags) expect(tags.has(tag), `${method} ${path} tag ${tag}`).toBe(true);
      for (const requirement of op.security) for (const scheme of Object.keys(requirement)) expect(document.components.securitySchemes[scheme], scheme).toBeDefined();
      expect(ids.has(op.operationId), op.operationId).toBe(false);
      ids.add(op.operationId);
    }
    for (const [, name] of committed().matchAll(/"#\/components\/schemas\/([^"]+)"/g)) expect(document.components.schemas[name!], name).toBeDefined();
    // Every tag is used by some operation.
    for (const tag of tags) expect(operations().some((o) => o.op.tags.includes(tag)), tag).toBe(true);
  });

  it("documents the headers the API reads: X-Tenant, Idempotency-Key, If-Match, If-None-Match", () => {
    const headersOf = (method: string, path: string) => (spec().paths[path]![method]!.parameters ?? []).filter((p) => p.in === "header").map((p) => p.name);
    expect(headersOf("post", "/api/orders")).toEqual(expect.arrayContaining(["X-Tenant", "Idempotency-Key"]));
    expect(headersOf("put", "/api/items/{id}")).toEqual(expect.arrayContaining(["X-Tenant", "If-Match"]));
    expect(headersOf("get", "/api/items/{id}")).toContain("If-None-Match");
    expect(headersOf("get", "/api/me")).not.toContain("X-Tenant");
    for (const route of ROUTES.filter((r) => r.idempotent)) {
      expect(headersOf(route.method.toLowerCase(), route.pattern.replace(/\[(\w+)\]/g, "{$1}")), `${route.method} ${route.pattern}`).toContain("Idempotency-Key");
    }
  });

  it("every write that reads If-Match (expectedVersion) documents 412 precondition_failed", () => {
    // The contract check only sees the 412s the suites happen to provoke; this holds every route to it.
    const missing: string[] = [];
    for (const file of apiFiles()) {
      const text = readFileSync(file, "utf8");
      for (const block of text.split(/(?=export const (?:GET|POST|PUT|PATCH|DELETE) = )/).slice(1)) {
        if (!block.includes("expectedVersion(")) continue;
        const method = /^export const (\w+)/.exec(block)![1]!;
        const path = file.replace(/^api/, "/api").replace(/(\/index)?\.ts$/, "").replace(/\[(\w+)\]/g, "{$1}");
        const codes = spec().paths[path]?.[method.toLowerCase()]?.responses["412"]?.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum;
        if (!codes?.includes("precondition_failed")) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("security follows the route's auth: public routes none, /api/metrics its token, cron the cron secret, people-only routes no API key", () => {
    const securityOf = (method: string, pattern: string) => spec().paths[pattern.replace(/\[(\w+)\]/g, "{$1}")]![method.toLowerCase()]!.security.flatMap((s) => Object.keys(s));
    for (const route of ROUTES) {
      const schemes = securityOf(route.method, route.pattern);
      if (route.pattern === "/api/metrics") expect(schemes, route.pattern).toEqual(["metricsToken"]);
      else if (route.role === "public") expect(schemes, route.pattern).toEqual(route.shopper ? ["googleIdToken"] : []);
      else if (route.role === "cron") expect(schemes, route.pattern).toEqual(["cronSecret"]);
      else if (route.role === "user" || route.people) expect(schemes, route.pattern).toEqual(["googleIdToken"]);
      else expect(schemes, route.pattern).toEqual(["googleIdToken", "apiKey"]);
    }
  });
});

describe("GET /api/openapi.json", () => {
  it("serves the committed document, public and CDN-cacheable, with an ETag", async () => {
    const result = await call("GET", "/api/openapi.json");
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toMatch(/^application\/json/);
    expect(result.json).toEqual(spec());
    expect(result.headers.get("cache-control")).toMatch(/^public, .*s-maxage=\d+/);
    expect(result.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(result.headers.get("set-cookie")).toBeNull();
  });

  it("answers every query string with the same document (garbage, NUL, huge) and If-None-Match with 304", async () => {
    const plain = await call("GET", "/api/openapi.json");
    for (const query of ["?x=%00%ff", "?x=<script>alert(1)</script>&x=2&&=", `?${"a".repeat(4000)}=1`, "?format=yaml&callback=evil"]) {
      const result = await call("GET", `/api/openapi.json${query}`);
      expect(result.status, query).toBe(200);
      expect(result.text, query).toBe(plain.text);
      expect(result.headers.get("etag"), query).toBe(plain.headers.get("etag"));
    }
    const cached = await call("GET", "/api/openapi.json?x=1", { headers: { "if-none-match": plain.headers.get("etag")! } });
    expect(cached.status).toBe(304);
    expect(cached.text).toBe("");
    expect(cached.headers.get("etag")).toBe(plain.headers.get("etag"));
    const stale = await call("GET", "/api/openapi.json", { headers: { "if-none-match": '"something-else"' } });
    expect(stale.status).toBe(200);
  });
});
