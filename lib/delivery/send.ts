import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { Agent, request } from "undici";
import { allowLocal, blockedAddress, urlProblem } from "./guard.js";
import { parseRetryAfter } from "./schedule.js";

// One HTTP attempt to a user-supplied URL, through the SSRF guard. The agent resolves names with its
// own lookup, which rejects the connection unless *every* resolved address is allowed and hands the
// socket exactly the addresses it checked: the connection is pinned to what was checked (no second
// resolution a rebinding DNS server could answer differently). IP literals never reach a lookup, so
// urlProblem() checks them before each attempt. Redirects are not followed (undici's request() has
// no redirect handling unless asked): a 3xx is a failed attempt.

export const CONNECT_TIMEOUT_MS = 5_000;
/** 2xx within this long = delivered. */
export const TOTAL_TIMEOUT_MS = 15_000;
/** Response bytes read (the rest is dropped); the first KB is kept for the deliveries listing. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const KEPT_BODY_CHARS = 1024;

export interface AttemptResult {
  /** HTTP status, when a response arrived. */
  status?: number;
  /** First KB of the response body. */
  body?: string;
  /** Why no usable response arrived (timeout, refused address, connection error). */
  error?: string;
  /** A 429/503's Retry-After, in ms. */
  retryAfterMs?: number;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const local = allowLocal();
    const bad = addresses.find((a) => blockedAddress(a.address, local));
    if (bad || addresses.length === 0) {
      const refusal = Object.assign(new Error(`${hostname} ${bad ? blockedAddress(bad.address, local) : "has no address"}`), { code: "EADDRBLOCKED" });
      return callback(refusal, []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

const slot = globalThis as typeof globalThis & { __tallyDeliveryAgent?: Agent };
const agent = () =>
  (slot.__tallyDeliveryAgent ??= new Agent({
    connect: { lookup: guardedLookup as never, timeout: CONNECT_TIMEOUT_MS },
    headersTimeout: TOTAL_TIMEOUT_MS,
    bodyTimeout: TOTAL_TIMEOUT_MS,
    keepAliveTimeout: 4_000,
    connections: 32,
  }));

/** POSTs `body` to `url` with `headers`; never throws. */
export async function attempt(url: string, headers: Record<string, string>, body: string, now = Date.now()): Promise<AttemptResult> {
  const problem = urlProblem(url);
  if (problem) return { error: `url ${problem}` };
  const signal = AbortSignal.timeout(TOTAL_TIMEOUT_MS);
  try {
    const response = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Tally-Webhooks/1", ...headers },
      body,
      dispatcher: agent(),
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        chunks.push(buffer.subarray(0, MAX_RESPONSE_BYTES - size));
        size += buffer.length;
        if (size >= MAX_RESPONSE_BYTES) break;
      }
    } catch {
      // The status already arrived; a body cut short is kept as far as it got.
    } finally {
      response.body.destroy();
    }
    const retryAfter = response.statusCode === 429 || response.statusCode === 503 ? parseRetryAfter(header(response.headers["retry-after"]), now) : undefined;
    return {
      status: response.statusCode,
      body: Buffer.concat(chunks).toString("utf8").slice(0, KEPT_BODY_CHARS),
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    };
  } catch (error) {
    return { error: describe(error, signal) };
  }
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return `timeout: no complete response within ${TOTAL_TIMEOUT_MS / 1000} s`;
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.code === "EADDRBLOCKED" || e.cause?.code === "EADDRBLOCKED") return `refused: ${e.cause?.message ?? e.message}`;
  const code = e.code ?? e.cause?.code;
  return `${code ?? "error"}: ${(e.message ?? "request failed").slice(0, 200)}`;
}
