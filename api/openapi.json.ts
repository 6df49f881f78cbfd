import { createHash } from "node:crypto";
import { matchesIfNoneMatch } from "../lib/http/preconditions.js";
import { route, preflight } from "../lib/http/route.js";
import { OpenApiDocumentOut } from "../lib/openapi/schemas.js";
import spec from "../openapi.json" with { type: "json" };

// The committed document (npm run openapi), not one built here: building it would import every route
// module into this function. The same bytes for every query string, so CDNs can cache it.
const body = JSON.stringify(spec);
const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"`;
const headers = {
  "Content-Type": "application/json; charset=utf-8",
  ETag: etag,
  // A deployment's document never changes; a new deployment starts with an empty CDN cache.
  "Cache-Control": "public, max-age=300, s-maxage=86400, stale-while-revalidate=604800",
};

export const GET = route("/api/openapi.json", { auth: "public", rateLimit: false, output: OpenApiDocumentOut, conditional: true }, ({ request }) =>
  matchesIfNoneMatch(request, etag) ? new Response(null, { status: 304, headers }) : new Response(body, { headers }),
);

export const OPTIONS = preflight;
