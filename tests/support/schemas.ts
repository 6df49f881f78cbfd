import { isTextSchema } from "../../lib/http/inputs.js";
import type { Handler } from "../../lib/http/route.js";
import { app } from "./client.js";
import type { RouteSpec } from "./catalog.js";

export type FieldPath = (string | number)[];

interface Node {
  kind?: string;
  type?: string;
  pipe?: Node[];
  entries?: Record<string, Node>;
  item?: Node;
  items?: Node[];
  wrapped?: Node;
  options?: Node[];
  key?: Node;
  value?: Node;
}

/**
 * Walks a valibot schema and reports every string it accepts, by field path: text() strings (the
 * only kind route schemas may declare) and bare v.string()s (which they must not).
 */
export function stringFields(schema: unknown, path: FieldPath = []): { text: FieldPath[]; raw: FieldPath[] } {
  const found = { text: [] as FieldPath[], raw: [] as FieldPath[] };
  const walk = (node: Node | undefined, at: FieldPath) => {
    if (!node || node.kind !== "schema") return;
    if (isTextSchema(node)) return void found.text.push(at);
    if (node.pipe) {
      // A piped schema copies its root's fields; the root and any schema later in the pipe are walked.
      for (const step of node.pipe) walk(step, at);
      return;
    }
    if (node.type === "string") return void found.raw.push(at);
    if (node.entries) for (const [key, child] of Object.entries(node.entries)) walk(child, [...at, key]);
    if (node.item) walk(node.item, [...at, 0]);
    for (const [i, child] of (node.items ?? []).entries()) walk(child, [...at, i]);
    walk(node.wrapped, at);
    for (const option of node.options ?? []) walk(option, at);
    if (node.type === "record") {
      walk(node.key, [...at, "<key>"]);
      walk(node.value, [...at, "<value>"]);
    }
  };
  walk(schema as Node, path);
  return found;
}

/**
 * Every field whose schema node satisfies `match`, by path (the walk stops at a match). Walks the
 * same structure as stringFields: pipes, objects, arrays, tuples, wrappers, unions.
 */
export function fieldsMatching(schema: unknown, match: (node: unknown) => boolean): FieldPath[] {
  const found: FieldPath[] = [];
  const walk = (node: Node | undefined, at: FieldPath) => {
    if (!node || node.kind !== "schema") return;
    if (match(node)) return void found.push(at);
    for (const step of node.pipe ?? []) if (step !== node) walk(step, at);
    if (node.pipe) return;
    if (node.entries) for (const [key, child] of Object.entries(node.entries)) walk(child, [...at, key]);
    if (node.item) walk(node.item, [...at, 0]);
    for (const [i, child] of (node.items ?? []).entries()) walk(child, [...at, i]);
    walk(node.wrapped, at);
    for (const option of node.options ?? []) walk(option, at);
  };
  walk(schema as Node, []);
  return found;
}

/** Number fields of a body schema (JSON numbers). */
export const numberFields = (schema: unknown) => fieldsMatching(schema, (node) => (node as Node).type === "number");

/** The route() declaration behind a catalog entry (its params, query and body schemas). */
export async function declarationOf(spec: RouteSpec): Promise<Handler["route"]> {
  const file = app().routes.find((r) => r.pattern === spec.pattern)?.file;
  if (!file) throw new Error(`no api/ file for ${spec.pattern}`);
  const handler = (await import(file))[spec.method] as Handler | undefined;
  if (!handler?.route) throw new Error(`${spec.method} ${spec.pattern} is not declared with route()`);
  return handler.route;
}

export const dotPath = (path: FieldPath) => path.join(".");

/** A copy of `body` with `value` at `path`, creating the objects and arrays on the way. */
export function withValueAt(body: unknown, path: FieldPath, value: unknown): unknown {
  const root: unknown = structuredClone(body ?? {});
  let node = root as Record<string | number, unknown>;
  path.forEach((key, i) => {
    if (i === path.length - 1) return void (node[key] = value);
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = typeof path[i + 1] === "number" ? [{}] : {};
    node = node[key] as Record<string | number, unknown>;
  });
  return root;
}
