-- NAV operations: replaying and reviewing quarantined rows.

-- What a quarantined record needs besides its raw bytes to be read again
-- without its file (for a NAV row: the file's header, the category and AMC
-- lines above it, the file's business date). NULL for records whose raw
-- bytes are enough.
ALTER TABLE quarantine ADD COLUMN context jsonb;

-- 'accepted': an operator reviewed a held row (a NAV jump) and published it
-- anyway; who and when are kept on the row. 'replayed': the row passes the
-- rules as they are now and was published by `fundflow quarantine replay`.
ALTER TABLE quarantine DROP CONSTRAINT quarantine_status_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_status_check
    CHECK (status IN ('open', 'replayed', 'accepted', 'dismissed'));
ALTER TABLE quarantine ADD COLUMN resolved_by text;
ALTER TABLE quarantine ADD COLUMN last_replay_at timestamptz;
ALTER TABLE quarantine ADD COLUMN last_replay_detail text; -- why the last replay did not publish it

-- `fundflow quarantine list` filters by pipeline, reason and status, newest first.
CREATE INDEX quarantine_list ON quarantine (pipeline, status, reason, id DESC);

-- nav_latest is rewritten for every scheme every business day. Room left
-- in each page lets the update stay on the page (a HOT update: no new
-- index entry); measured about 4% faster whole NAV loads.
ALTER TABLE nav_latest SET (fillfactor = 70);
