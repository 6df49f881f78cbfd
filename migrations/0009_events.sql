-- Issue 13: the event outbox / audit log. transaction_id (xid8) is the commit-order-safe cursor:
-- readers take only rows below pg_snapshot_xmin(pg_current_snapshot()), ordered by (transaction_id, seq).
CREATE TABLE "events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"transaction_id" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"resource_type" text NOT NULL,
	"resource_id" text NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "events_actor_type_check" CHECK ("events"."actor_type" IN ('user', 'api_key', 'system', 'public'))
);
--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_tenant_cursor_idx" ON "events" USING btree ("tenant_id","transaction_id","seq");--> statement-breakpoint
CREATE INDEX "events_tenant_resource_idx" ON "events" USING btree ("tenant_id","resource_type","resource_id","transaction_id","seq");--> statement-breakpoint
CREATE INDEX "events_occurred_idx" ON "events" USING btree ("occurred_at");