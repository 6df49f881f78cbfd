-- Issue 11: an Idempotency-Key belongs to a principal as well as a tenant and a route, and setting
-- an item's stock is a ledger movement ('set').
-- Existing keys get the principal who made the resource they point to, so a retry across this
-- migration still replays: orders (created_by), stock adjustments and cancels (the movement's
-- created_by), public feedback (the link's hash, kept in the old scope after '#'). A key whose
-- principal cannot be found gets 'legacy:unknown', which no request matches.
ALTER TABLE "idempotency_keys" ADD COLUMN "principal" text;--> statement-breakpoint
UPDATE "idempotency_keys" k SET "principal" = 'user:' || o."created_by"
  FROM "orders" o
  WHERE k."scope" = 'POST /api/orders' AND o."id" = k."resource_id" AND o."created_by" IS NOT NULL;--> statement-breakpoint
UPDATE "idempotency_keys" k SET "principal" = 'user:' || m."created_by"
  FROM "stock_movements" m
  WHERE k."scope" LIKE 'POST /api/items/%/stock-adjustments' AND m."id" = k."resource_id" AND m."created_by" IS NOT NULL;--> statement-breakpoint
UPDATE "idempotency_keys" k SET "principal" = (
    SELECT 'user:' || m."created_by" FROM "stock_movements" m
    WHERE m."order_id" = k."resource_id" AND m."reason" = 'cancel' AND m."created_by" IS NOT NULL LIMIT 1)
  WHERE k."scope" LIKE 'POST /api/orders/%/cancel';--> statement-breakpoint
UPDATE "idempotency_keys" SET "principal" = 'link:' || split_part("scope", '#', 2), "scope" = split_part("scope", '#', 1)
  WHERE "scope" LIKE 'POST /api/public/feedbacks#%';--> statement-breakpoint
UPDATE "idempotency_keys" SET "principal" = 'legacy:unknown' WHERE "principal" IS NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ALTER COLUMN "principal" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_tenant_id_scope_key_pk";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_tenant_id_principal_scope_key_pk" PRIMARY KEY("tenant_id","principal","scope","key");--> statement-breakpoint
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check";--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("stock_movements"."reason" IN ('order', 'cancel', 'edit', 'adjustment', 'set'));
