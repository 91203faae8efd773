-- Pool distributions (issue 22): ₹X split pro rata to the pool units on the
-- record date by the largest remainder to the paisa, exactly once per pool
-- and record date (the key), each share paid to the member's wallet or
-- reinvested in pool units at the ex-distribution NAV. A share is a wallet
-- journal entry 'pool_distribution', ref '<pool>:<record date>:<wallet>':
-- paid Dr pool:<pool> / Cr wallet:<wallet>; reinvested (units only, the
-- cash stays in the pool) Dr pool_issued:<pool> / Cr pool_units:<pool>:<wallet>.
-- A distribution, exactly once per pool and record date, and its shares.
CREATE TABLE pool_distributions (
    pool_id     text          NOT NULL REFERENCES pools (id),
    record_date date          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    nav         numeric(18,4) NOT NULL,               -- ex-distribution NAV reinvested shares buy at
    created_at  timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, record_date)
);
CREATE TABLE pool_distribution_shares (
    pool_id     text          NOT NULL,
    record_date date          NOT NULL,
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    units       numeric(24,3) NOT NULL,               -- on the record date
    amount      numeric(18,2) NOT NULL CHECK (amount >= 0),
    reinvested  numeric(24,3),                        -- units bought (null: paid to the wallet)
    PRIMARY KEY (pool_id, record_date, wallet_id),
    FOREIGN KEY (pool_id, record_date) REFERENCES pool_distributions (pool_id, record_date)
);

ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced', 'pool_distribution'));
