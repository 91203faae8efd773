-- The feed line each kind of KYC fact on file came from (issue 23): the
-- KRA status's and the PAN–Aadhaar link's, each file and line. Two
-- statuses of the same time stamp are ordered by it (the date in the
-- file's name, the name, the line: investors.FeedOrder), so an older file
-- replayed after a newer one changes nothing. source_file/source_line stay
-- the line of the last change, of either kind, and cannot serve: after a
-- PAN–Aadhaar row they name that file, not the status's.
ALTER TABLE kyc_status
    ADD COLUMN status_source_file  text    NOT NULL DEFAULT '',
    ADD COLUMN status_source_line  integer NOT NULL DEFAULT 0,
    ADD COLUMN aadhaar_source_file text    NOT NULL DEFAULT '',
    ADD COLUMN aadhaar_source_line integer NOT NULL DEFAULT 0;

-- From the history: each kind's line is that of the investor's last
-- history row that changed it (the status columns, or the link and its
-- date). Left '' when the history does not tell (an undated "linked" as
-- the first row): the gate then treats the line on file as older than any,
-- the order before this migration.
UPDATE kyc_status k SET status_source_file = coalesce(x.sf, ''), status_source_line = coalesce(x.sl, 0),
    aadhaar_source_file = coalesce(x.af, ''), aadhaar_source_line = coalesce(x.al, 0)
FROM (
    SELECT investor_id,
        (array_agg(source_file ORDER BY id DESC) FILTER (WHERE st))[1] AS sf,
        (array_agg(source_line ORDER BY id DESC) FILTER (WHERE st))[1] AS sl,
        (array_agg(source_file ORDER BY id DESC) FILTER (WHERE aa))[1] AS af,
        (array_agg(source_line ORDER BY id DESC) FILTER (WHERE aa))[1] AS al
    FROM (
        SELECT investor_id, id, source_file, source_line,
            status_at IS NOT NULL AND (status, kra, kra_code, status_at, remarks) IS DISTINCT FROM
                (lag(status) OVER w, lag(kra) OVER w, lag(kra_code) OVER w, lag(status_at) OVER w, lag(remarks) OVER w) AS st,
            (lag(id) OVER w IS NOT NULL OR pan_inoperative OR aadhaar_at IS NOT NULL) AND (pan_inoperative, aadhaar_at) IS DISTINCT FROM
                (lag(pan_inoperative) OVER w, lag(aadhaar_at) OVER w) AS aa
        FROM kyc_status_history
        WINDOW w AS (PARTITION BY investor_id ORDER BY id)
    ) h
    GROUP BY investor_id
) x
WHERE x.investor_id = k.investor_id;
