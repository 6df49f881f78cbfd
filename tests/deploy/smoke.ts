// Runs one built function the way Vercel's Node runtime runs Web-signature handlers: @vercel/node's
// own dev-server.mjs (the open-source launcher) imports the `handler` named in .vc-config.json from
// the function's directory, wraps each exported method with @edge-runtime/node-utils'
// buildToNodeHandler (a Request in, a Response out; unexported methods answer 405) and serves it.
// One process per function, like one instance per function on Vercel.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { FunctionInfo } from "./output.js";

// @vercel/node comes with the pinned vercel CLI (the builder it uses); resolve it from there.
const fromCli = createRequire(createRequire(import.meta.url).resolve("vercel/package.json"));
export const DEV_SERVER = join(fromCli.resolve("@vercel/node"), "..", "dev-server.mjs");

export interface SmokeResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface RunningFunction {
  name: string;
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: unknown }): Promise<SmokeResponse>;
  /** Fails if the process died (e.g. an unhandled rejection after a response was sent). */
  assertAlive(): void;
  stop(): void;
}

export class SmokeFailure extends Error {}

// Every launcher still running, so a caller that gives up (a time limit) leaves no process behind.
const live = new Set<ChildProcess>();
export function stopAll(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

export interface StartOptions {
  node: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export async function startFunction(fn: Pick<FunctionInfo, "name" | "dir" | "config">, options: StartOptions): Promise<RunningFunction> {
  if (fn.config.launcherType !== "Nodejs" || !String(fn.config.runtime).startsWith("nodejs")) {
    throw new SmokeFailure(`${fn.name}: unexpected runtime ${fn.config.runtime} / launcher ${fn.config.launcherType}`);
  }
  let stderr = "";
  const child: ChildProcess = spawn(options.node, [DEV_SERVER], {
    cwd: fn.dir,
    env: { ...options.env, VERCEL_DEV_ENTRYPOINT: fn.config.handler, VERCEL_DEV_CONFIG: "{}" },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.stderr!.on("data", (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  const exitInfo = () => `exited${child.exitCode !== null ? ` with code ${child.exitCode}` : child.signalCode ? ` on ${child.signalCode}` : ""}: ${firstLine(stderr) || "(no output)"}`;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new SmokeFailure(`${fn.name}: did not start within ${options.startTimeoutMs ?? 60_000} ms: ${firstLine(stderr) || "(no output)"}`));
    }, options.startTimeoutMs ?? 60_000);
    child.once("message", (address: { port: number }) => {
      clearTimeout(timer);
      resolve(address.port);
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new SmokeFailure(`${fn.name}: ${exitInfo()}`));
    });
  });
  // The launcher reports an import failure on stderr and exits at the first request; give it a
  // moment to say so, so the reason names the import error rather than a refused connection.
  await new Promise((r) => setTimeout(r, 50));
  if (/Error|error:/.test(stderr)) {
    child.kill("SIGKILL");
    throw new SmokeFailure(`${fn.name}: failed to load: ${firstLine(stderr)}`);
  }
  return {
    name: fn.name,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { "x-forwarded-host": "tally-smoke.vercel.app", ...init.headers };
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
        headers["content-type"] ??= "application/json";
      }
      try {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body, signal: AbortSignal.timeout(options.requestTimeoutMs ?? 20_000) });
        const text = await response.text();
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: response.status, headers: response.headers, text, json };
      } catch (error) {
        await new Promise((r) => setTimeout(r, 100));
        const why = child.exitCode !== null || child.signalCode ? exitInfo() : (error as Error).message;
        throw new SmokeFailure(`${fn.name}: ${method} ${path} failed: ${why}`);
      }
    },
    assertAlive() {
      if (child.exitCode !== null || child.signalCode) throw new SmokeFailure(`${fn.name}: ${exitInfo()}`);
    },
    stop() {
      child.kill("SIGKILL");
    },
  };
}

function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => /Error|error/.test(l)) ?? lines[0] ?? "").slice(0, 300);
}
