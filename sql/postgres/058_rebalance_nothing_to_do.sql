-- A forced rebalance (a model version change) whose plan needs no switch
-- (tax-aware: every weight already within half the threshold) is recorded
-- as a run of its own, status 'nothing_to_do', so the portfolio's model
-- version is known (LastModel) and the check does not find it due again
-- every day.
ALTER TABLE rebalance_runs DROP CONSTRAINT rebalance_runs_status_check;
ALTER TABLE rebalance_runs ADD CONSTRAINT rebalance_runs_status_check CHECK (status IN ('proposed', 'placed', 'nothing_to_do'));
