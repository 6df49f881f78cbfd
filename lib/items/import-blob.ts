import { ApiError } from "../http/errors.js";
import { log } from "../platform/log.js";
import { errorFields } from "../platform/log-error.js";
import type { AuthContext } from "../auth/session.js";
import { handleClientUpload, requirePrefix, type ClientUploadBody } from "../platform/blob-upload.js";
import { canonicalPathname, getBlobStore } from "../platform/blob.js";

// Bulk import from a Vercel Blob client upload (README "Inventory", Bulk import). Vercel refuses
// function bodies over 4.5 MB, so a bigger file goes to Blob storage from the browser
// (POST /api/items/import/upload issues the token) and POST /api/items/import is sent `{ "url" }`.

const MB = 1024 * 1024;
/**
 * The largest import file taken through Blob. 10,000 rows with every column at its longest (≈ 820
 * bytes of ASCII a row) are ≈ 8 MB; 16 MiB leaves room for quoting and multi-byte text. A 20 MB file
 * is refused (the upload token's maximum, and again when the import reads it).
 */
export const MAX_BLOB_IMPORT_BYTES = 16 * MB;
/** How long the import waits for the blob store to send the file (the function has 60 s). */
export const BLOB_IMPORT_TIMEOUT_MS = 20_000;

/**
 * Every import file of a tenant lives under this prefix; the import reads nothing else. All tenants'
 * import files share the top folder `imports/`, so the daily sweep lists them alone (not every image).
 */
export const IMPORTS_FOLDER = "imports/";
export const importPrefix = (tenantId: string) => `${IMPORTS_FOLDER}${tenantId}/`;

/**
 * How long an uploaded import file is kept: long enough to run the import and retry it with its
 * Idempotency-Key (a retry reads the file again), short enough that a catalogue with costs does not
 * sit in a public store. The daily sweep deletes older ones, so a file lives 1–2 days.
 */
export const IMPORT_FILE_TTL_MS = 24 * 3600_000;
/** Deletions per sweep run (one list page): a backlog is worked off over the next runs. */
const SWEEP_BATCH = 1000;

/** The file types an import takes, by the blob's extension. */
export const IMPORT_FILE_TYPES = { csv: "text/csv", json: "application/json" } as const;
type ImportFileType = (typeof IMPORT_FILE_TYPES)[keyof typeof IMPORT_FILE_TYPES];

const typeOfName = (pathname: string): ImportFileType | undefined => {
  const dot = pathname.lastIndexOf(".");
  if (dot <= pathname.lastIndexOf("/")) return undefined;
  return (IMPORT_FILE_TYPES as Record<string, ImportFileType>)[pathname.slice(dot + 1).toLowerCase()];
};

/** The rest of a pathname after the prefix: one segment of safe characters and an allowed extension. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

interface ImportTokenPayload {
  tenantId: string;
}

/**
 * POST /api/items/import/upload, Vercel Blob's handleUpload protocol: tokens for an admin, for a
 * pathname `tenants/<tenant>/imports/<name>.csv|.json`, text/csv or application/json, at most
 * MAX_BLOB_IMPORT_BYTES. The completion callback (verified by its signature) records nothing: the
 * import itself is a separate request naming the URL.
 */
export async function clientImportUpload(request: Request, body: ClientUploadBody) {
  return handleClientUpload<ImportTokenPayload>(request, body, {
    token: (auth, pathname, declaredType) => {
      const prefix = importPrefix(auth.tenant.id);
      requirePrefix(pathname, prefix);
      if (!canonicalPathname(pathname) || !SAFE_NAME.test(pathname.slice(prefix.length))) {
        throw new ApiError("forbidden", `Upload one file directly under ${prefix}, named with letters, digits, ".", "_" and "-".`, [{ path: "payload.pathname", message: "not a safe file name" }]);
      }
      const byName = typeOfName(pathname);
      if (!byName || (declaredType !== undefined && declaredType !== byName)) {
        throw new ApiError("unsupported_media_type", "Upload a .csv file (text/csv) or a .json file (application/json).", [{ path: "payload.pathname", message: "not an import file type" }]);
      }
      return {
        allowedContentTypes: [byName],
        maximumSizeInBytes: MAX_BLOB_IMPORT_BYTES,
        tokenPayload: { tenantId: auth.tenant.id },
        callbackPath: "/api/items/import/upload",
      };
    },
    completed: async (blob, claimed) => {
      if (!claimed || !canonicalPathname(blob.pathname)?.startsWith(importPrefix(claimed.tenantId))) {
        throw new ApiError("forbidden", "The upload is not an import file of the tenant that asked for it.");
      }
    },
  });
}

const notAnImportFile = (message: string) => new ApiError("unprocessable", "That URL is not an import file uploaded to this shop.", [{ path: "url", message }]);

/**
 * The file an import names by URL. Only a URL of this deployment's blob store whose canonical
 * pathname lies under the tenant's imports prefix is read — checked before any I/O, so no request
 * leaves for another host; another tenant's file and an absent one get the same 422 naming `url`.
 * 413 past MAX_BLOB_IMPORT_BYTES, 503 when the store does not answer in BLOB_IMPORT_TIMEOUT_MS;
 * 415 for a blob that is not .csv or .json. The type comes from the pathname's extension.
 */
export async function readImportFile(auth: AuthContext, url: string): Promise<{ bytes: Uint8Array; type: ImportFileType }> {
  const store = await getBlobStore();
  const pathname = store.pathnameOf(url);
  if (!pathname?.startsWith(importPrefix(auth.tenant.id))) throw notAnImportFile("is not a file uploaded under this shop's imports");
  const type = typeOfName(pathname);
  if (!type) throw new ApiError("unsupported_media_type", "The import file must be a .csv or .json file.", [{ path: "url", message: "not a .csv or .json file" }]);
  const blob = await store.read(url, { maxBytes: MAX_BLOB_IMPORT_BYTES, timeoutMs: BLOB_IMPORT_TIMEOUT_MS });
  if (!blob) throw notAnImportFile("is not a file uploaded under this shop's imports");
  return { bytes: blob.bytes, type };
}

/**
 * Part of the daily blob-cleanup cron: deletes import files uploaded more than IMPORT_FILE_TTL_MS
 * ago, any tenant's (a purged tenant's too), at most SWEEP_BATCH a run.
 */
export async function sweepImportFiles(now = Date.now()): Promise<{ importFilesDeleted: number }> {
  const store = await getBlobStore();
  const stale: string[] = [];
  try {
    let cursor: string | undefined;
    do {
      const page = await store.list(IMPORTS_FOLDER, cursor);
      for (const blob of page.blobs) if (now - blob.uploadedAt.getTime() > IMPORT_FILE_TTL_MS && stale.length < SWEEP_BATCH) stale.push(blob.url);
      cursor = stale.length < SWEEP_BATCH ? page.cursor : undefined;
    } while (cursor);
    await store.del(stale);
  } catch (error) {
    // The store is down or slow: nothing is lost by waiting, the next daily run sweeps them.
    log("warn", "import file sweep failed; left for the next run", errorFields(error));
    return { importFilesDeleted: 0 };
  }
  return { importFilesDeleted: stale.length };
}
