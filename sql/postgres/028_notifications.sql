-- Notifications to investors (issue 21): the notify job reads the outbox
-- (outbox.notified_at, the next migration), plans each event into one row of `notifications` per
-- (event id, channel) in the same transaction that marks the outbox row, and
-- sends the due rows. Status: queued (due at not_before) → sending (claimed,
-- committed before the provider call) → sent → delivered (the provider's
-- receipt); failed (interrupted with an unknown outcome, or a receipt that
-- says undelivered); dead (out of attempts or refused: a row of
-- notify_dead_letters says why). A row found 'sending' at start-up is
-- reconciled with the provider (notify/notify.go says how).

-- What an investor chose, per event type; event_type '*' is their default.
-- Quiet hours are minutes after midnight IST; equal start and end: none.
CREATE TABLE notify_preferences (
    investor_id text        NOT NULL,
    event_type  text        NOT NULL,
    channels    text[]      NOT NULL DEFAULT '{}',
    quiet_start smallint    NOT NULL DEFAULT 0 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end   smallint    NOT NULL DEFAULT 0 CHECK (quiet_end BETWEEN 0 AND 1439),
    opted_out   boolean     NOT NULL DEFAULT false,
    push_token  text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (investor_id, event_type)
);

CREATE TABLE notifications (
    id           bigserial   PRIMARY KEY,
    event_id     text        NOT NULL,
    channel      text        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    investor_id  text        NOT NULL,
    event_type   text        NOT NULL,
    template     text        NOT NULL,             -- <event type>.<channel>@v<N>
    recipient    text        NOT NULL,             -- address, number or device token
    subject      text        NOT NULL DEFAULT '',
    body         text        NOT NULL,             -- rendered, masked
    urgent       boolean     NOT NULL DEFAULT false,
    status       text        NOT NULL DEFAULT 'queued'
                             CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'dead')),
    attempts     integer     NOT NULL DEFAULT 0,
    not_before   timestamptz NOT NULL DEFAULT now(), -- quiet hours and backoff
    last_error   text        NOT NULL DEFAULT '',
    provider     text        NOT NULL DEFAULT '',  -- smtp, twilio, fcm
    provider_id  text        NOT NULL DEFAULT '',  -- Message-ID, message SID, FCM name
    digest_id    bigint,                           -- sent inside this digest row
    queued_at    timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,
    sent_at      timestamptz,
    delivered_at timestamptz,                      -- the receipt (DLR) said delivered
    failed_at    timestamptz,
    facts_status text        NOT NULL DEFAULT '', -- the last status copied to ClickHouse notification_facts
    UNIQUE (event_id, channel)
);
CREATE INDEX notifications_due ON notifications (not_before, id) WHERE status = 'queued';
CREATE INDEX notifications_sending ON notifications (id) WHERE status = 'sending';
CREATE INDEX notifications_provider ON notifications (provider_id) WHERE provider_id <> '';
CREATE INDEX notifications_investor ON notifications (investor_id, queued_at);
CREATE INDEX notifications_facts_pending ON notifications (id)
    WHERE status IN ('sent', 'delivered', 'failed', 'dead') AND facts_status <> status;

-- Events and notifications that could not be delivered, with the reason;
-- `fundflow notify replay` sends a dead notification again.
CREATE TABLE notify_dead_letters (
    id              bigserial   PRIMARY KEY,
    event_id        text        NOT NULL,
    channel         text        NOT NULL DEFAULT '', -- '': the event itself could not be planned
    notification_id bigint      REFERENCES notifications (id),
    reason          text        NOT NULL,
    payload         bytea,                           -- the event as read, for a person to look at
    created_at      timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz
);
CREATE INDEX notify_dead_letters_open ON notify_dead_letters (id) WHERE replayed_at IS NULL;
