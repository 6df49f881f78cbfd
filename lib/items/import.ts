import { parse } from "csv-parse/sync";
import { ApiError } from "../http/errors.js";
import { INT32_MAX } from "../http/inputs.js";
import { MAX_UNIT_COST_CENTS } from "../inventory/schemas.js";
import { categorySlugFromName } from "../categories/schemas.js";

// Bulk item import (POST /api/items/import): reading and checking a file, without the database.
// The file is read whole (≤ MAX_IMPORT_BYTES as a body or MAX_BLOB_IMPORT_BYTES from Blob, ≤ MAX_IMPORT_ROWS rows) and every problem is collected
// with its line and column before anything is written; the checks that need the database (an SKU
// that exists in create mode, an unknown SKU without name and price in upsert mode, supplier cells
// without a preferred supplier) run in the import's own statement (import-repo.ts).
//
// Lines are the file's own line numbers (1 = the header), counted over CRLF, LF and lone CR, and
// over the line breaks inside quoted cells, so a row's line is where it starts in a text editor.
// For a JSON body (an array of objects) `line` is the row's position, 1-based.

export const IMPORT_COLUMNS = ["name", "sku", "priceCents", "stock", "lowStockThreshold", "category", "description", "published", "supplierSku", "unitCostCents"] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
export const MAX_IMPORT_ROWS = 10_000;
/**
 * A file sent as the body: Vercel refuses function bodies over 4.5 MB (read as 4,500,000 bytes, the
 * stricter reading), so the same limit holds locally. Bigger files go through Blob (import-blob.ts).
 */
export const MAX_IMPORT_BYTES = 4_500_000;
/**
 * Records a CSV file may have, rows of empty cells included (they are skipped, but each costs parsing
 * time): with the row limit, this bounds the work a 16 MiB Blob file can ask for before it is refused.
 */
export const MAX_IMPORT_RECORDS = 10 * MAX_IMPORT_ROWS;
/** Problems listed in one 422 (the total is always given). */
export const MAX_REPORTED_PROBLEMS = 1000;
export const IMPORT_MODES = ["create", "upsert"] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

export interface ImportProblem {
  line: number;
  /** The column the problem is in; null for a problem of the whole row or file. */
  column: string | null;
  message: string;
}

/** One checked row. Absent (empty) cells are undefined: they leave an existing item's value as it is. */
export interface ImportRow {
  line: number;
  sku: string;
  name?: string;
  priceCents?: number;
  stock?: number;
  lowStockThreshold?: number;
  category?: string;
  description?: string;
  published?: boolean;
  supplierSku?: string;
  unitCostCents?: number;
}

export class ImportRejected extends Error {
  constructor(
    readonly problems: ImportProblem[],
    readonly total: number,
  ) {
    super(`${total} problem(s) in the file`);
  }
}

/** Collects problems up to the reporting cap, counting all of them. */
class Problems {
  list: ImportProblem[] = [];
  total = 0;
  add(line: number, column: string | null, message: string) {
    this.total += 1;
    if (this.list.length < MAX_REPORTED_PROBLEMS) this.list.push({ line, column, message });
  }
  throwIfAny() {
    if (this.total > 0) throw new ImportRejected(this.list, this.total);
  }
}

const BY_LOWER = new Map(IMPORT_COLUMNS.map((c) => [c.toLowerCase(), c]));
const NOT_TEXT = /[\u0000\p{Cs}]/u;

/** Line starts (0-based character offsets) of a text, for offset → line number. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** The offset of the first character at or after `from` that is not a line break (where a record really starts). */
function skipBreaks(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === "\n" || text[i] === "\r")) i++;
  return i;
}

interface RawTable {
  header: { names: string[]; line: number };
  records: { line: number; cells: (string | number | boolean | null | undefined)[] }[];
}

