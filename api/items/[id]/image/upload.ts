import { IdParams } from "../../../../lib/http/inputs.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ClientUploadEvent, ClientUploadOut } from "../../../../lib/images/schemas.js";
import { clientUpload } from "../../../../lib/images/service.js";

// "public" at this level because Vercel Blob's completion callback carries a signature, not a user
// token; token requests are authenticated (admin) inside clientUpload.
export const POST = route("/api/items/[id]/image/upload", { auth: "public", output: ClientUploadOut, errors: ["unauthorized", "forbidden", "not_found"], params: IdParams, body: ClientUploadEvent }, ({ params, body, request }) =>
  clientUpload(request, params.id, body),
);

export const OPTIONS = preflight;
