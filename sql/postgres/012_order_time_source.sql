-- The time an order counts as placed is decided by us, not the client
-- (SEBI's cut-off rules run on the time the platform received the order).
--
--   received_at       our clock when the order reached us (HTTP: the request;
--                     Kafka: the message's time stamp, bounded by our clock)
--   client_placed_at  the placed_at the client sent, as sent
--   time_source       which one orders.placed_at (the effective time, the
--                     cut-off clock) is: 'client' when the client's time lay
--                     within pipelines.orders.max_clock_skew before
--                     received_at (and not after it), else 'received'
--
-- Rows placed before this migration keep placed_at as the client sent it:
-- time_source 'client', received_at and client_placed_at NULL.
ALTER TABLE orders
    ADD COLUMN received_at      timestamptz,
    ADD COLUMN client_placed_at timestamptz,
    ADD COLUMN time_source      text NOT NULL DEFAULT 'client' CHECK (time_source IN ('client', 'received'));
