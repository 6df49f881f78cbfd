CREATE TABLE "conversation_reads" (
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"reader_id" text NOT NULL,
	"read_seq" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversation_reads_conversation_id_reader_id_pk" PRIMARY KEY("conversation_id","reader_id")
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"assigned_to" uuid,
	"order_id" uuid,
	"message_count" bigint DEFAULT 0 NOT NULL,
	"last_inbound_seq" bigint DEFAULT 0 NOT NULL,
	"last_message_id" uuid,
	"last_message_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_channel_check" CHECK ("conversations"."channel" IN ('instagram', 'facebook', 'whatsapp', 'call', 'offline', 'web')),
	CONSTRAINT "conversations_status_check" CHECK ("conversations"."status" IN ('open', 'closed'))
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"channel" text NOT NULL,
	"direction" text NOT NULL,
	"text" text NOT NULL,
	"attachments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"author_type" text NOT NULL,
	"author_id" text,
	"status" text NOT NULL,
	"failure_reason" text,
	"external_id" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_direction_check" CHECK ("messages"."direction" IN ('inbound', 'outbound', 'note')),
	CONSTRAINT "messages_status_check" CHECK ("messages"."status" IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
	CONSTRAINT "messages_author_type_check" CHECK ("messages"."author_type" IN ('user', 'api_key', 'customer')),
	CONSTRAINT "messages_text_check" CHECK (length("messages"."text") BETWEEN 1 AND 5000)
);
--> statement-breakpoint
CREATE TABLE "order_tracking_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"revoked_at" timestamp with time zone,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversation_reads" ADD CONSTRAINT "conversation_reads_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_reads" ADD CONSTRAINT "conversation_reads_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_tracking_tokens" ADD CONSTRAINT "order_tracking_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_tracking_tokens" ADD CONSTRAINT "order_tracking_tokens_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversation_reads_tenant_reader_idx" ON "conversation_reads" USING btree ("tenant_id","reader_id");--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_open_key" ON "conversations" USING btree ("tenant_id","customer_id","channel") WHERE "conversations"."status" = 'open';--> statement-breakpoint
CREATE INDEX "conversations_tenant_activity_idx" ON "conversations" USING btree ("tenant_id",coalesce("last_message_at", "created_at"),"id");--> statement-breakpoint
CREATE INDEX "conversations_tenant_customer_idx" ON "conversations" USING btree ("tenant_id","customer_id");--> statement-breakpoint
CREATE INDEX "conversations_tenant_order_idx" ON "conversations" USING btree ("tenant_id","order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_conversation_seq_key" ON "messages" USING btree ("conversation_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_external_key" ON "messages" USING btree ("tenant_id","channel","external_id") WHERE "messages"."external_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_tenant_conversation_idx" ON "messages" USING btree ("tenant_id","conversation_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "order_tracking_tokens_hash_key" ON "order_tracking_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "order_tracking_tokens_live_order_key" ON "order_tracking_tokens" USING btree ("order_id") WHERE "order_tracking_tokens"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "order_tracking_tokens_tenant_order_idx" ON "order_tracking_tokens" USING btree ("tenant_id","order_id");