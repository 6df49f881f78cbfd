// Structured JSON lines. Never pass tokens, secrets or request bodies; keys that look like secrets
// are redacted anyway as a second line of defence.
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /token|secret|password|authorization|cookie|api[-_]?key/i;

type Sink = (line: string, level: Level) => void;
const defaultSink: Sink = (line, level) => (level === "error" || level === "warn" ? process.stderr : process.stdout).write(`${line}\n`);
const slot = globalThis as typeof globalThis & { __tallyLogSink?: Sink };

export function setLogSink(sink: Sink | undefined): void {
  slot.__tallyLogSink = sink;
}

function threshold(): number {
  const configured = (process.env.LOG_LEVEL ?? "info") as Level | "silent";
  return ORDER[configured] ?? ORDER.info;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const sink = slot.__tallyLogSink;
  if (!sink && ORDER[level] < threshold()) return;
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) safe[key] = SECRET_KEY.test(key) ? "[redacted]" : value;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...safe });
  (sink ?? defaultSink)(line, level);
}
