import { createHmac } from "node:crypto";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { sql } from "drizzle-orm/sql/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { ApiError } from "../lib/http/errors.js";
import { IMPORT_FILE_TTL_MS, MAX_BLOB_IMPORT_BYTES, importPrefix } from "../lib/items/import-blob.js";
import { MAX_IMPORT_BYTES } from "../lib/items/import.js";
import { useLocalBlobDir } from "./support/images.js";
import { getBlobStore, readCapped } from "../lib/platform/blob.js";
import { call, errorOf } from "./support/client.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// POST /api/items/import with `{ "url" }` of a Blob client upload, and POST /api/items/import/upload
// (issue 15: files bigger than Vercel's 4.5 MB body go through Blob). The local blob store stands in
// for Vercel Blob: a client upload ends as a blob under the tenant's imports prefix, which is what
// store.put() leaves; the token route and the signed callback are @vercel/blob's own code.

type Problem = { line: number; column: string | null; message: string };

const MB = 1024 * 1024;

describe.each(dbTargets())("item import from a Blob upload on %s", (name) => {
  const ctx = withTarget(name);
  const blobDir = useLocalBlobDir("import-blobs");

  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const count = async (q: ReturnType<typeof sql>) => Number((await one(q)).n);
  const upload = async (tenantId: string, name: string, content: string | Uint8Array, type = "text/csv") =>
    (await getBlobStore()).put(`${importPrefix(tenantId)}${name}`, typeof content === "string" ? new TextEncoder().encode(content) : content, type);
  const importUrl = (token: string, url: string, q = "", headers: Record<string, string> = {}) =>
    call("POST", `/api/items/import${q}`, { token, rawBody: JSON.stringify({ url }), headers: { "content-type": "application/json", ...headers } });
  const nothingWritten = async (tenantId: string) => {
    expect(await count(sql`SELECT count(*) AS n FROM items WHERE tenant_id = ${tenantId}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM stock_movements WHERE tenant_id = ${tenantId}`)).toBe(0);
    expect(await count(sql`SELECT count(*) AS n FROM item_imports WHERE tenant_id = ${tenantId}`)).toBe(0);
  };
  const refusedUrl = (r: Awaited<ReturnType<typeof importUrl>>) => {
    expect(r.status).toBe(422);
    const error = errorOf(r);
    expect(error.code).toBe("unprocessable");
    expect(error.details?.[0]?.path).toBe("url");
    return { ...error, requestId: undefined };
  };

  it("imports a CSV and a JSON file uploaded to Blob: counts, items, stock through the ledger", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const csv = await upload(t.id, "items.csv", "\uFEFFname,sku,priceCents,stock,category\r\nTea,T-1,450,20,Drinks\r\nCake,C-1,300,,\r\n");
    expect(csv.pathname).toMatch(new RegExp(`^imports/${t.id}/items-[A-Za-z0-9_-]+\\.csv$`));
    const r = await importUrl(admin, csv.url);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ mode: "create", dryRun: false, rows: 2, created: 2, updated: 0, unchanged: 0 });
    expect(r.json.id).toEqual(expect.any(String));
    const items = await query(ctx.db, sql`SELECT sku, name, price_cents, stock, category FROM items WHERE tenant_id = ${t.id} ORDER BY sku`);
    expect(items.map((i) => [i.sku, i.name, Number(i.price_cents), Number(i.stock), i.category])).toEqual([
      ["C-1", "Cake", 300, 0, null],
      ["T-1", "Tea", 450, 20, "Drinks"],
    ]);
    const moves = await query(ctx.db, sql`SELECT i.sku, m.delta, m.reason FROM stock_movements m JOIN items i ON i.id = m.item_id WHERE m.tenant_id = ${t.id}`);
    expect(moves.map((m) => [m.sku, Number(m.delta), m.reason])).toEqual([["T-1", 20, "import"]]);

    // A .json blob is an array of rows, whatever the request's own type says; upsert from it.
    const json = await upload(t.id, "stock.json", JSON.stringify([{ sku: "T-1", stock: 15 }, { sku: "N-1", name: "New", priceCents: 99, stock: 4 }]), "application/json");
    const u = await importUrl(admin, json.url, "?mode=upsert");
    expect(u.status).toBe(200);
    expect(u.json).toMatchObject({ mode: "upsert", rows: 2, created: 1, updated: 1, unchanged: 0 });
    expect(await count(sql`SELECT sum(delta) AS n FROM stock_movements m JOIN items i ON i.id = m.item_id WHERE i.tenant_id = ${t.id} AND i.sku = 'T-1'`)).toBe(15);
    expect(await count(sql`SELECT stock AS n FROM items WHERE tenant_id = ${t.id} AND sku = 'N-1'`)).toBe(4);
    // The JSON array form of the body still works beside the `{ url }` form.
    const inline = await call("POST", "/api/items/import?mode=upsert", { token: admin, body: [{ sku: "C-1", stock: 2 }] });
    expect(inline.json).toMatchObject({ updated: 1 });
  });

  it("a dry run by URL checks everything and writes nothing", async () => {
    const t = await ctx.tenant();
    const file = await upload(t.id, "dry.csv", "name,sku,priceCents,stock\nTea,T-1,450,3\nCake,C-1,300,1\n");
    const r = await importUrl(t.users.admin.token, file.url, "?dryRun=true");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: null, mode: "create", dryRun: true, rows: 2, created: 2, updated: 0, unchanged: 0 });
    await nothingWritten(t.id);
  });

  it("a bad row in a Blob file is a 422 naming line and column, and nothing is written", async () => {
    const t = await ctx.tenant();
    const file = await upload(t.id, "bad.csv", "name,sku,priceCents,stock\r\nTea,T-1,450,3\r\nCake,C-1,12.50,1\r\nPie,P-1,100,-2\r\n");
    const r = await importUrl(t.users.admin.token, file.url);
    expect(r.status).toBe(422);
    const details = errorOf(r).details as unknown as Problem[];
    expect(details.map((d) => [d.line, d.column])).toEqual([
      [3, "priceCents"],
      [4, "stock"],
    ]);
    const json = await upload(t.id, "bad.json", JSON.stringify([{ name: "A", sku: "A-1", priceCents: 1 }, { name: "B", priceCents: 2 }]), "application/json");
    const j = await importUrl(t.users.admin.token, json.url);
    expect((errorOf(j).details as unknown as Problem[]).map((d) => [d.line, d.column])).toEqual([[2, "sku"]]);
    await nothingWritten(t.id);
  });

  it("reads only this tenant's imports in this store: another tenant's, foreign hosts, dot segments, other prefixes and absent files get one 422 naming url", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const csv = "name,sku,priceCents\nTea,T-1,450\n";
    const theirs = await upload(a.id, "items.csv", csv);
    const mine = await upload(b.id, "items.csv", csv);
    const base = mine.url.slice(0, mine.url.indexOf("?"));
    const via = (pathname: string, origin = base) => `${origin}?pathname=${encodeURIComponent(pathname)}`;
    const store = await getBlobStore();
    // Outside the imports prefix, but B's own file.
    const image = await store.put(`tenants/${b.id}/items/x/photo.csv`, new TextEncoder().encode(csv), "text/csv");
    const attempts = [
      theirs.url,
      via(`${importPrefix(b.id)}../${a.id}/${theirs.pathname.split("/").pop()}`),
      via(`${importPrefix(b.id)}./${mine.pathname.split("/").pop()}`),
      via(`${importPrefix(b.id)}/${mine.pathname.split("/").pop()}`),
      via(mine.pathname.replaceAll("/", "\\")),
      via(mine.pathname, "https://evil.example/api/dev/blob"),
      via(mine.pathname, "http://169.254.169.254/api/dev/blob"),
      `https://store.public.blob.vercel-storage.com/${mine.pathname}`,
      `http://127.0.0.1:1/${mine.pathname}`,
      `file:///${join(blobDir.root(), mine.pathname)}`,
      image.url,
      via(`${importPrefix(b.id)}missing.csv`),
      via(`${importPrefix(a.id)}missing.csv`),
    ];
    const answers = new Set<string>();
    for (const url of attempts) answers.add(JSON.stringify(refusedUrl(await importUrl(b.users.admin.token, url))));
    expect(answers.size).toBe(1);
    await nothingWritten(b.id);
    // The real one works.
    expect((await importUrl(b.users.admin.token, mine.url)).status).toBe(200);
  });

  it("checks the `{ url }` body itself: not a URL, extra fields, malformed JSON; a blob that is not .csv or .json is 415", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const raw = (body: string) => call("POST", "/api/items/import", { token: admin, rawBody: body, headers: { "content-type": "application/json" } });
    const notUrl = await raw(JSON.stringify({ url: "not a url" }));
    expect(notUrl.status).toBe(422);
    expect(errorOf(notUrl).details?.map((d) => d.path)).toEqual(["url"]);
    const extra = await raw(JSON.stringify({ url: "http://127.0.0.1:3000/api/dev/blob?pathname=x.csv", mode: "upsert" }));
    expect(extra.status).toBe(422);
    expect(errorOf(extra).details?.map((d) => d.path)).toEqual(["mode"]);
    expect((await raw("{ \"url\": ")).status).toBe(400);
    const store = await getBlobStore();
    const text = await store.put(`${importPrefix(t.id)}items.txt`, new TextEncoder().encode("name,sku\n"), "text/plain");
    const r = await importUrl(admin, text.url);
    expect(r.status).toBe(415);
    expect(errorOf(r).details?.[0]?.path).toBe("url");
    // As a CSV body, a JSON object is just a (bad) CSV file.
    const csvBody = await call("POST", "/api/items/import", { token: admin, rawBody: JSON.stringify({ url: text.url }), headers: { "content-type": "text/csv" } });
    expect(csvBody.status).toBe(422);
    await nothingWritten(t.id);
  });

  it("refuses a file over the Blob cap with 413 (a 20 MB file), and takes one over the body limit", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    // 20 MB written straight into the local store (as a client upload past the token's maximum would be).
    const pathname = `${importPrefix(t.id)}huge-abc.csv`;
    mkdirSync(join(blobDir.root(), importPrefix(t.id)), { recursive: true });
    writeFileSync(join(blobDir.root(), pathname), Buffer.alloc(20 * MB, 0x61));
    const base = (await upload(t.id, "probe.csv", "x")).url.split("?")[0]!;
    const huge = (await (await getBlobStore()).head(`${base}?pathname=${encodeURIComponent(pathname)}`))!;
    expect(huge.size).toBe(20 * MB);
    const r = await importUrl(admin, huge.url);
    expect(r.status).toBe(413);
    expect(errorOf(r).code).toBe("payload_too_large");
    await nothingWritten(t.id);

    // A file bigger than the 4.5 MB body limit (413 as a body) imports through Blob: long descriptions.
    const rows = Array.from({ length: 11_000 }, (_, i) => `Item ${i},S-${i},100,1,${"d".repeat(480)}`);
    const big = `name,sku,priceCents,stock,description\n${rows.slice(0, 10_000).join("\n")}\n`;
    expect(big.length).toBeGreaterThan(MAX_IMPORT_BYTES);
    expect(big.length).toBeLessThan(MAX_BLOB_IMPORT_BYTES);
    expect((await call("POST", "/api/items/import?dryRun=true", { token: admin, rawBody: big, headers: { "content-type": "text/csv" } })).status).toBe(413);
    const file = await upload(t.id, "big.csv", big);
    const dry = await importUrl(admin, file.url, "?dryRun=true");
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ rows: 10_000, created: 10_000 });
    // The row limit stays 10,000 whatever the bytes.
    const over = await upload(t.id, "over.csv", `name,sku,priceCents,stock,description\n${rows.join("\n")}\n`);
    const tooMany = await importUrl(admin, over.url, "?dryRun=true");
    expect(tooMany.status).toBe(422);
    expect((errorOf(tooMany).details as unknown as Problem[])[0]).toMatchObject({ line: 10_002, column: null });
    await nothingWritten(t.id);
  });

  it("Idempotency-Key: the same URL replays; the same key with another URL (even of the same bytes) or as a body is 422", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const csv = "name,sku,priceCents,stock\nTea,T-1,450,5\n";
    const first = await upload(t.id, "a.csv", csv);
    const second = await upload(t.id, "a.csv", csv);
    expect(second.url).not.toBe(first.url);
    const key = { "idempotency-key": `blob-${t.id}` };
    const r1 = await importUrl(admin, first.url, "", key);
    expect(r1.status).toBe(200);
    const r2 = await importUrl(admin, first.url, "", key);
    expect(r2.status).toBe(200);
    expect(r2.headers.get("idempotent-replayed")).toBe("true");
    expect(r2.json).toEqual(r1.json);
    for (const r of [
      await importUrl(admin, second.url, "", key),
      await call("POST", "/api/items/import", { token: admin, rawBody: csv, headers: { "content-type": "text/csv", ...key } }),
      await importUrl(admin, first.url, "?mode=upsert", key),
    ]) {
      expect(r.status).toBe(422);
      expect(errorOf(r).code).toBe("idempotency_mismatch");
    }
    expect(await count(sql`SELECT count(*) AS n FROM item_imports WHERE tenant_id = ${t.id}`)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM stock_movements WHERE tenant_id = ${t.id}`)).toBe(1);
  });

  it("issues upload tokens only to admins, under their own imports prefix, for .csv/.json up to the Blob cap", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const ask = (token: string | undefined, pathname: string, clientPayload: string | null = null) =>
      call("POST", "/api/items/import/upload", { token, body: { type: "blob.generate-client-token", payload: { pathname, clientPayload, multipart: true } } });
    const ok = await ask(t.users.admin.token, `${importPrefix(t.id)}items.csv`);
    expect(ok.status).toBe(200);
    expect(ok.json.type).toBe("blob.generate-client-token");
    // The client token carries its terms (base64 "<signature>.<base64 JSON>"): Vercel Blob enforces them.
    const terms = JSON.parse(Buffer.from(Buffer.from(String(ok.json.clientToken).replace(/^vercel_blob_client_[^_]+_/, ""), "base64").toString().split(".")[1]!, "base64").toString());
    expect(terms).toMatchObject({ pathname: `${importPrefix(t.id)}items.csv`, allowedContentTypes: ["text/csv"], maximumSizeInBytes: MAX_BLOB_IMPORT_BYTES, addRandomSuffix: true });
    expect(MAX_BLOB_IMPORT_BYTES).toBeLessThan(20 * 1000 * 1000);
    expect((await ask(t.users.admin.token, `${importPrefix(t.id)}rows.JSON`, JSON.stringify({ contentType: "application/json" }))).status).toBe(200);

    expect((await ask(undefined, `${importPrefix(t.id)}items.csv`)).status).toBe(401);
    expect((await ask(t.users.staff.token, `${importPrefix(t.id)}items.csv`)).status).toBe(403);
    for (const pathname of [
      `${importPrefix(other.id)}items.csv`,
      `tenants/${t.id}/items/x/items.csv`,
      `tenants/${t.id}/imports.csv`,
      `${importPrefix(t.id)}../${other.id}/items.csv`,
      `${importPrefix(t.id)}sub/items.csv`,
      `${importPrefix(t.id)}.csv`,
      `${importPrefix(t.id)}`,
    ]) {
      const refused = await ask(t.users.admin.token, pathname);
      expect(refused.status, pathname).toBe(403);
      expect(errorOf(refused).details?.[0]?.path).toBe("payload.pathname");
    }
    for (const [pathname, payload] of [
      [`${importPrefix(t.id)}items.txt`, null],
      [`${importPrefix(t.id)}items.xlsx`, null],
      [`${importPrefix(t.id)}items`, null],
      [`${importPrefix(t.id)}items.csv`, JSON.stringify({ contentType: "application/json" })],
      [`${importPrefix(t.id)}items.json`, JSON.stringify({ contentType: "image/png" })],
    ] as const) {
      const refused = await ask(t.users.admin.token, pathname, payload);
      expect(refused.status, pathname).toBe(415);
    }
  });

  it("the daily blob-cleanup deletes import files older than a day, any tenant's, and nothing else", async () => {
    const [t, other] = [await ctx.tenant(), await ctx.tenant()];
    const store = await getBlobStore();
    const old = await upload(t.id, "old.csv", "name,sku\n");
    const theirsOld = await upload(other.id, "old.json", "[]", "application/json");
    const fresh = await upload(t.id, "fresh.csv", "name,sku,priceCents\nTea,T-1,100\n");
    const image = await store.put(`tenants/${t.id}/items/x/photo.png`, new Uint8Array([1, 2, 3]), "image/png");
    const dayAndAMinute = new Date(Date.now() - IMPORT_FILE_TTL_MS - 60_000);
    for (const blob of [old, theirsOld, image]) utimesSync(join(blobDir.root(), blob.pathname), dayAndAMinute, dayAndAMinute);
    const exists = async (url: string) => (await store.head(url)) !== undefined;
    // An import within the day reads the file (a retry with its key would too).
    expect((await importUrl(t.users.admin.token, fresh.url, "?dryRun=true")).json).toMatchObject({ dryRun: true, rows: 1, created: 1 });
    const run = await call("GET", "/api/cron/blob-cleanup", { token: process.env.CRON_SECRET });
    expect(run.status, run.text).toBe(200);
    expect(run.json.importFilesDeleted).toBeGreaterThanOrEqual(2);
    expect([await exists(old.url), await exists(theirsOld.url), await exists(fresh.url), await exists(image.url)]).toEqual([false, false, true, true]);
    // Once swept, an import naming the file is the 422 of an absent one.
    refusedUrl(await importUrl(t.users.admin.token, old.url));
    const again = await call("GET", "/api/cron/blob-cleanup", { token: process.env.CRON_SECRET });
    expect(again.json.importFilesDeleted).toBe(0);
  });

  it("acknowledges Vercel Blob's signed completion callback; forged or foreign ones are refused", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const storeToken = (await getBlobStore()).token;
    const callback = (pathname: string, tokenPayload: unknown, secret = storeToken) => {
      const body = { type: "blob.upload-completed", payload: { blob: { url: `https://store.example/${pathname}`, pathname, contentType: "text/csv" }, tokenPayload: JSON.stringify(tokenPayload) } };
      const signature = createHmac("sha256", secret).update(JSON.stringify(body)).digest("hex");
      return call("POST", "/api/items/import/upload", { body, headers: { "x-vercel-signature": signature } });
    };
    const good = await callback(`${importPrefix(t.id)}items-abc.csv`, { tenantId: t.id });
    expect(good.status).toBe(200);
    expect(good.json).toEqual({ type: "blob.upload-completed", response: "ok" });
    expect((await callback(`${importPrefix(t.id)}items-abc.csv`, { tenantId: t.id }, "vercel_blob_rw_local_wrongsecret")).status).toBe(401);
    expect((await callback(`${importPrefix(other.id)}items-abc.csv`, { tenantId: t.id })).status).toBe(403);
    expect((await callback(`${importPrefix(t.id)}../${other.id}/x.csv`, { tenantId: t.id })).status).toBe(403);
  });
});

