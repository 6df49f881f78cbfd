const REPLY = Symbol("reply");

export interface Reply {
  [REPLY]: true;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** Resource version: sent as ETag, compared with If-None-Match on GETs. */
  version?: number;
}

export function reply(body: unknown, init: { status?: number; headers?: Record<string, string>; version?: number } = {}): Reply {
  return { [REPLY]: true, status: init.status ?? (body === undefined ? 204 : 200), body, headers: init.headers ?? {}, version: init.version };
}

export const created = (body: unknown, location?: string, version?: number) =>
  reply(body, { status: 201, headers: location ? { Location: location } : {}, version });

export const noContent = () => reply(undefined, { status: 204 });

export function isReply(value: unknown): value is Reply {
  return typeof value === "object" && value !== null && REPLY in value;
}

export const etagFor = (version: number) => `"v${version}"`;
