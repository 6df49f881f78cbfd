import { ApiError } from "./errors.js";

/**
 * The version a write expects, from If-Match ("v3", W/"v3" or *) or a `version` field in the body.
 * Absent both, the write is unconditional. An If-Match we could never satisfy is a 412.
 */
export function expectedVersion(request: Request, bodyVersion?: number): number | undefined {
  const header = request.headers.get("if-match");
  if (header === null || header.trim() === "*") return bodyVersion;
  const match = /^\s*(?:W\/)?"v(\d{1,9})"\s*$/.exec(header);
  if (!match) throw new ApiError("precondition_failed", "If-Match does not match the current version.");
  const version = Number(match[1]);
  if (bodyVersion !== undefined && bodyVersion !== version) {
    throw new ApiError("bad_request", "If-Match and the body's version disagree.", [{ path: "version", message: "must equal the If-Match version" }]);
  }
  return version;
}

export function matchesIfNoneMatch(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}
