import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { IMPORT_MEDIA_TYPES, importItems } from "../../lib/items/import-service.js";
import { ItemImportJson, ItemImportOut, ItemImportQuery } from "../../lib/items/schemas.js";

// A CSV or JSON file of items (≤ 10,000 rows), written all or nothing in one statement (README
// "Inventory", Bulk import): the body itself (≤ 4.5 MB, Vercel's body limit) or `{ "url" }` of a Blob
// client upload (≤ 16 MiB, POST /api/items/import/upload). The body is read by the service, not route().
export const POST = route(
  "/api/items/import",
  {
    auth: "admin",
    output: ItemImportOut,
    query: ItemImportQuery,
    rawBody: IMPORT_MEDIA_TYPES,
    rawBodySchemas: { "application/json": ItemImportJson },
    idempotent: true,
    errors: ["payload_too_large", "unsupported_media_type", "unprocessable", "conflict"],
  },
  async ({ auth, query, request, idempotency }) => {
    const { answer, replayed } = await importItems(auth, request, { mode: query.mode, dryRun: query.dryRun === true }, idempotency);
    return reply(answer, { headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
  },
);

export const OPTIONS = preflight;
