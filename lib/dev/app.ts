import { fileURLToPath, pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { errorResponse } from "../http/route.js";
import { ApiError } from "../http/errors.js";
import { recordSocketAddress } from "../platform/client-address.js";
import { settleBackgroundWork } from "../platform/wait-until.js";
import { discoverRoutes, type RouteFile } from "./routes.js";
import { servePublic } from "./static.js";

export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];
type Module = Partial<Record<Method, (request: Request) => Response | Promise<Response>>>;

export interface LocalApp {
  routes: RouteFile[];
  /** `remoteAddress`: the TCP peer, which the local runtime vouches for as the client's IP. */
  fetch(request: Request, connection?: { remoteAddress?: string }): Promise<Response>;
  /** Waits for work handed to waitUntil (cache fills, cleanups) to finish. */
  settle(): Promise<void>;
}

export const API_DIR = fileURLToPath(new URL("../../api", import.meta.url));

/**
 * Serves api/ with Vercel's routing rules (and public/ as its static output), in process: used by the dev server and by tests (which
 * call fetch() directly, with no sockets).
 */
export function createLocalApp(apiDir = API_DIR): LocalApp {
  const routes = discoverRoutes(apiDir);
  const modules = new Map<string, Promise<Module>>();
  const load = (file: string) => {
    let module = modules.get(file);
    if (!module) {
      module = import(pathToFileURL(file).href) as Promise<Module>;
      modules.set(file, module);
    }
    return module;
  };

  return {
    routes,
    settle: settleBackgroundWork,
    async fetch(request, connection) {
      recordSocketAddress(request, connection?.remoteAddress);
      const { pathname } = new URL(request.url);
      const match = routes.find((r) => r.compiled.regex.test(pathname));
      if (!match) return (await servePublic(request.method, pathname)) ?? errorResponse(new ApiError("not_found", "No such route."), crypto.randomUUID());
      const module = await load(match.file);
      const handler = module[request.method as Method];
      if (handler) return handler(request);
      const allow = METHODS.filter((m) => typeof module[m] === "function").join(", ");
      const response = errorResponse(new ApiError("method_not_allowed", `${request.method} is not supported here.`), crypto.randomUUID());
      response.headers.set("Allow", allow);
      return response;
    },
  };
}

/**
 * Serves a local app over HTTP (the dev server, and tests that need real sockets). Each request's
 * socket address is handed to the app as the client's IP — what Vercel's edge does with x-real-ip.
 */
export function serveLocalApp(app: LocalApp, options: { port: number; hostname: string }, onListen?: (info: { port: number }) => void) {
  return serve(
    {
      fetch: (request, env) => app.fetch(request, { remoteAddress: "incoming" in env ? env.incoming.socket.remoteAddress : undefined }),
      port: options.port,
      hostname: options.hostname,
    },
    onListen,
  );
}
