CREATE TABLE "analytics_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"watermark" timestamp with time zone NOT NULL,
	"run_bound" timestamp with time zone,
	"locked_by" text,
	"last_run_at" timestamp with time zone,
	"last_changed_orders" integer,
	"last_days" integer,
	CONSTRAINT "analytics_state_single_row" CHECK ("analytics_state"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "feedback_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feedbacks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"token_id" uuid,
	"source" text NOT NULL,
	"rating" smallint NOT NULL,
	"product_quality" smallint,
	"delivery" smallint,
	"communication" smallint,
	"comment" text,
	"consent_to_publish" boolean DEFAULT false NOT NULL,
	"is_public" boolean DEFAULT false NOT NULL,
	"response" text,
	"responded_at" timestamp with time zone,
	"responded_by" uuid,
	"created_by" uuid,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedbacks_source_check" CHECK ("feedbacks"."source" IN ('customer', 'staff')),
	CONSTRAINT "feedbacks_rating_check" CHECK ("feedbacks"."rating" BETWEEN 1 AND 5),
	CONSTRAINT "feedbacks_dimensions_check" CHECK (coalesce("feedbacks"."product_quality", 1) BETWEEN 1 AND 5 AND coalesce("feedbacks"."delivery", 1) BETWEEN 1 AND 5 AND coalesce("feedbacks"."communication", 1) BETWEEN 1 AND 5),
	CONSTRAINT "feedbacks_text_length_check" CHECK (coalesce(length("feedbacks"."comment"), 0) <= 2000 AND coalesce(length("feedbacks"."response"), 0) <= 2000),
	CONSTRAINT "feedbacks_public_needs_consent_check" CHECK (NOT "feedbacks"."is_public" OR "feedbacks"."consent_to_publish")
);
--> statement-breakpoint
CREATE TABLE "sales_daily_channels" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"channel" text NOT NULL,
	"orders" integer NOT NULL,
	"units" bigint NOT NULL,
	"revenue_cents" bigint NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sales_daily_channels_tenant_id_day_channel_pk" PRIMARY KEY("tenant_id","day","channel")
);
--> statement-breakpoint
CREATE TABLE "sales_daily_items" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"item_id" uuid NOT NULL,
	"units" bigint NOT NULL,
	"revenue_cents" bigint NOT NULL,
	"orders" integer NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sales_daily_items_tenant_id_day_item_id_pk" PRIMARY KEY("tenant_id","day","item_id")
);
--> statement-breakpoint
ALTER TABLE "feedback_tokens" ADD CONSTRAINT "feedback_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback_tokens" ADD CONSTRAINT "feedback_tokens_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedbacks" ADD CONSTRAINT "feedbacks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedbacks" ADD CONSTRAINT "feedbacks_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedbacks" ADD CONSTRAINT "feedbacks_token_id_feedback_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."feedback_tokens"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sales_daily_channels" ADD CONSTRAINT "sales_daily_channels_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sales_daily_items" ADD CONSTRAINT "sales_daily_items_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "feedback_tokens_hash_key" ON "feedback_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "feedback_tokens_live_order_key" ON "feedback_tokens" USING btree ("order_id") WHERE "feedback_tokens"."used_at" IS NULL AND "feedback_tokens"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "feedback_tokens_tenant_order_idx" ON "feedback_tokens" USING btree ("tenant_id","order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "feedbacks_order_key" ON "feedbacks" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "feedbacks_tenant_created_idx" ON "feedbacks" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feedbacks_tenant_published_idx" ON "feedbacks" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "feedbacks"."is_public" AND "feedbacks"."consent_to_publish";--> statement-breakpoint
CREATE INDEX "sales_daily_items_item_idx" ON "sales_daily_items" USING btree ("tenant_id","item_id","day");--> statement-breakpoint
CREATE INDEX "orders_updated_at_idx" ON "orders" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "orders_tenant_created_idx" ON "orders" USING btree ("tenant_id","created_at");