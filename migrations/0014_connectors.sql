ALTER TABLE "deliveries" ADD COLUMN "message_id" uuid;--> statement-breakpoint
ALTER TABLE "delivery_endpoints" ADD COLUMN "channel" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_message_idx" ON "deliveries" USING btree ("message_id") WHERE "deliveries"."message_id" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_endpoints_connector_channel_key" ON "delivery_endpoints" USING btree ("tenant_id","channel") WHERE "delivery_endpoints"."kind" = 'connector';--> statement-breakpoint
ALTER TABLE "delivery_endpoints" ADD CONSTRAINT "delivery_endpoints_connector_channel_check" CHECK ("delivery_endpoints"."kind" <> 'connector' OR "delivery_endpoints"."channel" IN ('instagram', 'facebook', 'whatsapp', 'web'));