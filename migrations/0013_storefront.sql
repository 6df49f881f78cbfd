CREATE TABLE "categories" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"parent_id" uuid,
	"position" integer DEFAULT 0 NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "categories_not_own_parent" CHECK ("categories"."parent_id" IS NULL OR "categories"."parent_id" <> "categories"."id")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"method" text NOT NULL,
	"status" text NOT NULL,
	"amount_cents" integer NOT NULL,
	"card_last4" text,
	"failure_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_method_check" CHECK ("payments"."method" IN ('card', 'pay_later')),
	CONSTRAINT "payments_status_check" CHECK ("payments"."status" IN ('pending', 'succeeded', 'failed', 'refunded', 'voided')),
	CONSTRAINT "payments_amount_check" CHECK ("payments"."amount_cents" >= 0)
);
--> statement-breakpoint
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check";--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "category_id" uuid;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "published" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "compare_at_price_cents" integer;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "reserved_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "access_token_hash" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "session_hash" text;--> statement-breakpoint
ALTER TABLE "categories" ADD CONSTRAINT "categories_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "categories" ADD CONSTRAINT "categories_parent_id_categories_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."categories"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "categories_tenant_slug_key" ON "categories" USING btree ("tenant_id","slug");--> statement-breakpoint
CREATE INDEX "categories_tenant_parent_idx" ON "categories" USING btree ("tenant_id","parent_id","position");--> statement-breakpoint
CREATE INDEX "payments_tenant_order_idx" ON "payments" USING btree ("tenant_id","order_id");--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_category_id_categories_id_fk" FOREIGN KEY ("category_id") REFERENCES "public"."categories"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "items_tenant_published_created_idx" ON "items" USING btree ("tenant_id","created_at","id") WHERE "items"."deleted_at" IS NULL AND "items"."published";--> statement-breakpoint
CREATE INDEX "items_tenant_category_idx" ON "items" USING btree ("tenant_id","category_id");--> statement-breakpoint
CREATE INDEX "orders_reserved_until_idx" ON "orders" USING btree ("reserved_until") WHERE "orders"."status" = 'pending' AND "orders"."reserved_until" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_tenant_session_idx" ON "orders" USING btree ("tenant_id","session_hash","id") WHERE "orders"."session_hash" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_compare_at_price_nonnegative" CHECK ("items"."compare_at_price_cents" IS NULL OR "items"."compare_at_price_cents" >= 0);--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("stock_movements"."reason" IN ('order', 'cancel', 'edit', 'adjustment', 'set', 'receipt', 'count', 'release'));--> statement-breakpoint
-- hand-written below
-- Issue 14: today's free-text item categories become categories (one per tenant and name, case
-- folded like the old filter; the first spelling wins), and each item points at its own. The items
-- keep their `category` text, so the old filter answers exactly as before. Slugs: the name lowered,
-- runs of anything but a-z0-9 turned into "-", trimmed ("category" when nothing is left); names that
-- fold to the same slug get a suffix from their hash.
WITH names AS (
  SELECT tenant_id, min(btrim(category)) AS name, lower(btrim(category)) AS folded
  FROM items WHERE btrim(coalesce(category, '')) <> ''
  GROUP BY tenant_id, lower(btrim(category))
), slugged AS (
  SELECT n.*, coalesce(nullif(btrim(regexp_replace(left(n.folded, 60), '[^a-z0-9]+', '-', 'g'), '-'), ''), 'category') AS base FROM names n
), numbered AS (
  SELECT s.*, row_number() OVER (PARTITION BY s.tenant_id, s.base ORDER BY s.folded) AS n FROM slugged s
)
INSERT INTO categories (id, tenant_id, name, slug, position)
SELECT gen_random_uuid(), tenant_id, name, CASE WHEN n = 1 THEN base ELSE left(base, 50) || '-' || left(md5(folded), 8) END, 0 FROM numbered;
--> statement-breakpoint
UPDATE items i SET category_id = c.id
FROM categories c WHERE c.tenant_id = i.tenant_id AND lower(c.name) = lower(btrim(i.category)) AND i.category_id IS NULL;
