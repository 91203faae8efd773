-- A run whose process died (SIGKILL, OOM, power loss) never reaches Finish:
-- its job_runs row would say 'running' forever. A live run holds a
-- session-level advisory lock (classid 0x72756e73 "runs", objid = id mod 2^31)
-- on a connection of its own from before its row is visible until it
-- finishes; the server drops the lock with the session. Whoever starts the
-- next run (or lists runs) marks every 'running' row whose lock nobody holds
-- 'abandoned', with the reason in error.
ALTER TABLE job_runs DROP CONSTRAINT job_runs_status_check;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'abandoned'));
ALTER TABLE job_runs ADD COLUMN pid integer; -- the process that ran it, for the operator
CREATE INDEX job_runs_running ON job_runs (id) WHERE status = 'running';
