// A validator for the subset of JSON Schema the event catalog uses (type, properties, required,
// items, enum) — enough to check every emitted event against its catalog entry without a dependency.

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[] };

const typeOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;

/** The problems of `value` against `schema`, as "path: message" strings (empty: valid). */
export function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const problems: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!allowed.includes(actual) && !(actual === "integer" && allowed.includes("number"))) return [...problems, `${path}: ${actual}, expected ${allowed.join("|")}`];
  }
  if (typeOf(value) === "object") {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}.${key}: missing`);
    for (const [key, sub] of Object.entries(schema.properties ?? {})) if (key in record) problems.push(...validate(sub, record[key], `${path}.${key}`));
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => problems.push(...validate(schema.items!, v, `${path}[${i}]`)));
  return problems;
}
