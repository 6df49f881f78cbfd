DROP INDEX "items_tenant_live_created_idx";--> statement-breakpoint
DROP INDEX "items_tenant_deleted_idx";--> statement-breakpoint
DROP INDEX "orders_tenant_id_idx";--> statement-breakpoint
DROP INDEX "orders_tenant_status_idx";--> statement-breakpoint
DROP INDEX "orders_tenant_customer_idx";--> statement-breakpoint
DROP INDEX "stock_movements_item_idx";--> statement-breakpoint
CREATE INDEX "items_tenant_live_created_idx" ON "items" USING btree ("tenant_id","created_at","id") WHERE "items"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "items_tenant_deleted_idx" ON "items" USING btree ("tenant_id","deleted_at","id") WHERE "items"."deleted_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_tenant_id_idx" ON "orders" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "orders_tenant_status_idx" ON "orders" USING btree ("tenant_id","status","id");--> statement-breakpoint
CREATE INDEX "orders_tenant_customer_idx" ON "orders" USING btree ("tenant_id","customer_id","id");--> statement-breakpoint
CREATE INDEX "stock_movements_item_idx" ON "stock_movements" USING btree ("tenant_id","item_id","created_at","id");