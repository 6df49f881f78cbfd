// Raw queries return driver-dependent shapes: timestamps as Date (pg without drizzle's parsers) or as
// Postgres text ("2026-01-02 03:04:05.678+00"); bigint counts as strings. Normalise them here.
export function toIso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  const text = String(value);
  const isoish = text.includes("T") ? text : text.replace(" ", "T");
  const withOffset = /[+-]\d\d$/.test(isoish) ? `${isoish}:00` : isoish;
  const parsed = new Date(withOffset);
  if (Number.isNaN(parsed.getTime())) throw new Error(`unparseable timestamp from database: ${text}`);
  return parsed.toISOString();
}

export function toIsoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : toIso(value);
}

export function toNumber(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

/** json/jsonb columns: parsed by most drivers, text from some raw paths. */
export function fromJson<T = Record<string, unknown>>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/** A LIKE/ILIKE pattern that matches `term` literally anywhere (its % _ \ escaped). */
export function likeContaining(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
