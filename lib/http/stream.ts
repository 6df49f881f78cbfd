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
          controller.enqueue(encoder.encode(`{"items":[${list(pages.first)}`));
          return;
        }
        try {
          const page = await pages.next();
          if (cancelled) return;
          if (page === null) {
            controller.enqueue(encoder.encode(`],"count":${count}}`));
            controller.close();
            return;
          }
          if (page.length > 0) controller.enqueue(encoder.encode(`${count > 0 ? "," : ""}${list(page)}`));
          count += page.length;
        } catch (error) {
          if (cancelled) return;
          const known = toApiError(error) ?? new ApiError("internal", "Something went wrong on our side.");
          log("error", "stream failed after the first byte", { ...context, sent: count, code: known.code, error: error instanceof Error ? error.message : String(error) });
          const marker = { error: { code: known.code, message: `${known.message} The list is incomplete (${count} items sent).`, requestId: context.requestId } };
          controller.enqueue(encoder.encode(`\n${JSON.stringify(marker)}\n`));
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
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}