/** UTF-8 text of the body; undecodable bytes are a problem on their line. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder("utf-8").decode(bytes);
    const at = loose.indexOf("\uFFFD");
    throw new ImportRejected([{ line: lineIndex(loose)(at), column: null, message: "the file is not valid UTF-8 text" }], 1);
  }
}

const tooManyRows = (line: number) => new ImportRejected([{ line, column: null, message: `at most ${MAX_IMPORT_ROWS} rows per import; split the file` }], 1);

/**
 * A CSV file as records with their starting lines; a malformed file (unbalanced quote) is rejected whole.
 * Parsing stops at the first row past MAX_IMPORT_ROWS (or record past MAX_IMPORT_RECORDS), and rows
 * of empty cells are dropped as they are read: a file of millions of tiny rows (16 MiB of "a\n" took
 * 40 s and 4 GB parsed whole) is refused after ~10,000 of them.
 */
export function readCsv(input: string): RawTable {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lineOf = lineIndex(text);
  const records: RawTable["records"] = [];
  let recordEnd = 0;
  try {
    const lines: number[] = [];
    let seen = 0;
    let kept = 0;
    const parsed = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[], context: { bytes: number }) => {
        const line = lineOf(skipBreaks(text, recordEnd));
        recordEnd = context.bytes;
        seen += 1;
        if (seen > 1) {
          // Spreadsheets pad rows with empty cells (",,,,"): a row with no content is skipped, like a blank line.
          if (!record.some((c) => c.trim() !== "")) {
            if (seen > MAX_IMPORT_RECORDS) throw new ImportRejected([{ line, column: null, message: `at most ${MAX_IMPORT_RECORDS} lines of rows, empty ones included; split the file` }], 1);
            return null;
          }
          kept += 1;
          if (kept > MAX_IMPORT_ROWS) throw tooManyRows(line);
        }
        lines.push(line);
        return record;
      },
    }).map((record, index) => ({ record, line: lines[index]! }));
    for (const r of parsed) records.push({ line: r.line, cells: r.record });
  } catch (error) {
    if (error instanceof ImportRejected) throw error;
    const line = lineOf(skipBreaks(text, recordEnd));
    const code = (error as { code?: string }).code;
    const message =
      code === "CSV_QUOTE_NOT_CLOSED"
        ? "a quoted cell starting on this line is never closed (unbalanced quote); nothing was imported"
        : code === "CSV_INVALID_CLOSING_QUOTE"
          ? "a quote inside a quoted cell must be doubled (\"\"); nothing was imported"
          : `the file is not valid CSV (${(error as Error).message}); nothing was imported`;
    throw new ImportRejected([{ line, column: null, message }], 1);
  }
  if (records.length === 0) throw new ImportRejected([{ line: 1, column: null, message: "the file is empty: a header line naming the columns is required" }], 1);
  const [head, ...rows] = records;
  return { header: { names: head!.cells.map((c) => String(c)), line: head!.line }, records: rows };
}

/**
 * How many elements a JSON array's text has, counting no further than `max + 1` (one pass over the
 * characters, strings skipped); undefined if the text is not an array. Lets a file of millions of
 * rows (16 MiB of "{}," is 5.6 million objects, ~1 GB parsed) be refused before JSON.parse.
 */
function arrayLengthUpTo(text: string, max: number): number | undefined {
  let i = 0;
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  if (text[i] !== "[") return undefined;
  let depth = 0;
  let count = 0;
  let empty = true;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: skip to its closing quote, over escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
      if (depth === 1) empty = false;
    } else if (c === 91 || c === 123) {
      if (depth === 1) empty = false;
      depth++;
    } else if (c === 93 || c === 125) {
      depth--;
      if (depth === 0) break;
    } else if (c === 44 && depth === 1) {
      count++;
      if (count >= max + 1) return count + 1;
    } else if (depth === 1 && c > 32) empty = false;
  }
  return empty ? 0 : count + 1;
}

