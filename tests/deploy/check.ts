// `npm run deploy:check`: builds the project with the real Vercel CLI, offline, then runs every
// built function on Node 24 the way Vercel does, and checks the size and cron budgets.
// Needs DEPLOY_CHECK_POSTGRES_URL: a Postgres server where a throwaway database may be created for
// the build's migrations and the smoke run (it is dropped at the end). Every failure is one line
// starting with "deploy:check:" and a non-zero exit; every step has a time limit.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { ROUTES, type RouteSpec } from "../support/catalog.js";
import { startFakeGoogle } from "../support/google.js";
import { BUDGETS, builtFunctions, expectedFunctions, mb, measure, missingCrons, patternOf, type FunctionInfo } from "./output.js";
import { SmokeFailure, startFunction, stopAll, type RunningFunction, type SmokeResponse } from "./smoke.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUTPUT = join(ROOT, ".vercel/output");
const LOG_DIR = join(ROOT, ".data/deploy-check");
const TOTAL_TIMEOUT_MS = Number(process.env.DEPLOY_CHECK_TIMEOUT_MS ?? 25 * 60_000);
const BUILD_TIMEOUT_MS = 15 * 60_000;
const SAMPLE_ID = "01a20813-0118-73be-a81c-b59c7a651c18";
const CRON_SECRET = "deploy-check-cron-secret";
const CLIENT_ID = "deploy-check.apps.googleusercontent.com";

const cleanups: (() => Promise<void> | void)[] = [];

class CheckFailure extends Error {}
const fail = (reason: string): never => {
  throw new CheckFailure(reason);
};

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CheckFailure(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Runs a command in its own process group, output to a log file; the whole group dies on timeout. */
function run(cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number; log: string }): Promise<{ code: number | null; timedOut: boolean }> {
  return new Promise((done) => {
    const out = createWriteStream(options.log);
    const child = spawn(cmd, args, { cwd: ROOT, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, options.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      out.end(() => done({ code, timedOut }));
    });
  });
}

function tail(file: string, lines = 15): string {
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
}

function node24(): string {
  const result = spawnSync(join(ROOT, ".ci/node24"), { encoding: "utf8", timeout: 5 * 60_000 });
  if (result.status !== 0) fail(`cannot get a Node 24 binary (.ci/node24): ${(result.stderr || result.error?.message || "").trim().split("\n").pop()}`);
  return result.stdout.trim();
}

