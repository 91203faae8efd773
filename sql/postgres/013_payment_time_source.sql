-- Which clock a captured payment's realised_at came from, as orders.time_source
-- does for an order's time: 'client' is the gateway's created_at (within
-- payments.max_event_age before our receipt, never after it), 'received' is
-- our receipt time. NULL for payments stored before this column and for
-- states other than captured.
ALTER TABLE payments
    ADD COLUMN realised_time_source text CHECK (realised_time_source IN ('client', 'received'));
