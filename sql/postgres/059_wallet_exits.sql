-- Issue 22, review r34 H1–H3: a wallet's exit is a state. 'closing' is set
-- under the wallet's lock when the exit starts: deposits become
-- wallet_closed breaks, auto-invest, rebalance, pool contributions and the
-- investor's withdrawals refuse it, and the close (payment of every due
-- invoice, the payout, the status) is one transaction. wallet_exits keeps
-- the exit's own request and day, so a retry (a later day, a later
-- quarter) finishes the same exit instead of reading its day back from an
-- invoice.
ALTER TABLE wallets DROP CONSTRAINT wallets_status_check;
ALTER TABLE wallets ADD CONSTRAINT wallets_status_check CHECK (status IN ('open', 'closing', 'closed'));

CREATE TABLE wallet_exits (
    wallet_id  text        PRIMARY KEY REFERENCES wallets (id),
    request_id text        NOT NULL,
    day        date        NOT NULL,           -- the exit's valuation and last billed day
    started_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz                     -- NULL: closing
);
