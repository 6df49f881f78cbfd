import { authenticate, type AuthContext } from "../auth/session.js";
import { ApiError } from "../http/errors.js";
import { getBlobStore } from "./blob.js";

// Vercel Blob's client-upload protocol (@vercel/blob/client handleUpload), shared by the routes that
// take one: item images (lib/images/service.ts) and bulk-import files (lib/items/import-blob.ts).
// Token requests come from the browser and need an admin of the tenant; completion callbacks come
// from Vercel Blob, signed with the store token, and carry the payload we put in the token.

/** handleUpload's two events; their payloads are checked by @vercel/blob itself. */
export interface ClientUploadBody {
  type: string;
  payload: Record<string, unknown>;
}

export interface ClientUploadPolicy<T> {
  /** Runs once the token requester is authenticated (an item route: 404 for an item not in the tenant). */
  admitted?(auth: AuthContext): Promise<void>;
  /** The token's terms for this pathname, or an ApiError refusing it (403 outside the prefix, 415 a wrong type). */
  token(auth: AuthContext, pathname: string, declaredType: string | undefined): {
    allowedContentTypes: string[];
    maximumSizeInBytes: number;
    tokenPayload: T;
    /** The route Vercel Blob calls back when BLOB_CALLBACK_URL is set (the API's public origin). */
    callbackPath: string;
  };
  /** The verified completion callback, with the token payload we issued (null if it carried none). */
  completed(blob: { url: string; pathname: string }, claimed: T | null): Promise<void>;
}

/** A pathname under `prefix`, refused (403 naming payload.pathname) otherwise; ".." anywhere is refused too. */
export function requirePrefix(pathname: string, prefix: string): void {
  if (!pathname.startsWith(prefix) || pathname.includes("..")) {
    throw new ApiError("forbidden", `Upload under ${prefix} only.`, [{ path: "payload.pathname", message: `must start with ${prefix}` }]);
  }
}

/** The content type a client declared in its clientPayload (`{"contentType": …}`), if any. */
function clientContentType(clientPayload: string | null): string | undefined {
  if (!clientPayload) return undefined;
  try {
    const parsed = JSON.parse(clientPayload) as { contentType?: unknown };
    return typeof parsed.contentType === "string" ? parsed.contentType : undefined;
  } catch {
    return undefined;
  }
}

export async function handleClientUpload<T>(request: Request, body: ClientUploadBody, policy: ClientUploadPolicy<T>) {
  const store = await getBlobStore();
  const { handleUpload } = await import("@vercel/blob/client");
  const auth = body.type === "blob.generate-client-token" ? await authenticate(request, "admin") : undefined;
  if (auth) await policy.admitted?.(auth);
  // Set once @vercel/blob has verified the callback's signature and hands us its payload.
  let verified = false;
  try {
    return await handleUpload({
      request,
      body: body as never,
      token: store.token,
      onBeforeGenerateToken: async (pathname, clientPayload) => {
        const terms = policy.token(auth!, pathname, clientContentType(clientPayload));
        return {
          allowedContentTypes: terms.allowedContentTypes,
          maximumSizeInBytes: terms.maximumSizeInBytes,
          addRandomSuffix: true,
          tokenPayload: JSON.stringify(terms.tokenPayload),
          ...(process.env.BLOB_CALLBACK_URL ? { callbackUrl: `${process.env.BLOB_CALLBACK_URL}${terms.callbackPath}` } : {}),
        };
      },
      onUploadCompleted: async ({ blob, tokenPayload }) => {
        verified = true;
        await policy.completed(blob, JSON.parse(tokenPayload ?? "null") as T | null);
      },
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // Whatever fails before the payload is handed over is a failed verification, however
    // @vercel/blob reports it (a BlobError, or a RangeError for an odd-length signature).
    if (body.type === "blob.upload-completed" && !verified) {
      throw new ApiError("unauthorized", "The upload callback could not be verified.");
    }
    throw error;
  }
}
