// The first request of a fresh instance, per function: a new Node process (Node 20 and Node 24)
// imports the function's transpiled module (see cold-import.ts), then answers one request against a
// real Postgres, through node-postgres and through neon-http via the local bridge. That request pays
// what a cold start defers to it: the database driver's import, the connection, the membership lookup.
import { spawn } from "node:child_process";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Db } from "../../db/client.js";
import { discoverRoutes } from "../../lib/dev/routes.js";
import { ROUTES, type RouteSpec } from "../support/catalog.js";
import { createTenant } from "../support/fixtures.js";
import type { NodeRuntime } from "./cold-import.js";
import { median } from "./stats.js";

export const FIRST_REQUEST_BUDGET_MS = 120;

export interface DriverEnv {
  label: string;
  env: Record<string, string>;
}

export interface FirstRequestSample {
  importMs: number;
  firstMs: number;
  /** This process's CPU time (user + system) during the request: robust to a busy machine, blind to waiting. */
  cpuMs: number;
  status: number;
  /** Database round trips from the response's Server-Timing. */
  trips: number;
}

export interface FirstRequestRow {
  fn: string;
  request: string;
  /** Keyed by `${runtime.label} · ${driver.label}`. */
  samples: Record<string, FirstRequestSample[]>;
}

// In the child. Before our code runs the platform has loaded Node's fetch classes (it builds the
// Request), so they are warmed first; then the import and the request are timed separately, the
// request from the handler call until its body has been read.
const PROBE = `
const spec = JSON.parse(process.env.BENCH_REQUEST);
new Request("http://localhost/");
await new Response("warm").arrayBuffer();
const t0 = performance.now();
const mod = await import(spec.module);
const importMs = performance.now() - t0;
const body = spec.body == null ? undefined : Buffer.from(spec.body, "base64");
const request = new Request(spec.url, { method: spec.method, headers: spec.headers, body });
const cpu = process.cpuUsage();
const t1 = performance.now();
const response = await mod[spec.method](request);
await response.arrayBuffer();
const firstMs = performance.now() - t1;
const used = process.cpuUsage(cpu);
const cpuMs = (used.user + used.system) / 1000;
const trips = /db;[^,]*desc="trips=(\\d+)"/.exec(response.headers.get("server-timing") ?? "");
process.stdout.write(JSON.stringify({ importMs, firstMs, cpuMs, status: response.status, trips: trips ? Number(trips[1]) : -1 }));
process.exit(0);
`;

interface ProbeRequest {
  module: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

function probe(node: NodeRuntime, cwd: string, env: Record<string, string>, request: ProbeRequest): Promise<FirstRequestSample> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the neon bridge serving the child runs in this process.
    const child = spawn(node.bin, ["--input-type=module", "-e", PROBE], { cwd, env: { ...env, BENCH_REQUEST: JSON.stringify(request) } });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out) as FirstRequestSample);
      } catch (error) {
        reject(new Error(`${request.method} ${request.url} on ${node.label} failed (${(error as Error).message}):\n${err}${out}`));
      }
    });
  });
}

/** The request a function gets: its GET if it has one, else its first method in the route catalog. */
function specFor(pattern: string): RouteSpec {
  const specs = ROUTES.filter((r) => r.pattern === pattern);
  const spec = specs.find((r) => r.method === "GET") ?? specs[0];
  if (!spec) throw new Error(`no route catalog entry for ${pattern}`);
  return spec;
}

/** A valid request with fresh fixtures (a tenant of its own: writes like DELETE use their target up). */
async function requestFor(db: Db, spec: RouteSpec, module: string, cronSecret: string): Promise<ProbeRequest> {
  const tenant = await createTenant(db, "cold");
  const path = spec.target ? await spec.target(db, tenant) : spec.pattern;
  const headers: Record<string, string> = {};
  if (spec.role === "cron") headers.authorization = `Bearer ${cronSecret}`;
  else if (spec.role !== "public") headers.authorization = `Bearer ${tenant.users.owner.token}`;
  let body: string | null = null;
  const raw = spec.raw?.();
  if (raw) {
    headers["content-type"] = raw.contentType;
    body = Buffer.from(raw.bytes).toString("base64");
  } else if (spec.method !== "GET" && spec.method !== "DELETE") {
    headers["content-type"] = "application/json";
    const json = spec.validBody ? await spec.validBody(db, tenant) : (spec.body ?? {});
    body = Buffer.from(JSON.stringify(json)).toString("base64");
  }
  return { module, method: spec.method, url: `http://localhost${path}`, headers, body };
}

export interface FirstRequestOptions {
  buildDir: string;
  db: Db;
  runtimes: NodeRuntime[];
  drivers: DriverEnv[];
  runs: number;
  progress?: (message: string) => void;
}

export async function measureFirstRequests(options: FirstRequestOptions): Promise<FirstRequestRow[]> {
  const { buildDir, db, runtimes, drivers, runs } = options;
  const cronSecret = "bench-cron-secret";
  const baseEnv = {
    PATH: process.env.PATH ?? "",
    LOG_LEVEL: "silent",
    DEV_AUTH_SECRET: process.env.DEV_AUTH_SECRET!,
    CRON_SECRET: cronSecret,
    BLOB_LOCAL_DIR: join(buildDir, ".data", "blobs"),
    // The probe reads each body to its end; an event stream's ends at its lifetime (minutes by
    // default), so it is kept to 1 s here — its row measures that second, not its first byte.
    EVENTS_STREAM_MAX_S: "1",
  };
  const routes = discoverRoutes(join(buildDir, "api"));
  // Untimed: the first read of the files from disk is not what we measure.
  for (const node of runtimes) {
    const health = routes.find((r) => r.pattern === "/api/health")!;
    await probe(node, buildDir, { ...baseEnv, ...drivers[0]!.env }, await requestFor(db, specFor(health.pattern), pathToFileURL(health.file).href, cronSecret));
  }
  const rows: FirstRequestRow[] = [];
  for (const route of routes) {
    const spec = specFor(route.pattern);
    const row: FirstRequestRow = { fn: relative(buildDir, route.file).split(sep).join("/").replace(/\.js$/, ".ts"), request: `${spec.method} ${spec.pattern}`, samples: {} };
    options.progress?.(`first request: ${row.request}`);
    for (let run = 0; run < runs; run++) {
      for (const node of runtimes) {
        for (const driver of drivers) {
          const request = await requestFor(db, spec, pathToFileURL(route.file).href, cronSecret);
          const sample = await probe(node, buildDir, { ...baseEnv, ...driver.env }, request);
          (row.samples[`${node.label} · ${driver.label}`] ??= []).push(sample);
        }
      }
    }
    rows.push(row);
  }
  return rows;
}

export const firstRequestMedian = (samples: FirstRequestSample[] | undefined, field: "firstMs" | "cpuMs" = "firstMs") =>
  samples?.length ? median(samples.map((s) => s[field])) : Number.NaN;