/** A JSON body: an array of objects keyed by column name. */
export function readJsonRows(input: string): RawTable {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // More rows than the limit: refused on the first row past it, as for CSV, without parsing the rest.
  if ((arrayLengthUpTo(text, MAX_IMPORT_ROWS) ?? 0) > MAX_IMPORT_ROWS) throw tooManyRows(MAX_IMPORT_ROWS + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // As every JSON route answers a body it cannot parse: 400, not a problem of a row.
    throw new ApiError("bad_request", "The body is not valid JSON.");
  }
  if (!Array.isArray(value)) throw new ImportRejected([{ line: 1, column: null, message: "the JSON body must be an array of rows (objects keyed by column name)" }], 1);
  const names: string[] = [];
  const seen = new Set<string>();
  const problems = new Problems();
  value.forEach((row, index) => {
    if (typeof row !== "object" || row === null || Array.isArray(row)) problems.add(index + 1, null, "must be an object keyed by column name");
    else for (const key of Object.keys(row)) if (!seen.has(key)) (seen.add(key), names.push(key));
  });
  problems.throwIfAny();
  const records = (value as Record<string, unknown>[]).map((row, index) => ({
    line: index + 1,
    cells: names.map((n): Cell => {
      const cell = row[n];
      if (cell === null || cell === undefined || typeof cell === "string" || typeof cell === "number" || typeof cell === "boolean") return cell;
      problems.add(index + 1, n, "must be text, a number or true/false");
      return undefined;
    }),
  }));
  problems.throwIfAny();
  // Column problems are reported on line 1 for JSON (the header of a JSON body is its keys).
  return { header: { names, line: 1 }, records };
}

type Cell = string | number | boolean | null | undefined;

const textCell = (max: number) => (cell: Cell, fail: (m: string) => void): string | undefined => {
  if (cell === null || cell === undefined) return undefined;
  if (typeof cell !== "string") return fail("must be text"), undefined;
  if (NOT_TEXT.test(cell)) return fail("must not contain NUL characters or unpaired surrogates"), undefined;
  const value = cell.trim();
  if (value === "") return undefined;
  if (value.length > max) return fail(`must be at most ${max} characters`), undefined;
  return value;
};

const intCell = (max: number) => (cell: Cell, fail: (m: string) => void): number | undefined => {
  if (cell === null || cell === undefined) return undefined;
  if (typeof cell === "boolean") return fail("must be a whole number"), undefined;
  const raw = typeof cell === "number" ? String(cell) : cell.trim();
  if (raw === "") return undefined;
  if (NOT_TEXT.test(raw)) return fail("must not contain NUL characters"), undefined;
  if (/^-\d+$/.test(raw)) return fail("must be at least 0"), undefined;
  if (!/^\d+$/.test(raw)) return fail("must be a whole number (no decimals, units or thousands separators)"), undefined;
  const n = Number(raw);
  if (n > max) return fail(`must be at most ${max}`), undefined;
  return n;
};

const TRUE = new Set(["true", "yes", "1"]);
const FALSE = new Set(["false", "no", "0"]);
const boolCell = (cell: Cell, fail: (m: string) => void): boolean | undefined => {
  if (cell === null || cell === undefined) return undefined;
  if (typeof cell === "boolean") return cell;
  const raw = String(cell).trim().toLowerCase();
  if (raw === "") return undefined;
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  if (NOT_TEXT.test(raw)) return fail("must not contain NUL characters"), undefined;
  return fail("must be true or false (yes/no, 1/0 also read)"), undefined;
};

const CELLS: Record<ImportColumn, (cell: Cell, fail: (m: string) => void) => unknown> = {
  name: textCell(100),
  sku: textCell(50),
  priceCents: intCell(INT32_MAX),
  stock: intCell(INT32_MAX),
  lowStockThreshold: intCell(INT32_MAX),
  category: textCell(50),
  description: textCell(500),
  published: boolCell,
  supplierSku: textCell(50),
  unitCostCents: intCell(MAX_UNIT_COST_CENTS),
};

/**
 * Every row checked against the columns' rules, or ImportRejected listing every problem (up to
 * MAX_REPORTED_PROBLEMS). Formula-looking cells ("=SUM(A1)") are ordinary text here: they are only
 * dangerous when a spreadsheet opens an export, and the exports neutralise them.
 */
