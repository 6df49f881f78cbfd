import * as v from "valibot";
import { countOut } from "../http/outputs.js";
import { text } from "../http/inputs.js";
import { IMAGE_TYPES } from "./sniff.js";

export const CompleteUpload = v.strictObject({
  url: v.pipe(text("must be the uploaded blob's URL"), v.maxLength(2048, "must be at most 2048 characters"), v.url("must be a URL")),
});

// handleUpload's two events: a browser asking for a client token, and Vercel Blob's signed
// completion callback. Their payloads are checked by @vercel/blob itself.
export const ClientUploadEvent = v.looseObject({
  type: v.picklist(["blob.generate-client-token", "blob.upload-completed"], "must be a Vercel Blob client-upload event"),
  payload: v.looseObject({}),
});

/** What PUT /api/items/:id/image takes (typed by its bytes, whatever the Content-Type says). */
export const IMAGE_MEDIA_TYPES = Object.keys(IMAGE_TYPES);

// Output schemas. Item answers use ItemOut (lib/items/schemas.ts).
export const BlobCleanupOut = v.strictObject({ attempted: countOut, importFilesDeleted: countOut });
/** @vercel/blob's handleUpload answers: a client token, or the acknowledgement of a completion callback. */
export const ClientUploadOut = v.union([
  v.strictObject({ type: v.literal("blob.generate-client-token"), clientToken: v.string() }),
  v.strictObject({ type: v.literal("blob.upload-completed"), response: v.literal("ok") }),
]);
