import { getDb } from "../../db/client.js";
import type { AuthContext } from "../auth/session.js";
import { ApiError, notFound } from "../http/errors.js";
import { readBytes } from "../http/body.js";
import * as items from "../items/repo.js";
import { canonicalPathname, getBlobStore } from "../platform/blob.js";
import { handleClientUpload, requirePrefix, type ClientUploadBody } from "../platform/blob-upload.js";
import { log } from "../platform/log.js";
import { waitUntil } from "../platform/wait-until.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf, SYSTEM, type Actor } from "../events/outbox.js";
import { forgetDeletions, noteFailedDeletions, pendingDeletions } from "./repo.js";
import { IMAGE_TYPES, imageTypeOfName, isImageType, sniffImage } from "./sniff.js";
import { errorFields } from "../platform/log-error.js";

const MB = 1024 * 1024;
/** Client uploads go straight to Blob storage, so they may be larger than a function body (4.5 MB). */
export const maxClientUploadBytes = () => Number(process.env.IMAGE_MAX_BYTES ?? 5 * MB);
export const maxDirectUploadBytes = () => Math.min(Number(process.env.IMAGE_PUT_MAX_BYTES ?? 4 * MB), 4 * MB);

/** Every image of an item lives under this prefix; completion checks it before attaching. */
export const imagePrefix = (tenantId: string, itemId: string) => `tenants/${tenantId}/items/${itemId}/`;

/** Deletes blobs whose references are gone; what fails stays queued for the cleanup cron. */
export async function deleteQueuedBlobs(queued: items.QueuedDeletion[]): Promise<void> {
  if (!queued.length) return;
  const { db } = await getDb();
  try {
    await (await getBlobStore()).del(queued.map((q) => q.url));
    await forgetDeletions(db, queued.map((q) => q.id));
  } catch (error) {
    log("warn", "blob deletion failed; left for the cleanup cron", { count: queued.length, ...errorFields(error) });
    await noteFailedDeletions(db, queued.map((q) => q.id)).catch(() => {});
  }
}

/** Sets (or clears) the image of a live item; undefined if there is no such item in the tenant. */
async function attach(tenantId: string, itemId: string, url: string | null, actor: Actor) {
  const { db } = await getDb();
  const outcome = await items.setItemImage(db, tenantId, itemId, url, actor);
  if (!("item" in outcome)) return undefined;
  waitUntil(deleteQueuedBlobs(outcome.queued), "delete replaced image");
  await invalidate(tenantId, ["items"]);
  return outcome.item;
}

/** PUT /api/items/:id/image: a small raw image, typed by its bytes, stored, then attached. */
export async function uploadImage(auth: AuthContext, itemId: string, request: Request) {
  const declared = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const bytes = await readBytes(request, maxDirectUploadBytes());
  if (bytes.byteLength === 0) throw new ApiError("bad_request", "Send the image bytes as the body.");
  const sniffed = sniffImage(bytes);
  if ("problem" in sniffed) {
    if (sniffed.problem === "truncated") throw new ApiError("unprocessable", "The image is truncated or corrupt.");
    throw new ApiError("unsupported_media_type", `Send a JPEG, PNG, WebP or GIF image.`);
  }
  if (declared && declared !== "application/octet-stream" && declared !== sniffed.type) {
    throw new ApiError("unsupported_media_type", `The body is ${sniffed.type}, not ${declared}.`);
  }
  const store = await getBlobStore();
  const blob = await store.put(`${imagePrefix(auth.tenant.id, itemId)}image.${sniffed.ext}`, bytes, sniffed.type);
  const item = await attach(auth.tenant.id, itemId, blob.url, actorOf(auth));
  if (!item) {
    await store.del([blob.url]);
    throw notFound("Item");
  }
  return item;
}

/**
 * POST /api/items/:id/image/complete: attach a client upload after checking it is this item's. The
 * URL's canonical pathname must lie under the item's prefix before the store is even asked, and
 * "someone else's" and "absent" get the same answer, so the route tells nothing about other tenants.
 */
export async function completeUpload(auth: AuthContext, itemId: string, url: string) {
  const store = await getBlobStore();
  const pathname = store.pathnameOf(url);
  const blob = pathname?.startsWith(imagePrefix(auth.tenant.id, itemId)) ? await store.head(url) : undefined;
  const problem = !blob || blob.pathname !== pathname
    ? "is not an upload for this item"
    : !isImageType(blob.contentType) || blob.size > maxClientUploadBytes()
      ? "type or size not allowed"
      : undefined;
  if (problem) {
    // An unknown item (or another tenant's) is a 404 whatever the URL; only this refusal path pays the lookup.
    const { db } = await getDb();
    if (!(await items.findLiveItem(db, auth.tenant.id, itemId))) throw notFound("Item");
    throw new ApiError("unprocessable", "That URL is not an image uploaded for this item.", [{ path: "url", message: problem }]);
  }
  const item = await attach(auth.tenant.id, itemId, blob!.url, actorOf(auth));
  if (!item) throw notFound("Item");
  return item;
}

export async function removeImage(auth: AuthContext, itemId: string) {
  const item = await attach(auth.tenant.id, itemId, null, actorOf(auth));
  if (!item) throw notFound("Item");
  return item;
}

interface UploadTokenPayload {
  tenantId: string;
  itemId: string;
  /** Who asked for the upload: the item.updated event names them when Vercel Blob reports it done. */
  actor?: Actor;
}

/**
 * POST /api/items/:id/image/upload, Vercel Blob's handleUpload protocol (lib/platform/blob-upload.ts):
 * tokens for an admin of the item's tenant, under the item's prefix, for image types; the verified
 * completion callback attaches the image to the item named in the token.
 */
export async function clientUpload(request: Request, itemId: string, body: ClientUploadBody) {
  return handleClientUpload<UploadTokenPayload>(request, body, {
    admitted: async (auth) => {
      const { db } = await getDb();
      if (!(await items.findLiveItem(db, auth.tenant.id, itemId))) throw notFound("Item");
    },
    token: (auth, pathname, declaredType) => {
      requirePrefix(pathname, imagePrefix(auth.tenant.id, itemId));
      const declared = declaredType ?? imageTypeOfName(pathname);
      if (!declared || !isImageType(declared)) {
        throw new ApiError("unsupported_media_type", "Upload a JPEG, PNG, WebP or GIF image.", [{ path: "payload.pathname", message: "not an allowed image type" }]);
      }
      return {
        allowedContentTypes: Object.keys(IMAGE_TYPES),
        maximumSizeInBytes: maxClientUploadBytes(),
        tokenPayload: { tenantId: auth.tenant.id, itemId, actor: actorOf(auth) },
        callbackPath: `/api/items/${itemId}/image/upload`,
      };
    },
    completed: async (blob, claimed) => {
      if (!claimed || claimed.itemId !== itemId || !canonicalPathname(blob.pathname)?.startsWith(imagePrefix(claimed.tenantId, itemId))) {
        throw new ApiError("forbidden", "The upload does not belong to this item.");
      }
      await attach(claimed.tenantId, itemId, blob.url, claimed.actor ?? SYSTEM);
    },
  });
}

/** The cleanup cron: retries queued deletions (oldest first). */
export async function cleanupBlobs(limit = 100) {
  const { db } = await getDb();
  const pending = await pendingDeletions(db, limit);
  await deleteQueuedBlobs(pending);
  return { attempted: pending.length };
}
