CREATE TABLE "lots" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"item_id" uuid NOT NULL,
	"lot_code" text NOT NULL,
	"expires_on" date,
	"quantity" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lots_quantity_check" CHECK ("lots"."quantity" >= 0)
);
--> statement-breakpoint
CREATE TABLE "order_lot_allocations" (
	"order_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"item_id" uuid NOT NULL,
	"lot_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "order_lot_allocations_order_id_item_id_lot_id_pk" PRIMARY KEY("order_id","item_id","lot_id"),
	CONSTRAINT "order_lot_allocations_quantity_check" CHECK ("order_lot_allocations"."quantity" > 0)
);
--> statement-breakpoint
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check";--> statement-breakpoint
ALTER TABLE "stock_take_lines" DROP CONSTRAINT "stock_take_lines_stock_take_id_item_id_pk";--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "lot_stock" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "stock_movements" ADD COLUMN "lot_id" uuid;--> statement-breakpoint
ALTER TABLE "stock_take_lines" ADD COLUMN "lot_id" uuid;--> statement-breakpoint
ALTER TABLE "lots" ADD CONSTRAINT "lots_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lots" ADD CONSTRAINT "lots_item_id_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."items"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lot_allocations" ADD CONSTRAINT "order_lot_allocations_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lot_allocations" ADD CONSTRAINT "order_lot_allocations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lot_allocations" ADD CONSTRAINT "order_lot_allocations_item_id_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."items"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lot_allocations" ADD CONSTRAINT "order_lot_allocations_lot_id_lots_id_fk" FOREIGN KEY ("lot_id") REFERENCES "public"."lots"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "lots_item_code_key" ON "lots" USING btree ("tenant_id","item_id","lot_code");--> statement-breakpoint
CREATE INDEX "lots_item_idx" ON "lots" USING btree ("item_id","expires_on");--> statement-breakpoint
CREATE INDEX "lots_tenant_expiry_idx" ON "lots" USING btree ("tenant_id","expires_on","id") WHERE "lots"."quantity" > 0;--> statement-breakpoint
CREATE INDEX "order_lot_allocations_lot_idx" ON "order_lot_allocations" USING btree ("lot_id");--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_lot_id_lots_id_fk" FOREIGN KEY ("lot_id") REFERENCES "public"."lots"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_take_lines" ADD CONSTRAINT "stock_take_lines_lot_id_lots_id_fk" FOREIGN KEY ("lot_id") REFERENCES "public"."lots"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_take_lines" ADD CONSTRAINT "stock_take_lines_item_lot_key" UNIQUE NULLS NOT DISTINCT("stock_take_id","item_id","lot_id");--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_lot_stock_check" CHECK ("items"."lot_stock" >= 0 AND "items"."lot_stock" <= "items"."stock");--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("stock_movements"."reason" IN ('order', 'cancel', 'edit', 'adjustment', 'set', 'receipt', 'count', 'release', 'expired'));