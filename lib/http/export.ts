import * as v from "valibot";
import { csvLine, type CsvValue } from "./csv.js";
import { streamed, type Pages } from "./stream.js";

// Streamed exports (GET /api/items/export, /api/orders/export, /api/stock-movements/export): keyset
// pages from the database written as CSV (RFC 4180, CRLF, formula-looking text prefixed with ', see
// csv.ts) or JSON Lines (one JSON object a line), page by page with bounded memory (stream.ts).
//
// A body cut short by a failure after the first byte ends with a marker line instead of more rows:
// in CSV a single quoted cell starting "#ERROR", in JSON Lines {"error":{code,message,requestId}}.

export const EXPORT_FORMATS = ["csv", "jsonl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const exportFormatField = v.optional(v.picklist(EXPORT_FORMATS, "must be csv or jsonl"), "csv");
export const EXPORT_MEDIA_TYPES = ["text/csv", "application/x-ndjson"] as const;

export interface ExportColumn<T> {
  header: string;
  value(row: T): CsvValue;
}

export interface ExportSpec<T> {
  /** File name stem: `<name>-<YYYY-MM-DD>.<csv|jsonl>` (UTC date). */
  name: string;
  format: ExportFormat;
  columns: ExportColumn<T>[];
  /** The row as one JSON Lines object. */
  json(row: T): unknown;
}

export function exportResponse<T>(pages: Pages<T>, context: { requestId: string; path: string }, spec: ExportSpec<T>): Response {
  const filename = `${spec.name}-${new Date().toISOString().slice(0, 10)}.${spec.format}`;
  const headers = { "Content-Disposition": `attachment; filename="${filename}"` };
  if (spec.format === "jsonl") {
    const lines = (rows: T[]) => rows.map((row) => `${JSON.stringify(spec.json(row))}\n`).join("");
    return streamed(pages, context, {
      contentType: "application/x-ndjson",
      headers,
      head: lines,
      page: lines,
      end: () => "",
      failure: (error, count) => `${JSON.stringify({ error: { ...error, message: `${error.message} The export is incomplete (${count} rows sent).` } })}\n`,
    });
  }
  const rows = (list: T[]) => list.map((row) => csvLine(spec.columns.map((c) => c.value(row)))).join("");
  return streamed(pages, context, {
    contentType: "text/csv; charset=utf-8",
    headers,
    head: (first) => csvLine(spec.columns.map((c) => c.header)) + rows(first),
    page: rows,
    end: () => "",
    failure: (error, count) => csvLine([`#ERROR ${error.code}: ${error.message} The export is incomplete (${count} rows sent). Request ${error.requestId}.`]),
  });
}
