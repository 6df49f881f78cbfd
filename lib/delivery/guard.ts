import ipaddr from "ipaddr.js";
import { isIP } from "node:net";
import { isProduction } from "../platform/config.js";

// The SSRF guard for every outbound request to a user-supplied URL. Strict (always in production):
// https only, and every address a name resolves to must be public unicast — no private, loopback,
// link-local (cloud metadata 169.254.169.254), CGNAT (100.64/10, also Alibaba's metadata), unique
// local (fc00::/7), multicast, reserved, NAT64/6to4/Teredo (they embed IPv4 addresses) — checked on
// every resolved address, and the connection is made to the address that was checked (send.ts), so
// a DNS answer that changes between check and connect (rebinding) cannot reach inside.
// Outside production DELIVERY_ALLOW_LOCAL (default true) also allows http and loopback addresses,
// so tests and local receivers work (http://127.0.0.1:PORT); production ignores it.

export const MAX_URL_LENGTH = 2048;

export const allowLocal = () => !isProduction() && process.env.DELIVERY_ALLOW_LOCAL !== "false";

/** Why an address may not be connected to, or undefined when it may. IPv4-mapped IPv6 is judged as its IPv4. */
export function blockedAddress(address: string, local = allowLocal()): string | undefined {
  if (!ipaddr.isValid(address)) return "is not an IP address";
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === "unicast") return undefined;
  if (range === "loopback" && local) return undefined;
  return `resolves to a ${range} address, which is not allowed`;
}

const LOCAL_NAMES = /(^|\.)localhost\.?$/i;

/** Why `raw` may not be an endpoint URL (422), or undefined. Checks what can be checked without DNS. */
export function urlProblem(raw: string, local = allowLocal()): string | undefined {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && !(local && url.protocol === "http:")) return local ? "must use https or http" : "must use https";
  if (url.username || url.password) return "must not carry credentials";
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) {
    // A mapped literal only serves to dodge IPv4 checks; nobody needs to write one.
    if (host.includes(":") && ipaddr.IPv6.isValid(host) && ipaddr.IPv6.parse(host).isIPv4MappedAddress()) return "must not be an IPv4-mapped IPv6 address";
    const blocked = blockedAddress(host, local);
    return blocked ? `host ${blocked}` : undefined;
  }
  if (!local && (LOCAL_NAMES.test(host) || !host.replace(/\.$/, "").includes("."))) return "host must be a public DNS name";
  return undefined;
}
