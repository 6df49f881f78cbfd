import { getDb } from "../../db/client.js";
import { log } from "../platform/log.js";
import { errorFields } from "../platform/log-error.js";
import type { Tenant } from "../auth/session.js";
import { cursorFrom, parseCursor, type Cursor } from "./cursor.js";
import type { EventStreamInput } from "./schemas.js";
import { latestCursor, readAfter } from "./repo.js";
import { watchEvents } from "./wake.js";

// GET /api/events/stream: Server-Sent Events. Each event goes out as `id:` (its cursor), `event:`
// (its type) and `data:` (the event as JSON); `retry:` first; a comment every 15 s keeps proxies
// from closing an idle connection. The stream reads the log only when the tenant's wake-up marker
// moved (wake.ts) — or, while some of the tenant's events are still settling (their transactions
// are below no horizon yet), every SETTLE_MS until they are. It ends on its own shortly before the
// function's deadline; EventSource then reconnects with Last-Event-ID and resumes exactly there.

const encoder = new TextEncoder();
const BATCH = 200;
const RETRY_MS = 1_000;
const SETTLE_MS = 200;
/** Ends this long before the platform's deadline, so the close is ours, not a cut connection. */
const DEADLINE_MARGIN_MS = 5_000;

const REQUEST_CONTEXT = Symbol.for("@vercel/request-context");
type ContextHolder = { [REQUEST_CONTEXT]?: { get?: () => { deadline?: number | string } | undefined } };

/**
 * When this stream must end: Vercel's invocation deadline (what @vercel/functions' getDeadline()
 * reads, inlined to spare its import) less a margin; else EVENTS_STREAM_MAX_S (default 290, under
 * the 300 s maxDuration vercel.json gives the function).
 */
export function streamDeadline(now = Date.now()): number {
  const deadline = (globalThis as ContextHolder)[REQUEST_CONTEXT]?.get?.()?.deadline;
  const platform = deadline === undefined ? NaN : new Date(deadline).getTime();
  if (Number.isFinite(platform)) return platform - DEADLINE_MARGIN_MS;
  const configured = Number(process.env.EVENTS_STREAM_MAX_S);
  return now + (configured > 0 ? configured : 290) * 1000;
}

const heartbeatMs = () => Number(process.env.EVENTS_HEARTBEAT_MS) || 15_000;

export interface StreamRequest {
  tenantId: string;
  /** Resume after this cursor; none: start at the newest event (only new ones are sent). */
  after?: Cursor;
  types?: string[];
  signal?: AbortSignal;
}

export function eventStream(req: StreamRequest): Response {
  let closed = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    closed = true;
    wake?.();
  };
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const deadline = streamDeadline();
      let moved = true;
      // Typing indicators go out as `event: typing` without an id (Last-Event-ID stays the last
      // real event's): only on unfiltered streams, each indicator once per renewal.
      const typingSent = new Map<string, string>();
      const unwatch = watchEvents(
        req.tenantId,
        () => {
          moved = true;
          wake?.();
        },
        req.types
          ? undefined
          : (entries) => {
              for (const entry of entries) {
                const key = `${entry.conversationId}|${entry.actor.type}|${entry.actor.id}`;
                if ((typingSent.get(key) ?? "") >= entry.expiresAt) continue;
                typingSent.set(key, entry.expiresAt);
                send(`event: typing\ndata: ${JSON.stringify(entry)}\n\n`);
              }
              if (typingSent.size > 1000) typingSent.clear();
            },
      );
      req.signal?.addEventListener("abort", stop);
      send(`retry: ${RETRY_MS}\n\n`);
      let lastWrite = Date.now();
      let unsettled = false;
      try {
        const { db } = await getDb();
        let cursor = req.after ?? (await latestCursor(db, req.tenantId));
        while (!closed && Date.now() < deadline) {
          if (moved || unsettled) {
            moved = false;
            const batch = await readAfter(db, req.tenantId, cursor, BATCH, req.types);
            for (const event of batch.events) send(`id: ${event.cursor}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
            if (batch.events.length > 0) {
              cursor = parseCursor(batch.events.at(-1)!.cursor)!;
              lastWrite = Date.now();
            }
            unsettled = batch.unsettled;
            if (batch.events.length === BATCH) moved = true;
            if (moved) continue;
          }
          const until = Math.min(lastWrite + heartbeatMs(), deadline, unsettled ? Date.now() + SETTLE_MS : Infinity);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
            if (moved || closed) wake();
          });
          wake = undefined;
          if (!closed && !moved && Date.now() >= lastWrite + heartbeatMs()) {
            send(": heartbeat\n\n");
            lastWrite = Date.now();
          }
        }
      } catch (error) {
        // The client reconnects (retry:) and resumes from its Last-Event-ID: nothing is lost.
        log("warn", "event stream ended by an error", { tenantId: req.tenantId, ...errorFields(error) });
        send(": error, reconnect\n\n");
      } finally {
        unwatch();
        req.signal?.removeEventListener("abort", stop);
        if (!closed) {
          closed = true;
          controller.close();
        }
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}

/** GET /api/events/stream: resumes after Last-Event-ID (or ?after=), else starts at the newest event. */
export function openStream(tenant: Tenant, input: EventStreamInput, request: Request): Response {
  const header = request.headers.get("last-event-id");
  // EventSource reconnects to the same URL with the header: the header wins over ?after=.
  const after = header !== null ? cursorFrom(header.trim(), "Last-Event-ID") : input.after;
  return eventStream({ tenantId: tenant.id, after, types: input.types, signal: request.signal });
}
