// CSV export (RFC 4180): fields with a comma, quote, CR or LF are quoted, quotes doubled, lines end
// with CRLF. Text that a spreadsheet would run as a formula (= + - @, tab, CR first) is prefixed with
// an apostrophe: item names are user input, and an exported "=HYPERLINK(...)" must stay text.
// Numbers are written as they are, so negative values stay numbers.

export type CsvValue = string | number | boolean | null | undefined;

export function cell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (CRLF-terminated). */
export const csvLine = (values: CsvValue[]) => values.map(cell).join(",") + "\r\n";

export function toCsv(header: string[], rows: CsvValue[][]): string {
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** `?format=csv` wins; without a format, an Accept header naming text/csv asks for CSV. */
export function wantsCsv(request: Request, format: string | undefined): boolean {
  if (format) return format === "csv";
  return /\btext\/csv\b/i.test(request.headers.get("accept") ?? "");
}

export function csvResponse(filename: string, header: string[], rows: CsvValue[][]): Response {
  return new Response(toCsv(header, rows), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
    },
  });
}
