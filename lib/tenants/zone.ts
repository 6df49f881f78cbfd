import { sql, type SQL } from "../../db/sql.js";

// A tenant's days inside any statement: its IANA timezone read in the same statement (no extra
// round trip), and the instants that bound its calendar days (DST-correct: AT TIME ZONE with the
// name, not a fixed offset).

export const tenantZone = (tenantId: string): SQL => sql`coalesce((SELECT timezone FROM tenants WHERE id = ${tenantId}), 'UTC')`;

/** The instant the tenant's calendar day `day` (YYYY-MM-DD) starts. */
export const dayStartIn = (tenantId: string, day: string): SQL => sql`(${day}::date::timestamp AT TIME ZONE ${tenantZone(tenantId)})`;

/** The instant the tenant's calendar day `day` ends (the next day's start). */
export const dayEndIn = (tenantId: string, day: string): SQL => sql`((${day}::date + 1)::timestamp AT TIME ZONE ${tenantZone(tenantId)})`;

/** Today's date in the tenant's timezone. */
export const todayIn = (tenantId: string): SQL => sql`(now() AT TIME ZONE ${tenantZone(tenantId)})::date`;

/**
 * True when calendar day `day` (a date parameter or expression) lies within `days` days of the
 * tenant's date at instant `at` (default now(), the statement's own clock), both ends inclusive.
 * `at` exists so tests can evaluate the rule at chosen instants, e.g. around a local midnight.
 */
export const withinDaysOfTodayIn = (tenantId: string, day: string, days: number, at: SQL = sql`now()`): SQL =>
  sql`(${day}::date BETWEEN (${at} AT TIME ZONE ${tenantZone(tenantId)})::date - ${days}::int AND (${at} AT TIME ZONE ${tenantZone(tenantId)})::date + ${days}::int)`;
