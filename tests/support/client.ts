import { appendFileSync } from "node:fs";
import { createLocalApp, type LocalApp } from "../../lib/dev/app.js";
import { contractProblems } from "./contract.js";

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  /** The TCP peer the local runtime reports as the client's IP (in-process calls have none). */
  clientAddress?: string;
  /**
   * false: do not hold the answer to openapi.json. Only for answers that break the protocol on
   * purpose (a stream cut short after its 200 went out), never to silence a mismatch.
   */
  contract?: false;
}

export interface CallResult {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  /** Database round trips the request made, as the driver counted them (from Server-Timing). */
  dbTrips: number;
  /** Redis round trips charged to the request (from Server-Timing). */
  redisTrips: number;
  /** hit | miss | bypass on cached routes (from Server-Timing). */
  cache: string | undefined;
}

let shared: LocalApp | undefined;
export const app = () => (shared ??= createLocalApp());

export async function call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers["content-type"] ??= typeof body === "string" ? "application/json" : "application/octet-stream";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await app().fetch(new Request(`http://localhost${path}`, { method, headers, body: body as BodyInit | undefined }), { remoteAddress: options.clientAddress });
  const text = await response.text();
  // Every answer is held to openapi.json (README "API contract"). CONTRACT_COLLECT=<file> appends the
  // problems to that file instead of failing, to list all of them in one run after a schema change.
  if (options.contract !== false) {
    const problems = contractProblems(method, path, response.status, response.headers.get("content-type"), text);
    if (problems.length && process.env.CONTRACT_COLLECT) appendFileSync(process.env.CONTRACT_COLLECT, problems.map((p) => p + "\n").join(""));
    else if (problems.length) throw new Error(`answer outside the API contract (openapi.json):\n${problems.join("\n")}`);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const timing = response.headers.get("server-timing") ?? "";
  const trips = /db;dur=[\d.]+;desc="trips=(\d+)"/.exec(timing);
  const redisTrips = /redis;dur=[\d.]+;desc="trips=(\d+)"/.exec(timing);
  const cache = /cache;dur=[\d.]+;desc="(\w+)"/.exec(timing)?.[1];
  return { status: response.status, headers: response.headers, json, text, dbTrips: trips ? Number(trips[1]) : Number.NaN, redisTrips: redisTrips ? Number(redisTrips[1]) : Number.NaN, cache };
}

/** Asserts the one error shape and returns the error object. */
export function errorOf(result: CallResult) {
  const error = result.json?.error;
  if (!error || typeof error.code !== "string" || typeof error.message !== "string" || typeof error.requestId !== "string") {
    throw new Error(`expected the error shape, got ${result.status} ${result.text.slice(0, 300)}`);
  }
  return error as { code: string; message: string; requestId: string; details?: { path: string; message: string }[] };
}
