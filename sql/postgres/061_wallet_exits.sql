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

-- Review r34 M3: a wallet the scheduled quarterly billing could not bill
-- (a missing valuation, an earlier partial invoice) is kept with the
-- reason and retried by every later run until billed (resolved_at set);
-- the quarter itself is still read once.
CREATE TABLE fee_quarter_skips (
    period_from  date        NOT NULL,
    period_to    date        NOT NULL CHECK (period_to >= period_from),
    crystallise  boolean     NOT NULL,
    wallet_id    text        NOT NULL REFERENCES wallets (id),
    reason       text        NOT NULL,
    first_at     timestamptz NOT NULL DEFAULT now(),
    last_at      timestamptz NOT NULL DEFAULT now(),
    tries        integer     NOT NULL DEFAULT 1,
    resolved_at  timestamptz,
    PRIMARY KEY (period_from, wallet_id)
);
CREATE INDEX fee_quarter_skips_open ON fee_quarter_skips (period_from, wallet_id) WHERE resolved_at IS NULL;
