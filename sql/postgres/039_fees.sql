-- Managed-investing fees (issue 22): a wallet's effective-dated
-- fee terms, its daily valuations (the AUM the fee accrues on), the
-- invoices billed per period, and the performance fee's high-water mark.
--
-- fee_terms: from valid_from until the next row. aum_rate_pct is the
-- annual management fee (accrued rate/365 a day on that day's AUM);
-- perf_pct of the gain above the high-water mark (and hurdle_pct over the
-- period's start) is charged when a bill crystallises; charge_from says how
-- an invoice is paid: from the wallet's cash.
CREATE TABLE fee_terms (
    wallet_id    text         NOT NULL REFERENCES wallets (id),
    valid_from   date         NOT NULL,
    aum_rate_pct numeric(7,4) NOT NULL CHECK (aum_rate_pct >= 0 AND aum_rate_pct <= 100),
    perf_pct     numeric(7,4) NOT NULL DEFAULT 0 CHECK (perf_pct >= 0 AND perf_pct <= 100),
    hurdle_pct   numeric(7,4) NOT NULL DEFAULT 0 CHECK (hurdle_pct >= 0),
    charge_from  text         NOT NULL DEFAULT 'wallet' CHECK (charge_from IN ('wallet')),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (wallet_id, valid_from)
);

-- One valuation a wallet a business day (the daily accrual's AUM): the
-- wallet's cash plus each holding of its auto-invest folio at the NAV of
-- that day or the last before it, each truncated to the paisa. A day with
-- no row (a holiday) carries the last one. Written once (ON CONFLICT DO
-- NOTHING): a re-run of a day changes nothing.
CREATE TABLE fee_valuations (
    wallet_id text          NOT NULL REFERENCES wallets (id),
    day       date          NOT NULL,
    cash      numeric(18,2) NOT NULL,
    holdings  numeric(18,2) NOT NULL,
    aum       numeric(18,2) NOT NULL CHECK (aum >= 0),
    PRIMARY KEY (wallet_id, day)
);

-- One invoice a wallet a period: id FEE-<wallet>-<from>-<to>, unique on
-- (wallet, period_from), so billing a period again returns the invoice it
-- made. body: the accrual by day and the crystallisation. status: 'due'
-- (billed, the wallet's cash did not cover it yet), 'charged' (the wallet
-- transaction kind 'fee', ref the invoice id, paid it).
CREATE TABLE fee_invoices (
    id          text          PRIMARY KEY,
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    investor_id text          NOT NULL,
    period_from date          NOT NULL,
    period_to   date          NOT NULL CHECK (period_to >= period_from),
    aum_fee     numeric(18,2) NOT NULL CHECK (aum_fee >= 0),
    perf_fee    numeric(18,2) NOT NULL CHECK (perf_fee >= 0),
    fee         numeric(18,2) NOT NULL,
    gst         numeric(18,2) NOT NULL,
    total       numeric(18,2) NOT NULL,
    body        jsonb         NOT NULL,
    status      text          NOT NULL CHECK (status IN ('due', 'charged')),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    charged_at  timestamptz,
    CHECK (fee = aum_fee + perf_fee AND total = fee + gst),
    UNIQUE (wallet_id, period_from)
);
CREATE INDEX fee_invoices_due ON fee_invoices (created_at) WHERE status = 'due';

-- The performance fee's high-water mark, kept net of the wallet's flows:
-- gain(t) = AUM(t) − Σ deposits less withdrawals up to t, so money paid in
-- or out never moves it. hwm_gain is the highest gain at a
-- crystallisation (0 before the first: a wallet starts from nothing) and
-- never falls (the trigger below refuses an update that lowers it,
-- whatever the code does); start_gain is the gain after the last fee (the
-- hurdle's base); as_of the last crystallisation's date.
CREATE TABLE fee_hwm (
    wallet_id  text          PRIMARY KEY REFERENCES wallets (id),
    hwm_gain   numeric(18,2) NOT NULL,
    start_gain numeric(18,2) NOT NULL,
    as_of      date          NOT NULL
);

CREATE FUNCTION fee_hwm_never_falls() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hwm_gain < OLD.hwm_gain THEN
        RAISE EXCEPTION 'high-water mark of wallet % would fall from % to %', OLD.wallet_id, OLD.hwm_gain, NEW.hwm_gain
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER fee_hwm_never_falls BEFORE UPDATE ON fee_hwm
    FOR EACH ROW EXECUTE FUNCTION fee_hwm_never_falls();

-- A fee paid from the wallet: kind 'fee', ref the invoice id; postings
-- debit wallet:<id>, credit fee_income:managed (the fee) and tax:gst (its
-- GST).
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee'));
