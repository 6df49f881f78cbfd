import { route, preflight } from "../lib/http/route.js";
import { describeMe } from "../lib/tenants/service.js";

// Any signed-in person, with or without memberships: the start of onboarding. No X-Tenant.
export const GET = route("/api/me", { auth: "user" }, ({ auth }) => describeMe(auth));

export const OPTIONS = preflight;
