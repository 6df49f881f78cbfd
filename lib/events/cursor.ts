import { ApiError } from "../http/errors.js";

// An event's cursor is its place in commit order: "<transaction id>.<seq>" (decimal). Transaction
// ids (xid8) only become visible to readers once every older transaction has finished, so a reader
// that moves past a cursor can never later find an event before it (see repo.ts, readAfter).

export interface Cursor {
  xid: string;
  seq: string;
}

export const START: Cursor = { xid: "0", seq: "0" };

const FORM = /^(\d{1,20})\.(\d{1,19})$/;
const XID8_MAX = 2n ** 64n - 1n;
const BIGINT_MAX = 2n ** 63n - 1n;

export const formatCursor = (c: Cursor) => `${c.xid}.${c.seq}`;

/** The cursor in `text`, or undefined if it is not one. */
export function parseCursor(text: string): Cursor | undefined {
  const match = FORM.exec(text);
  if (!match) return undefined;
  const [, xid, seq] = match as unknown as [string, string, string];
  if (BigInt(xid) > XID8_MAX || BigInt(seq) > BIGINT_MAX) return undefined;
  return { xid: BigInt(xid).toString(), seq: BigInt(seq).toString() };
}

/** `text` as a cursor, or a 400 naming `path`. */
export function cursorFrom(text: string, path: string): Cursor {
  const cursor = parseCursor(text);
  if (!cursor) throw new ApiError("bad_request", "Invalid event cursor.", [{ path, message: "must be an event id from this API (<transaction>.<seq>)" }]);
  return cursor;
}
