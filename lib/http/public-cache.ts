import type { CacheState, Rendered } from "../cache/response-cache.js";
import { fromRendered } from "./route.js";

/** What a public cached answer is keyed on besides its tenant: the route and its parsed, sorted inputs. */
export function publicIdentity(pattern: string, params: unknown, query: unknown): string {
  const sorted = (value: unknown) =>
    typeof value === "object" && value !== null ? Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : (value ?? null);
  return JSON.stringify(["public", pattern, sorted(params), sorted(query)]);
}

/** A handler's own cached answer as a Response: 304 on a matching If-None-Match, X-Cache says where it came from. */
export function publicAnswer(request: Request, answer: { rendered: Rendered; state: CacheState }): Response {
  const response = fromRendered(request, answer.rendered);
  response.headers.set("X-Cache", answer.state === "hit" ? "HIT" : "MISS");
  return response;
}
