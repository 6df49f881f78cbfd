import * as v from "valibot";
import { ApiError, type ErrorDetail } from "./errors.js";

export type Schema = v.GenericSchema<unknown, unknown>;

function details(issues: v.BaseIssue<unknown>[]): ErrorDetail[] {
  return issues.map((issue) => ({
    path: v.getDotPath(issue) ?? "",
    // valibot reports an unknown key as "expected never"; say what it means.
    message: issue.kind === "schema" && issue.expected === "never" ? "unknown field" : issue.message,
  }));
}

/** Body problems are 422 (well-formed JSON, wrong content); query and path problems are 400. */
export function parseInput<S extends Schema>(schema: S, input: unknown, where: "body" | "query" | "params"): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortPipeEarly: true });
  if (result.success) return result.output;
  const code = where === "body" ? "unprocessable" : "bad_request";
  throw new ApiError(code, `Invalid ${where === "params" ? "path" : where}.`, details(result.issues));
}
