import { route, preflight } from "../../../lib/http/route.js";
import { ClientUploadEvent, ClientUploadOut } from "../../../lib/images/schemas.js";
import { clientImportUpload } from "../../../lib/items/import-blob.js";

// Vercel Blob client uploads of bulk-import files (README "Inventory", Bulk import): "public" at this
// level because the completion callback carries a signature, not a user token; token requests are
// authenticated (admin) inside clientImportUpload.
export const POST = route("/api/items/import/upload", { auth: "public", output: ClientUploadOut, errors: ["unauthorized", "forbidden", "unsupported_media_type"], body: ClientUploadEvent }, ({ request, body }) =>
  clientImportUpload(request, body),
);

export const OPTIONS = preflight;
