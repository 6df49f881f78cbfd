// The module graph of every function as Node will load it: esbuild resolves our own files (types
// erased, so `import type` does not count) and reports each package import with how it is made —
// a static `import`, a lazy `import()`, or a `require()` in a CommonJS file of ours.
import { relative, sep } from "node:path";
import * as esbuild from "esbuild";
import { discoverRoutes } from "../../lib/dev/routes.js";

export interface PackageImport {
  specifier: string;
  kind: "import-statement" | "dynamic-import" | "require-call" | string;
  /** Our file that imports it, relative to the project root. */
  from: string;
}

export interface FunctionGraph {
  /** api/… file, relative to the root. */
  fn: string;
  /** Our files it loads (static imports) or may load later (lazy imports). */
  files: string[];
  packages: PackageImport[];
}

export async function functionGraphs(root: string): Promise<FunctionGraph[]> {
  const entries = discoverRoutes(`${root}/api`).map((r) => r.file);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    outdir: "out",
    logLevel: "silent",
  });
  const inputs = result.metafile.inputs;
  const rel = (file: string) => relative(root, file).split(sep).join("/");
  return entries.map((entry) => {
    const files = new Set<string>();
    const packages: PackageImport[] = [];
    const visit = (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      for (const edge of inputs[file]?.imports ?? []) {
        if (edge.external) {
          if (!edge.path.startsWith("node:")) packages.push({ specifier: edge.path, kind: edge.kind, from: file });
        } else visit(edge.path);
      }
    };
    visit(rel(entry));
    return { fn: rel(entry), files: [...files], packages };
  });
}
