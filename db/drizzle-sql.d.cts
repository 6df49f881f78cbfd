// Typed by db/sql.ts, as drizzle's ESM declarations (the ones every other file sees).
declare const sqlModule: unknown;
export = sqlModule;
