import { log } from "../platform/log.js";
import { ApiError, toApiError } from "./errors.js";

// Big lists leave as a stream: `{"items":[...],"count":N}` written page by page, so no body is ever
// built whole (Vercel caps non-streamed responses at 4.5 MB) and memory holds one page.
//
// The status and headers go out with the first page; a failure after that cannot change them. Then
// the body is cut short on purpose: the error object is written after the unclosed array, so the
// text is not valid JSON — no client can mistake it for a complete, shorter list, and a person
// reading it sees why — and the body ends there. (Aborting the connection instead was tried: Node's
// HTTP server then drops whatever it has not flushed yet, usually the error object itself.) A
// complete body always ends with the `count` trailer.

export interface Pages<T> {
  first: T[];
  next(): Promise<T[] | null>;
}

const encoder = new TextEncoder();
const list = (items: unknown[]) => items.map((item) => JSON.stringify(item)).join(",");

export function streamedList<T>(pages: Pages<T>, context: { requestId: string; path: string }): Response {
  return streamed(pages, context, {
    contentType: "application/json",
    head: (first) => `{"items":[${list(first)}`,
    page: (rows, sentBefore) => (rows.length > 0 ? `${sentBefore > 0 ? "," : ""}${list(rows)}` : ""),
    end: (count) => `],"count":${count}}`,
    failure: (error, count) => `\n${JSON.stringify({ error: { ...error, message: `${error.message} The list is incomplete (${count} items sent).` } })}\n`,
  });
}

/** How a streamed body is written: its first chunk, each further page, the end, and the cut-short marker. */
export interface StreamFormat<T> {
  contentType: string;
  headers?: Record<string, string>;
  head(first: T[]): string;
  page(rows: T[], sentBefore: number): string;
  end(count: number): string;
  failure(error: { code: string; message: string; requestId: string }, count: number): string;
}

/**
 * A body written page by page in any format (streamedList's JSON; the exports' CSV and JSON Lines),
 * with the same rules: pulled only as the client reads, the first page read before the status goes
 * out, a later failure cutting the body short with a marker, a hang-up ending it quietly.
 */
export function streamed<T>(pages: Pages<T>, context: { requestId: string; path: string }, format: StreamFormat<T>): Response {
  let count = pages.first.length;
  let started = false;
  // The client hung up (the runtime cancels the body): a page still in flight lands on a closed
  // stream. That is not a failure — nothing to log as one, nothing more to fetch.
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      // Pulled only when the client reads: a slow client holds the next page back, not memory.
      async pull(controller) {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode(format.head(pages.first)));
          return;
        }
        try {
          const page = await pages.next();
          if (cancelled) return;
          if (page === null) {
            const end = format.end(count);
            if (end) controller.enqueue(encoder.encode(end));
            controller.close();
            return;
          }
          const text = format.page(page, count);
          if (text) controller.enqueue(encoder.encode(text));
          count += page.length;
        } catch (error) {
          if (cancelled) return;
          const known = toApiError(error) ?? new ApiError("internal", "Something went wrong on our side.");
          log("error", "stream failed after the first byte", { ...context, sent: count, code: known.code, error: error instanceof Error ? error.message : String(error) });
          controller.enqueue(encoder.encode(format.failure({ code: known.code, message: known.message, requestId: context.requestId }, count)));
          controller.close();
        }
      },
      cancel() {
        cancelled = true;
        log("info", "client went away mid-stream", { ...context, sent: count });
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { "Content-Type": format.contentType, ...format.headers } });
}

/**
 * Keyset pages: `fetch(after)` reads the page after a key (null: the first) and says whether more
 * follow; the first page is read here, before anything is sent.
 */
export async function keysetPages<T, K>(fetch: (after: K | null) => Promise<{ rows: T[]; more: boolean; last: K | null }>): Promise<Pages<T>> {
  let page = await fetch(null);
  return {
    first: page.rows,
    async next() {
      if (!page.more || page.last === null) return null;
      page = await fetch(page.last);
      return page.rows;
    },
  };
}
