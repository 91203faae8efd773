-- Distributor commissions (issue 18): the distributor hierarchy, the
-- brokerage structures and the daily trail accruals. The rules are
-- fund/commission's; this schema stores their inputs and results.
-- (Pre-assigned number 024: renumber at merge.)

-- Payees: ARN holders, their sub-brokers and employees (EUIN), each with the
-- period its registration is in force. A commission earned through an ARN not
-- in force on the day is held, never paid to another ARN.
CREATE TABLE distributors (
    id             text        PRIMARY KEY,         -- ARN-12345, a sub-broker code, an EUIN (E123456)
    kind           text        NOT NULL CHECK (kind IN ('arn', 'sub', 'euin')),
    name           text        NOT NULL DEFAULT '',
    valid_from     date        NOT NULL,
    valid_to       date,                            -- NULL: open-ended
    gst_registered boolean     NOT NULL DEFAULT false,
    intra_state    boolean     NOT NULL DEFAULT false, -- CGST + SGST instead of IGST
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- Share trees, effective-dated per root ARN: payee receives pct % of what
-- parent receives (parent = payee: what the parent keeps). A tree is in force
-- from valid_from to the next tree of its root. Every parent's shares sum to
-- 100 % exactly; the loader refuses a tree that does not (fund/commission).
CREATE TABLE distributor_shares (
    root       text         NOT NULL REFERENCES distributors (id),
    valid_from date         NOT NULL,
    parent     text         NOT NULL REFERENCES distributors (id),
    payee      text         NOT NULL REFERENCES distributors (id),
    pct        numeric(9,6) NOT NULL CHECK (pct > 0 AND pct <= 100),
    PRIMARY KEY (root, valid_from, parent, payee)
);

-- Brokerage structures, effective-dated per scheme and plan, kept beside
-- scheme_terms (scheme_code is the same code; no foreign key, as a brokerage
-- file may name a scheme before its terms row exists). One row per AUM slab:
-- a structure without slabs has one row with slab_from_aum 0. A structure is
-- in force from valid_from until the next valid_from of its scheme and plan.
CREATE TABLE brokerage_structures (
    scheme_code      text          NOT NULL,
    plan             text          NOT NULL CHECK (plan IN ('regular', 'direct')),
    valid_from       date          NOT NULL,
    slab_from_aum    numeric(20,2) NOT NULL DEFAULT 0 CHECK (slab_from_aum >= 0),
    trail_pct        numeric(7,4)  NOT NULL CHECK (trail_pct >= 0 AND trail_pct <= 100),
    upfront_pct      numeric(7,4)  NOT NULL DEFAULT 0 CHECK (upfront_pct >= 0 AND upfront_pct <= 100),
    upfront_max_sip  numeric(18,2) NOT NULL DEFAULT 0 CHECK (upfront_max_sip >= 0),
    clawback_days    integer       NOT NULL DEFAULT 0 CHECK (clawback_days >= 0),
    first_sip_amount numeric(18,2) NOT NULL DEFAULT 0 CHECK (first_sip_amount >= 0),
    source_file      text          NOT NULL DEFAULT '',
    source_sha256    text          NOT NULL DEFAULT '',
    loaded_at        timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme_code, plan, valid_from, slab_from_aum)
);

