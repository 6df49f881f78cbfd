import { ApiError } from "../http/errors.js";

// The keyset cursor of a delivery listing (webhooks and connectors alike): newest first by
// (created_at, id), opaque to clients.
export const encodeDeliveryCursor = (c: { createdAt: string; id: string }) => Buffer.from(`${c.createdAt}|${c.id}`).toString("base64url");

export function decodeDeliveryCursor(text: string): { createdAt: string; id: string } {
  const [createdAt, id, extra] = Buffer.from(text, "base64url").toString("utf8").split("|");
  if (extra !== undefined || !createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new ApiError("bad_request", "Invalid cursor.", [{ path: "cursor", message: "must be pagination.nextCursor of a previous page" }]);
  }
  return { createdAt, id };
}
