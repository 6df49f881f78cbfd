import { sql } from "../../db/sql.js";
import { eventsCte, SYSTEM } from "../events/outbox.js";
import { messageJson } from "../conversations/json.js";

// The connector kind's share of the delivery engine's outcome statement: the outbound message a
// delivery carries moves with the delivery, in the same statement that records the attempt —
// delivered (2xx) → `sent`, dead letter (schedule spent, or 410 Gone) → `failed` with a reason —
// with its message.status_changed event. Only from `queued`: a status report that got there first
// (the connector answered `delivered` before our outcome was written) is never moved back, and the
// row lock orders the two (the UPDATE re-checks `status = 'queued'` on the newest row version).

const reason = (x: string) =>
  sql.raw(`left(CASE WHEN ${x}.gone THEN 'connector answered 410 Gone; the connector is disabled'
    ELSE 'connector did not accept the message after ' || ${x}.attempts || ' attempts (last: '
      || coalesce('HTTP ' || ${x}.status, ${x}.error, 'no answer') || ')' END, 500)`);

export const connectorOutcome = {
  ctes: (done: string) => sql`connector_messages AS (
      UPDATE messages m SET
        status = CASE WHEN x.delivered THEN 'sent' ELSE 'failed' END,
        failure_reason = CASE WHEN x.delivered THEN NULL ELSE ${reason("x")} END,
        sent_at = CASE WHEN x.delivered THEN coalesce(m.sent_at, x.at) ELSE m.sent_at END,
        updated_at = x.at
      FROM ${sql.raw(done)} x
      WHERE x.message_id IS NOT NULL AND m.id = x.message_id AND m.tenant_id = x.tenant_id AND m.status = 'queued' AND (x.delivered OR x.dead)
      RETURNING m.*, 'queued'::text AS previous),
    ${eventsCte(
      "connector_message_events",
      sql`e.tenant_id`,
      SYSTEM,
      sql`SELECT c.tenant_id, 'message.status_changed' AS type, 'message' AS resource_type, c.id AS resource_id,
            jsonb_build_object('message', ${messageJson("c")}, 'from', c.previous, 'to', c.status) AS data
          FROM connector_messages c`,
    )}`,
  touched: sql`SELECT DISTINCT tenant_id FROM connector_messages`,
};
