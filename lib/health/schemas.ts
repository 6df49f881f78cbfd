import * as v from "valibot";
import { ErrorOut } from "../http/outputs.js";

// Output schemas. Down, the same report comes with status 503 and the error object beside it.
const healthFields = {
  status: v.picklist(["ok", "down"]),
  version: v.string(),
  commit: v.nullable(v.string()),
  database: v.strictObject({
    status: v.picklist(["ok", "down"]),
    driver: v.optional(v.string()),
    latencyMs: v.optional(v.number()),
    reason: v.optional(v.string()),
  }),
  cache: v.strictObject({ status: v.picklist(["ok", "degraded"]), mode: v.picklist(["memory", "redis"]) }),
  replicas: v.array(
    v.strictObject({
      host: v.string(),
      driver: v.optional(v.string()),
      status: v.picklist(["ok", "lagging", "down", "unknown"]),
      lagMs: v.nullable(v.number()),
      skippedUntil: v.optional(v.pipe(v.string(), v.isoTimestamp())),
    }),
  ),
};
export const HealthOut = v.strictObject(healthFields);
export const HealthDownOut = v.strictObject({ ...healthFields, error: ErrorOut.entries.error });
