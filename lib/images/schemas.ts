import * as v from "valibot";
import { text } from "../http/inputs.js";

export const CompleteUpload = v.strictObject({
  url: v.pipe(text("must be the uploaded blob's URL"), v.maxLength(2048, "must be at most 2048 characters"), v.url("must be a URL")),
});

// handleUpload's two events: a browser asking for a client token, and Vercel Blob's signed
// completion callback. Their payloads are checked by @vercel/blob itself.
export const ClientUploadEvent = v.looseObject({
  type: v.picklist(["blob.generate-client-token", "blob.upload-completed"], "must be a Vercel Blob client-upload event"),
  payload: v.looseObject({}),
});
