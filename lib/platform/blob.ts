import { createHmac, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { ApiError } from "../http/errors.js";
import { imageTypeOfName } from "../images/sniff.js";
import { isProduction } from "./config.js";

export interface StoredBlob {
  url: string;
  pathname: string;
  size: number;
  contentType: string;
}

/** Vercel Blob in production; files under .data/blobs locally, with the same interface. */
export interface BlobStore {
  kind: "vercel" | "local";
  /** The read-write token client tokens are signed with and upload callbacks verified against. */
  token: string;
  put(pathname: string, body: Uint8Array, contentType: string): Promise<StoredBlob>;
  /** The canonical pathname a URL of this store names; undefined if it is not one (or not canonical). */
  pathnameOf(url: string): string | undefined;
  head(url: string): Promise<StoredBlob | undefined>;
  /**
   * The bytes of a blob of this store — only a URL on this store's own origin (never another host:
   * no request leaves for anything else) — or undefined when it is not one or is absent. 413 past
   * `maxBytes` (the size known from the store, or counted while streaming); 503 when the store does
   * not answer within `timeoutMs` or fails.
   */
  read(url: string, limits: ReadLimits): Promise<(StoredBlob & { bytes: Uint8Array }) | undefined>;
  del(urls: string[]): Promise<void>;
  /** One page (≤ 1,000) of the blobs under `prefix`, in no promised order; `cursor` for the next page. Gives up after `timeoutMs`. */
  list(prefix: string, cursor?: string, timeoutMs?: number): Promise<{ blobs: ListedBlob[]; cursor?: string }>;
}

export interface ListedBlob {
  url: string;
  pathname: string;
  uploadedAt: Date;
}

export interface ReadLimits {
  maxBytes: number;
  timeoutMs: number;
}

const tooLarge = (maxBytes: number) => new ApiError("payload_too_large", `The file is larger than ${maxBytes} bytes.`);
const storeUnavailable = () => new ApiError("unavailable", "The blob store did not answer in time; try again shortly.", undefined, { "Retry-After": "5" });

/**
 * A blob's body, read to its end unless it passes `maxBytes` (413) or `signal` aborts first (503).
 * The signal is raced explicitly, so a body that stalls mid-stream is cut off whatever produced it.
 */
export async function readCapped(response: Response, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  let fail = () => {};
  const aborted = new Promise<never>((_, reject) => {
    fail = () => reject(storeUnavailable());
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => {});
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof ApiError) throw error;
    throw storeUnavailable();
  } finally {
    signal.removeEventListener("abort", fail);
  }
  return Buffer.concat(chunks);
}

const FILE_TYPES: Record<string, string> = { csv: "text/csv", json: "application/json" };
const contentTypeOf = (pathname: string) => imageTypeOfName(pathname) ?? FILE_TYPES[pathname.split(".").pop()!.toLowerCase()] ?? "application/octet-stream";

/** Vercel Blob adds a random suffix to every name; so do we, so a replaced image never reuses a URL. */
function withRandomSuffix(pathname: string): string {
  const dot = pathname.lastIndexOf(".");
  const suffix = randomBytes(8).toString("base64url");
  return dot > pathname.lastIndexOf("/") ? `${pathname.slice(0, dot)}-${suffix}${pathname.slice(dot)}` : `${pathname}-${suffix}`;
}

/**
 * A pathname as stored: relative, "/"-separated, no empty, "." or ".." segment, no backslash or NUL.
 * Anything else is refused rather than normalised, so "tenants/B/../A/x" can never pass a prefix
 * check for tenant B while naming tenant A's file.
 */
export function canonicalPathname(pathname: string): string | undefined {
  if (!pathname || pathname.length > 1024 || /[\\\u0000]/.test(pathname)) return undefined;
  return pathname.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..") ? pathname : undefined;
}

