import { afterAll, beforeAll, describe } from "vitest";
import { dbTargets, useTarget, type OpenTarget } from "./support/targets.js";
import { startFakeGoogle } from "./support/google.js";
import { commonRouteChecks } from "./support/route-checks.js";

// The shared checks run once per database target, so the production neon-http driver is exercised
// (through the local bridge) by every route on every run.
describe.each(dbTargets())("common route checks on %s", (name) => {
  let target: OpenTarget;
  let google: Awaited<ReturnType<typeof startFakeGoogle>>;
  beforeAll(async () => {
    google = await startFakeGoogle();
    process.env.GOOGLE_JWKS_URL = google.url;
    target = await useTarget(name);
  });
  afterAll(async () => {
    await target?.close();
    await google?.close();
  });
  commonRouteChecks(() => ({ db: target.handle.db, google }));
});
