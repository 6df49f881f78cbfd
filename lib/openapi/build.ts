import { toJsonSchema, type ConversionConfig } from "@valibot/to-json-schema";
import type { Handler, RouteAuth, RoutePolicy } from "../http/route.js";
import type { Schema } from "../http/validation.js";
import { errorCodesOf } from "./errors.js";

// The OpenAPI 3.1 document, built from what the code declares: every route() of every api/ file
// (path, auth, params, query, body, output, status, errors, formats), the valibot schemas (JSON
// Schema 2020-12 through @valibot/to-json-schema, named schemas as components by reference) and the
// route catalog's hints (example bodies, people-only routes). Nothing here is written by hand per
// route: `npm run openapi` regenerates openapi.json and a test fails when the committed file differs.

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Policy = RoutePolicy<RouteAuth, unknown, unknown, unknown>;
type Json = Record<string, unknown>;

export interface DeclaredRoute {
  method: Method;
  /** Vercel's file pattern, /api/items/[id]. */
  pattern: string;
  route: Handler["route"];
}

export interface RouteHints {
  /** A valid request body (the catalog's, which the shared route checks send). */
  example?: unknown;
  /** API keys are refused (403): only people (ID tokens) may call it. */
  people?: boolean;
}

export interface BuildInput {
  routes: DeclaredRoute[];
  /** Named schemas (exports of lib/<domain>/schemas.ts): become components, referenced by $ref. */
  components: Record<string, Schema>;
  hints: (method: Method, pattern: string) => RouteHints | undefined;
  version: string;
}

const REF_PREFIX = "#/components/schemas/";

/** Tags by the first path segment after /api; a new domain gets a tag named after its segment. */
const TAGS: Record<string, { name: string; description: string }> = {
  health: { name: "Health", description: "Liveness and dependency checks for load balancers and uptime monitors." },
  items: { name: "Items", description: "The catalogue: items, stock levels, the stock ledger, images." },
  customers: { name: "Customers", description: "The people who order." },
  orders: { name: "Orders", description: "Orders from every channel; stock moves with them, exactly once." },
  feedbacks: { name: "Feedback", description: "Customer feedback on orders, tokens for feedback links, statistics." },
  public: { name: "Public", description: "Routes for shoppers, without a token (rate limited per IP)." },
  analytics: { name: "Analytics", description: "Sales, dashboard, inventory, reorder suggestions and demand forecasts, in the tenant's days." },
  events: { name: "Events", description: "The audit trail in commit order, the event catalog and the live event stream (SSE)." },
  members: { name: "Members", description: "Who belongs to the tenant, with which role; invitations." },
  tenant: { name: "Tenant", description: "The current tenant's settings, deletion and ownership." },
  tenants: { name: "Tenants", description: "Onboarding: creating and restoring tenants as a signed-in person." },
  me: { name: "Tenants", description: "" },
  "api-keys": { name: "API keys", description: "Machine credentials bound to one tenant and a role." },
  cron: { name: "Cron", description: "Scheduled jobs, called by Vercel Cron with the cron secret." },
  dev: { name: "Development", description: "Local development helpers (404 in production)." },
  openapi: { name: "Reference", description: "This document." },
  metrics: { name: "Operations", description: "Prometheus metrics for monitoring (Bearer METRICS_TOKEN)." },
};

const tagOf = (pattern: string) => {
  const segment = pattern.split("/")[2] ?? "api";
  return TAGS[segment]?.name ?? segment.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join(" ");
};

const oasPath = (pattern: string) => pattern.replace(/\[(?:\.\.\.)?(\w+)\]/g, "{$1}");

