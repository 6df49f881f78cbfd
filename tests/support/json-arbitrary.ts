import fc from "fast-check";

// fast-check arbitraries from the JSON Schemas of openapi.json (the subset @valibot/to-json-schema
// emits: $ref, allOf, anyOf/oneOf, const, enum, type (also as a list), string formats and patterns,
// number ranges, arrays, objects with required and additionalProperties). `valid` values satisfy
// the schema as JSON Schema says it; `invalid` ones break exactly one rule of it somewhere.

export type JsonSchema = {
  $ref?: string;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  type?: string | string[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  default?: unknown;
};

export type Resolve = (ref: string) => JsonSchema;

// Outbound addresses in generated URLs are loopback only: a fuzzed webhook or image URL must never
// make the server call another host (port 9 is discard: nothing listens there).
const LOOPBACK_URL = fc.webPath().map((path) => `http://127.0.0.1:9${path.startsWith("/") ? path : `/${path}`}`);

const day = fc.date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2090-12-31T00:00:00Z"), noInvalidDate: true });

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 40, 200));
  const clamp = (s: string) => (s.length > max ? s.slice(0, max) : s.padEnd(min, "x"));
  switch (schema.format) {
    case "uuid":
      return fc.uuid();
    case "date":
      return day.map((d) => d.toISOString().slice(0, 10));
    case "date-time":
      return day.map((d) => d.toISOString());
    case "email":
      return fc.emailAddress().filter((e) => e.length <= max);
    case "uri":
    case "url":
      return LOOPBACK_URL.filter((u) => u.length <= max);
  }
  if (schema.pattern) {
    try {
      // Only the schema's own length bounds filter a pattern's strings: the default cap of 40 would
      // refuse every string of a pattern like ^[A-Za-z0-9_-]{43}$, and a filter that refuses
      // everything never returns.
      const [lo, hi] = [schema.minLength ?? 0, schema.maxLength ?? Infinity];
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= lo && s.length <= hi);
    } catch {
      // A pattern fast-check cannot generate from: any text of the right length.
    }
  }
  return fc.string({ minLength: min, maxLength: max, unit: "grapheme" }).map(clamp);
}

function numberArb(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
  const hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1_000_000);
  return integer ? fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }) : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
}

export function validArb(schema: JsonSchema, resolve: Resolve, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return validArb(resolve(schema.$ref), resolve, depth);
  if (schema.allOf?.length) return validArb(Object.assign({}, ...schema.allOf.map((s) => (s.$ref ? resolve(s.$ref) : s))), resolve, depth);
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.length) return fc.oneof(...options.map((o) => validArb(o, resolve, depth + 1)));
  if ("const" in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : ["string"];
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case "null":
          return fc.constant(null);
        case "boolean":
          return fc.boolean();
        case "integer":
          return numberArb(schema, true);
        case "number":
          return numberArb(schema, false);
        case "array": {
          const minLength = schema.minItems ?? 0;
          const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 3, 3));
          return fc.array(validArb(schema.items ?? {}, resolve, depth + 1), { minLength, maxLength });
        }
        case "object": {
          const properties = schema.properties ?? {};
          const required = new Set(schema.required ?? []);
          const entries = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, validArb(sub, resolve, depth + 1)]));
          return fc.record(entries, { requiredKeys: Object.keys(properties).filter((k) => required.has(k)) });
        }
        default:
          return stringArb(schema);
      }
    }),
  );
}

/** Where in a value one rule is broken, for the message of a failing case. */
export interface Broken {
  value: unknown;
  rule: string;
}

/**
 * Values that break one rule of `schema`: a wrong type, a missing required field, an unknown field
 * where none are allowed, a number or length out of range, a value outside an enum — at the top or
 * inside one field. undefined when the schema accepts anything.
 */
export function invalidArb(schema: JsonSchema, resolve: Resolve, depth = 0): fc.Arbitrary<Broken> | undefined {
  if (schema.$ref) return invalidArb(resolve(schema.$ref), resolve, depth);
  if (schema.allOf?.length) return invalidArb(Object.assign({}, ...schema.allOf.map((s) => (s.$ref ? resolve(s.$ref) : s))), resolve, depth);
  if (schema.anyOf || schema.oneOf) return undefined;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0 && !schema.enum && !("const" in schema)) return undefined;
  const breaks: fc.Arbitrary<Broken>[] = [];
  // A value of a type the schema does not allow.
  const wrong = [
    ["string", fc.constant("not-the-right-type")],
    ["number", fc.constant(12.5)],
    ["boolean", fc.constant(true)],
    ["object", fc.constant({ unexpected: 1 })],
    ["array", fc.constant([1, "two"])],
    ["null", fc.constant(null)],
  ] as const;
  const other = wrong.filter(([type]) => !types.includes(type) && !(type === "number" && types.includes("integer")) && !(schema.enum?.some((e) => typeof e === type)));
  if (other.length && types.length) breaks.push(fc.constantFrom(...other).chain(([type, arb]) => arb.map((value) => ({ value, rule: `type ${type}` }))));
  if (schema.enum && !types.includes("null")) breaks.push(fc.constant({ value: "__not_in_enum__", rule: "enum" }));
  if (types.includes("integer") || types.includes("number")) {
    if (schema.maximum !== undefined) breaks.push(fc.constant({ value: schema.maximum + 1, rule: "maximum" }));
    if (schema.minimum !== undefined) breaks.push(fc.constant({ value: schema.minimum - 1, rule: "minimum" }));
    if (types.includes("integer") && !types.includes("number")) breaks.push(fc.constant({ value: 1.5, rule: "integer" }));
  }
  if (types.includes("string")) {
    if (schema.maxLength !== undefined && schema.maxLength < 5000) breaks.push(fc.constant({ value: "y".repeat(schema.maxLength + 1), rule: "maxLength" }));
    if (schema.pattern && !new RegExp(schema.pattern).test("~ !")) breaks.push(fc.constant({ value: "~ !", rule: "pattern" }));
    if (schema.format === "uuid") breaks.push(fc.constant({ value: "not-a-uuid", rule: "format uuid" }));
    if (schema.format === "date") breaks.push(fc.constant({ value: "2026-02-30", rule: "format date" }));
  }
  if (types.includes("object") && depth < 3) {
    const properties = schema.properties ?? {};
    for (const key of schema.required ?? []) {
      breaks.push(validArb(schema, resolve, depth).map((value) => {
        const copy = { ...(value as Record<string, unknown>) };
        delete copy[key];
        return { value: copy, rule: `required ${key}` };
      }));
    }
    if (schema.additionalProperties === false) {
      breaks.push(validArb(schema, resolve, depth).map((value) => ({ value: { ...(value as object), __unknown_field__: 1 }, rule: "additionalProperties" })));
    }
    for (const [key, sub] of Object.entries(properties)) {
      const inner = invalidArb(sub, resolve, depth + 1);
      if (!inner) continue;
      breaks.push(fc.tuple(validArb(schema, resolve, depth), inner).map(([value, broken]) => ({ value: { ...(value as object), [key]: broken.value }, rule: `${key}: ${broken.rule}` })));
    }
  }
  if (types.includes("array") && schema.items && depth < 3) {
    const inner = invalidArb(schema.items, resolve, depth + 1);
    if (inner) breaks.push(inner.map((broken) => ({ value: [broken.value], rule: `[0]: ${broken.rule}` })));
  }
  return breaks.length ? fc.oneof(...breaks) : undefined;
}
