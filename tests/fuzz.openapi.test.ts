import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTES, type RouteSpec } from "./support/catalog.js";
import { call, type CallResult } from "./support/client.js";
import { specDocument, validatorAt } from "./support/contract.js";
import type { TestTenant } from "./support/fixtures.js";
import { invalidArb, validArb, type JsonSchema } from "./support/json-arbitrary.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Property-based fuzz that walks every operation of openapi.json itself (tests/fuzz.test.ts covers
// hostile text in every schema field): path, query and body values generated from the operation's
// request schemas. Inputs valid by the spec get a documented answer — 2xx, or a 4xx for what JSON
// Schema cannot say (an unknown id, a business rule) — and inputs that break one rule of the spec a
// 4xx; never a 5xx. Every answer also passes the contract check of the test client (status, content
// type and body documented). Runs per operation: FUZZ_RUNS (default 4 valid + 4 invalid), on PGlite
// in `npm test` and on real Postgres where TEST_DATABASE_URL is set (CI); the neon-http bridges are
// left to the other suites, the answers do not depend on the driver.

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS) || 4);
const SEED = Number(process.env.FUZZ_SEED) || undefined;

type Parameter = { name: string; in: "path" | "query" | "header"; required?: boolean; schema: JsonSchema };
type Operation = {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: JsonSchema; example?: unknown }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
};

const spec = specDocument() as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, JsonSchema> } };
const resolve = (ref: string) => spec.components.schemas[ref.replace("#/components/schemas/", "")]!;
const operations = Object.entries(spec.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase() as RouteSpec["method"], op })));
const catalogOf = (method: string, path: string) => ROUTES.find((r) => r.method === method && r.pattern === path.replace(/\{(\w+)\}/g, "[$1]"))!;
const isStream = (op: Operation) => Object.values(op.responses).some((r) => r.content && "text/event-stream" in r.content);

interface Request {
  path: string;
  query: Record<string, string>;
  body?: unknown;
  raw?: Uint8Array;
  headers: Record<string, string>;
  /** What the case breaks (invalid cases). */
  broken?: string;
}

/** Everything of a request but its path: query parameters, headers and body, valid by the spec, or with one rule broken. */
function requestArb(path: string, method: string, op: Operation, mode: "valid" | "invalid"): fc.Arbitrary<Omit<Request, "path"> & { pathParams: Record<string, string>; breakPath?: string }> {
  const params = op.parameters ?? [];
  const pointer = (where: string, name: string) => ["paths", path, method.toLowerCase(), "parameters", String(params.findIndex((p) => p.in === where && p.name === name)), "schema"];
  const valueOf = (p: Parameter) =>
    validArb(p.schema, resolve).map((v) => String(v));
  const query = fc.record(
    Object.fromEntries(params.filter((p) => p.in === "query").map((p) => [p.name, valueOf(p)])),
    { requiredKeys: params.filter((p) => p.in === "query" && p.required).map((p) => p.name) },
  );
  const pathParams = fc.record(Object.fromEntries(params.filter((p) => p.in === "path").map((p) => [p.name, valueOf(p)])));
  const idempotency = params.some((p) => p.name === "Idempotency-Key") ? fc.option(fc.stringMatching(/^[A-Za-z0-9-]{8,40}$/), { nil: undefined }) : fc.constant(undefined);
  const ifMatch = params.some((p) => p.name === "If-Match") ? fc.option(fc.constantFrom('"v1"', '"v2"', "*"), { nil: undefined }) : fc.constant(undefined);
  const json = op.requestBody?.content["application/json"];
  const rawTypes = op.requestBody ? Object.keys(op.requestBody.content).filter((t) => t !== "application/json") : [];
  const bodyPointer = ["paths", path, method.toLowerCase(), "requestBody", "content", "application/json", "schema"];
  const validBody: fc.Arbitrary<unknown> = json?.schema
    ? fc.oneof(
        validArb(json.schema, resolve),
        ...(json.example !== undefined ? [fc.constant(json.example)] : []),
      )
    : fc.constant(undefined);
  const base = fc.record({ query, pathParams, body: validBody, idempotency, ifMatch, rawType: rawTypes.length ? fc.constantFrom(...rawTypes) : fc.constant(undefined), raw: fc.uint8Array({ maxLength: 64 }) });
  type Drawn = { query: Partial<Record<string, string>>; pathParams: Record<string, string>; body: unknown; idempotency: string | undefined; ifMatch: string | undefined; rawType: string | undefined; raw: Uint8Array };
  const assemble = (r: Drawn) => {
    const headers: Record<string, string> = {};
    if (r.idempotency) headers["idempotency-key"] = r.idempotency;
    if (r.ifMatch) headers["if-match"] = r.ifMatch;
    if (r.rawType) headers["content-type"] = r.rawType;
    return { query: r.query as Record<string, string>, pathParams: r.pathParams as Record<string, string>, body: r.body, raw: r.rawType ? r.raw : undefined, headers };
  };
  if (mode === "valid") return base.map(assemble);

  // One broken rule: in the body, in one query parameter, or in one path parameter.
  // Whether a break really breaks the spec is decided by the spec's own validator (`refused`): a
  // generated value it accepts after all is held to the valid cases' rule instead.
  const breaks: fc.Arbitrary<{ apply: (req: ReturnType<typeof assemble>) => void; rule: string; breakPath?: string; refused: boolean }>[] = [];
  if (json?.schema) {
    const broken = invalidArb(json.schema, resolve);
    if (broken) breaks.push(broken.map((b) => ({ apply: (req) => void (req.body = b.value), rule: `body ${b.rule}`, refused: !validatorAt(...bodyPointer)(b.value) })));
  }
  for (const p of params.filter((p) => p.in === "query" || p.in === "path")) {
    const broken = invalidArb(p.schema, resolve);
    if (!broken) continue;
    const check = validatorAt(...pointer(p.in, p.name));
    breaks.push(
      broken
        .map((b) => ({ value: typeof b.value === "string" ? b.value : JSON.stringify(b.value), rule: b.rule }))
        .map((b) =>
          p.in === "query"
            ? { apply: (req: ReturnType<typeof assemble>) => void (req.query[p.name] = b.value), rule: `?${p.name} ${b.rule}`, refused: !check(b.value) }
            : { apply: () => {}, rule: `{${p.name}} ${b.rule}`, breakPath: `${p.name}=${b.value}`, refused: b.value !== "" && !check(b.value) },
        ),
    );
  }
  if (!breaks.length) return fc.constant(undefined as never);
  return fc.tuple(base, fc.oneof(...breaks)).map(([r, b]) => {
    const req = assemble(r);
    b.apply(req);
    return { ...req, broken: b.refused ? b.rule : undefined, breakPath: b.breakPath };
  });
}

