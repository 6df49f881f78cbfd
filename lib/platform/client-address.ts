import { ipAddress } from "@vercel/functions/headers";

// Per-IP rate limits need an address the client cannot choose. X-Forwarded-For and X-Real-IP are
// whatever the client sent unless a proxy we run behind overwrote them, so they are trusted only
// where the platform guarantees that:
// - on Vercel (VERCEL=1 at run time) the edge sets x-real-ip itself, replacing any client value;
//   @vercel/functions' ipAddress() reads exactly that header (its `headers` entry costs ~1 ms to import);
// - locally the runtime in lib/dev records each request's TCP peer here; no header is read.
// Anything else (in-process calls without a recorded peer) shares one "unknown" bucket.
const slot = globalThis as typeof globalThis & { __tallySocketAddresses?: WeakMap<Request, string> };
const socketAddresses = (slot.__tallySocketAddresses ??= new WeakMap());

/** Called by the local runtime for each request it serves, with the socket's remote address. */
export function recordSocketAddress(request: Request, address: string | undefined): void {
  if (address) socketAddresses.set(request, address);
}

export function clientAddress(request: Request): string {
  if (process.env.VERCEL === "1") return ipAddress(request)?.trim() || "unknown";
  return socketAddresses.get(request) ?? "unknown";
}