describe("reading a blob with a cap and a timeout", () => {
  const stream = (chunks: Uint8Array[], stall: boolean) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        if (!stall) controller.close();
      },
    });
  const code = async (work: Promise<unknown>) => {
    try {
      await work;
      return "ok";
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      return (error as ApiError).code;
    }
  };

  it("answers 413 past the cap (declared or streamed), 503 when the store stalls past the timeout", async () => {
    const kb = new Uint8Array(1024);
    expect(await readCapped(new Response(stream([kb, kb], false)), 4096, AbortSignal.timeout(5_000))).toHaveLength(2048);
    expect(await code(readCapped(new Response(stream([kb, kb, kb], false)), 2048, AbortSignal.timeout(5_000)))).toBe("payload_too_large");
    expect(await code(readCapped(new Response(stream([kb], false), { headers: { "content-length": "999999" } }), 2048, AbortSignal.timeout(5_000)))).toBe("payload_too_large");
    const started = Date.now();
    expect(await code(readCapped(new Response(stream([kb], true)), 4096, AbortSignal.timeout(200)))).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe("item import from Vercel Blob (the store's HTTP read, fetch faked)", () => {
  const ctx = withTarget("pglite");
  const STORE = "teststore";
  const HOST = `${STORE}.public.blob.vercel-storage.com`;
  const slot = globalThis as typeof globalThis & { __tallyBlob?: unknown };
  const realFetch = globalThis.fetch;
  const fetched: string[] = [];
  let answer: (url: string) => Promise<Response> = async () => new Response("", { status: 404 });
  beforeAll(() => {
    process.env.BLOB_READ_WRITE_TOKEN = `vercel_blob_rw_${STORE}_${"0".repeat(30)}`;
    delete slot.__tallyBlob;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (!url.includes("vercel-storage.com") && !url.includes("evil")) return realFetch(input, init);
      fetched.push(url);
      expect(init?.redirect).toBe("error");
      return answer(url);
    }) as typeof fetch;
  });
  afterAll(() => {
    delete process.env.BLOB_READ_WRITE_TOKEN;
    delete slot.__tallyBlob;
    globalThis.fetch = realFetch;
  });
  const importUrl = (token: string, url: string, q = "") =>
    call("POST", `/api/items/import${q}`, { token, rawBody: JSON.stringify({ url }), headers: { "content-type": "application/json" } });

  it("fetches only https URLs on the store's own host, under the tenant's imports; a 404 is the 422, a failing or timed-out store 503, too big 413", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const admin = t.users.admin.token;
    const mine = `https://${HOST}/${importPrefix(t.id)}items-abc.csv`;
    answer = async () => new Response("name,sku,priceCents,stock\nTea,T-1,450,7\n", { headers: { "content-type": "text/csv" } });
    fetched.length = 0;
    for (const url of [
      `https://other.public.blob.vercel-storage.com/${importPrefix(t.id)}items-abc.csv`,
      `https://${HOST}.evil.example/${importPrefix(t.id)}items-abc.csv`,
      `https://evil.example/${importPrefix(t.id)}items-abc.csv`,
      `http://${HOST}/${importPrefix(t.id)}items-abc.csv`,
      `https://${HOST}:8443/${importPrefix(t.id)}items-abc.csv`,
      `https://user@${HOST}/${importPrefix(t.id)}items-abc.csv`,
      `https://${HOST}/${importPrefix(other.id)}items-abc.csv`,
      `https://${HOST}/${importPrefix(t.id)}..%2F..%2F${other.id}%2Fimports%2Fitems-abc.csv`,
      `https://${HOST}/tenants/${t.id}/items/x/items-abc.csv`,
    ]) {
      const r = await importUrl(admin, url);
      expect(r.status, url).toBe(422);
      expect(errorOf(r).details?.[0]?.path).toBe("url");
    }
    expect(fetched).toEqual([]);

    const ok = await importUrl(admin, `${mine}?download=1#x`);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ created: 1 });
    expect(fetched).toEqual([mine]);
    expect(Number((await query(ctx.db, sql`SELECT stock FROM items WHERE tenant_id = ${t.id} AND sku = 'T-1'`))[0]!.stock)).toBe(7);

    answer = async () => new Response("Not found", { status: 404 });
    expect((await importUrl(admin, mine, "?dryRun=true")).status).toBe(422);
    answer = async () => new Response("", { status: 502 });
    expect((await importUrl(admin, mine, "?dryRun=true")).status).toBe(503);
    answer = async () => Promise.reject(new DOMException("timed out", "TimeoutError"));
    const timedOut = await importUrl(admin, mine, "?dryRun=true");
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers.get("retry-after")).toBe("5");
    answer = async () => new Response("x", { headers: { "content-length": String(20 * MB) } });
    expect((await importUrl(admin, mine, "?dryRun=true")).status).toBe(413);
    answer = async () => new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(MB)) }));
    expect((await importUrl(admin, mine, "?dryRun=true")).status).toBe(413);
  });
});

