import { createHmac } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { newId } from "../db/ids.js";
import { getBlobStore, localBlobToken } from "../lib/platform/blob.js";
import { app, call, errorOf } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { htmlPage, makeGif, makePng, tinyJpeg, tinyWebp, useLocalBlobDir, zipFile } from "./support/images.js";
import { withTarget } from "./support/suite.js";

// The constant the local store used to sign upload callbacks with, before it was derived from the dev secret.
const OLD_CONSTANT_TOKEN = "vercel_blob_rw_local_tallydevblobstore";

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  try {
    walk(dir);
  } catch {
    return [];
  }
  return out;
}

describe("item images on the local blob store", () => {
  const ctx = withTarget("pglite");
  const blobDir = useLocalBlobDir("blobs");
  const put = (token: string, id: string, bytes: Uint8Array, contentType: string) => call("PUT", `/api/items/${id}/image`, { token, rawBody: bytes, headers: { "content-type": contentType } });
  const imageOf = async (id: string) => (await query(ctx.db, sql`SELECT image_url FROM items WHERE id = ${id}`))[0]!.image_url as string | null;

  it("accepts real JPEG, PNG, WebP and GIF bytes, typed by their content, and serves them back", async () => {
    const t = await ctx.tenant();
    for (const [bytes, type, ext] of [[tinyJpeg(), "image/jpeg", "jpg"], [makePng(), "image/png", "png"], [tinyWebp(), "image/webp", "webp"], [makeGif(), "image/gif", "gif"]] as const) {
      const id = await insertItem(ctx.db, t.id);
      const result = await put(t.users.admin.token, id, bytes, type);
      expect(result.status, type).toBe(200);
      expect(result.json.imageUrl).toMatch(new RegExp(`/api/dev/blob\\?pathname=tenants%2F${t.id}%2Fitems%2F${id}%2Fimage-[A-Za-z0-9_-]+\\.${ext}$`));
      const served = await app().fetch(new Request(`http://localhost${new URL(result.json.imageUrl).pathname}${new URL(result.json.imageUrl).search}`));
      expect(served.status).toBe(200);
      expect(served.headers.get("content-type")).toBe(type);
      expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    }
    // Without a declared type (or as octet-stream) the bytes decide.
    const id = await insertItem(ctx.db, t.id);
    expect((await put(t.users.admin.token, id, makePng(), "application/octet-stream")).status).toBe(200);
  });

  it("rejects mislabelled, non-image, truncated, oversized and archive bodies, storing nothing", async () => {
    const t = await ctx.tenant();
    const id = await insertItem(ctx.db, t.id);
    const before = filesUnder(blobDir.root()).length;
    const cases: [Uint8Array, string, number][] = [
      [makePng(), "image/jpeg", 415],
      [htmlPage(), "text/html", 415],
      [htmlPage(), "image/png", 415],
      [makePng().subarray(0, 40), "image/png", 422],
      [tinyJpeg().subarray(0, 200), "image/jpeg", 422],
      [zipFile(), "application/zip", 415],
      [new Uint8Array(0), "image/png", 400],
    ];
    for (const [bytes, type, status] of cases) {
      const result = await put(t.users.admin.token, id, bytes, type);
      expect(result.status, `${type} ${bytes.length}`).toBe(status);
      errorOf(result);
    }
    const oversized = await put(t.users.admin.token, id, new Uint8Array(4 * 1024 * 1024 + 1), "image/png");
    expect(oversized.status).toBe(413);
    expect(filesUnder(blobDir.root()).length).toBe(before);
    expect(await imageOf(id)).toBeNull();
    expect((await put(t.users.staff.token, id, makePng(), "image/png")).status).toBe(403);
  });

  it("deletes the replaced image, keeps it across soft delete and restore, and deletes it on purge", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const id = await insertItem(ctx.db, t.id);
    const prefix = join(blobDir.root(), "tenants", t.id, "items", id);
    await put(admin, id, makePng(), "image/png");
    await put(admin, id, makeGif(), "image/gif");
    const third = await put(admin, id, tinyJpeg(), "image/jpeg");
    await app().settle();
    expect(filesUnder(prefix).map((f) => f.split(".").pop())).toEqual(["jpg"]);
    expect(await query(ctx.db, sql`SELECT count(*)::int AS n FROM blob_deletions WHERE tenant_id = ${t.id}`)).toEqual([{ n: 0 }]);

    expect((await call("DELETE", `/api/items/${id}`, { token: admin })).status).toBe(200);
    expect((await call("POST", `/api/items/${id}/restore`, { token: admin })).json.imageUrl).toBe(third.json.imageUrl);
    await app().settle();
    expect(filesUnder(prefix)).toHaveLength(1);

    await call("DELETE", `/api/items/${id}`, { token: admin });
    expect((await call("DELETE", `/api/items/${id}/permanent`, { token: admin })).status).toBe(204);
    await app().settle();
    expect(filesUnder(prefix)).toHaveLength(0);

    const other = await insertItem(ctx.db, t.id);
    await put(admin, other, makePng(), "image/png");
    const removed = await call("DELETE", `/api/items/${other}/image`, { token: admin });
    expect(removed.json.imageUrl).toBeNull();
    await app().settle();
    expect(filesUnder(join(blobDir.root(), "tenants", t.id, "items", other))).toHaveLength(0);
  });

  it("issues client-upload tokens only to admins, for their own items, for allowed types", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const id = await insertItem(ctx.db, t.id);
    const theirs = await insertItem(ctx.db, other.id);
    const ask = (token: string | undefined, itemId: string, pathname: string, clientPayload: string | null = null) =>
      call("POST", `/api/items/${itemId}/image/upload`, { token, body: { type: "blob.generate-client-token", payload: { pathname, clientPayload, multipart: false } } });
    const ok = await ask(t.users.admin.token, id, `tenants/${t.id}/items/${id}/photo.png`);
    expect(ok.status).toBe(200);
    expect(ok.json.type).toBe("blob.generate-client-token");
    expect(ok.json.clientToken).toMatch(/^vercel_blob_client_local_/);
    expect((await ask(undefined, id, `tenants/${t.id}/items/${id}/photo.png`)).status).toBe(401);
    expect((await ask(t.users.staff.token, id, `tenants/${t.id}/items/${id}/photo.png`)).status).toBe(403);
    expect((await ask(t.users.admin.token, theirs, `tenants/${other.id}/items/${theirs}/photo.png`)).status).toBe(404);
    expect((await ask(t.users.admin.token, id, `tenants/${other.id}/items/${theirs}/photo.png`)).status).toBe(403);
    expect((await ask(t.users.admin.token, id, `tenants/${t.id}/items/${id}/../../x.png`)).status).toBe(403);
    expect((await ask(t.users.admin.token, id, `tenants/${t.id}/items/${id}/drawing.svg`)).status).toBe(415);
    expect((await ask(t.users.admin.token, id, `tenants/${t.id}/items/${id}/photo.png`, JSON.stringify({ contentType: "image/svg+xml" }))).status).toBe(415);
  });

  it("attaches uploads from Vercel Blob's signed callback, and refuses forged or foreign ones", async () => {
    const t = await ctx.tenant();
    const id = await insertItem(ctx.db, t.id);
    const otherItem = await insertItem(ctx.db, t.id);
    const storeToken = (await getBlobStore()).token;
    const callback = (itemId: string, pathname: string, tokenPayload: unknown, secret = storeToken, tamper = (s: string) => s) => {
      const body = { type: "blob.upload-completed", payload: { blob: { url: `https://store.example/${pathname}`, pathname, contentType: "image/png" }, tokenPayload: JSON.stringify(tokenPayload) } };
      const signature = createHmac("sha256", secret).update(JSON.stringify(body)).digest("hex");
      return call("POST", `/api/items/${itemId}/image/upload`, { body, headers: { "x-vercel-signature": tamper(signature) } });
    };
    const path = `tenants/${t.id}/items/${id}/photo-abc.png`;
    const good = await callback(id, path, { tenantId: t.id, itemId: id });
    expect(good.status).toBe(200);
    expect(await imageOf(id)).toBe(`https://store.example/${path}`);
    expect((await callback(id, path, { tenantId: t.id, itemId: id }, "vercel_blob_rw_local_wrongsecret")).status).toBe(401);
    // The key is no constant from the source: a callback signed with the old one is refused.
    expect((await callback(id, path, { tenantId: t.id, itemId: id }, OLD_CONSTANT_TOKEN)).status).toBe(401);
    // Any malformed signature is a failed verification (an odd length used to throw a RangeError: 500).
    for (const tamper of [(s: string) => s.slice(1), (s: string) => `${s}0`, (s: string) => s.slice(0, 10), () => "zz", (s: string) => s.replace(/./g, "g")]) {
      const forged = await callback(id, path, { tenantId: t.id, itemId: id }, storeToken, tamper);
      expect(forged.status).toBe(401);
      expect(errorOf(forged).code).toBe("unauthorized");
    }
    expect((await callback(otherItem, path, { tenantId: t.id, itemId: id })).status).toBe(403);
    expect(await imageOf(otherItem)).toBeNull();
  });

  it("completes a client upload only for a blob under this tenant's item", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const id = await insertItem(ctx.db, t.id);
    const sibling = await insertItem(ctx.db, t.id);
    const store = await getBlobStore();
    const mine = await store.put(`tenants/${t.id}/items/${id}/photo.png`, makePng(), "image/png");
    const siblings = await store.put(`tenants/${t.id}/items/${sibling}/photo.png`, makePng(), "image/png");
    const foreign = await store.put(`tenants/${other.id}/items/${newId()}/photo.png`, makePng(), "image/png");
    const complete = (url: string) => call("POST", `/api/items/${id}/image/complete`, { token: t.users.admin.token, body: { url } });
    for (const url of [siblings.url, foreign.url, mine.url.replace("photo", "missing")]) {
      const refused = await complete(url);
      expect(refused.status, url).toBe(422);
      expect(errorOf(refused).details?.[0]?.path).toBe("url");
    }
    const done = await complete(mine.url);
    expect(done.status).toBe(200);
    expect(done.json.imageUrl).toBe(mine.url);
  });

  it("derives the local store's signing key from the dev secret", () => {
    expect(localBlobToken("secret-one")).toMatch(/^vercel_blob_rw_local_[0-9a-f]{64}$/);
    expect(localBlobToken("secret-one")).toBe(localBlobToken("secret-one"));
    expect(localBlobToken("secret-one")).not.toBe(localBlobToken("secret-two"));
    expect(localBlobToken(process.env.DEV_AUTH_SECRET)).not.toBe(OLD_CONSTANT_TOKEN);
  });

  it("never attaches another tenant's blob through dot segments, and answers alike for theirs and absent", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const itemA = await insertItem(ctx.db, a.id);
    const itemB = await insertItem(ctx.db, b.id);
    const store = await getBlobStore();
    const theirs = await store.put(`tenants/${a.id}/items/${itemA}/photo.png`, makePng(), "image/png");
    const base = theirs.url.slice(0, theirs.url.indexOf("?"));
    const via = (pathname: string) => `${base}?pathname=${encodeURIComponent(pathname)}`;
    const climb = `tenants/${b.id}/items/${itemB}/../../../../${theirs.pathname}`;
    const attempts = [
      via(climb),
      via(`tenants/${b.id}/items/${itemB}/./../../../../${theirs.pathname}`),
      via(`tenants/${b.id}/items/${itemB}//../../../../../${theirs.pathname}`),
      via(climb.replaceAll("/", "\\")),
      theirs.url,
    ];
    const complete = (url: string) => call("POST", `/api/items/${itemB}/image/complete`, { token: b.users.admin.token, body: { url } });
    const answers = [];
    for (const url of attempts) {
      const refused = await complete(url);
      expect(refused.status, url).toBe(422);
      answers.push({ ...errorOf(refused), requestId: undefined });
    }
    // Absent, under A's prefix or under B's own: the same answer as A's existing file.
    for (const pathname of [`tenants/${a.id}/items/${itemA}/nothing.png`, `tenants/${b.id}/items/${itemB}/../../../../tenants/${a.id}/items/${itemA}/nothing.png`, `tenants/${b.id}/items/${itemB}/nothing.png`]) {
      const refused = await complete(via(pathname));
      expect(refused.status).toBe(422);
      expect({ ...errorOf(refused), requestId: undefined }).toEqual(answers[0]);
    }
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(await imageOf(itemB)).toBeNull();
    // B replacing its image must not take A's file with it.
    expect((await put(b.users.admin.token, itemB, makePng(), "image/png")).status).toBe(200);
    await app().settle();
    expect(await store.head(theirs.url)).toMatchObject({ pathname: theirs.pathname });
  });

  it("retries queued deletions from the cleanup cron", async () => {
    const t = await ctx.tenant();
    const store = await getBlobStore();
    const leftover = await store.put(`tenants/${t.id}/items/${newId()}/photo.png`, makePng(), "image/png");
    await query(ctx.db, sql`INSERT INTO blob_deletions (id, tenant_id, url) VALUES (${newId()}, ${t.id}, ${leftover.url})`);
    expect((await call("GET", "/api/cron/blob-cleanup")).status).toBe(401);
    const run = await call("GET", "/api/cron/blob-cleanup", { token: "test-cron-secret" });
    expect(run.status).toBe(200);
    expect(run.json.attempted).toBeGreaterThanOrEqual(1);
    expect(await store.head(leftover.url)).toBeUndefined();
    expect(await query(ctx.db, sql`SELECT count(*)::int AS n FROM blob_deletions WHERE tenant_id = ${t.id}`)).toEqual([{ n: 0 }]);
  });
});
