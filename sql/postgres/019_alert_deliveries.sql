-- Alert notifications (issue 16): each raise and each resolve of a row of
-- `alerts` is one delivery to the webhook target, sent by the alert-notify
-- job (jobs/alertnotify). The triggers queue it in the transaction that
-- raises or resolves the alert, whichever code path does it (the engine's
-- bookkeeping, nav-freshness's sync, the money path's batches), so none is
-- missed, and the primary key queues none twice. The job records the
-- target's answer on the row.
CREATE TABLE alert_deliveries (
    alert_id        bigint      NOT NULL REFERENCES alerts (id),
    event           text        NOT NULL CHECK (event IN ('raised', 'resolved')),
    -- pending: due at next_attempt_at; sending: handed to the target (a row
    -- left 'sending' by a dead process is not sent again: it becomes failed,
    -- "interrupted"); sent, failed, expired: final.
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,          -- when it became sent, failed or expired
    http_status     integer,              -- the target's last answer; NULL without one (timeout, refused)
    answer          text,                 -- the answer's first 1 KB, or the error
    PRIMARY KEY (alert_id, event)
);
CREATE INDEX alert_deliveries_open ON alert_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');

CREATE FUNCTION alert_deliveries_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_deliveries (alert_id, event)
    VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN 'raised' ELSE 'resolved' END)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER alerts_enqueue_raised AFTER INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION alert_deliveries_enqueue();
CREATE TRIGGER alerts_enqueue_resolved AFTER UPDATE OF resolved_at ON alerts
    FOR EACH ROW WHEN (OLD.resolved_at IS NULL AND NEW.resolved_at IS NOT NULL)
    EXECUTE FUNCTION alert_deliveries_enqueue();
