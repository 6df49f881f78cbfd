// The closed sets of values, apart from the table definitions so request validation can use them
// without loading drizzle's pg-core (~40 ms of cold start). They are text + CHECK in the database
// rather than Postgres enums: adding a value to an enum cannot run inside a transaction on older
// servers, and a CHECK is trivially migrated.
export const ROLES = ["owner", "admin", "staff"] as const;
export type Role = (typeof ROLES)[number];

export const CHANNELS = ["instagram", "facebook", "whatsapp", "call", "offline", "web"] as const;
export const ORDER_STATUSES = ["pending", "confirmed", "preparing", "ready", "completed", "cancelled"] as const;
export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