function operationId(method: Method, pattern: string): string {
  const words = pattern
    .replace(/^\/api\/?/, "")
    .split("/")
    .filter(Boolean)
    .flatMap((s) => (s.startsWith("[") ? ["by", s.slice(1, -1)] : s.split("-")));
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function summaryOf(method: Method, pattern: string): string {
  const segments = pattern.split("/").filter(Boolean).slice(1);
  const last = segments.at(-1) ?? "";
  const human = (s: string) => s.replace(/^\[|\]$/g, "").replace(/-/g, " ");
  const singular = (s: string) => s.replace(/s$/, "");
  const subject = segments.filter((s) => !s.startsWith("[")).map(human).join(" ");
  if (last.startsWith("[")) {
    const thing = singular(human(segments.filter((s) => !s.startsWith("[")).at(-1) ?? ""));
    return `${{ GET: "Get", PUT: "Update", PATCH: "Change", DELETE: "Delete", POST: "Act on" }[method]} one ${thing} by ${human(last)}`;
  }
  return `${{ GET: "Read", PUT: "Replace", PATCH: "Change", DELETE: "Delete", POST: "Post to" }[method]} ${subject}`;
}

const ROLE_TEXT: Record<RouteAuth, string> = {
  public: "Public: no token.",
  cron: "Vercel Cron only: `Authorization: Bearer $CRON_SECRET`.",
  user: "Any signed-in person (an ID token), no tenant needed; API keys get 403.",
  staff: "Role **staff** or above in the tenant.",
  admin: "Role **admin** or above in the tenant.",
  owner: "Role **owner** in the tenant.",
};

function securityOf(auth: RouteAuth, people: boolean, bearerSecret: string | undefined, shopper: boolean): Json[] {
  if (bearerSecret) return [{ [bearerSecret]: [] }];
  // Anonymous (token, session) or a signed-in shopper.
  if (shopper) return [{}, { googleIdToken: [] }];
  if (auth === "public") return [];
  if (auth === "cron") return [{ cronSecret: [] }];
  if (auth === "user" || people) return [{ googleIdToken: [] }];
  return [{ googleIdToken: [] }, { apiKey: [] }];
}

/** Converts every schema with the same configuration: 2020-12, named schemas by reference, checks that JSON Schema cannot say left out. */
function converter(components: Record<string, Schema>) {
  // Bodies and outputs: every check JSON Schema can say, transformations skipped (a trimmed
  // string's length limits still apply). Query and path parameters arrive as text and are parsed
  // into numbers or booleans: their schema is the text before the first transformation.
  const config: ConversionConfig = { target: "draft-2020-12", errorMode: "ignore", typeMode: "ignore", definitions: components as ConversionConfig["definitions"] };
  const generated: Record<string, Json> = {};
  const keep = (defs: unknown) => {
    for (const [name, def] of Object.entries((defs as Record<string, Json> | undefined) ?? {})) if (!components[name]) generated[name] ??= def;
  };
  const fix = (value: unknown): Json => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', `"${REF_PREFIX}`)) as Json;
  return {
    schema(schema: unknown, mode: "ignore" | "input" = "ignore"): Json {
      const { $schema: _, $defs, ...rest } = toJsonSchema(schema as Schema, { ...config, typeMode: mode }) as Json;
      keep($defs);
      return fix(rest);
    },
    component(name: string): Json {
      // Definitions the converter made itself (recursive schemas: v.lazy) are taken as it made them.
      if (!components[name]) return fix(generated[name] ?? {});
      // Converted without its own definition, so the component is its body, not a $ref to itself.
      const others = Object.fromEntries(Object.entries(components).filter(([n]) => n !== name));
      const { $schema: _, $defs, ...rest } = toJsonSchema(components[name]!, { ...config, definitions: others as ConversionConfig["definitions"] }) as Json;
      keep($defs);
      return fix(rest);
    },
  };
}

function entriesOf(schema: unknown): Record<string, unknown> {
  let node = schema as { entries?: Record<string, unknown>; pipe?: unknown[] } | undefined;
  // A piped object (v.pipe(v.strictObject(...), v.check(...))) keeps its entries on the first step.
  while (node && !node.entries && node.pipe) node = node.pipe[0] as typeof node;
  return node?.entries ?? {};
}

const isOptional = (schema: unknown) => ["optional", "nullish", "exact_optional", "undefinedable"].includes((schema as { type?: string }).type ?? "");

/** Whether an output schema carries a top-level `version` (sent as ETag). */
const hasVersion = (schema: unknown) => "version" in entriesOf(schema);

const header = (description: string, schema: Json = { type: "string" }) => ({ description, schema });

export function buildSpec(input: BuildInput): Json {
  const convert = converter(input.components);
  const paths: Record<string, Json> = {};
  const tagsUsed = new Set<string>();
  const routes = [...input.routes].sort((a, b) => a.pattern.localeCompare(b.pattern) || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
  for (const { method, pattern, route } of routes) {
    const policy = route.policy as Policy;
    const hints = input.hints(method, pattern) ?? {};
    const tag = tagOf(pattern);
    tagsUsed.add(tag);
    const parameters: Json[] = [];
    const paramEntries = entriesOf(policy.params);
    for (const name of pattern.match(/\[(?:\.\.\.)?(\w+)\]/g)?.map((s) => s.replace(/[[\].]/g, "")) ?? []) {
      parameters.push({ name, in: "path", required: true, schema: paramEntries[name] ? convert.schema(paramEntries[name], "input") : { type: "string" } });
    }
    for (const [name, schema] of Object.entries(entriesOf(policy.query))) {
      parameters.push({ name, in: "query", required: !isOptional(schema), schema: convert.schema(schema, "input") });
    }
    const tenantScoped = policy.auth === "staff" || policy.auth === "admin" || policy.auth === "owner";
    if (tenantScoped) {
      parameters.push({ name: "X-Tenant", in: "header", required: false, description: "The tenant's slug, for a person who belongs to several (without it: 400 listing them). An API key's own tenant, or 403.", schema: { type: "string" } });
    }
    if (policy.idempotent) {
      parameters.push({
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: "Makes the request safe to retry: the same key and body replay the first success (`Idempotent-Replayed: true`); the same key with another body is 422 `idempotency_mismatch`. Scoped to the caller and this route. 1-255 visible ASCII characters.",
        schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7E]+$" },
      });
    }
    if (policy.shopSession) {
      parameters.push({ name: "X-Session-ID", in: "header", required: false, description: "The shop session (a guest's cart) this answer's `X-Session-ID` gave you; the `session_id` cookie works too. Without one a new session starts. Server-issued only.", schema: { type: "string" } });
    }
    const codes = errorCodesOf(method, policy);
    const allCodes = [...codes.values()].flat();
    if (allCodes.includes("precondition_failed")) {
      parameters.push({
        name: "If-Match",
        in: "header",
        required: false,
        description: `The ETag the change was decided on (\`"v<version>"\`, or \`*\`): 412 when the resource changed since.${allCodes.includes("precondition_required") ? " Required (428) when the change sets stock." : ""}`,
        schema: { type: "string" },
      });
    }
    const versioned = (policy.output !== undefined && hasVersion(policy.output)) || policy.conditional === true;
    if (method === "GET" && versioned) {
      parameters.push({ name: "If-None-Match", in: "header", required: false, description: "The ETag you have: 304 without a body while it is current.", schema: { type: "string" } });
    }

    const operation: Json = {
      operationId: operationId(method, pattern),
      summary: summaryOf(method, pattern),
      description: [ROLE_TEXT[policy.auth], policy.shopper ? "A shopper signed in with Google (`Authorization: Bearer <ID token>`, verified email) also reaches the orders placed with their email, from any session." : "", hints.people && policy.auth !== "user" ? "People only: API keys get 403." : "", policy.lineOutput ? "A streamed download (`Content-Disposition: attachment`): CSV by default, JSON Lines with `?format=jsonl`." : policy.formats?.includes("text/csv") ? "CSV with `Accept: text/csv` or `?format=csv`." : ""].filter(Boolean).join(" "),
      tags: [tag],
      security: securityOf(policy.auth, hints.people === true, policy.bearerSecret, policy.shopper === true),
      "x-tally-auth": policy.auth,
    };
    if (parameters.length) operation.parameters = parameters;
    if (policy.body) {
      const media: Json = { schema: convert.schema(policy.body) };
      if (hints.example !== undefined) media.example = hints.example;
      operation.requestBody = { required: true, content: { "application/json": media } };
    } else if (policy.rawBody) {
      const schemas = policy.rawBodySchemas ?? {};
      operation.requestBody = { required: true, content: Object.fromEntries(policy.rawBody.map((type) => [type, schemas[type] ? { schema: convert.schema(schemas[type]) } : {}])) };
    }

    const responses: Record<string, Json> = {};
    const statuses: number[] = Array.isArray(policy.status) ? [...policy.status] : [(policy.status as number | undefined) ?? (policy.output || policy.formats ? 200 : 204)];
    for (const status of statuses) {
      const successHeaders: Json = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } };
      if (versioned) successHeaders.ETag = header(policy.conditional ? "The document's content hash." : 'The resource\'s version, `"v<version>"`.');
      if (status === 201) successHeaders.Location = header("Where the created resource lives.");
      if (policy.shopSession) successHeaders["X-Session-ID"] = header("The shop session to send back on the next request (also set as the HttpOnly `session_id` cookie).");
      if (policy.idempotent) successHeaders["Idempotent-Replayed"] = header("`true` when this answer replays the first success of the same Idempotency-Key.");
      if (policy.rateLimit !== false && policy.auth !== "cron") {
        for (const name of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]) successHeaders[name] = { $ref: `#/components/headers/${name}` };
      }
      if (status === 204) {
        responses["204"] = { description: "Done; no body.", headers: successHeaders };
      } else {
        const content: Json = {};
        if (policy.output) content["application/json"] = { schema: convert.schema(policy.output) };
        for (const format of policy.formats ?? []) content[format] = format === "application/octet-stream" ? {} : { schema: { type: "string" } };
        // A streamed export: each JSON Lines line is one row of this schema (OpenAPI 3.1 has no item schema for a stream).
        if (policy.lineOutput && content["application/x-ndjson"]) content["application/x-ndjson"] = { schema: { type: "string", description: "One JSON object a line (JSON Lines); each line matches `x-line-schema`." }, "x-line-schema": convert.schema(policy.lineOutput) };
        responses[String(status)] = { description: status === 201 ? "Created." : "OK.", headers: successHeaders, content };
      }
    }
    if (method === "GET" && versioned) responses["304"] = { description: "Not modified: the If-None-Match ETag is current." };
    for (const [errorStatus, list] of codes) {
      const base = policy.errorOutput && errorStatus === 503 ? convert.schema(policy.errorOutput) : { $ref: `${REF_PREFIX}Error` };
      responses[String(errorStatus)] = {
        description: `Error: ${list.map((c) => `\`${c}\``).join(", ")}.`,
        headers: { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } },
        content: {
          "application/json": {
            schema: { allOf: [base], properties: { error: { properties: { code: { enum: list } } } } },
          },
        },
      };
    }
    operation.responses = responses;
    (paths[oasPath(pattern)] ??= {})[method.toLowerCase()] = operation;
  }

  const document: Json = {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Tally API",
      version: input.version,
      summary: "Orders, stock, customers and feedback for small sellers.",
      description:
        "Every route is under `/api`. Errors always have the shape `{\"error\": {\"code\", \"message\", \"requestId\", \"details\"?}}`; each operation lists the codes it can answer. Money is integer minor units of the tenant's currency; timestamps are ISO 8601 UTC; days are the tenant's days.",
    },
    servers: [{ url: "/", description: "This deployment" }],
    tags: Object.values(TAGS)
      .filter((t, i, all) => tagsUsed.has(t.name) && all.findIndex((o) => o.name === t.name) === i)
      .concat([...tagsUsed].filter((name) => !Object.values(TAGS).some((t) => t.name === name)).map((name) => ({ name, description: `${name} routes.` })))
      .map((t) => ({ name: t.name, description: t.description })),
    paths,
    components: {
      securitySchemes: {
        googleIdToken: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A Google ID token (RS256, audience GOOGLE_CLIENT_ID). The person needs a membership in the tenant; X-Tenant picks one of several." },
        apiKey: { type: "http", scheme: "bearer", bearerFormat: "tly_live_… / tly_test_…", description: "An API key, bound to one tenant and a role; created by an admin with POST /api/api-keys." },
        cronSecret: { type: "http", scheme: "bearer", description: "CRON_SECRET, sent by Vercel Cron." },
        metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN, sent by your Prometheus scraper (README \"Metrics and logs\"); /api/metrics is 404 while it is unset." },
      },
      headers: {
        "X-Request-Id": header("The request's id (yours if sane, else generated); errors carry it too."),
        "RateLimit-Limit": header("Requests allowed per window.", { type: "integer" }),
        "RateLimit-Remaining": header("Requests left in this window.", { type: "integer" }),
        "RateLimit-Reset": header("Seconds until the window resets.", { type: "integer" }),
      },
      schemas: {} as Json,
    },
  };
  // Only components something refers to (directly or through another component).
  const schemas = (document.components as { schemas: Json }).schemas;
  const wanted = new Set<string>(["Error"]);
  const queue = [JSON.stringify(paths)];
  while (queue.length) {
    for (const match of queue.pop()!.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      const name = match[1]!;
      if (wanted.has(name) && schemas[name]) continue;
      wanted.add(name);
      schemas[name] = convert.component(name);
      queue.push(JSON.stringify(schemas[name]));
    }
  }
  if (!schemas.Error) schemas.Error = convert.component("Error");
  document.components = { ...(document.components as Json), schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))) };
  return document;
}

const METHODS: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
