import { IdParams } from "../../../../lib/http/inputs.js";
import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { CompleteUpload } from "../../../../lib/images/schemas.js";
import { completeUpload } from "../../../../lib/images/service.js";
import { ItemOut } from "../../../../lib/items/schemas.js";

// For when Vercel Blob's callback cannot reach us (local development): the browser reports the upload.
export const POST = route("/api/items/[id]/image/complete", { auth: "admin", output: ItemOut, errors: ["forbidden"], params: IdParams, body: CompleteUpload }, async ({ auth, params, body }) => {
  const item = await completeUpload(auth, params.id, body.url);
  return reply(item, { version: item.version });
});

export const OPTIONS = preflight;
