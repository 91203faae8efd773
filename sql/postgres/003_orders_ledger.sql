-- The money path: investors and folios, order requests and orders, payments
-- and their webhook inbox, the double-entry ledger, FIFO holding lots, the
-- current holdings and the outbox.
--
-- Conventions
--   * Money is numeric(18,2) rupees; units numeric(24,9) (a scheme's units
--     scale is 3 unless scheme_terms says otherwise; the column holds up to
--     9); NAVs numeric(18,8) like navs.nav. Go rounds every value explicitly
--     before writing (Postgres would round silently to the column's scale).
--   * Times are timestamptz (UTC in storage); the SEBI cut-off rules are
--     applied in IST by fund.ApplicableNAVDate.
--   * Lock order, in every transaction that changes state (deadlock-free):
--     inbox row → folio (FOR NO KEY UPDATE) → order rows → payment row →
--     holdings row (folio, scheme) → lots. A transaction that touches several
--     folios takes them in folio_no order.
--   * Every allotment is ONE transaction: ledger_transactions + its
--     ledger_postings + holding_lots / lot_consumptions + holdings + the
--     order's new status + outbox rows (+ audit_log rows of 004).

-- ------------------------------------------------------------ parties

-- An investor as the platform knows them. PII columns are encrypted by the
-- application (AES-GCM, key from the environment) before they are written;
-- the money path never reads them. An order for an unknown investor creates
-- the row with only its id (onboarding fills the rest).
CREATE TABLE investors (
    id               text        PRIMARY KEY,          -- the platform's investor id
    name             text        NOT NULL DEFAULT '',
    email            text        NOT NULL DEFAULT '',
    phone            text        NOT NULL DEFAULT '',
    address          text        NOT NULL DEFAULT '',
    tax_country      text        NOT NULL DEFAULT 'IN', -- ISO 3166 country of tax residence
    pan_enc          bytea,                             -- PAN, encrypted (NULL: not known yet)
    bank_account_enc bytea,                             -- payout bank account, encrypted
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A folio: the account an investor holds units in, at one AMC. Every
-- allotment locks its folio row first (FOR NO KEY UPDATE), so the folio is
-- the unit of serialisation of the ledger.
CREATE TABLE folios (
    folio_no    text        PRIMARY KEY,
    investor_id text        NOT NULL REFERENCES investors (id),
    amc         text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX folios_investor ON folios (investor_id);

-- ------------------------------------------------------------ scheme data the money path needs

-- Per-scheme dealing terms not in the AMFI feed. A scheme without a row
-- allots units to 3 decimals.
CREATE TABLE scheme_terms (
    scheme_code text        PRIMARY KEY,
    units_scale smallint    NOT NULL DEFAULT 3 CHECK (units_scale BETWEEN 0 AND 9),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Exit-load structures, effective-dated: a lot pays the structure in force
-- on its allotment (NAV) date, i.e. the rows with the latest valid_from on or
-- before it. Within a structure, a lot held fewer than days_below days (NAV
-- date to NAV date) pays rate_pct % of the value redeemed from it; the
-- smallest matching days_below wins; no match, no load. A structure that
-- removes the load is one row (days_below 0, rate 0).
CREATE TABLE scheme_loads (
    scheme_code text         NOT NULL,
    valid_from  date         NOT NULL,
    days_below  integer      NOT NULL CHECK (days_below >= 0),
    rate_pct    numeric(7,4) NOT NULL CHECK (rate_pct >= 0 AND rate_pct <= 100),
    PRIMARY KEY (scheme_code, valid_from, days_below)
);

-- ------------------------------------------------------------ orders

-- Every order request as received (Kafka orders.placed or HTTP), keyed by the
-- client's order id: the idempotency key. The same id again with the same
-- body is a no-op; with another body it is refused (409 / quarantine) and
-- changes nothing.
CREATE TABLE order_requests (
    id              text        PRIMARY KEY,          -- client order id, [A-Za-z0-9._:-]{1,64}
    kind            text        NOT NULL,             -- purchase, redemption, switch, cancel ('' or as sent when rejected)
    body            jsonb       NOT NULL,             -- accepted: the canonical request; rejected: the request as received (a JSON string if it was not JSON)
    body_sha256     text        NOT NULL,             -- hex SHA-256 of the canonical request (for the idempotency check)
    source          text        NOT NULL,             -- 'kafka:<topic>/<partition>/<offset>' or 'http'
    status          text        NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reason          text        NOT NULL DEFAULT '',  -- why rejected (stable code)
    detail          text        NOT NULL DEFAULT '',
    target_id       text,                             -- cancel: the order request it cancels
    received_at     timestamptz NOT NULL DEFAULT now()
);

-- Orders: one row per leg. A purchase or redemption request X has one leg
-- with id X; a switch request X has two legs, 'X#out' (switch_out) and 'X#in'
-- (switch_in), both with switch_id X; a cancel request has no leg (it moves
-- its target's legs to cancelled).
--
-- status moves forward only:
--   awaiting_payment  purchase placed, funds not realised yet
--   awaiting_leg      switch_in waiting for its switch_out to be allotted
--   pending_nav       ready: nav_date decided, waiting for that NAV in navs
--   allotted          ledger transaction written (ledger_tx_id)
--   cancelled         by a cancel request before allotment
--   rejected          could not be executed (reason): e.g. not enough units
CREATE TABLE orders (
    id              text        PRIMARY KEY,
    request_id      text        NOT NULL REFERENCES order_requests (id),
    switch_id       text,                             -- the switch request id, on both legs
    kind            text        NOT NULL CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in')),
    investor_id     text        NOT NULL REFERENCES investors (id),
    folio_no        text        NOT NULL REFERENCES folios (folio_no),
    scheme_code     text        NOT NULL,
    -- What was asked: exactly one of amount, units, all_units for
    -- redemptions and switch-outs; amount for purchases (the gross amount
    -- paid, stamp duty included); switch_in's amount is set from its
    -- switch_out's payout when that leg is allotted.
    amount          numeric(18,2) CHECK (amount > 0),
    units           numeric(24,9) CHECK (units > 0),
    all_units       boolean     NOT NULL DEFAULT false,
    currency        text        NOT NULL DEFAULT 'INR',
    payment_ref     text        NOT NULL DEFAULT '',  -- gateway order id (Razorpay order_…) the payment will carry
    placed_at       timestamptz NOT NULL,             -- the application's time stamp (the cut-off clock)
    funds_at        timestamptz,                      -- when the funds were realised (purchases, switch-ins)
    status          text        NOT NULL CHECK (status IN ('awaiting_payment', 'awaiting_leg', 'pending_nav', 'allotted', 'cancelled', 'rejected')),
    reason          text        NOT NULL DEFAULT '',  -- for rejected / cancelled: stable code
    nav_date        date,                             -- the applicable NAV date, once decided
    nav_rule        text        NOT NULL DEFAULT '',  -- fund.Rule… code that decided it
    nav_reason      text        NOT NULL DEFAULT '',  -- the decision's sentence ("why did this order get that NAV?")
    payment_id      text,                             -- the payment that realised the funds
    ledger_tx_id    bigint,                           -- set when allotted
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE kind
        WHEN 'purchase'  THEN amount IS NOT NULL AND units IS NULL AND NOT all_units
        WHEN 'switch_in' THEN units IS NULL AND NOT all_units
        ELSE num_nonnulls(amount, units) + all_units::int = 1 END),
    CHECK (status <> 'allotted' OR ledger_tx_id IS NOT NULL),
    CHECK (status <> 'pending_nav' OR nav_date IS NOT NULL)
);
CREATE INDEX orders_request ON orders (request_id);
CREATE INDEX orders_folio ON orders (folio_no, created_at);
CREATE INDEX orders_payment_ref ON orders (payment_ref) WHERE payment_ref <> '';
-- What `allocate` scans: ready orders by the NAV they wait for.
CREATE INDEX orders_pending_nav ON orders (scheme_code, nav_date) WHERE status = 'pending_nav';

-- ------------------------------------------------------------ payments

-- Raw webhook events, stored (deduplicated by the gateway's event id) before
-- the 2xx reply. status: received (stored, not yet applied), applied (the
-- payment was updated from it), ignored (an event type or a stale state that
-- changes nothing), failed (could not be applied: reason; also quarantined).
CREATE TABLE inbox (
    source      text        NOT NULL,                 -- 'razorpay'
    event_id    text        NOT NULL,                 -- X-Razorpay-Event-Id, or 'sha256:<body hash>' when absent
    event_type  text        NOT NULL DEFAULT '',      -- payment.captured, ...
    body        bytea       NOT NULL,                 -- the exact bytes that were signed
    received_at timestamptz NOT NULL DEFAULT now(),
    status      text        NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'applied', 'ignored', 'failed')),
    reason      text        NOT NULL DEFAULT '',
    applied_at  timestamptz,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX inbox_unapplied ON inbox (received_at) WHERE status = 'received';

-- Payments as the gateway reports them. status moves forward only, by
-- status_rank: created 0 < authorized 1 < failed 2 < captured 3 < refunded 4
-- (a late authorized never undoes captured). Captured means the funds are
-- realised: realised_at is the capture event's time, the funds time of the
-- SEBI rule. match_status: unmatched (no order found yet), matched (realised
-- an order), break (see payment_breaks).
CREATE TABLE payments (
    id                 text          PRIMARY KEY,     -- gateway payment id, pay_…
    gateway            text          NOT NULL,        -- razorpay
    order_id           text,                          -- our order (leg) id, once matched
    gateway_order_id   text          NOT NULL DEFAULT '', -- Razorpay order_…
    notes_order_id     text          NOT NULL DEFAULT '', -- notes.order_id as sent
    amount             numeric(18,2) NOT NULL,        -- rupees (the gateway sends paise)
    currency           text          NOT NULL,
    method             text          NOT NULL DEFAULT '',
    status             text          NOT NULL CHECK (status IN ('created', 'authorized', 'failed', 'captured', 'refunded')),
    status_rank        smallint      NOT NULL,
    realised_at        timestamptz,                   -- capture time
    realised_event_id  text,                          -- inbox event that realised it (lineage)
    last_event_id      text          NOT NULL,
    last_event_at      timestamptz   NOT NULL,
    match_status       text          NOT NULL DEFAULT 'unmatched' CHECK (match_status IN ('unmatched', 'matched', 'break')),
    created_at         timestamptz   NOT NULL DEFAULT now(),
    updated_at         timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_unmatched_ref ON payments (gateway_order_id) WHERE match_status = 'unmatched';
CREATE INDEX payments_unmatched_notes ON payments (notes_order_id) WHERE match_status = 'unmatched';

-- A payment that cannot realise an order, and why (stable code): amount_mismatch,
-- currency_mismatch, order_not_purchase, order_cancelled, order_already_paid,
-- refunded_after_allotment, cancelled_after_payment.
CREATE TABLE payment_breaks (
    id          bigserial   PRIMARY KEY,
    payment_id  text        NOT NULL REFERENCES payments (id),
    order_id    text        NOT NULL DEFAULT '',
    reason      text        NOT NULL,
    detail      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    UNIQUE (payment_id, reason)
);

-- ------------------------------------------------------------ ledger

-- One ledger transaction per allotted order leg (order_id is unique: an
-- order is allotted once). The columns are the allotment's facts; the
-- postings are its double-entry form.
CREATE TABLE ledger_transactions (
    id           bigserial     PRIMARY KEY,
    order_id     text          NOT NULL UNIQUE REFERENCES orders (id),
    switch_id    text,
    kind         text          NOT NULL CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in')),
    folio_no     text          NOT NULL REFERENCES folios (folio_no),
    scheme_code  text          NOT NULL,
    nav_date     date          NOT NULL,              -- navs (scheme_code, nav_date) is the NAV's lineage
    nav          numeric(18,8) NOT NULL CHECK (nav > 0), -- the NAV applied (4 dp)
    units        numeric(24,9) NOT NULL CHECK (units >= 0), -- allotted (purchase) or redeemed (redemption)
    amount       numeric(18,2) NOT NULL,              -- purchase: gross paid; redemption: gross value units × NAV
    stamp_duty   numeric(18,2) NOT NULL DEFAULT 0,    -- purchases and switch-ins
    exit_load    numeric(18,2) NOT NULL DEFAULT 0,    -- redemptions and switch-outs
    net_amount   numeric(18,2) NOT NULL,              -- purchase: invested (amount − duty); redemption: payout (amount − load)
    payment_id   text,                                -- purchases: the payment (→ inbox event) that funded it
    posted_at    timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_folio ON ledger_transactions (folio_no, scheme_code, id);

-- Double-entry postings. Each asset balances within a transaction:
-- sum(amount) per (tx_id, asset) is 0, checked at commit by a deferred
-- constraint trigger. Assets: 'INR', 'UNITS:<scheme_code>'. Accounts:
--   folio:<folio_no>            units an investor holds (UNITS)
--   scheme:<code>:units         the scheme's side of units in issue (UNITS; negative = outstanding)
--   gateway:<gateway>           money received from a payment gateway (INR)
--   scheme:<code>:cash          money invested in / paid out of the scheme (INR)
--   scheme:<code>:exit_load     exit load credited back to the scheme (INR)
--   tax:stamp_duty              stamp duty collected (INR)
--   payout:<folio_no>           redemption proceeds payable to the investor (INR)
--   switch:<switch_id>          clearing between the legs of a switch (INR; 0 after both)
CREATE TABLE ledger_postings (
    tx_id    bigint        NOT NULL REFERENCES ledger_transactions (id),
    seq      smallint      NOT NULL,
    account  text          NOT NULL,
    asset    text          NOT NULL,
    amount   numeric(24,9) NOT NULL CHECK (amount <> 0), -- signed: + debit to the account's balance, − credit
    PRIMARY KEY (tx_id, seq)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account, asset);

CREATE FUNCTION ledger_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT asset, sum(amount) AS total INTO bad
    FROM ledger_postings WHERE tx_id = NEW.tx_id
    GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %: sum %', NEW.tx_id, bad.asset, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

-- Runs once per ledger transaction (on its first posting), at commit, when
-- all its postings are there.
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.seq = 0) EXECUTE FUNCTION ledger_check_balanced();

-- ------------------------------------------------------------ holdings

-- Purchase lots, consumed first-in-first-out (by nav_date, then id) by
-- redemptions and switch-outs. Invariant: a folio's units in a scheme =
-- sum(units_remaining) of its lots = holdings.units = the balance of
-- folio:<folio_no> in UNITS:<scheme_code>.
CREATE TABLE holding_lots (
    id              bigserial     PRIMARY KEY,
    folio_no        text          NOT NULL REFERENCES folios (folio_no),
    scheme_code     text          NOT NULL,
    ledger_tx_id    bigint        NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    nav_date        date          NOT NULL,          -- acquisition date (exit-load clock, load structure in force)
    nav             numeric(18,8) NOT NULL,
    units           numeric(24,9) NOT NULL CHECK (units > 0),
    units_remaining numeric(24,9) NOT NULL CHECK (units_remaining >= 0 AND units_remaining <= units),
    cost            numeric(18,2) NOT NULL,          -- amount paid for the lot, stamp duty included
    created_at      timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX holding_lots_open ON holding_lots (folio_no, scheme_code, nav_date, id) WHERE units_remaining > 0;

-- Which lots a redemption consumed, and the exit load each paid.
CREATE TABLE lot_consumptions (
    ledger_tx_id  bigint        NOT NULL REFERENCES ledger_transactions (id),
    lot_id        bigint        NOT NULL REFERENCES holding_lots (id),
    units         numeric(24,9) NOT NULL CHECK (units > 0),
    days_held     integer       NOT NULL,
    load_rate_pct numeric(7,4)  NOT NULL,
    exit_load     numeric(18,2) NOT NULL,
    PRIMARY KEY (ledger_tx_id, lot_id)
);

-- Current units per folio and scheme (the sum of the open lots), kept in the
-- allotment's transaction. The row is the per-(folio, scheme) lock.
CREATE TABLE holdings (
    folio_no     text          NOT NULL REFERENCES folios (folio_no),
    scheme_code  text          NOT NULL,
    units        numeric(24,9) NOT NULL CHECK (units >= 0),
    invested     numeric(18,2) NOT NULL DEFAULT 0,   -- cost of the remaining lots
    last_tx_id   bigint,
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (folio_no, scheme_code)
);

-- ------------------------------------------------------------ outbox

-- Events for the rest of the platform, written in the transaction that made
-- them true. Topics: transactions.completed (one per ledger transaction),
-- orders.status (every status change of an order leg). event_id is
-- deterministic, so a consumer dedupes a re-delivered event. Without Kafka
-- this table is the bus: read it with `fundflow outbox` by id.
-- published_at: relayed to Kafka; facts_at: copied to ClickHouse
-- (transactions.completed only).
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          text        NOT NULL,               -- Kafka key: the folio, so one folio's events stay in order
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    facts_at     timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_facts_pending ON outbox (id) WHERE facts_at IS NULL AND topic = 'transactions.completed';
CREATE INDEX outbox_topic ON outbox (topic, id);
