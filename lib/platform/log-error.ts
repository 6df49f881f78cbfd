import { createHash } from "node:crypto";

// What a log line may say about an error. Database errors carry customer data in three places —
// drizzle's message ("Failed query: <sql>\nparams: <every bound value>"), Postgres's own message and
// detail ('Key (sku)=(…)', 'invalid input syntax for type uuid: "…"') and the SQL text — so for
// them only the SQLSTATE, the constraint/table/column names, the statement's name (the repository
// function that ran it) and a hash of its SQL text are logged. Other errors keep their message.
const SQLSTATE = /^[0-9A-Z]{5}$/;

type ErrorRecord = Record<string, unknown>;

function chain(error: unknown): ErrorRecord[] {
  const out: ErrorRecord[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === "object"; depth++) {
    out.push(current as ErrorRecord);
    current = (current as ErrorRecord).cause ?? (current as ErrorRecord).sourceError;
  }
  return out;
}

const str = (value: unknown) => (typeof value === "string" && value ? value : undefined);

/** Stack frames only: the first line of a stack repeats the message. */
function frames(stack: unknown): string[] {
  return typeof stack === "string" ? stack.split("\n").filter((line) => /^\s+at /.test(line)).map((line) => line.trim()) : [];
}

/** "lib/orders/repo.ts:createOrder": the first frame in our own code below the database layer. */
function statementName(errors: ErrorRecord[]): string | undefined {
  for (const e of errors) {
    for (const frame of frames(e.stack)) {
      const match = /^at (?:async )?(?:(\S+) \()?(?:file:\/\/)?([^()]*?)(?::\d+){0,2}\)?$/.exec(frame);
      const file = match?.[2]?.replaceAll("\\", "/");
      if (!file || file.includes("node_modules") || file.startsWith("node:")) continue;
      const own = /(?:^|\/)((?:lib|api)\/.+)$/.exec(file)?.[1];
      if (own) return match![1] ? `${own}:${match![1]}` : own;
    }
  }
  return undefined;
}

export function errorFields(error: unknown): Record<string, unknown> {
  const errors = chain(error);
  const db = errors.find((e) => typeof e.code === "string" && SQLSTATE.test(e.code));
  const query = errors.map((e) => str(e.query)).find(Boolean);
  const top = errors[0];
  if (db || (query !== undefined && top && "params" in top)) {
    return {
      error: str(top?.name) ?? "Error",
      sqlState: db?.code,
      // tally_fail()'s first argument is a fixed rule code from our SQL, never data.
      rule: db?.code === "P0001" && /^[a-z_]{1,64}$/.test(String(db.message)) ? db.message : undefined,
      constraint: str(db?.constraint),
      table: str(db?.table),
      column: str(db?.column),
      statement: statementName(errors),
      sqlHash: query ? createHash("sha256").update(query).digest("hex").slice(0, 12) : undefined,
    };
  }
  if (!(error instanceof Error)) return { error: typeof error === "string" ? error : typeof error };
  return { error: `${error.name}: ${error.message}`, stack: frames(error.stack).slice(0, 12) };
}