// @vercel/blob costs ~100 ms to import: only the routes that store images load it, on first use.
async function vercelStore(token: string): Promise<BlobStore> {
  const blob = await import("@vercel/blob");
  const pathnameOf = (url: string) => {
    try {
      // URL parsing already resolves dot segments; decoding can reveal encoded ones ("..%2F").
      return canonicalPathname(decodeURIComponent(new URL(url).pathname.slice(1)));
    } catch {
      return undefined;
    }
  };
  return {
    kind: "vercel",
    token,
    async put(pathname, body, contentType) {
      const result = await blob.put(pathname, Buffer.from(body), { access: "public", contentType, token, addRandomSuffix: true });
      return { url: result.url, pathname: result.pathname, size: body.byteLength, contentType };
    },
    pathnameOf,
    async head(url) {
      try {
        const result = await blob.head(url, { token });
        return { url: result.url, pathname: result.pathname, size: result.size, contentType: result.contentType };
      } catch (error) {
        if (error instanceof blob.BlobNotFoundError) return undefined;
        throw error;
      }
    },
    async read(url, { maxBytes, timeoutMs }) {
      // Only this store's own host (the read-write token names the store): never a request elsewhere.
      const host = `${token.split("_")[3]?.toLowerCase()}.public.blob.vercel-storage.com`;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return undefined;
      }
      const pathname = pathnameOf(url);
      if (parsed.protocol !== "https:" || parsed.hostname !== host || parsed.port !== "" || parsed.username !== "" || !pathname) return undefined;
      const signal = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(`https://${host}${parsed.pathname}`, { redirect: "error", signal, cache: "no-store" });
      } catch {
        throw storeUnavailable();
      }
      if (response.status === 404) return undefined;
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw storeUnavailable();
      }
      const bytes = await readCapped(response, maxBytes, signal);
      return { url: `https://${host}${parsed.pathname}`, pathname, size: bytes.byteLength, contentType: response.headers.get("content-type") ?? "application/octet-stream", bytes };
    },
    async del(urls) {
      if (urls.length) await blob.del(urls, { token });
    },
    async list(prefix, cursor, timeoutMs = 10_000) {
      // @vercel/blob retries network failures with backoff: without a deadline an unreachable store
      // would hold the cron until the function's own limit.
      const page = await blob.list({ prefix, cursor, limit: 1000, token, abortSignal: AbortSignal.timeout(timeoutMs) });
      return { blobs: page.blobs.map((b) => ({ url: b.url, pathname: b.pathname, uploadedAt: new Date(b.uploadedAt) })), cursor: page.hasMore ? page.cursor : undefined };
    },
  };
}

export const LOCAL_BLOB_ROUTE = "/api/dev/blob";
const tokenSlot = globalThis as typeof globalThis & { __tallyLocalBlobKey?: string };

/**
 * The local store's read-write token, shaped like a real one ("vercel_blob_rw_<store>_<secret>") so
 * @vercel/blob's client-token and callback-signature helpers work against it. Its secret part signs
 * upload callbacks, so it is derived from the dev secret (a constant in the source would let anyone
 * forge a callback); without a dev secret it is random per process.
 */
export function localBlobToken(devSecret = process.env.DEV_AUTH_SECRET): string {
  const key = devSecret ? createHmac("sha256", devSecret).update("tally local blob store").digest("hex") : (tokenSlot.__tallyLocalBlobKey ??= randomBytes(32).toString("hex"));
  return `vercel_blob_rw_local_${key}`;
}

function localBlobDir(): string {
  return resolve(process.env.BLOB_LOCAL_DIR ?? ".data/blobs");
}

/** The file a local blob lives in; undefined for a pathname that would escape the store. */
function localFile(pathname: string): string | undefined {
  const root = localBlobDir();
  const file = resolve(root, pathname);
  return file.startsWith(root + sep) ? file : undefined;
}

