-- Event commissions (issue 18): what the commission engine computes from
-- each transactions.completed event (a first-SIP amount, a referral, the
-- upfronted trail of a new investor's small SIP on its lot, and the
-- clawback of such an upfront when a redemption consumes the lot within the
-- clawback period), each once, the outbox mark of the engine's consumer,
-- and the payout's lines of these amounts.
-- (Pre-assigned number 035: renumber at merge.)

-- The consumer's mark on the outbox, as notified_at is notify's: set after
-- the event's commissions are written (a redelivery writes nothing: the
-- keys below are unique). Rows already in the outbox are history.
ALTER TABLE outbox ADD COLUMN commissioned_at timestamptz;
UPDATE outbox SET commissioned_at = created_at;
CREATE INDEX outbox_commission_pending ON outbox (id)
    WHERE commissioned_at IS NULL AND topic = 'transactions.completed';

-- One amount of one kind computed from one ledger transaction (and, for an
-- upfront or a clawback, one lot). key = '<kind>:<tx id>[:<lot id>]': the
-- idempotency key, also the journal entry's. amount is positive; a clawback
-- is taken back from bucket (the bucket its upfront was paid to).
CREATE TABLE commission_events (
    key           text          PRIMARY KEY,
    kind          text          NOT NULL CHECK (kind IN ('first_sip', 'referral', 'upfront', 'clawback')),
    source_event  text          NOT NULL,           -- the transactions.completed event id
    tx_id         bigint        NOT NULL REFERENCES ledger_transactions (id),
    lot_id        bigint        REFERENCES holding_lots (id),
    day           date          NOT NULL,           -- the transaction's NAV date
    arn           text          NOT NULL,
    euin          text          NOT NULL DEFAULT '',
    folio_no      text          NOT NULL,
    scheme_code   text          NOT NULL,
    bucket        text          NOT NULL,           -- the ARN, or 'held:<ARN>' when not registered that day
    amount        numeric(18,2) NOT NULL CHECK (amount > 0),
    clawback_days integer       NOT NULL DEFAULT 0, -- an upfront's period
    units         numeric(24,9) NOT NULL DEFAULT 0, -- upfront: the lot's units; clawback: the units taken
    reason        text          NOT NULL DEFAULT '',
    created_at    timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX commission_events_day ON commission_events (day, bucket);
CREATE INDEX commission_events_lot ON commission_events (lot_id) WHERE kind = 'upfront';

-- Event amounts post to the commission journal as kind 'event'.
ALTER TABLE commission_journal DROP CONSTRAINT commission_journal_kind_check;
ALTER TABLE commission_journal ADD CONSTRAINT commission_journal_kind_check CHECK (kind IN ('trail', 'payout', 'event'));

-- A month's payout of event amounts: per bucket, payee and kind, the
-- bucket's amounts split down the hierarchy in force on each event's day
-- (largest remainder). A clawback line is what is taken back.
CREATE TABLE commission_payout_event_lines (
    month   date          NOT NULL,
    bucket  text          NOT NULL,
    payee   text          NOT NULL,
    kind    text          NOT NULL,
    amount  numeric(18,2) NOT NULL,
    PRIMARY KEY (month, bucket, payee, kind)
);
