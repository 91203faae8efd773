-- Investment pools (issue 22): a pool with its own unit register, priced
-- daily. Every rupee and unit is in the wallet journal (wallet_transactions
-- and wallet_postings, each transaction one member wallet's, balanced per
-- asset by its trigger). Accounts:
--   INR  wallet:<wallet>               the member's wallet (credit: owed to the investor)
--   INR  pool_pending:<pool>           contributions received, not priced yet (credit)
--   INR  pool:<pool>                   the pool's cash (credit: owed to the pool)
--   POOL:<pool> pool_units:<pool>:<w>  a member's units (credit)
--   POOL:<pool> pool_redeeming:<pool>  units a withdrawal gave up, not priced yet (credit)
--   POOL:<pool> pool_issued:<pool>     units outstanding (debit)
-- pools.cash, pools.units and pool_members.units mirror these accounts in
-- the same transaction; the rows are the locks, and their CHECKs make a
-- negative cash or unit balance impossible.
CREATE TABLE pools (
    id            text          PRIMARY KEY,
    name          text          NOT NULL,
    launch_nav    numeric(18,4) NOT NULL CHECK (launch_nav > 0),   -- the first contribution's price
    cutoff        text          NOT NULL DEFAULT '15:00' CHECK (cutoff ~ '^[0-2][0-9]:[0-5][0-9]$'), -- IST
    folio_no      text          REFERENCES folios (folio_no),      -- the pool's holdings (ledger holdings)
    cash          numeric(18,2) NOT NULL DEFAULT 0 CHECK (cash >= 0),
    units         numeric(24,3) NOT NULL DEFAULT 0 CHECK (units >= 0),
    last_nav_date date,
    created_at    timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE pool_members (
    pool_id   text          NOT NULL REFERENCES pools (id),
    wallet_id text          NOT NULL REFERENCES wallets (id),
    units     numeric(24,3) NOT NULL DEFAULT 0 CHECK (units >= 0),
    reinvest  boolean       NOT NULL DEFAULT false,   -- distributions buy units instead of paying the wallet
    PRIMARY KEY (pool_id, wallet_id)
);
CREATE INDEX pool_members_wallet ON pool_members (wallet_id);

-- The daily pool NAV, effective-dated: one row per pool and date, written
-- once by the job with what it was computed from.
CREATE TABLE pool_navs (
    pool_id     text          NOT NULL REFERENCES pools (id),
    nav_date    date          NOT NULL,
    nav         numeric(18,4) NOT NULL CHECK (nav > 0),
    holdings    numeric(18,2) NOT NULL,
    cash        numeric(18,2) NOT NULL,
    units       numeric(24,3) NOT NULL,               -- before the day's requests
    launch      boolean       NOT NULL,               -- no units: the launch NAV
    computed_at timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, nav_date)
);

-- Contributions and withdrawals, each once per request id, priced at the
-- NAV of nav_date (received before the cut-off on a business day: that
-- day; else the next business day).
CREATE TABLE pool_requests (
    id          text          PRIMARY KEY,
    pool_id     text          NOT NULL REFERENCES pools (id),
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    kind        text          NOT NULL CHECK (kind IN ('contribution', 'withdrawal')),
    amount      numeric(18,2) CHECK (amount > 0),     -- contribution: asked; withdrawal: paid once priced
    units       numeric(24,3) CHECK (units > 0),      -- withdrawal: asked; contribution: bought once priced
    received_at timestamptz   NOT NULL,
    nav_date    date          NOT NULL,
    nav         numeric(18,4),                        -- set when priced
    priced_at   timestamptz,
    status      text          NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'priced', 'refused')),
    reason      text          NOT NULL DEFAULT '',    -- refused: why (the money or units went back)
    CHECK ((kind = 'contribution' AND amount IS NOT NULL) OR (kind = 'withdrawal' AND units IS NOT NULL))
);
CREATE INDEX pool_requests_pending ON pool_requests (pool_id, nav_date) WHERE status = 'pending';

-- The wallet journal's pool transactions: 'pool_contribution' (ref the
-- request id: wallet → pool_pending), 'pool_priced' (ref the request id:
-- pool_pending → pool and units issued, or units cancelled and pool →
-- wallet), 'pool_withdrawal' (ref the request id: units → pool_redeeming).
-- Distributions are 047_pool_distributions.sql.
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced'));
-- A withdrawal's request moves units, not rupees, and a withdrawal of a few
-- units may fetch ₹0.00: those pool entries may have amount 0 (the units
-- are in the postings).
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_amount_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_amount_check
    CHECK (amount > 0 OR (amount = 0 AND kind IN ('pool_withdrawal', 'pool_priced')));
