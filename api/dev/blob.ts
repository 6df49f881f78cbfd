import * as v from "valibot";
import { text } from "../../lib/http/inputs.js";
import { route, preflight } from "../../lib/http/route.js";
import { serveLocalBlob } from "../../lib/images/dev-blobs.js";

const Query = v.object({ pathname: v.pipe(text(), v.maxLength(300)) });

// Serves the local blob store so `npm run dev` shows images. Answers 404 in production.
export const GET = route("/api/dev/blob", { auth: "public", formats: ["application/octet-stream"], errors: ["not_found"], query: Query }, ({ query }) => serveLocalBlob(query.pathname));

export const OPTIONS = preflight;