async function createScratchDatabase(adminUrl: string): Promise<string> {
  const name = `tally_deploy_check_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    fail(`build database unreachable (DEPLOY_CHECK_POSTGRES_URL): ${(error as Error).message || String(error)}`);
  } finally {
    await admin.end().catch(() => {});
  }
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000, query_timeout: 15_000 });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The parent's environment without anything that could point the build or functions elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(DATABASE_URL|NEON_|PG|POSTGRES|UPSTASH_|KV_|REDIS_|TEST_|VERCEL|BLOB_|GOOGLE_|DEV_AUTH|CRON_|NODE_ENV|DEPLOY_CHECK)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

async function build(node: string, databaseUrl: string): Promise<void> {
  mkdirSync(join(ROOT, ".vercel"), { recursive: true });
  // No account: the project settings Vercel would download are committed as a template.
  cpSync(join(ROOT, "tests/deploy/project.json"), join(ROOT, ".vercel/project.json"));
  rmSync(OUTPUT, { recursive: true, force: true });
  // The build runs on Node 24 as on Vercel (the project's engines.node): first on PATH for npm and tsx too.
  // Off Vercel the CLI does not set the system variables its build machines do; VERCEL_ENV is the
  // one the migration rule reads (db/build-migration.ts), so set it as a production build has it.
  const env = { ...cleanEnv(), PATH: `${dirname(node)}:${process.env.PATH}`, DATABASE_URL: databaseUrl, VERCEL_ENV: "production", VERCEL_TELEMETRY_DISABLED: "1", CI: "1" };
  const version = spawnSync("node", ["--version"], { env, encoding: "utf8", timeout: 10_000 }).stdout.trim();
  console.log(`vercel build runs on Node ${version} (${node})`);
  const log = join(LOG_DIR, "build.log");
  const started = performance.now();
  const result = await run(node, [join(ROOT, "node_modules/vercel/dist/vc.js"), "build", "--prod", "--yes"], { env, timeoutMs: BUILD_TIMEOUT_MS, log });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.timedOut) fail(`vercel build did not finish within ${BUILD_TIMEOUT_MS / 60_000} min (log: ${log})\n${tail(log)}`);
  if (result.code !== 0) {
    const reason = readFileSync(log, "utf8").split("\n").filter((l) => /^Error|error:|migrate:/.test(l)).pop() ?? `exit code ${result.code}`;
    fail(`vercel build failed: ${reason.trim()} (log: ${log})`);
  }
  const migration = readFileSync(log, "utf8").split("\n").filter((l) => l.includes('"msg":"migrat')).map((l) => JSON.parse(l).msg as string);
  console.log(`vercel build: ok in ${seconds} s; ${migration.join("; ") || "no migration message"}`);
  if (!migration.includes("migrations applied")) fail(`the build did not apply migrations to the throwaway database (log: ${log})`);
}

function checkBudgets(functions: FunctionInfo[]): void {
  const expected = expectedFunctions(join(ROOT, "api"));
  const built = new Set(functions.map((f) => f.name));
  const missing = expected.filter((name) => !built.has(name));
  if (missing.length) fail(`functions missing from the build: ${missing.join(", ")}`);
  const largest = functions.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const functionBytes = functions.reduce((sum, f) => sum + f.bytes, 0);
  const total = measure(OUTPUT).bytes;
  const electric = functions.filter((f) => f.electric.length > 0);
  const crons = missingCrons(join(ROOT, "vercel.json"), join(OUTPUT, "config.json"));
  const runtimes = [...new Set(functions.map((f) => f.config.runtime))];
  console.log(`functions: ${functions.length} built, ${expected.length} expected from api/; runtime ${runtimes.join(", ")}`);
  console.log(`largest function: ${largest.name} ${mb(largest.bytes)} (budget ${mb(BUDGETS.largestFunctionBytes)})`);
  const staticBytes = total - functionBytes;
  console.log(`all functions: ${mb(functionBytes)}, ${mb(functionBytes / functions.length)} on average (budget ${mb(BUDGETS.averageFunctionBytes)}); static files: ${mb(staticBytes)} (budget ${mb(BUDGETS.staticBytes)})`);
  console.log(`@electric-sql files: ${electric.reduce((n, f) => n + f.electric.length, 0)} in ${electric.length} functions (budget 0)`);
  console.log(`crons: ${crons.declared.length} in vercel.json, ${crons.built.length} in .vercel/output/config.json`);
  if (electric.length) fail(`PGlite (@electric-sql) ships in ${electric.length} functions, e.g. ${electric[0]!.name}: ${electric[0]!.electric[0]}`);
  if (largest.bytes > BUDGETS.largestFunctionBytes) fail(`function ${largest.name} is ${mb(largest.bytes)}, over ${mb(BUDGETS.largestFunctionBytes)}`);
  if (functionBytes > BUDGETS.averageFunctionBytes * functions.length) fail(`functions average ${mb(functionBytes / functions.length)}, over ${mb(BUDGETS.averageFunctionBytes)}`);
  if (staticBytes > BUDGETS.staticBytes) fail(`static output is ${mb(staticBytes)}, over ${mb(BUDGETS.staticBytes)}`);
  if (crons.missing.length) fail(`crons of vercel.json missing from the build output: ${crons.missing.map((c) => `${c.path} ${c.schedule}`).join(", ")}`);
  if (!runtimes.every((r) => r === "nodejs24.x")) fail(`functions target ${runtimes.join(", ")}, not nodejs24.x (engines.node)`);
  if (!existsSync(join(OUTPUT, "static/index.html"))) fail("public/index.html is missing from .vercel/output/static");
}

/** Copies the functions where no node_modules directory sits above them, as on Vercel. */
function isolate(): string {
  const dir = mkdtempSync(join(tmpdir(), "tally-functions-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (let up = dir; up !== dirname(up); up = dirname(up)) {
    if (existsSync(join(dirname(up), "node_modules"))) fail(`${dirname(up)}/node_modules exists above the smoke directory ${dir}`);
  }
  cpSync(join(OUTPUT, "functions"), dir, { recursive: true });
  return dir;
}

async function seedOwner(databaseUrl: string): Promise<{ sub: string; email: string }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
  await client.connect();
  try {
    const sub = `deploy-check-${process.pid}`;
    const email = `${sub}@gmail.test`;
    // uuids from the database: the app accepts any uuid for these ids.
    await client.query(`
      WITH t AS (INSERT INTO tenants (id, slug, name) VALUES (gen_random_uuid(), 'deploy-check', 'Deploy check') RETURNING id),
           u AS (INSERT INTO users (id, issuer, subject, email) VALUES (gen_random_uuid(), 'https://accounts.google.com', $1, $2) RETURNING id)
      INSERT INTO memberships (id, tenant_id, user_id, role) SELECT gen_random_uuid(), t.id, u.id, 'owner' FROM t, u`, [sub, email]);
    return { sub, email };
  } finally {
    await client.end();
  }
}

/** The path a dynamic route receives on Vercel: the segment in the path and again as a query parameter. */
function concrete(pattern: string, id = SAMPLE_ID): string {
  const params: string[] = [];
  const path = pattern.replace(/\[([^\]]+)\]/g, (_, name: string) => (params.push(name), id));
  return params.length ? `${path}?${params.map((n) => `${n}=${id}`).join("&")}` : path;
}

function expectError(fn: string, what: string, r: SmokeResponse, status: (s: number) => boolean, code?: string): void {
  const e = r.json?.error;
  const shaped = e && typeof e.code === "string" && typeof e.message === "string" && typeof e.requestId === "string";
  if (!status(r.status) || !shaped || (code && e.code !== code)) {
    fail(`${fn}: ${what}: got ${r.status} ${r.text.slice(0, 200)}`);
  }
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

async function smokeOne(running: RunningFunction, specs: RouteSpec[]): Promise<number> {
  const name = running.name;
  let checks = 0;
  for (const spec of specs) {
    const path = concrete(spec.pattern);
    const what = `${spec.method} ${path}`;
    if (spec.pattern === "/api/health") {
      const r = await running.request("GET", path);
      if (r.status !== 200 || r.json?.status !== "ok" || r.json?.database?.status !== "ok") fail(`${name}: ${what}: got ${r.status} ${r.text.slice(0, 200)}`);
    } else if (spec.role === "cron") {
      expectError(name, `${what} without the cron secret`, await running.request(spec.method, path), (s) => s === 401, "unauthorized");
      const r = await running.request(spec.method, path, { headers: { authorization: `Bearer ${CRON_SECRET}` } });
      if (r.status !== 200) fail(`${name}: ${what} with CRON_SECRET: got ${r.status} ${r.text.slice(0, 200)}`);
      checks++;
    } else if (spec.role === "public" && spec.method === "DELETE") {
      // A public DELETE (a shop cart) is idempotent: ending a session that holds nothing is a 204.
      const r = await running.request(spec.method, path);
      if (r.status !== 204 && !(r.status >= 400 && r.status < 500 && r.json?.error)) fail(`${name}: ${what} without a session: got ${r.status} ${r.text.slice(0, 200)}`);
    } else if (spec.role === "public" && spec.method === "GET" && !spec.pattern.includes("[")) {
      // A public GET that takes nothing answers 200 with JSON (the OpenAPI document) or a 4xx in the
      // error shape (metrics without their token).
      const r = await running.request(spec.method, path);
      const ok = r.status === 200 ? r.json !== undefined : r.status >= 400 && r.status < 500 && typeof r.json?.error?.code === "string";
      if (!ok) fail(`${name}: ${what}: got ${r.status} ${r.text.slice(0, 200)}`);
    } else if (spec.role === "public") {
      const body = spec.method === "GET" ? undefined : {};
      expectError(name, `${what} with empty input`, await running.request(spec.method, path, { body }), (s) => s >= 400 && s < 500);
    } else {
      expectError(name, `${what} without a token`, await running.request(spec.method, path, { body: spec.method === "GET" ? undefined : {} }), (s) => s === 401, "unauthorized");
    }
    checks++;
  }
  const exported = new Set(specs.map((s) => s.method));
  const absent = METHODS.find((m) => !exported.has(m));
  if (absent) {
    const r = await running.request(absent, concrete(specs[0]!.pattern));
    if (r.status !== 405) fail(`${name}: unexported ${absent} answered ${r.status}, not 405`);
    checks++;
  }
  return checks;
}

/**
 * Vercel Blob's API as far as the functions' smoke requests reach it: listing answers an empty
 * store (the blob-cleanup cron's import sweep); anything else is a 404 the function must survive.
 */
async function startFakeBlobApi(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const listing = request.method === "GET" && new URL(request.url ?? "/", "http://x").searchParams.has("prefix");
    response.writeHead(listing ? 200 : 404, { "content-type": "application/json" });
    response.end(JSON.stringify(listing ? { blobs: [], hasMore: false } : { error: { code: "not_found", message: "not found" } }));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}

async function smoke(node: string, functions: FunctionInfo[], databaseUrl: string): Promise<void> {
  const dir = isolate();
  cleanups.push(stopAll);
  const google = await startFakeGoogle();
  cleanups.push(() => google.close());
  const blobApi = await startFakeBlobApi();
  cleanups.push(() => blobApi.close());
  const owner = await seedOwner(databaseUrl);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    NODE_ENV: "production",
    VERCEL: "1",
    VERCEL_ENV: "production",
    DATABASE_URL: databaseUrl,
    GOOGLE_CLIENT_ID: CLIENT_ID,
    GOOGLE_JWKS_URL: google.url,
    CRON_SECRET,
    // Blob cleanup needs a store in production: @vercel/blob's real client, sent to a local stand-in
    // for Vercel Blob's API (VERCEL_BLOB_API_URL is the client's own override) — no internet here.
    BLOB_READ_WRITE_TOKEN: "vercel_blob_rw_deploycheck_0000000000000000000000000000",
    VERCEL_BLOB_API_URL: blobApi.url,
    LOG_LEVEL: "warn",
  };
  const local = functions.map((f) => ({ ...f, dir: join(dir, `${f.name}.func`) }));
  const byName = new Map(local.map((f) => [f.name, f]));
  const started = performance.now();
  let checks = 0;
  const timings: { name: string; ms: number }[] = [];
  const queue = [...local];
  const worker = async () => {
    for (let fn = queue.shift(); fn; fn = queue.shift()) {
      const specs = ROUTES.filter((r) => r.pattern === patternOf(fn.name));
      if (!specs.length) fail(`${fn.name}: no entry in tests/support/catalog.ts, so nothing says how to call it`);
      const t0 = performance.now();
      const running = await startFunction(fn, { node, env });
      try {
        const passed = await smokeOne(running, specs);
        running.assertAlive();
        checks += passed;
      } finally {
        running.stop();
      }
      timings.push({ name: fn.name, ms: Math.round(performance.now() - t0) });
    }
  };
  await Promise.all([worker(), worker()]);

  // One authenticated write and read, through two different functions (two instances).
  const token = await google.mint({ sub: owner.sub, email: owner.email, name: "Deploy check" }, { audience: CLIENT_ID });
  const auth = { authorization: `Bearer ${token}` };
  const writer = await startFunction(byName.get("api/items/index") ?? fail("api/items/index was not built"), { node, env });
  let id: string;
  try {
    const created = await writer.request("POST", "/api/items", { headers: auth, body: { name: "Deploy check mug", sku: "DC-1", priceCents: 900, stock: 3 } });
    if (created.status !== 201 || typeof created.json?.id !== "string") fail(`api/items/index: authenticated POST /api/items: got ${created.status} ${created.text.slice(0, 200)}`);
    id = created.json.id;
  } finally {
    writer.stop();
  }
  const reader = await startFunction(byName.get("api/items/[id]/index") ?? fail("api/items/[id]/index was not built"), { node, env });
  try {
    const read = await reader.request("GET", concrete("/api/items/[id]", id), { headers: auth });
    if (read.status !== 200 || read.json?.name !== "Deploy check mug") fail(`api/items/[id]/index: authenticated GET of the new item: got ${read.status} ${read.text.slice(0, 200)}`);
    // A client's own ?id= must not override the path (Vercel lets it win in the query).
    const spoofed = await reader.request("GET", `/api/items/${id}?id=${SAMPLE_ID}`, { headers: auth });
    if (spoofed.status !== 200 || spoofed.json?.id !== id) fail(`api/items/[id]/index: ?id= overrode the path: got ${spoofed.status} ${spoofed.text.slice(0, 200)}`);
  } finally {
    reader.stop();
  }
  checks += 3;
  console.log(`smoke: ${local.length} functions on Node 24 from ${dir}, ${checks} checks passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const slowest = timings.sort((a, b) => b.ms - a.ms).slice(0, 3).map((t) => `${t.name} ${t.ms} ms`);
  console.log(`  launcher start + checks per function: median ${timings[Math.floor(timings.length / 2)]!.ms} ms; slowest ${slowest.join(", ")}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const adminUrl = process.env.DEPLOY_CHECK_POSTGRES_URL;
  if (!adminUrl) fail("set DEPLOY_CHECK_POSTGRES_URL to a Postgres server URL where a throwaway database may be created, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  mkdirSync(LOG_DIR, { recursive: true });
  const databaseUrl = await withTimeout(createScratchDatabase(adminUrl!), 60_000, "creating the build database");
  const node = node24();
  await build(node, databaseUrl);
  const functions = builtFunctions(join(OUTPUT, "functions"));
  if (!functions.length) fail("the build produced no functions");
  checkBudgets(functions);
  await withTimeout(smoke(node, functions, databaseUrl), 10 * 60_000, "the smoke run");
  console.log(`deploy:check passed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

async function cleanup(): Promise<void> {
  for (const step of cleanups.reverse()) await withTimeout(Promise.resolve().then(step), 20_000, "cleanup").catch(() => {});
}

const watchdog = setTimeout(() => {
  console.error(`deploy:check: gave up after ${TOTAL_TIMEOUT_MS / 60_000} min`);
  void cleanup().finally(() => process.exit(1));
}, TOTAL_TIMEOUT_MS);

main().then(
  async () => {
    clearTimeout(watchdog);
    await cleanup();
    process.exit(0);
  },
  async (error) => {
    clearTimeout(watchdog);
    const known = error instanceof CheckFailure || error instanceof SmokeFailure;
    console.error(`deploy:check: ${known ? error.message : `unexpected error: ${(error as Error)?.stack ?? error}`}`);
    await cleanup();
    process.exit(1);
  },
);
