-- IDCW (income distribution cum capital withdrawal, "dividends"), issue 17.
--
-- A declaration: a scheme pays per_unit rupees on every unit held at the
-- end of record_date; reinvestment is allotted at the NAV of nav_date (the
-- ex-date, or the first business day after it when that is a holiday).
CREATE TABLE idcw_declarations (
    id          text          PRIMARY KEY,             -- the caller's id (the RTA's, or one chosen at entry)
    scheme_code text          NOT NULL,
    record_date date          NOT NULL,
    ex_date     date          NOT NULL CHECK (ex_date >= record_date),
    nav_date    date          NOT NULL CHECK (nav_date >= ex_date),
    per_unit    numeric(18,4) NOT NULL CHECK (per_unit > 0),
    option      text          NOT NULL CHECK (option IN ('payout', 'reinvest')), -- the scheme's IDCW option
    source      text          NOT NULL,                -- 'cli', 'api', 'rta:<file>'
    created_at  timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (scheme_code, record_date)
);

-- One credit per (declaration, folio), written in the transaction of its
-- ledger transaction: the primary key is the exactly-once.
CREATE TABLE idcw_credits (
    declaration_id text          NOT NULL REFERENCES idcw_declarations (id),
    folio_no       text          NOT NULL REFERENCES folios (folio_no),
    investor_id    text          NOT NULL REFERENCES investors (id),
    amc            text          NOT NULL,
    credit_date    date          NOT NULL,             -- the ex-date: the FY the TDS counts in
    units          numeric(24,9) NOT NULL CHECK (units > 0), -- held at the end of the record date
    gross          numeric(18,2) NOT NULL CHECK (gross >= 0),
    tds_section    text          NOT NULL CHECK (tds_section IN ('194K', '196A')),
    tds_rate_pct   numeric(7,4)  NOT NULL,
    tds            numeric(18,2) NOT NULL CHECK (tds >= 0),
    net            numeric(18,2) NOT NULL,             -- gross - tds: paid out, or reinvested
    option         text          NOT NULL CHECK (option IN ('payout', 'reinvest')),
    ledger_tx_id   bigint        NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    created_at     timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (declaration_id, folio_no)
);
CREATE INDEX idcw_credits_investor ON idcw_credits (investor_id, amc, credit_date);

-- The ledger transactions and order legs of a credit: a payout moves money
-- only; a reinvestment issues units (a new lot, like a purchase).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in', 'switch_payout', 'idcw_payout', 'idcw_reinvest'));
ALTER TABLE orders DROP CONSTRAINT orders_kind_check;
ALTER TABLE orders ADD CONSTRAINT orders_kind_check
    CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in', 'idcw_payout', 'idcw_reinvest'));
