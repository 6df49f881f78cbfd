import { route, preflight } from "../lib/http/route.js";
import { describeMe } from "../lib/tenants/service.js";
import { MeOut } from "../lib/tenants/schemas.js";

// Any signed-in person, with or without memberships: the start of onboarding. No X-Tenant.
export const GET = route("/api/me", { auth: "user", output: MeOut }, ({ auth }) => describeMe(auth));

export const OPTIONS = preflight;
