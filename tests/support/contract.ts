import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { compilePattern, type PathPattern } from "../../lib/http/path.js";

// The contract check behind every call() of the test client: each answer the route suites provoke
// (happy paths, errors, the shared route checks) must be one the committed openapi.json documents —
// its status listed for the operation, its content type among the documented ones, its body valid
// against the documented schema (ajv, JSON Schema 2020-12, formats checked). Error bodies carry the
// operation's code enum, so an undocumented error code fails too.

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
}

interface State {
  spec: Spec;
  ajv: Ajv2020;
  paths: { key: string; compiled: PathPattern }[];
  validators: Map<string, ValidateFunction>;
}

let state: State | undefined;

function load(): State {
  if (state) return state;
  const spec = JSON.parse(readFileSync(join(ROOT, "openapi.json"), "utf8")) as Spec;
  // strict: false — the document is an OpenAPI object, not a schema: its other keys are not keywords.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(spec as object, "openapi");
  const paths = Object.keys(spec.paths)
    .map((key) => ({ key, compiled: compilePattern(key.replace(/\{(\w+)\}/g, "[$1]")) }))
    .sort((a, b) => (a.compiled.rank < b.compiled.rank ? -1 : a.compiled.rank > b.compiled.rank ? 1 : 0));
  state = { spec, ajv, paths, validators: new Map() };
  return state;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** Where the spec documents `method path`, or undefined for paths it does not describe (unknown routes, static files). */
export function operationOf(method: string, pathname: string): { key: string; operation: Operation | undefined } | undefined {
  const s = load();
  const found = s.paths.find((p) => p.compiled.regex.test(pathname));
  if (!found) return undefined;
  return { key: found.key, operation: s.spec.paths[found.key]![method.toLowerCase()] };
}

/** The ways an answer breaks the contract (empty: it keeps it). */
export function contractProblems(method: string, url: string, status: number, contentType: string | null, text: string): string[] {
  if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) return [];
  const pathname = new URL(url, "http://localhost").pathname;
  const where = operationOf(method, pathname);
  if (!where) return [];
  const what = `${method} ${where.key} answered ${status}`;
  // A method the route file does not export: the runtime's 405, not an operation.
  if (!where.operation) return status === 405 ? [] : [`${what}, but the spec has no ${method} there`];
  const response = where.operation.responses[String(status)];
  if (!response) return [`${what}: status not documented (documented: ${Object.keys(where.operation.responses).join(", ")})`];
  if (!response.content) return text === "" ? [] : [`${what}: documented without a body, but it has one`];
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const media = response.content[type] ?? (type.startsWith("image/") ? response.content["application/octet-stream"] : undefined);
  if (!media) return [`${what} with content type "${type}": documented ${Object.keys(response.content).join(", ")}`];
  if (type !== "application/json" || media.schema === undefined) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`${what}: the body is not JSON: ${text.slice(0, 120)}`];
  }
  const s = load();
  const ref = `openapi#/${pointer("paths", where.key, method.toLowerCase(), "responses", String(status), "content", type, "schema")}`;
  let validate = s.validators.get(ref);
  if (!validate) s.validators.set(ref, (validate = s.ajv.compile({ $ref: ref })));
  if (validate(body)) return [];
  return (validate.errors ?? []).slice(0, 8).map((e) => `${what}: body${e.instancePath} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""} — ${text.slice(0, 200)}`);
}

/** The spec's document, and a validator for the schema at a JSON pointer inside it (the fuzz checks what it generates). */
export function specDocument(): Spec & Record<string, unknown> {
  return load().spec as Spec & Record<string, unknown>;
}

export function validatorAt(...path: string[]): ValidateFunction {
  const s = load();
  const ref = `openapi#/${pointer(...path)}`;
  let validate = s.validators.get(ref);
  if (!validate) s.validators.set(ref, (validate = s.ajv.compile({ $ref: ref })));
  return validate;
}