function localStore(): BlobStore {
  const base = process.env.LOCAL_BLOB_BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const fileOf = (pathname: string) => {
    const file = localFile(pathname);
    if (!file) throw new ApiError("bad_request", "Invalid blob path.");
    return file;
  };
  const pathnameOf = (url: string) => {
    try {
      const parsed = new URL(url, base);
      if (parsed.pathname !== LOCAL_BLOB_ROUTE) return undefined;
      const pathname = parsed.searchParams.get("pathname");
      return pathname === null ? undefined : canonicalPathname(pathname);
    } catch {
      return undefined;
    }
  };
  const urlOf = (pathname: string) => `${base}${LOCAL_BLOB_ROUTE}?pathname=${encodeURIComponent(pathname)}`;
  return {
    kind: "local",
    token: localBlobToken(),
    pathnameOf,
    async put(pathname, body, contentType) {
      const stored = withRandomSuffix(pathname);
      const file = fileOf(stored);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, body);
      return { url: urlOf(stored), pathname: stored, size: body.byteLength, contentType };
    },
    async head(url) {
      const pathname = pathnameOf(url);
      if (!pathname) return undefined;
      try {
        const info = await stat(fileOf(pathname));
        return { url: urlOf(pathname), pathname, size: info.size, contentType: contentTypeOf(pathname) };
      } catch {
        return undefined;
      }
    },
    async read(url, { maxBytes }) {
      // The local store is files: read by pathname, no HTTP request, and only for a URL on its own origin.
      let sameOrigin = false;
      try {
        sameOrigin = new URL(url).origin === new URL(base).origin;
      } catch {
        sameOrigin = false;
      }
      const pathname = sameOrigin ? pathnameOf(url) : undefined;
      const file = pathname && localFile(pathname);
      if (!pathname || !file) return undefined;
      let size: number;
      try {
        const info = await stat(file);
        if (!info.isFile()) return undefined;
        size = info.size;
      } catch {
        return undefined;
      }
      if (size > maxBytes) throw tooLarge(maxBytes);
      const bytes = await readFile(file).catch(() => undefined);
      if (!bytes) return undefined;
      if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
      return { url: urlOf(pathname), pathname, size: bytes.byteLength, contentType: contentTypeOf(pathname), bytes };
    },
    async del(urls) {
      for (const url of urls) {
        const pathname = pathnameOf(url);
        if (pathname) await rm(fileOf(pathname), { force: true });
      }
    },
    async list(prefix) {
      // Files, so one page: every file below the prefix's folder whose pathname starts with it.
      const root = localBlobDir();
      const folder = localFile(prefix.slice(0, prefix.lastIndexOf("/") + 1) || ".") ?? root;
      const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
      const blobs: ListedBlob[] = [];
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const file = resolve(entry.parentPath, entry.name);
        const pathname = file.slice(root.length + 1).split(sep).join("/");
        if (!pathname.startsWith(prefix)) continue;
        const info = await stat(file).catch(() => undefined);
        if (info) blobs.push({ url: urlOf(pathname), pathname, uploadedAt: info.mtime });
      }
      return { blobs };
    },
  };
}

/** Reads a locally stored blob for the dev route; undefined if absent. */
export async function readLocalBlob(pathname: string): Promise<{ bytes: Buffer; contentType: string } | undefined> {
  const file = localFile(pathname);
  if (!file) return undefined;
  try {
    return { bytes: await readFile(file), contentType: contentTypeOf(pathname) };
  } catch {
    return undefined;
  }
}

const slot = globalThis as typeof globalThis & { __tallyBlob?: Promise<BlobStore> };

export function getBlobStore(): Promise<BlobStore> {
  const token = process.env.BLOB_READ_WRITE_TOKEN;
  if (token) return (slot.__tallyBlob ??= vercelStore(token));
  if (isProduction()) throw new ApiError("config_error", "The server is misconfigured.");
  return Promise.resolve(localStore());
}
