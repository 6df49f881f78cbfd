import { ApiError } from "../http/errors.js";
import { getBlobStore } from "../platform/blob.js";

/** Where a tenant's uploads live in the blob store (item images use a deeper prefix under it). */
export const tenantBlobPrefix = (tenantId: string) => `tenants/${tenantId}/`;

const VERCEL_BLOB_HOST = /\.public\.blob\.vercel-storage\.com$/;

/**
 * Attachments are URLs of blobs this tenant stored: in this deployment's store (on Vercel, a
 * Vercel Blob host), under the tenant's prefix. Checked without I/O, so a message post stays one
 * database round trip; anything else is a 422 naming the attachment, with nothing stored.
 */
export async function checkAttachments(tenantId: string, urls: string[], field = "attachments"): Promise<void> {
  if (urls.length === 0) return;
  const store = await getBlobStore();
  const prefix = tenantBlobPrefix(tenantId);
  const problems = urls.flatMap((url, index) => {
    const pathname = store.pathnameOf(url);
    let hostOk = true;
    if (store.kind === "vercel") {
      try {
        const parsed = new URL(url);
        hostOk = parsed.protocol === "https:" && VERCEL_BLOB_HOST.test(parsed.hostname);
      } catch {
        hostOk = false;
      }
    }
    return hostOk && pathname?.startsWith(prefix) ? [] : [{ path: `${field}.${index}`, message: "is not a blob of this shop" }];
  });
  if (problems.length) throw new ApiError("unprocessable", "Attachments must be files uploaded to this shop.", problems);
}
