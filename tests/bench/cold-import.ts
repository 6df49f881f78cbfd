// Cold import time of every api/ module, each in a fresh Node process: the part of a Vercel cold start
// that our code controls. The TypeScript is transpiled file by file (no bundling, imports untouched —
// they already end in .js) into .build/, so Node loads plain JS exactly as the sources lay it out and
// resolves dependencies from the project's node_modules.
import { spawnSync } from "node:child_process";
import { cpSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { discoverRoutes } from "../../lib/dev/routes.js";
import { median } from "./stats.js";

export const IMPORT_BUDGET_MS = 80;

export interface ColdImportRow {
  module: string;
  importMs: number[];
  processMs: number[];
}

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !/\.(test|spec)\.ts$/.test(f))
    .map((f) => join(dir, f));
}

/** Transpiles api/, lib/ and db/ into <root>/.build/ and returns that directory. */
export async function buildForNode(root: string): Promise<string> {
  const outdir = join(root, ".build");
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const entryPoints = ["api", "lib", "db"].flatMap((d) => typescriptFiles(join(root, d)));
  await esbuild.build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    outbase: ".",
    bundle: false,
    format: "esm",
    platform: "node",
    // The running Node: with a bare "node20" esbuild would drop `with { type: "json" }` (added in 20.10).
    target: `node${process.versions.node}`,
    logLevel: "warning",
  });
  // "type": "module" for the .js files, and lib/health reads the version from ../../package.json.
  copyFileSync(join(root, "package.json"), join(outdir, "package.json"));
  cpSync(join(root, "migrations"), join(outdir, "migrations"), { recursive: true });
  return outdir;
}

// Timed inside the child: only the import, not Node's own start-up.
const PROBE = `
const started = performance.now();
await import(process.env.BENCH_IMPORT);
process.stdout.write(String(performance.now() - started));
`;

/** Imports `specifier` (a file URL, or a package resolved from `cwd`) in a fresh Node process. */
function importOnce(specifier: string, cwd: string): { importMs: number; processMs: number } {
  const started = performance.now();
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", PROBE], {
    cwd,
    env: { PATH: process.env.PATH, LOG_LEVEL: "silent", BENCH_IMPORT: specifier },
    encoding: "utf8",
  });
  const processMs = performance.now() - started;
  const importMs = Number(child.stdout);
  if (child.status !== 0 || !Number.isFinite(importMs)) {
    throw new Error(`importing ${specifier} failed (exit ${child.status}):\n${child.stderr}`);
  }
  return { importMs, processMs };
}

function sample(specifier: string, cwd: string, label: string, runs: number): ColdImportRow {
  importOnce(specifier, cwd); // untimed: the first read of the files from disk is not what we measure
  const row: ColdImportRow = { module: label, importMs: [], processMs: [] };
  for (let i = 0; i < runs; i++) {
    const { importMs, processMs } = importOnce(specifier, cwd);
    row.importMs.push(importMs);
    row.processMs.push(processMs);
  }
  return row;
}

/** Every function in api/, as Vercel would deploy it. */
export function measureColdImports(buildDir: string, runs: number): ColdImportRow[] {
  return discoverRoutes(join(buildDir, "api")).map((route) =>
    sample(pathToFileURL(route.file).href, buildDir, relative(buildDir, route.file).split(sep).join("/").replace(/\.js$/, ".ts"), runs),
  );
}

const IMPORT_FROM = /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm;

/** Packages the api/ modules import statically (following our own relative imports), e.g. "jose". */
export function staticPackageImports(buildDir: string): string[] {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT_FROM)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith(".")) {
        if (specifier.endsWith(".js")) visit(join(dirname(file), specifier));
      } else if (!specifier.startsWith("node:")) packages.add(specifier);
    }
  };
  for (const route of discoverRoutes(join(buildDir, "api"))) visit(route.file);
  return [...packages].sort();
}

/** Each package alone in a fresh process: what it adds to a cold start (shared code counts in each). */
export function measurePackageImports(buildDir: string, runs: number): ColdImportRow[] {
  return staticPackageImports(buildDir).map((name) => sample(name, buildDir, name, runs));
}

export function coldImportSummary(row: ColdImportRow) {
  const importMedian = median(row.importMs);
  return { importMedian, processMedian: median(row.processMs), withinBudget: importMedian <= IMPORT_BUDGET_MS };
}
