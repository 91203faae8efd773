-- A file that failed part-way for a reason a retry will not fix (a poison
-- the stage did not catch, a store refusing a batch) is 'failed': recorded
-- with its error and an alert, and skipped by later runs, so that the files
-- after it load.
ALTER TABLE ingested_files DROP CONSTRAINT ingested_files_status_check;
ALTER TABLE ingested_files ADD CONSTRAINT ingested_files_status_check
    CHECK (status IN ('loading', 'done', 'rejected', 'failed'));
