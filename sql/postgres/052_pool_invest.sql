-- A pool investing its own cash (issue 22): each day's contribution batch
-- (the contributions priced at that pool NAV) is split over the pool's
-- model (the auto-invest split: fund/managed.SplitDeposit) and bought as
-- ordinary purchase orders into the pool's folio through the ledger.
-- Exactly once per batch: the run is keyed by (pool, NAV date) and is
-- written, with the pool cash's debit, in the transaction that computes
-- that NAV; its request bodies are fixed there, so a run stopped anywhere
-- is finished with the same orders.
ALTER TABLE pools ADD COLUMN model_id text;   -- NULL: the pool's cash stays cash

CREATE TABLE pool_invest_runs (
    pool_id       text          NOT NULL REFERENCES pools (id),
    nav_date      date          NOT NULL,
    model_id      text          NOT NULL,
    model_version int           NOT NULL,
    batch         numeric(18,2) NOT NULL CHECK (batch > 0),     -- the contributions priced that day
    invested      numeric(18,2) NOT NULL CHECK (invested >= 0), -- the legs' sum, debited from the pool's cash
    split         jsonb         NOT NULL,                       -- legs and leftovers with their reasons
    requests      text[]        NOT NULL,                       -- the order requests' bodies, fixed
    status        text          NOT NULL CHECK (status IN ('debited', 'placed')),
    created_at    timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, nav_date)
);
CREATE INDEX pool_invest_runs_debited ON pool_invest_runs (pool_id) WHERE status = 'debited';

-- One row per purchase order of a run. Until its order is allotted, a leg
-- is valued in the pool NAV at its amount (the money has left the pool's
-- cash, its units are not in the folio yet); a leg the ledger refused is
-- refunded to the pool's cash once.
CREATE TABLE pool_invest_legs (
    order_id    text          PRIMARY KEY,
    pool_id     text          NOT NULL,
    nav_date    date          NOT NULL,
    scheme_code text          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    refunded    boolean       NOT NULL DEFAULT false,
    FOREIGN KEY (pool_id, nav_date) REFERENCES pool_invest_runs (pool_id, nav_date)
);
CREATE INDEX pool_invest_legs_pool ON pool_invest_legs (pool_id) WHERE NOT refunded;

-- The day's NAV counts the money invested and not allotted yet.
ALTER TABLE pool_navs ADD COLUMN investing numeric(18,2) NOT NULL DEFAULT 0;

-- The pool's own investing belongs to no member wallet: 'pool_invest'
-- (ref pool:date, Dr pool:<pool> / Cr wallet_cash:<gateway>) and
-- 'pool_invest_refund' (ref the order id, the reverse) have no wallet_id.
ALTER TABLE wallet_transactions ALTER COLUMN wallet_id DROP NOT NULL;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_pool_invest_no_wallet
    CHECK ((wallet_id IS NULL) = (kind IN ('pool_invest', 'pool_invest_refund')));
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced', 'pool_distribution',
                    'withdrawal_release', 'withdrawal_cancel', 'fee_redemption',
                    'pool_invest', 'pool_invest_refund'));
