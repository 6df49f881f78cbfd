import { createHmac, randomBytes } from "node:crypto";

// Standard Webhooks (https://www.standardwebhooks.com): the receiver gets `webhook-id` (the message
// id, the same on every attempt, so it can drop repeats), `webhook-timestamp` (seconds) and
// `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per
// key that is currently valid (during a rotation: the new key and the old one).

const PREFIX = "whsec_";

/** A new signing secret: whsec_ + base64 of 32 random bytes (the spec asks for 24 to 64). */
export const newSecret = () => PREFIX + randomBytes(32).toString("base64");

const keyOf = (secret: string) => Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`;
}

/** The three headers of one attempt, signed with every secret in `secrets` (the current one first). */
export function signedHeaders(secrets: string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => sign(s, id, timestampSeconds, body)).join(" "),
  };
}
