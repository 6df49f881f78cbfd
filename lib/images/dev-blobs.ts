import { ApiError, notFound } from "../http/errors.js";
import { readLocalBlob } from "../platform/blob.js";
import { isProduction } from "../platform/config.js";

const IMAGE_PATH = /^tenants\/[0-9a-f-]{36}\/items\/[0-9a-f-]{36}\/[A-Za-z0-9_-]+\.(jpg|png|webp|gif)$/;

export async function serveLocalBlob(pathname: string): Promise<Response> {
  if (isProduction() || process.env.BLOB_READ_WRITE_TOKEN) throw notFound("Blob");
  if (!IMAGE_PATH.test(pathname)) throw new ApiError("not_found", "Blob not found.");
  const blob = await readLocalBlob(pathname);
  if (!blob) throw notFound("Blob");
  return new Response(new Uint8Array(blob.bytes), {
    headers: { "Content-Type": blob.contentType, "Cache-Control": "public, max-age=31536000, immutable", "Content-Security-Policy": "default-src 'none'" },
  });
}
