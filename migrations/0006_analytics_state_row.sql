-- The analytics refresh's single bookkeeping row. '-infinity' makes the first refresh recompute
-- every day that has orders.
INSERT INTO analytics_state (id, watermark) VALUES (1, '-infinity') ON CONFLICT (id) DO NOTHING;
