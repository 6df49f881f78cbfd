import { readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { compilePattern, type PathPattern } from "../http/path.js";

export interface RouteFile {
  file: string;
  /** The URL pattern Vercel gives the file, e.g. /api/items/[id]/restore. */
  pattern: string;
  compiled: PathPattern;
}

const SOURCE = /\.(ts|js|mjs)$/;

/** Walks api/ the way Vercel deploys it: `_`-prefixed files and folders are not functions, index names its folder. */
export function discoverRoutes(apiDir: string): RouteFile[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith("_") || name.startsWith(".")) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (SOURCE.test(name) && !name.endsWith(".d.ts") && !/\.(test|spec)\./.test(name)) files.push(full);
    }
  };
  walk(apiDir);
  const routes = files.map((file) => {
    const rel = relative(apiDir, file).split(sep).join("/").replace(SOURCE, "");
    const pattern = `/api/${rel}`.replace(/\/index$/, "") || "/api";
    return { file, pattern, compiled: compilePattern(pattern) };
  });
  // Static segments beat dynamic ones: /api/items/deleted wins over /api/items/[id].
  return routes.sort((a, b) => (a.compiled.rank < b.compiled.rank ? -1 : a.compiled.rank > b.compiled.rank ? 1 : a.pattern.localeCompare(b.pattern)));
}
