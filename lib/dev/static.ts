import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

// The local runtime's stand-in for Vercel's static output: files under public/ at their own path,
// a directory's index.html for the directory. Vercel serves the filesystem before functions; here
// nothing under /api/ is looked up, so the two never overlap.
export const PUBLIC_DIR = fileURLToPath(new URL("../../public", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/** The public/ file a GET or HEAD of `pathname` names, as a Response; undefined when there is none. */
export async function servePublic(method: string, pathname: string, root = PUBLIC_DIR): Promise<Response | undefined> {
  if ((method !== "GET" && method !== "HEAD") || pathname.startsWith("/api/")) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  const base = resolve(root);
  let file = resolve(join(base, decoded));
  if (file !== base && !file.startsWith(base + sep)) return undefined;
  const found = await stat(file).catch(() => undefined);
  if (found?.isDirectory()) file = join(file, "index.html");
  else if (!found?.isFile()) return undefined;
  const body = await readFile(file).catch(() => undefined);
  if (!body) return undefined;
  const headers = { "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream", "x-content-type-options": "nosniff" };
  return new Response(method === "HEAD" ? null : body, { status: 200, headers });
}