describe.each(dbTargets().filter((t) => !t.startsWith("neon")))("every operation of openapi.json, fuzzed from its own schemas, on %s", (name) => {
  const ctx = withTarget(name);
  const tally = { valid: 0, invalid: 0, byStatus: {} as Record<string, number>, operations: new Set<string>() };
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await ctx.tenant();
  });
  afterAll(() => {
    console.log(`openapi fuzz on ${name}: ${tally.operations.size} operations, ${tally.valid} valid and ${tally.invalid} invalid cases, statuses ${JSON.stringify(tally.byStatus)}`);
  });

  const send = async (spec: RouteSpec, path: string, req: Omit<Request, "path">, pathParams: Record<string, string>, breakPath?: string): Promise<CallResult> => {
    let concrete = path.replace(/\{(\w+)\}/g, (_, param: string) => encodeURIComponent(pathParams[param] ?? "x"));
    if (breakPath) {
      const [param, value] = [breakPath.slice(0, breakPath.indexOf("=")), breakPath.slice(breakPath.indexOf("=") + 1)];
      concrete = path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(p === param ? value : (pathParams[p] ?? "x")));
    }
    const url = new URL(concrete, "http://localhost");
    for (const [key, value] of Object.entries(req.query)) url.searchParams.set(key, value);
    const token = spec.role === "public" ? undefined : spec.role === "cron" ? process.env.CRON_SECRET : tenant.users.owner.token;
    const result = await call(spec.method, `${url.pathname}${url.search}`, {
      token,
      headers: req.headers,
      ...(req.raw ? { rawBody: req.raw } : req.body !== undefined ? { body: req.body } : {}),
    });
    tally.byStatus[result.status] = (tally.byStatus[result.status] ?? 0) + 1;
    return result;
  };

  for (const { path, method, op } of operations) {
    it(`${method} ${path}`, async () => {
      const spec = catalogOf(method, path);
      tally.operations.add(`${method} ${path}`);
      // Each operation gets a fresh tenant: some delete it, leave it or hand it over.
      tenant = await ctx.tenant();
      // Half the valid cases address a real resource of the tenant (the catalog's target), so they reach the handler.
      const target = spec.target ? new URL(await spec.target(ctx.db, tenant), "http://localhost").pathname : undefined;
      const runs = isStream(op) ? 1 : RUNS;
      await fc.assert(
        fc.asyncProperty(requestArb(path, method, op, "valid"), fc.boolean(), async (req, useTarget) => {
          const result = target && useTarget ? await send(spec, target, req, {}) : await send(spec, path, req, req.pathParams);
          tally.valid++;
          expect(result.status, `${method} ${path} valid: ${JSON.stringify(req).slice(0, 300)} → ${result.text.slice(0, 300)}`).toBeLessThan(500);
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
      const invalid = requestArb(path, method, op, "invalid");
      await fc.assert(
        fc.asyncProperty(invalid, async (req) => {
          if (!req) return;
          const result = await send(spec, path, req, req.pathParams, req.breakPath);
          const what = `${method} ${path} breaking ${req.broken ?? "nothing after all"}: ${JSON.stringify({ ...req, raw: undefined }).slice(0, 300)} → ${result.status} ${result.text.slice(0, 300)}`;
          expect(result.status, what).toBeLessThan(500);
          if (req.broken === undefined) return void tally.valid++;
          tally.invalid++;
          expect(result.status, what).toBeGreaterThanOrEqual(400);
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
    }, 120_000);
  }
});
