import { IdParams } from "../../../../lib/http/inputs.js";
import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { removeImage, uploadImage } from "../../../../lib/images/service.js";
import { ItemOut } from "../../../../lib/items/schemas.js";
import { IMAGE_MEDIA_TYPES } from "../../../../lib/images/schemas.js";

const path = "/api/items/[id]/image";

// Raw image bytes (≤ 4 MB), for scripts and small images; browsers use client uploads (./upload).
export const PUT = route(path, { auth: "admin", output: ItemOut, rawBody: IMAGE_MEDIA_TYPES, errors: ["payload_too_large", "unsupported_media_type", "unprocessable"], params: IdParams }, async ({ auth, params, request }) => {
  const item = await uploadImage(auth, params.id, request);
  return reply(item, { version: item.version });
});

export const DELETE = route(path, { auth: "admin", output: ItemOut, params: IdParams }, async ({ auth, params }) => {
  const item = await removeImage(auth, params.id);
  return reply(item, { version: item.version });
});

export const OPTIONS = preflight;
