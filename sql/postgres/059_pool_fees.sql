-- Pool fees (issue 22): the AUM management fee and the performance fee for
-- an investment pool, on the wallet fee engine's rules (fund/managed: rate
-- tables, rate/365 a day, GST 18 %, the high-water mark).
--
-- pool_fee_terms: from valid_from until the next row, like fee_terms.
CREATE TABLE pool_fee_terms (
    pool_id      text         NOT NULL REFERENCES pools (id),
    valid_from   date         NOT NULL,
    aum_rate_pct numeric(7,4) NOT NULL CHECK (aum_rate_pct >= 0 AND aum_rate_pct <= 100),
    perf_pct     numeric(7,4) NOT NULL DEFAULT 0 CHECK (perf_pct >= 0 AND perf_pct <= 100),
    hurdle_pct   numeric(7,4) NOT NULL DEFAULT 0 CHECK (hurdle_pct >= 0),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, valid_from)
);

-- The daily accrual, written by the pool NAV of nav_date in its own
-- transaction: the fee of the calendar days days_from..days_to (the days
-- since the last accrual through the day before the next business day,
-- holidays carrying the last AUM), each day's AUM x rate/365, rounded DOWN
-- to the paisa once per row. aum: the pool's net value before the day's
-- requests and this accrual. runs: the stretches of one AUM and rate
-- (managed.Run). invoice_id: the bill that settled it (NULL: accrued).
CREATE TABLE pool_fee_accruals (
    pool_id    text          NOT NULL REFERENCES pools (id),
    nav_date   date          NOT NULL,
    days_from  date          NOT NULL,
    days_to    date          NOT NULL CHECK (days_to >= days_from),
    aum        numeric(18,2) NOT NULL CHECK (aum >= 0),
    fee        numeric(18,2) NOT NULL CHECK (fee >= 0),
    runs       jsonb         NOT NULL,
    invoice_id text,
    PRIMARY KEY (pool_id, nav_date)
);
CREATE INDEX pool_fee_accruals_open ON pool_fee_accruals (pool_id, nav_date) WHERE invoice_id IS NULL;

-- pools.fee_accrued mirrors the debit balance of pool_fee_accrued:<pool>:
-- the fee the pool owes and has not paid; the pool NAV deducts it.
ALTER TABLE pools ADD COLUMN fee_accrued numeric(18,2) NOT NULL DEFAULT 0 CHECK (fee_accrued >= 0);
ALTER TABLE pool_navs ADD COLUMN fee_accrued numeric(18,2) NOT NULL DEFAULT 0; -- the liability after the day's accrual

-- One invoice a pool a period, id PFEE-<pool>-<from>-<to>, unique on
-- (pool, period_from): billing a period again returns it. 'charged': paid
-- from the pool's cash ('pool_fee', ref the id); 'due': the cash was
-- short, the pool sells holdings for the rest (pool_fee_sales) and the
-- bill is paid once their proceeds are in the cash.
CREATE TABLE pool_fee_invoices (
    id          text          PRIMARY KEY,
    pool_id     text          NOT NULL REFERENCES pools (id),
    period_from date          NOT NULL,
    period_to   date          NOT NULL CHECK (period_to >= period_from),
    aum_fee     numeric(18,2) NOT NULL CHECK (aum_fee >= 0),
    perf_fee    numeric(18,2) NOT NULL CHECK (perf_fee >= 0),
    fee         numeric(18,2) NOT NULL,
    gst         numeric(18,2) NOT NULL,
    total       numeric(18,2) NOT NULL,
    body        jsonb         NOT NULL,
    status      text          NOT NULL CHECK (status IN ('due', 'charged')),
    -- The pool's latest NAV date when paid: that row's value_after still
    -- counts the cash this bill paid beyond the accrued fee (its GST and
    -- the performance fee), so a distribution on that record date takes
    -- it off (pool.Distribute).
    after_nav   date,
    created_at  timestamptz   NOT NULL DEFAULT now(),
    CHECK (fee = aum_fee + perf_fee AND total = fee + gst),
    UNIQUE (pool_id, period_from)
);

-- A due invoice's redemptions of the pool's folio, FIFO over its lots
-- (fund/managed.PlanFeeRedemption), order ids <invoice>-R<n>, fixed with
-- the invoice before they are placed through the ledger (a crash between
-- is finished with the same requests). Each one's payout comes into the
-- pool's cash once: 'pool_fee_sale', ref the order id, Dr
-- ledger_payout:<folio> / Cr pool:<pool>.
CREATE TABLE pool_fee_sales (
    order_id    text          PRIMARY KEY,
    invoice_id  text          NOT NULL REFERENCES pool_fee_invoices (id),
    pool_id     text          NOT NULL REFERENCES pools (id),
    folio_no    text          NOT NULL,
    scheme_code text          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    request     text          NOT NULL,
    status      text          NOT NULL CHECK (status IN ('proposed', 'placed'))
);
CREATE INDEX pool_fee_sales_invoice ON pool_fee_sales (invoice_id);
CREATE INDEX pool_fee_sales_pool ON pool_fee_sales (pool_id);

-- The pool's performance-fee high-water mark, per unit: the highest NAV
-- at a crystallisation (the launch NAV before the first). It never falls
-- (the trigger refuses it whatever the code does). start_nav: the NAV
-- after the last crystallisation's fee, the hurdle's base.
CREATE TABLE pool_fee_hwm (
    pool_id   text          PRIMARY KEY REFERENCES pools (id),
    hwm_nav   numeric(18,4) NOT NULL CHECK (hwm_nav > 0),
    start_nav numeric(18,4) NOT NULL CHECK (start_nav > 0),
    as_of     date          NOT NULL
);

CREATE FUNCTION pool_fee_hwm_never_falls() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hwm_nav < OLD.hwm_nav THEN
        RAISE EXCEPTION 'high-water mark of pool % would fall from % to %', OLD.pool_id, OLD.hwm_nav, NEW.hwm_nav
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER pool_fee_hwm_never_falls BEFORE UPDATE ON pool_fee_hwm
    FOR EACH ROW EXECUTE FUNCTION pool_fee_hwm_never_falls();

-- The journal's pool fee entries, no member wallet:
--   'pool_fee_accrual' (ref <pool>:<nav date>): Dr pool_fee_accrued:<pool>, Cr fee_income:managed
--   'pool_fee'         (ref the invoice id):    Dr pool:<pool> (the total), Cr pool_fee_accrued:<pool>
--                      (the AUM fee), Cr fee_income:managed (the performance fee), Cr tax:gst
--   'pool_fee_sale'    (ref the order id):      Dr ledger_payout:<folio>, Cr pool:<pool>
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_pool_invest_no_wallet;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_pool_invest_no_wallet
    CHECK ((wallet_id IS NULL) = (kind IN ('pool_invest', 'pool_invest_refund', 'pool_fee_accrual', 'pool_fee', 'pool_fee_sale')));
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced', 'pool_distribution',
                    'withdrawal_release', 'withdrawal_cancel', 'fee_redemption',
                    'pool_invest', 'pool_invest_refund', 'pool_fee_accrual', 'pool_fee', 'pool_fee_sale'));
