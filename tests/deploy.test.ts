import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { builtFunctions, expectedFunctions, missingCrons, patternOf } from "./deploy/output.js";
import { SmokeFailure, startFunction } from "./deploy/smoke.js";

const scratch = mkdtempSync(join(tmpdir(), "tally-deploy-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function write(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A built function as `vercel build` lays it out: .vc-config.json, package.json, the handler. */
function fakeFunction(name: string, handler: string) {
  const dir = join(scratch, "functions", `${name}.func`);
  write(join(dir, ".vc-config.json"), JSON.stringify({ handler: `${name}.js`, runtime: "nodejs24.x", launcherType: "Nodejs", shouldAddHelpers: true }));
  write(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  write(join(dir, `${name}.js`), handler);
  return { name, dir, config: { handler: `${name}.js`, runtime: "nodejs24.x", launcherType: "Nodejs" } };
}

// The harness runs on the Node running the tests here; deploy:check gives it Node 24.
const node = process.execPath;

describe("smoke harness (@vercel/node's launcher)", () => {
  it("passes a Web Request with Vercel's ?param= and answers 405 for unexported methods", async () => {
    const fn = fakeFunction("api/echo", `export const GET = (request) => Response.json({ url: request.url, method: request.method });`);
    const running = await startFunction(fn, { node, env: { PATH: process.env.PATH! } });
    try {
      const ok = await running.request("GET", "/api/echo/abc?id=abc");
      expect(ok.status).toBe(200);
      expect(new URL(ok.json.url).pathname + new URL(ok.json.url).search).toBe("/api/echo/abc?id=abc");
      expect((await running.request("POST", "/api/echo/abc", { body: {} })).status).toBe(405);
    } finally {
      running.stop();
    }
  });

  it("fails with the import error when a function throws at import", async () => {
    const fn = fakeFunction("api/boom", `throw new Error("boom at import");\nexport const GET = () => new Response("never");`);
    const failure = await startFunction(fn, { node, env: { PATH: process.env.PATH! } }).then(
      async (running) => {
        try {
          await running.request("GET", "/api/boom");
          return undefined;
        } catch (error) {
          return error;
        } finally {
          running.stop();
        }
      },
      (error) => error,
    );
    expect(failure).toBeInstanceOf(SmokeFailure);
    expect((failure as Error).message).toContain("boom at import");
    expect((failure as Error).message).not.toContain("\n");
  });

  it("notices a function that dies after answering", async () => {
    const fn = fakeFunction("api/late", `export const GET = () => { setTimeout(() => { throw new Error("late crash"); }, 20); return new Response("ok"); };`);
    const running = await startFunction(fn, { node, env: { PATH: process.env.PATH! } });
    try {
      expect((await running.request("GET", "/api/late")).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      expect(() => running.assertAlive()).toThrow(/late crash/);
    } finally {
      running.stop();
    }
  });

  it("gives up on a function that never finishes importing", async () => {
    const fn = fakeFunction("api/hang", `await new Promise(() => setInterval(() => {}, 1000));\nexport const GET = () => new Response("never");`);
    await expect(startFunction(fn, { node, env: { PATH: process.env.PATH! }, startTimeoutMs: 1500 })).rejects.toThrow(/did not start within 1500 ms/);
  });
});

describe("build output checks", () => {
  it("expects one function per api/ file, skipping _ files and folders", () => {
    const api = join(scratch, "api-tree");
    for (const file of ["health.ts", "items/index.ts", "items/[id]/restore.ts", "_lib/helper.ts", "items/_draft.ts"]) write(join(api, file), "export {};");
    expect(expectedFunctions(api)).toEqual(["api/health", "api/items/[id]/restore", "api/items/index"]);
    expect(patternOf("api/items/index")).toBe("/api/items");
    expect(patternOf("api/items/[id]/restore")).toBe("/api/items/[id]/restore");
  });

  it("measures functions and finds @electric-sql files in them", () => {
    const fn = fakeFunction("api/heavy", "export const GET = () => new Response('x');");
    write(join(fn.dir, "node_modules/@electric-sql/pglite/dist/pglite.wasm"), "x".repeat(1000));
    const found = builtFunctions(join(scratch, "functions")).find((f) => f.name === "api/heavy")!;
    expect(found.electric).toEqual([join("node_modules/@electric-sql/pglite/dist/pglite.wasm")]);
    expect(found.bytes).toBeGreaterThan(1000);
  });

  it("reports crons of vercel.json missing from the output config", () => {
    write(join(scratch, "vercel.json"), JSON.stringify({ crons: [{ path: "/api/cron/a", schedule: "0 4 * * *" }, { path: "/api/cron/b", schedule: "*/15 * * * *" }] }));
    write(join(scratch, "config.json"), JSON.stringify({ version: 3, crons: [{ path: "/api/cron/a", schedule: "0 4 * * *" }] }));
    expect(missingCrons(join(scratch, "vercel.json"), join(scratch, "config.json")).missing).toEqual([{ path: "/api/cron/b", schedule: "*/15 * * * *" }]);
  });
});

describe("no production code path reaches PGlite", () => {
  it("no api/ module imports db/pglite.ts, @electric-sql or drizzle-orm/pglite", async () => {
    const entryPoints = expectedFunctions("api").map((name) => `${name}.ts`);
    const result = await build({ entryPoints, bundle: true, write: false, metafile: true, platform: "node", format: "esm", packages: "external", outdir: join(scratch, "esbuild"), logLevel: "silent" });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.startsWith("api/"))).toBe(true);
    expect(inputs.some((i) => i.startsWith("db/client"))).toBe(true);
    const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    expect(inputs.filter((i) => /db\/pglite|electric-sql/.test(i))).toEqual([]);
    expect(imports.filter((p) => /electric-sql|drizzle-orm\/pglite|db\/pglite/.test(p))).toEqual([]);
    // nft also follows import(variable): none may exist in code the functions load.
    const dynamic = inputs.filter((i) => !i.includes("node_modules")).filter((i) => /import\(\s*[A-Za-z_$]/.test(readFileSync(i, "utf8")));
    expect(dynamic).toEqual([]);
  });
});

describe("deploy:check refuses bad input with one line and a non-zero exit", () => {
  const runCheck = (env: Record<string, string | undefined>) => {
    const clean = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
    return spawnSync(process.execPath, ["--import", "tsx", "tests/deploy/check.ts"], { env: clean, encoding: "utf8", timeout: 60_000 });
  };

  it("without DEPLOY_CHECK_POSTGRES_URL", () => {
    const result = runCheck({ DEPLOY_CHECK_POSTGRES_URL: undefined });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^deploy:check: set DEPLOY_CHECK_POSTGRES_URL/)]);
  });

  it("with an unreachable build database", () => {
    const result = runCheck({ DEPLOY_CHECK_POSTGRES_URL: "postgres://postgres@127.0.0.1:9/postgres" });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^deploy:check: build database unreachable .*ECONNREFUSED/)]);
  });
});
