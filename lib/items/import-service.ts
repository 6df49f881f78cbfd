import { createHash } from "node:crypto";
import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import { readBytes } from "../http/body.js";
import { ApiError } from "../http/errors.js";
import { earlierResult, type IdempotencyRequest } from "../idempotency/keys.js";
import { checkRows, decodeText, ImportRejected, MAX_IMPORT_BYTES, readCsv, readJsonRows, statementInput, type ImportMode, type ImportProblem } from "./import.js";
import * as repo from "./import-repo.js";
import { readImportFile } from "./import-blob.js";
import { ItemImportFromBlob } from "./schemas.js";
import { parseInput } from "../http/validation.js";

export const IMPORT_MEDIA_TYPES = ["text/csv", "application/json"] as const;

export interface ImportAnswer extends repo.ImportCounts {
  /** The import's id; null for a dry run (nothing was written). */
  id: string | null;
  mode: ImportMode;
  dryRun: boolean;
}

function rejected(problems: ImportProblem[], total: number): ApiError {
  const listed = problems.length < total ? ` (the first ${problems.length} are listed)` : "";
  return new ApiError(
    "unprocessable",
    `The file has ${total} problem${total === 1 ? "" : "s"}${listed}; nothing was imported.`,
    problems.map((p) => ({ line: p.line, column: p.column, message: p.message })),
  );
}

/**
 * An Idempotency-Key's request hash covers the route, the mode and the file's exact bytes (route()
 * hashes parsed JSON bodies; this body is raw), so the same key with another file is 422.
 */
function keyed(idem: IdempotencyRequest | undefined, mode: ImportMode, type: string, bytes: Uint8Array, url: string | undefined): IdempotencyRequest | undefined {
  if (!idem) return undefined;
  // A file named by URL: the URL and the bytes read from it (the same key with another URL is 422).
  const head = url === undefined ? `\n${mode}\n${type}\n` : `\n${mode}\n${type}\nurl:${url}\n`;
  return { ...idem, hash: createHash("sha256").update(idem.hash).update(head).update(bytes).digest("hex") };
}

/**
 * The blob URL of an application/json body that is an object (`{ "url": … }`), or undefined for any
 * other body (an array of rows, or something readJsonRows refuses). An object is checked like any
 * JSON body: 400 if it does not parse, 422 naming the field if it is not exactly `{ url }`.
 */
function blobUrlOf(bytes: Uint8Array): string | undefined {
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x09 || bytes[start] === 0x0a || bytes[start] === 0x0d)) start++;
  if (bytes[start] !== 0x7b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start)));
  } catch {
    throw new ApiError("bad_request", "The body is not valid JSON.");
  }
  return parseInput(ItemImportFromBlob, value, "body").url;
}

/**
 * POST /api/items/import. The file is the body, or (a JSON object `{ url }`) a Blob client upload
 * under the tenant's imports prefix (import-blob.ts). The whole file is read and checked before anything is written; then one
 * statement writes it all or nothing (see import-repo.ts). A dry run does the same checks, database
 * ones included, and answers the counts the import would have.
 */
export async function importItems(auth: AuthContext, request: Request, options: { mode: ImportMode; dryRun: boolean }, idempotency: IdempotencyRequest | undefined): Promise<{ answer: ImportAnswer; replayed: boolean }> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!(IMPORT_MEDIA_TYPES as readonly string[]).includes(type)) throw new ApiError("unsupported_media_type", "Send the file as text/csv or application/json (an array of rows).");
  let bytes = await readBytes(request, MAX_IMPORT_BYTES);
  let fileType: string = type;
  const url = type === "application/json" ? blobUrlOf(bytes) : undefined;
  if (url !== undefined) ({ bytes, type: fileType } = await readImportFile(auth, url));
  let input: ReturnType<typeof statementInput>;
  try {
    const text = decodeText(bytes);
    const table = fileType === "text/csv" ? readCsv(text) : readJsonRows(text);
    input = statementInput(checkRows(table, options.mode), newId);
  } catch (error) {
    if (error instanceof ImportRejected) throw rejected(error.problems, error.total);
    throw error;
  }
  const { db } = await getDb();
  if (options.dryRun) {
    const planned = await repo.planImport(db, auth.tenant.id, options.mode, input);
    if (planned.problems) throw rejected(planned.problems.problems, planned.problems.count);
    return { answer: { id: null, mode: options.mode, dryRun: true, ...planned.counts }, replayed: false };
  }
  const idem = keyed(idempotency, options.mode, fileType, bytes, url);
  let written: Awaited<ReturnType<typeof repo.runImport>>;
  try {
    written = await repo.runImport(db, { tenantId: auth.tenant.id, userId: auth.userId, importId: newId(), mode: options.mode, input, idem, actor: actorOf(auth) });
  } catch (error) {
    const failure = classifyDbError(error);
    if (failure?.kind === "rule_failed" && failure.rule?.code === "import_rejected") {
      const detail = failure.rule.detail as { count: number; problems: ImportProblem[] };
      throw rejected(detail.problems, detail.count);
    }
    // Two imports (or an import and an item write) created the same SKU at once: the later one loses.
    if (failure?.kind === "unique_violation" && failure.constraint === "items_tenant_sku_live_key") {
      throw new ApiError("conflict", "Another write created an item with one of these SKUs while this import ran; nothing was imported. Retry (mode=upsert updates it).", undefined, { "Retry-After": "1" });
    }
    throw error;
  }
  const earlier = await earlierResult(db, written.row, idem, auth.tenant.id, written.replayed, (id) => repo.findImport(db, auth.tenant.id, id));
  const record = earlier ?? written.record!;
  if (!earlier) await invalidate(auth.tenant.id, ["items", "categories"]);
  return { answer: { id: record.id, mode: record.mode, dryRun: false, rows: record.rows, created: record.created, updated: record.updated, unchanged: record.unchanged }, replayed: earlier !== undefined };
}
