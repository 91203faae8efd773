-- Fraud evaluation (issue 19): the rules' windows, the stream positions
-- already applied, and the alerts the rules raised.
--
-- One evaluation transaction reads the positions of its batch's streams,
-- skips events at or below them (a redelivered Kafka batch after a crash
-- changes no window twice), locks and rewrites the windows the batch
-- touches, inserts the alerts (the id is rule + triggering event id, so a
-- replay finds the alert it raised), writes fraud.alert.raised to the
-- outbox and moves the positions: all or nothing.

-- One rule's window for one scope key (investor, folio, "bank:<fp>").
CREATE TABLE fraud_windows (
    rule_id    text        NOT NULL,
    scope_key  text        NOT NULL,
    state      jsonb       NOT NULL,   -- fraud.State: the remembered events
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, scope_key)
);

-- The last applied offset per stream and partition (Kafka topic/partition;
-- stream 'outbox', partition 0 for outbox ids).
CREATE TABLE fraud_positions (
    stream     text        NOT NULL,
    part       integer     NOT NULL,
    last_off   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, part)
);

CREATE TABLE fraud_alerts (
    id            text        PRIMARY KEY,             -- <rule id>:<triggering event id>
    rule_id       text        NOT NULL,
    kind          text        NOT NULL,                -- the rule's kind (aml_sanctions for screening hits)
    action        text        NOT NULL CHECK (action IN ('alert', 'hold')),
    investor_id   text        NOT NULL,
    scope_key     text        NOT NULL,
    event_id      text        NOT NULL,                -- the triggering event
    order_id      text        NOT NULL DEFAULT '',     -- the leg to hold (action hold)
    evidence      jsonb       NOT NULL,                -- [{event_id, lineage}], oldest first, the trigger last
    rules_version integer     NOT NULL,
    event_at      timestamptz NOT NULL,                -- the triggering event's time
    raised_at     timestamptz NOT NULL DEFAULT now(),
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'false_positive')),
    -- the hold: NULL until placed (a hold alert's leg is held after the
    -- evaluation commits; the job places what is still NULL on every pass)
    hold_id       bigint,
    hold_error    text        NOT NULL DEFAULT '',
    last_touched_by text      NOT NULL DEFAULT 'fraud', -- four eyes: who may not release its hold
    closed_by     text,
    closed_at     timestamptz,
    note          text        NOT NULL DEFAULT '',
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX fraud_alerts_open ON fraud_alerts (raised_at) WHERE status = 'open';
CREATE INDEX fraud_alerts_investor ON fraud_alerts (investor_id, raised_at);
CREATE INDEX fraud_alerts_hold_due ON fraud_alerts (raised_at) WHERE action = 'hold' AND hold_id IS NULL AND order_id <> '';
