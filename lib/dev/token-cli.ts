// `npm run token -- --role staff --tenant demo [--email someone@example.com] [--ttl 3600]`
// Mints a dev token. For the demo tenant, --role picks one of its seeded users; with --email the
// token is for that address (invite it first with POST /api/members; the invite binds on first use).
import { parseArgs } from "node:util";
import { demoSubject, mintDevToken } from "../auth/dev-tokens.js";
import { isProduction } from "../platform/config.js";
import { devSecret } from "./dev-secret.js";

if (isProduction()) {
  console.error("Dev tokens are refused in production.");
  process.exit(1);
}
const { values } = parseArgs({
  options: { role: { type: "string", default: "owner" }, tenant: { type: "string", default: "demo" }, email: { type: "string" }, ttl: { type: "string", default: "43200" } },
});
if (!["owner", "admin", "staff"].includes(values.role!)) {
  console.error("--role must be owner, admin or staff");
  process.exit(2);
}
const email = values.email?.toLowerCase();
const token = await mintDevToken(devSecret(), {
  subject: email ? `email:${email}` : demoSubject(values.tenant!, values.role!),
  email: email ?? `${values.role}@${values.tenant}.tally.dev`,
  name: email ?? `Demo ${values.role}`,
  ttlSeconds: Number(values.ttl),
});
console.log(token);
