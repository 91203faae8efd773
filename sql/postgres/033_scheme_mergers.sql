-- Scheme mergers (and plan/option changes, done the same way), issue 17:
-- units of from_scheme become units of to_scheme on merge_date at the ratio
-- nav_from / nav_to, lot by lot, each lot keeping its tax basis.
--
-- A lot's tax basis apart from its ledger date: a lot carried over by a
-- scheme merger is a new lot of the surviving scheme on the
-- merger date (its nav_date: FIFO, the exit-load clock, the ledger's
-- replay), but for capital gains it was acquired when the merged lot was,
-- at that lot's cost (its ledger transaction's amount, as for any lot).
--   acquired_on  the acquisition date for tax (NULL: nav_date)
--   fmv_2018     the fair market value of 31-Jan-2018 per unit of this
--                scheme, for grandfathering (NULL: this scheme's NAV then)
--   carried_from the lot it was carried from
ALTER TABLE holding_lots
    ADD COLUMN acquired_on  date,
    ADD COLUMN fmv_2018     numeric(18,4) CHECK (fmv_2018 > 0),
    ADD COLUMN carried_from bigint REFERENCES holding_lots (id),
    ADD CONSTRAINT holding_lots_acquired_before CHECK (acquired_on <= nav_date);

-- The mergers:
CREATE TABLE scheme_mergers (
    id          text          PRIMARY KEY,
    from_scheme text          NOT NULL UNIQUE,         -- a scheme merges away once
    to_scheme   text          NOT NULL CHECK (to_scheme <> from_scheme),
    merge_date  date          NOT NULL,
    nav_from    numeric(18,4) NOT NULL CHECK (nav_from > 0),
    nav_to      numeric(18,4) NOT NULL CHECK (nav_to > 0),
    source      text          NOT NULL,                -- 'cli', 'api'
    created_at  timestamptz   NOT NULL DEFAULT now()
);

-- One row per (merger, folio), written in the folio's transaction: the
-- primary key is the exactly-once. residue is the value of the fraction of
-- a unit of to_scheme the truncation at its scale left (Σ units × nav_from
-- − units_to × nav_to, half-up to the paisa), posted to merger:<id>:residue.
CREATE TABLE merger_folios (
    merger_id   text          NOT NULL REFERENCES scheme_mergers (id),
    folio_no    text          NOT NULL REFERENCES folios (folio_no),
    lots        int           NOT NULL CHECK (lots > 0),
    units_from  numeric(24,9) NOT NULL CHECK (units_from > 0),
    units_to    numeric(24,9) NOT NULL CHECK (units_to >= 0),
    cost        numeric(18,2) NOT NULL,
    residue     numeric(18,2) NOT NULL CHECK (residue >= 0),
    out_tx_id   bigint        NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (merger_id, folio_no)
);

-- The legs: merger_out takes every open lot of the merged scheme; one
-- merger_in per carried lot (holding_lots.ledger_tx_id is unique: a lot's
-- units and cost are its ledger transaction's).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in', 'switch_payout', 'idcw_payout', 'idcw_reinvest', 'merger_out', 'merger_in'));
ALTER TABLE orders DROP CONSTRAINT orders_kind_check;
ALTER TABLE orders ADD CONSTRAINT orders_kind_check
    CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in', 'idcw_payout', 'idcw_reinvest', 'merger_out', 'merger_in'));
