-- Notification deliveries for analysts (issue 21): delivery rates by
-- channel, provider and event type. One row per (notification, status it
-- reached: sent, delivered, failed, dead), copied from Postgres
-- `notifications` by the notify job after it records the status, so a
-- message that was sent and later delivered has two rows. A copy repeated
-- after a crash is the same row (ReplacingMergeTree on the key; read with
-- FINAL for exact counts). at is DateTime (18.16 has no DateTime64).
CREATE TABLE IF NOT EXISTS notification_facts (
    notification_id UInt64,
    event_id        String,
    channel         String,
    provider        String,
    event_type      String,
    template        String,
    investor_id     String,
    status          String,
    attempts        UInt16,
    error           String,
    queued_at       DateTime,
    at              DateTime,
    day             Date
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (channel, provider, status, notification_id);
