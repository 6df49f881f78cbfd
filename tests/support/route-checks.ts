import { SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/client.js";
import { DEV_AUDIENCE, DEV_ISSUER } from "../../lib/auth/dev-tokens.js";
import type { Role } from "../../lib/auth/roles.js";
import { ROUTES, type RouteSpec } from "./catalog.js";
import { call, errorOf } from "./client.js";
import { createTenant, insertApiKey, insertGoogleMember, tokenFor, type TestTenant } from "./fixtures.js";
import type { startFakeGoogle } from "./google.js";

const WEAKER: Record<Role, Role | undefined> = { owner: "admin", admin: "staff", staff: undefined };
const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

function unsupportedMethod(spec: RouteSpec): string {
  const served = new Set(ROUTES.filter((r) => r.pattern === spec.pattern).map((r) => r.method));
  return ALL_METHODS.find((m) => !served.has(m))!;
}

async function badTokens(google: Awaited<ReturnType<typeof startFakeGoogle>>, subject: string) {
  const now = Math.floor(Date.now() / 1000);
  const wrongSecret = new TextEncoder().encode("not-the-dev-secret-at-all-000000");
  return {
    forged: await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setSubject(subject).setExpirationTime(now + 600).sign(wrongSecret),
    expired: await tokenFor(subject, undefined, { ttlSeconds: -3600 }),
    wrongAudience: await google.mint({ sub: subject }, { audience: "someone-else.apps.googleusercontent.com" }),
    wrongIssuer: await google.mint({ sub: subject }, { issuer: "https://evil.example.com" }),
    algNone: new UnsecuredJWT({}).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setSubject(subject).setExpirationTime(now + 600).encode(),
    garbage: "not.a.jwt",
  };
}

function send(spec: RouteSpec, path: string, token: string | undefined, extra: { body?: unknown; rawBody?: string } = {}) {
  if (spec.raw && extra.body === undefined && extra.rawBody === undefined) {
    const { bytes, contentType } = spec.raw();
    return call(spec.method, path, { token, rawBody: bytes, headers: { "content-type": contentType } });
  }
  const hasBody = spec.body !== undefined;
  return call(spec.method, path, { token, body: extra.body ?? (hasBody && extra.rawBody === undefined ? spec.body : undefined), rawBody: extra.rawBody });
}

/**
 * The checks every route gets: no token, bad tokens, wrong role, another tenant's id, malformed
 * JSON, invalid fields, unsupported method. `ctx()` supplies the database and the fake Google.
 */
export function commonRouteChecks(ctx: () => { db: Db; google: Awaited<ReturnType<typeof startFakeGoogle>> }) {
  for (const spec of ROUTES) {
    describe(`${spec.method} ${spec.pattern}`, () => {
      let tenant: TestTenant;
      let other: TestTenant;
      beforeAll(async () => {
        tenant = await createTenant(ctx().db, "own");
        other = await createTenant(ctx().db, "other");
      });
      const pathFor = (t: TestTenant) => (spec.target ? spec.target(ctx().db, t) : Promise.resolve(spec.pattern));

      it(`answers 405 with Allow for ${unsupportedMethod(spec)}`, async () => {
        const result = await call(unsupportedMethod(spec), await pathFor(tenant), { token: tenant.users.owner.token });
        expect(result.status).toBe(405);
        expect(errorOf(result).code).toBe("method_not_allowed");
        expect(result.headers.get("allow")).toContain(spec.method);
      });

      if (spec.shopper) {
        it("takes no token, but a shopper's token that is sent must be good: bad ones 401, API keys 403", async () => {
          const path = await pathFor(tenant);
          const headers: Record<string, string> = spec.idempotent ? { "idempotency-key": "shopper-check" } : {};
          const body = spec.body;
          for (const [kind, token] of Object.entries(await badTokens(ctx().google, tenant.users.owner.subject))) {
            const result = await call(spec.method, path, { token, body, headers });
            expect(result.status, kind).toBe(401);
            expect(errorOf(result).code, kind).toBe("unauthorized");
          }
          const key = tenant.keys.owner.key;
          expect((await call(spec.method, path, { token: key, body, headers })).status).toBe(403);
          expect((await call(spec.method, path, { token: key.slice(0, -1), body, headers })).status).toBe(401);
          // A member's token is a person's token: good as a shopper's (their orders by email).
          expect((await call(spec.method, path, { token: tenant.users.owner.token, body, headers })).status).not.toBe(401);
          expect([401, 403]).not.toContain((await call(spec.method, path, { body, headers })).status);
        });
      }

      if (spec.role === "public") return;

      if (spec.role === "cron") {
        it("refuses the scheduler route without the cron secret, or with a user token (401)", async () => {
          for (const token of [undefined, tenant.users.owner.token, "wrong-secret"]) {
            const result = await send(spec, await pathFor(tenant), token);
            expect(result.status).toBe(401);
            expect(errorOf(result).code).toBe("unauthorized");
          }
        });
        return;
      }

      it("refuses a request without a token (401)", async () => {
        const result = await send(spec, await pathFor(tenant), undefined);
        expect(result.status).toBe(401);
        expect(errorOf(result).code).toBe("unauthorized");
        expect(result.headers.get("www-authenticate")).toMatch(/^Bearer/);
      });

      it("refuses forged, expired, wrong-audience, wrong-issuer, alg:none and garbage tokens (401)", async () => {
        const path = await pathFor(tenant);
        const tokens = await badTokens(ctx().google, tenant.users.owner.subject);
        for (const [kind, token] of Object.entries(tokens)) {
          const result = await send(spec, path, token);
          expect(result.status, kind).toBe(401);
          expect(errorOf(result).code, kind).toBe("unauthorized");
        }
      });

      it("refuses revoked, expired, mistyped and other-environment API keys (401)", async () => {
        const path = await pathFor(tenant);
        const revoked = await insertApiKey(ctx().db, tenant.id, "owner", { revoked: true });
        const expired = await insertApiKey(ctx().db, tenant.id, "owner", { expiresAt: new Date(Date.now() - 1000).toISOString() });
        const good = tenant.keys.owner.key;
        const typo = good.slice(0, 12) + (good[12] === "a" ? "b" : "a") + good.slice(13);
        const live = good.replace("tly_test_", "tly_live_");
        for (const [kind, key] of Object.entries({ revoked: revoked.key, expired: expired.key, typo, live, truncated: good.slice(0, -1) })) {
          const result = await send(spec, path, key);
          expect(result.status, kind).toBe(spec.role === "user" && (kind === "revoked" || kind === "expired") ? 403 : 401);
          expect(result.text, kind).not.toContain(key);
        }
      });

      if (spec.role === "user") {
        if (spec.method === "GET") {
          it("serves a Google ID token of someone with no tenant", async () => {
            const result = await send(spec, await pathFor(tenant), await ctx().google.mint({ sub: `google-newcomer-${Date.now()}-${Math.random()}`, email: "newcomer@gmail.test" }));
            expect(result.status, result.text.slice(0, 200)).toBe(200);
          });
        }
        it("refuses API keys: they act for a tenant, never as a person (403)", async () => {
          const result = await send(spec, await pathFor(tenant), tenant.keys.owner.key);
          expect(result.status).toBe(403);
          expect(errorOf(result).code).toBe("forbidden");
        });
        if (spec.target) {
          it("answers 404 for another user's resource and 400 for a malformed id", async () => {
            const foreign = await send(spec, await pathFor(other), tenant.users.owner.token);
            expect(foreign.status).toBe(404);
            const malformed = await send(spec, (await pathFor(tenant)).replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, "not-a-uuid"), tenant.users.owner.token);
            expect(malformed.status).toBe(400);
          });
        }
        return;
      }

      it("refuses a valid token without a membership (403)", async () => {
        const result = await send(spec, await pathFor(tenant), await tokenFor(`stranger-${Date.now()}-${Math.random()}`, "stranger@example.com"));
        expect(result.status).toBe(403);
        expect(errorOf(result).code).toBe("forbidden");
      });

      if (spec.people) {
        it("refuses an API key even of the owner role (403)", async () => {
          const result = await send(spec, await pathFor(tenant), tenant.keys.owner.key);
          expect(result.status).toBe(403);
          expect(errorOf(result).code).toBe("forbidden");
        });
      } else if (spec.method === "GET") {
        it(`serves an API key of the ${spec.role} role`, async () => {
          const result = await send(spec, await pathFor(tenant), tenant.keys[spec.role as Role].key);
          expect(result.status, result.text.slice(0, 200)).toBe(200);
        });
      }
      if (spec.method === "GET") {
        it(`serves a Google ID token of a member with the ${spec.role} role`, async () => {
          const subject = await insertGoogleMember(ctx().db, tenant, spec.role as Role);
          const result = await send(spec, await pathFor(tenant), await ctx().google.mint({ sub: subject }));
          expect(result.status, result.text.slice(0, 200)).toBe(200);
        });
      }

      const weaker = WEAKER[spec.role as Role];
      if (weaker) {
        it(`refuses the ${weaker} role, as a user and as an API key (403)`, async () => {
          for (const credential of [tenant.users[weaker].token, tenant.keys[weaker].key]) {
            const result = await send(spec, await pathFor(tenant), credential);
            expect(result.status).toBe(403);
            expect(errorOf(result).code).toBe("forbidden");
          }
        });
      }

      if (spec.target && !spec.singleton) {
        it("answers 404 for another tenant's resource and changes nothing", async () => {
          const foreignPath = await pathFor(other);
          const result = await send(spec, foreignPath, tenant.users.owner.token);
          expect(result.status).toBe(404);
          expect(errorOf(result).code).toBe("not_found");
          if (spec.pattern.startsWith("/api/items/")) {
            const id = foreignPath.split("/")[3];
            const theirs = await call("GET", "/api/items/deleted?limit=100", { token: other.users.staff.token });
            const live = await call("GET", `/api/items/${id}`, { token: other.users.staff.token });
            const stillThere = live.status === 200 || theirs.json.items.some((i: { id: string }) => i.id === id);
            expect(stillThere).toBe(true);
          }
        });

        if (!spec.people) {
          it("answers 404 for another tenant's resource to an API key of this tenant", async () => {
            const result = await send(spec, await pathFor(other), tenant.keys.owner.key);
            expect(result.status).toBe(404);
            expect(errorOf(result).code).toBe("not_found");
          });
        }

        it("answers 400 for a malformed id", async () => {
          const path = (await pathFor(tenant)).replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, "not-a-uuid");
          const result = await send(spec, path, tenant.users.owner.token);
          expect(result.status).toBe(400);
          expect(errorOf(result).details?.[0]?.path).toBeDefined();
        });
      }

      if (spec.body !== undefined) {
        it("answers 400 for malformed JSON", async () => {
          const result = await send(spec, await pathFor(tenant), tenant.users.owner.token, { rawBody: '{"name": "x",' });
          expect(result.status).toBe(400);
          expect(errorOf(result).code).toBe("bad_request");
        });
      }

      if (spec.invalid) {
        const invalid = spec.invalid;
        it(`answers 422 naming each invalid field (${invalid.paths.join(", ")})`, async () => {
          const result = await send(spec, await pathFor(tenant), tenant.users.owner.token, { body: invalid.body });
          expect(result.status).toBe(422);
          const error = errorOf(result);
          expect(error.code).toBe("unprocessable");
          expect(error.details?.map((d) => d.path).sort()).toEqual([...invalid.paths].sort());
        });
      }
    });
  }
}
