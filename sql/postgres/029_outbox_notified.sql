-- The notify job's mark on the outbox (issue 21), as published_at is the
-- Kafka relay's and facts_at the facts relay's: a row is notified once the
-- planner has written its notifications (or decided it needs none) in the
-- same transaction. A marker rather than a cursor, so a row that commits
-- after rows with higher ids is still read. Rows already in the outbox are
-- history: marked, never notified.
ALTER TABLE outbox ADD COLUMN notified_at timestamptz;
UPDATE outbox SET notified_at = created_at;
CREATE INDEX outbox_notify_pending ON outbox (id) WHERE notified_at IS NULL;
