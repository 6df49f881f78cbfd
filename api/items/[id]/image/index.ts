import { IdParams } from "../../../../lib/http/inputs.js";
import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { removeImage, uploadImage } from "../../../../lib/images/service.js";

const path = "/api/items/[id]/image";

// Raw image bytes (≤ 4 MB), for scripts and small images; browsers use client uploads (./upload).
export const PUT = route(path, { auth: "admin", params: IdParams }, async ({ auth, params, request }) => {
  const item = await uploadImage(auth, params.id, request);
  return reply(item, { version: item.version });
});

export const DELETE = route(path, { auth: "admin", params: IdParams }, async ({ auth, params }) => {
  const item = await removeImage(auth, params.id);
  return reply(item, { version: item.version });
});

export const OPTIONS = preflight;