export function checkRows(table: RawTable, mode: ImportMode): ImportRow[] {
  const problems = new Problems();
  const { header } = table;
  const columns: (ImportColumn | undefined)[] = [];
  const seen = new Map<ImportColumn, number>();
  header.names.forEach((raw, index) => {
    const name = String(raw).trim();
    if (NOT_TEXT.test(name)) return void problems.add(header.line, null, `column ${index + 1}'s name contains NUL characters`);
    const column = BY_LOWER.get(name.toLowerCase());
    if (!column) {
      problems.add(header.line, name, `unknown column; the columns are ${IMPORT_COLUMNS.join(", ")}`);
    } else if (seen.has(column)) {
      problems.add(header.line, column, `the column appears twice (columns ${seen.get(column)! + 1} and ${index + 1})`);
    }
    if (column && !seen.has(column)) seen.set(column, index);
    columns.push(column);
  });
  if (!seen.has("sku")) problems.add(header.line, "sku", "the sku column is required: rows are matched to items by SKU");
  if (mode === "create") for (const c of ["name", "priceCents"] as const) if (!seen.has(c)) problems.add(header.line, c, "the column is required to create items (mode=create)");
  problems.throwIfAny();

  if (table.records.length > MAX_IMPORT_ROWS) {
    throw new ImportRejected([{ line: table.records[MAX_IMPORT_ROWS]!.line, column: null, message: `at most ${MAX_IMPORT_ROWS} rows per import; split the file` }], 1);
  }

  const rows: ImportRow[] = [];
  const skus = new Map<string, number>();
  for (const record of table.records) {
    if (record.cells.length > header.names.length && record.cells.slice(header.names.length).some((c) => c !== "" && c !== null && c !== undefined)) {
      problems.add(record.line, null, `the row has ${record.cells.length} cells, the header ${header.names.length}`);
      continue;
    }
    const row: Record<string, unknown> = { line: record.line };
    columns.forEach((column, index) => {
      if (!column) return;
      const value = CELLS[column](record.cells[index], (message) => problems.add(record.line, column, message));
      if (value !== undefined) row[column] = value;
    });
    const sku = row.sku as string | undefined;
    if (sku === undefined) {
      if (!problems.list.some((p) => p.line === record.line && p.column === "sku")) problems.add(record.line, "sku", "is required");
    } else {
      const key = sku.toLowerCase();
      const first = skus.get(key);
      if (first !== undefined) problems.add(record.line, "sku", `duplicate SKU: lines ${first} and ${record.line} both have ${sku}`);
      else skus.set(key, record.line);
    }
    if (mode === "create") for (const c of ["name", "priceCents"] as const) if (row[c] === undefined && !problems.list.some((p) => p.line === record.line && p.column === c)) problems.add(record.line, c, "is required to create an item");
    rows.push(row as unknown as ImportRow);
  }
  if (rows.length === 0 && problems.total === 0) problems.add(header.line, null, "the file has a header but no rows");
  problems.throwIfAny();
  return rows;
}

/** The rows as the import statement reads them (jsonb_to_recordset), with the new ids and category keys. */
export function statementInput(rows: ImportRow[], newId: () => string) {
  const categories = new Map<string, { key: string; name: string; slug: string; id: string }>();
  const records = rows.map((r) => {
    const key = r.category?.toLowerCase();
    if (key !== undefined && !categories.has(key)) categories.set(key, { key, name: r.category!, slug: categorySlugFromName(r.category!), id: newId() });
    return {
      line: r.line,
      sku: r.sku,
      name: r.name ?? null,
      price_cents: r.priceCents ?? null,
      stock: r.stock ?? null,
      low_stock_threshold: r.lowStockThreshold ?? null,
      category_key: key ?? null,
      description: r.description ?? null,
      published: r.published ?? null,
      supplier_sku: r.supplierSku ?? null,
      unit_cost_cents: r.unitCostCents ?? null,
      new_id: newId(),
    };
  });
  return { records, categories: [...categories.values()] };
}
