-- Systematic plans: SIPs (a purchase on a schedule, debited from a mandate),
-- STPs (a switch from one scheme to another on a schedule) and SWPs (a
-- redemption by amount on a schedule), and their instalments.
--
-- The schedule rules (nominal dates, business-day moves, merging) are
-- fund/schedule's; this schema stores their results. Every change to a plan
-- is forward-only and has an audit_log row (entity 'plan').

-- What a scheme accepts, per plan kind and frequency. A scheme with no row
-- for a kind and frequency does not offer it (registration answers
-- plan_not_offered).
CREATE TABLE scheme_plan_terms (
    scheme_code     text          NOT NULL,
    kind            text          NOT NULL CHECK (kind IN ('sip', 'stp', 'swp')),
    frequency       text          NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'quarterly')),
    min_amount      numeric(18,2) NOT NULL CHECK (min_amount > 0),
    multiple        numeric(18,2) NOT NULL CHECK (multiple > 0),  -- amount must be a multiple of this
    allowed_days    smallint[],                   -- monthly/quarterly: days of month allowed (NULL: 1-31)
    min_first_gap_days integer    NOT NULL DEFAULT 0 CHECK (min_first_gap_days >= 0), -- calendar days from registration to the first instalment
    min_instalments integer       NOT NULL DEFAULT 1 CHECK (min_instalments >= 1),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme_code, kind, frequency)
);

-- A plan as registered. client_id is the idempotency key (the same request
-- again is the same plan; another body under it is a conflict).
--
-- status: active → paused → active …; active/paused → cancelled (by the
-- investor, or after max consecutive failed debits) or completed (its last
-- instalment done). cancelled and completed are final.
CREATE TABLE plans (
    id              text          PRIMARY KEY,        -- pl_…
    client_id       text          NOT NULL UNIQUE,    -- client's id, [A-Za-z0-9._:-]{1,64}
    body_sha256     text          NOT NULL,           -- of the canonical registration request
    kind            text          NOT NULL CHECK (kind IN ('sip', 'stp', 'swp')),
    investor_id     text          NOT NULL REFERENCES investors (id),
    folio_no        text          NOT NULL REFERENCES folios (folio_no),
    scheme_code     text          NOT NULL,           -- sip: bought; stp: switched out of; swp: redeemed
    to_scheme_code  text,                             -- stp: switched into
    mandate_id      text          REFERENCES mandates (id), -- sip: the mandate debited
    frequency       text          NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'quarterly')),
    start_date      date          NOT NULL,
    end_date        date,                             -- inclusive, compared with nominal dates
    instalments     integer       CHECK (instalments > 0), -- a count of nominal dates; NULL with end_date NULL: perpetual
    step_up_amount  numeric(18,2) CHECK (step_up_amount > 0), -- yearly step-up, at most one of the two
    step_up_pct     numeric(7,4)  CHECK (step_up_pct > 0 AND step_up_pct <= 100),
    status          text          NOT NULL CHECK (status IN ('active', 'paused', 'cancelled', 'completed')),
    status_reason   text          NOT NULL DEFAULT '', -- cancelled: by_investor, failed_debits, mandate_cancelled, …
    consecutive_failures integer  NOT NULL DEFAULT 0,
    generated_through date,                           -- instalments with nominal dates up to here exist (the run's watermark)
    registered_at   timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (end_date IS NULL OR instalments IS NULL),
    CHECK (step_up_amount IS NULL OR step_up_pct IS NULL),
    CHECK ((kind = 'sip') = (mandate_id IS NOT NULL)),
    CHECK ((kind = 'stp') = (to_scheme_code IS NOT NULL))
);
CREATE INDEX plans_folio ON plans (folio_no);
CREATE INDEX plans_live ON plans (id) WHERE status IN ('active', 'paused');

-- The plan's terms over time: version 1 at registration; a modification
-- (amount, day of month, weekday) is a new version effective from the first
-- nominal date on or after effective_from (registration + the notice
-- period). An instalment takes the version in force on its nominal date.
CREATE TABLE plan_versions (
    plan_id         text          NOT NULL REFERENCES plans (id),
    version         integer       NOT NULL CHECK (version >= 1),
    effective_from  date          NOT NULL,
    amount          numeric(18,2) NOT NULL CHECK (amount > 0), -- before any step-up
    day_of_month    smallint      CHECK (day_of_month BETWEEN 1 AND 31), -- monthly, quarterly
    weekday         smallint      CHECK (weekday BETWEEN 0 AND 6),       -- weekly: 0 Sunday … 6 Saturday
    created_at      timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version)
);

-- Pauses: instalments numbered from_seq..to_seq are skipped (status
-- skipped, nothing presented). A resume ends the pause early (to_seq moves
-- down to the last instalment already skipped).
CREATE TABLE plan_pauses (
    plan_id         text          NOT NULL REFERENCES plans (id),
    from_seq        integer       NOT NULL CHECK (from_seq >= 1),
    to_seq          integer       NOT NULL,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, from_seq),
    CHECK (to_seq >= from_seq - 1)  -- from_seq - 1: resumed before anything was skipped
);

-- Instalments: one row per (plan, due date), written by the instalment run
-- (idempotent: the key). seq numbers the nominal dates from 1; two nominal
-- dates that fall due on the same business day are one instalment
-- (merged_nominal keeps the later one).
--
-- status moves forward only:
--   due        generated; the pre-debit notification (sip.instalment.due) is out (notified_at)
--   skipped    inside a pause: nothing presented
--   dropped    the plan was cancelled before it was presented
--   presented  sip: the debit was sent to the gateway (once: idempotency key);
--              stp/swp: the order was placed
--   paid       sip: the debit was captured; the purchase order realised
--   allotted   the order's units are allotted (ledger transaction)
--   failed     the debit failed, or the order was rejected (reason)
CREATE TABLE plan_instalments (
    plan_id         text          NOT NULL REFERENCES plans (id),
    due_date        date          NOT NULL,           -- a business day
    seq             integer       NOT NULL CHECK (seq >= 1),
    nominal_date    date          NOT NULL,
    merged_nominal  date,                             -- a second nominal date merged into this one
    amount          numeric(18,2) NOT NULL CHECK (amount > 0), -- with step-up, to the paisa
    status          text          NOT NULL CHECK (status IN ('due', 'skipped', 'dropped', 'presented', 'paid', 'allotted', 'failed')),
    reason          text          NOT NULL DEFAULT '', -- failed/skipped/dropped: stable code
    detail          text          NOT NULL DEFAULT '', -- failed: the gateway's or the ledger's words
    notified_at     timestamptz,                      -- pre-debit notification sent (outbox)
    present_after   timestamptz,                      -- not presented before this (notified_at + 24 h, the RBI rule)
    presented_at    timestamptz,
    idempotency_key text          UNIQUE,             -- sent with the gateway call / the order id
    gateway_order_id   text       NOT NULL DEFAULT '', -- sip: Razorpay order_…
    gateway_payment_id text       NOT NULL DEFAULT '', -- sip: Razorpay pay_…
    order_id        text,                             -- the ledger order request placed for it
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, due_date),
    UNIQUE (plan_id, seq)
);
CREATE INDEX plan_instalments_to_present ON plan_instalments (due_date) WHERE status = 'due';
CREATE INDEX plan_instalments_in_flight ON plan_instalments (plan_id) WHERE status IN ('presented', 'paid');
CREATE INDEX plan_instalments_order ON plan_instalments (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX plan_instalments_gateway_order ON plan_instalments (gateway_order_id) WHERE gateway_order_id <> '';
