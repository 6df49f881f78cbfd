import { app } from "./client.js";

// A Server-Sent Events reader for tests: opens GET /api/events/stream in process and parses frames
// as EventSource does (id:, event:, data:, retry:, comments), so a test can stop reading at any
// point — a disconnect — and reconnect with Last-Event-ID.

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The error body when status is not 200. */
  errorBody?: any;
  /** The next frame, or undefined when the stream ended. */
  next(): Promise<SseFrame | undefined>;
  close(): Promise<void>;
}

export async function openSse(path: string, options: { token?: string; lastEventId?: string; headers?: Record<string, string> } = {}): Promise<SseConnection> {
  const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
  const response = await app().fetch(new Request(`http://localhost${path}`, { headers }));
  if (response.status !== 200) {
    return { status: response.status, headers: response.headers, errorBody: await response.json(), next: async () => undefined, close: async () => {} };
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  return {
    status: response.status,
    headers: response.headers,
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(":");
              const field = line.slice(0, colon);
              const value = line.slice(colon + 1).replace(/^ /, "");
              if (field === "id") frame.id = value;
              else if (field === "event") frame.event = value;
              else if (field === "data") frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
              else if (field === "retry") frame.retry = Number(value);
            }
          }
          return frame;
        }
        if (ended) return undefined;
        const { done, value } = await reader.read();
        if (done) ended = true;
        else buffer += decoder.decode(value, { stream: true });
      }
    },
    async close() {
      await reader.cancel().catch(() => {});
    },
  };
}

/** The next frame that carries an event (skipping retry and comments), or undefined at the end. */
export async function nextEvent(connection: SseConnection): Promise<SseFrame | undefined> {
  for (;;) {
    const frame = await connection.next();
    if (!frame || frame.event) return frame;
  }
}