describe("the import file sweep against Vercel Blob's API (a local stand-in at VERCEL_BLOB_API_URL)", () => {
  withTarget("pglite");
  const slot = globalThis as typeof globalThis & { __tallyBlob?: unknown };
  const requests: { method: string; url: string; body: string }[] = [];
  let listing: () => { status: number; body: unknown } = () => ({ status: 200, body: { blobs: [], hasMore: false } });
  let server: Server;
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        requests.push({ method: request.method ?? "", url: request.url ?? "", body });
        const answer = request.method === "GET" ? listing() : { status: 200, body: {} };
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    process.env.VERCEL_BLOB_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.BLOB_READ_WRITE_TOKEN = `vercel_blob_rw_sweepstore_${"0".repeat(30)}`;
    delete slot.__tallyBlob;
  });
  afterAll(async () => {
    delete process.env.VERCEL_BLOB_API_URL;
    delete process.env.BLOB_READ_WRITE_TOKEN;
    delete slot.__tallyBlob;
    await new Promise((done) => server.close(done));
  });
  const cron = () => call("GET", "/api/cron/blob-cleanup", { token: process.env.CRON_SECRET });

  it("lists only imports/, deletes what is older than a day; a failing store leaves them for the next run", async () => {
    const blob = (pathname: string, ageMs: number) => ({ url: `https://sweepstore.public.blob.vercel-storage.com/${pathname}`, downloadUrl: "", pathname, size: 9, uploadedAt: new Date(Date.now() - ageMs).toISOString(), etag: "e" });
    const old = blob("imports/a/old-x.csv", IMPORT_FILE_TTL_MS + 60_000);
    const fresh = blob("imports/b/new-y.json", 60_000);
    listing = () => ({ status: 200, body: { blobs: [old, fresh], hasMore: false } });
    requests.length = 0;
    const run = await cron();
    expect(run.status, run.text).toBe(200);
    expect(run.json.importFilesDeleted).toBe(1);
    const list = requests.find((r) => r.method === "GET")!;
    expect(new URL(list.url, "http://x").searchParams.get("prefix")).toBe("imports/");
    const deletion = requests.find((r) => r.method === "POST")!;
    expect(JSON.parse(deletion.body).urls).toEqual([old.url]);

    listing = () => ({ status: 403, body: { error: { code: "forbidden", message: "Access denied" } } });
    const refused = await cron();
    expect(refused.status, refused.text).toBe(200);
    expect(refused.json.importFilesDeleted).toBe(0);
  });
});
