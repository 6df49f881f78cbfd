// Reads what `vercel build` produced (.vercel/output, Build Output API v3) and checks it against
// the source tree and the budgets. Pure file-system reads, so tests can run it on fixtures.
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

// Vercel limits each function (250 MB unpacked), not the sum, so the sum is budgeted per function:
// 4 MB on average keeps the shared drivers lean (PGlite alone would add 16 MB to each) while routes
// grow. Writes that kick webhook deliveries carry undici (1.5 MB traced), loaded only when they send.
export const BUDGETS = {
  largestFunctionBytes: 10 * 1024 * 1024,
  averageFunctionBytes: 4 * 1024 * 1024,
  staticBytes: 20 * 1024 * 1024,
};

/** Function names Vercel must build from api/: every .ts file outside `_`-prefixed files and folders. */
export function expectedFunctions(apiDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        out.push(`api/${relative(apiDir, path).split(sep).join("/").replace(/\.(ts|js|mjs)$/, "")}`);
      }
    }
  };
  walk(apiDir);
  return out.sort();
}

/** `api/items/[id]/index` -> `/api/items/[id]` (the pattern the route catalog uses). */
export function patternOf(functionName: string): string {
  return `/${functionName.replace(/\/index$/, "")}`;
}

export interface FunctionInfo {
  name: string;
  dir: string;
  bytes: number;
  files: number;
  /** Paths inside the function that belong to @electric-sql (PGlite). */
  electric: string[];
  config: { handler: string; runtime: string; launcherType?: string; [key: string]: unknown };
}

export function builtFunctions(functionsDir: string): FunctionInfo[] {
  const out: FunctionInfo[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) continue;
      if (entry.name.endsWith(".func")) {
        const name = relative(functionsDir, path).split(sep).join("/").replace(/\.func$/, "");
        const config = JSON.parse(readFileSync(join(path, ".vc-config.json"), "utf8")) as FunctionInfo["config"];
        const { bytes, files, matches } = measure(path, (p) => p.includes(`node_modules${sep}@electric-sql`));
        out.push({ name, dir: path, bytes, files, electric: matches.map((m) => relative(path, m)), config });
      } else walk(path);
    }
  };
  walk(functionsDir);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function measure(root: string, match: (path: string) => boolean = () => false): { bytes: number; files: number; matches: string[] } {
  let bytes = 0;
  let files = 0;
  const matches: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        bytes += lstatSync(path).size;
        files += 1;
        if (match(path)) matches.push(path);
      }
    }
  };
  walk(root);
  return { bytes, files, matches };
}

export interface Cron {
  path: string;
  schedule: string;
}

/** Crons declared in vercel.json that the build output does not carry (Vercel would never call them). */
export function missingCrons(vercelJsonPath: string, outputConfigPath: string): { declared: Cron[]; built: Cron[]; missing: Cron[] } {
  const declared = ((JSON.parse(readFileSync(vercelJsonPath, "utf8")) as { crons?: Cron[] }).crons ?? []).map(({ path, schedule }) => ({ path, schedule }));
  const built = existsSync(outputConfigPath) ? ((JSON.parse(readFileSync(outputConfigPath, "utf8")) as { crons?: Cron[] }).crons ?? []) : [];
  const missing = declared.filter((c) => !built.some((b) => b.path === c.path && b.schedule === c.schedule));
  return { declared, built, missing };
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