-- One day's trail of one folio's holding of one scheme through one ARN: the
-- row of the daily accrual, written once (a day is one transaction and is
-- marked in commission_days; a rerun of a day writes nothing). basis = aum ×
-- trail_pct exactly; the rupees are basis / 36500, rounded only where they
-- become money (the day's posting per bucket, the payout line). bucket is the
-- ARN, or 'held:<ARN>' when the ARN was not registered that day (held_reason).
CREATE TABLE trail_accruals (
    day          date          NOT NULL,
    arn          text          NOT NULL,
    folio_no     text          NOT NULL,
    scheme_code  text          NOT NULL,
    euin         text          NOT NULL DEFAULT '',
    plan         text          NOT NULL CHECK (plan IN ('regular', 'direct')),
    amc          text          NOT NULL DEFAULT '',
    units        numeric(24,9) NOT NULL,
    nav          numeric(18,4) NOT NULL,
    nav_date     date          NOT NULL,           -- earlier than day over a holiday (carried)
    aum          numeric       NOT NULL,           -- units × nav, exact
    trail_pct    numeric(7,4)  NOT NULL,
    basis        numeric       NOT NULL,           -- aum × trail_pct, exact
    bucket       text          NOT NULL,
    held_reason  text          NOT NULL DEFAULT '',
    PRIMARY KEY (day, arn, folio_no, scheme_code)
);
CREATE INDEX trail_accruals_bucket_day ON trail_accruals (bucket, day);

-- The days accrued: the daily job's checkpoint, written in the day's
-- transaction. A day of a month is accrued only after the day before it.
CREATE TABLE commission_days (
    day        date        PRIMARY KEY,
    rows       integer     NOT NULL,
    basis      numeric     NOT NULL,                -- the day's accruals, exact
    posted     numeric(18,2) NOT NULL,              -- what the day posted, all buckets
    done_at    timestamptz NOT NULL DEFAULT now()
);

-- Commission double entry, in INR, one journal entry per (day, bucket) for
-- the trail and per (month, bucket) for a payout. Accounts:
--   amc:commission_receivable      what the AMCs owe the platform (debit)
--   distributor:<bucket>:accrued   trail accrued to a root ARN (or held:<ARN>)
--   distributor:<payee>:payable    a payee's share after the month's split
--   tax:gst_payable / tax:tds_194h GST added and TDS withheld at payout
-- amount is the running total of the bucket's month rounded half-up minus what
-- its earlier days posted (fund/commission.DayPosting), so a month's entries
-- add up to its accruals rounded once. basis is the entry's exact accruals.
CREATE TABLE commission_journal (
    id        bigserial     PRIMARY KEY,
    key       text          NOT NULL UNIQUE,        -- 'trail:<day>:<bucket>', 'payout:<month>:<bucket>'
    kind      text          NOT NULL CHECK (kind IN ('trail', 'payout')),
    day       date          NOT NULL,
    bucket    text          NOT NULL,
    basis     numeric       NOT NULL DEFAULT 0,
    amount    numeric(18,2) NOT NULL,
    posted_at timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX commission_journal_bucket ON commission_journal (kind, bucket, day);

CREATE TABLE commission_postings (
    tx_id   bigint        NOT NULL REFERENCES commission_journal (id),
    seq     smallint      NOT NULL,
    account text          NOT NULL,
    amount  numeric(18,2) NOT NULL CHECK (amount <> 0), -- + debit, − credit
    PRIMARY KEY (tx_id, seq)
);
CREATE INDEX commission_postings_account ON commission_postings (account);

-- Every journal entry balances, checked at commit as ledger_postings are.
CREATE FUNCTION commission_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    SELECT sum(amount) INTO total FROM commission_postings WHERE tx_id = NEW.tx_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'commission journal entry % does not balance: sum %', NEW.tx_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER commission_postings_balanced AFTER INSERT ON commission_postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.seq = 0) EXECUTE FUNCTION commission_check_balanced();

-- A month's payout run, one transaction per month: the lines (each bucket's
-- month of trail rounded once and split down the hierarchy in force each
-- day, largest remainder) and one statement per payee (gross, GST, TDS under
-- 194H at the rate in force on payout_date, net). Held lines (payee
-- 'held:<id>') have a reason and no statement.
CREATE TABLE commission_payout_lines (
    month      date          NOT NULL,          -- the month's first day
    bucket     text          NOT NULL,
    payee      text          NOT NULL,
    exact      numeric       NOT NULL,          -- rupees × 36500 (the exact basis share)
    amount     numeric(18,2) NOT NULL,
    reason     text          NOT NULL DEFAULT '',
    PRIMARY KEY (month, bucket, payee)
);

CREATE TABLE commission_payouts (
    month        date          NOT NULL,
    payee        text          NOT NULL,
    payout_date  date          NOT NULL,
    trail        numeric(18,2) NOT NULL,
    upfront      numeric(18,2) NOT NULL DEFAULT 0,
    events       numeric(18,2) NOT NULL DEFAULT 0,
    clawback     numeric(18,2) NOT NULL DEFAULT 0,
    gross        numeric(18,2) NOT NULL,
    cgst         numeric(18,2) NOT NULL DEFAULT 0,
    sgst         numeric(18,2) NOT NULL DEFAULT 0,
    igst         numeric(18,2) NOT NULL DEFAULT 0,
    tds_pct      numeric(5,2)  NOT NULL,
    tds          numeric(18,2) NOT NULL DEFAULT 0,
    net          numeric(18,2) NOT NULL,
    carried      numeric(18,2) NOT NULL DEFAULT 0, -- a negative gross set off next month
    created_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (month, payee)
);
