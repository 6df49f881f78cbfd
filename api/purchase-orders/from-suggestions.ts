import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { FromSuggestions, FromSuggestionsOut } from "../../lib/inventory/schemas.js";
import { draftFromSuggestions } from "../../lib/inventory/po-service.js";

// A static segment: it wins over api/purchase-orders/[id] (Vercel's rule and lib/dev's).
export const POST = route("/api/purchase-orders/from-suggestions", { auth: "admin", status: [200, 201], body: FromSuggestions, output: FromSuggestionsOut }, async ({ auth, body }) => {
  const drafted = await draftFromSuggestions(auth, body);
  return reply(drafted, { status: drafted.purchaseOrders.length ? 201 : 200 });
});

export const OPTIONS = preflight;
