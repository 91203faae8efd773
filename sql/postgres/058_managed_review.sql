-- A forced rebalance (a model version change) whose plan needs no switch
-- (tax-aware: every weight already within half the threshold) is recorded
-- as a run of its own, status 'nothing_to_do', so the portfolio's model
-- version is known (LastModel) and the check does not find it due again
-- every day.
ALTER TABLE rebalance_runs DROP CONSTRAINT rebalance_runs_status_check;
ALTER TABLE rebalance_runs ADD CONSTRAINT rebalance_runs_status_check CHECK (status IN ('proposed', 'placed', 'nothing_to_do'));

-- The scheduled quarterly billing (wallet.QuarterBilling): one row per
-- quarter billed, written after every wallet of the quarter was billed
-- (or skipped with its reason), so a later run bills nothing and reads no
-- wallet. A run killed before the row is written bills again: every
-- wallet already billed keeps its invoice (unique on wallet and period).
CREATE TABLE fee_quarter_runs (
    period_from     date        PRIMARY KEY,
    period_to       date        NOT NULL CHECK (period_to >= period_from),
    crystallised    boolean     NOT NULL,
    wallets_billed  integer     NOT NULL CHECK (wallets_billed >= 0),
    wallets_skipped integer     NOT NULL CHECK (wallets_skipped >= 0),
    total           numeric(18,2) NOT NULL,
    finished_at     timestamptz NOT NULL DEFAULT now()
);
