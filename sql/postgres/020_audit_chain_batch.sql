-- The audit chain per batch (issue 14). 004's per-row trigger numbered and
-- hashed every row in plpgsql (a lock, an index probe, a hash and a
-- security-definer call per row): most of an allocate pass's time. Now a
-- writer numbers and hashes its rows itself and the database checks them,
-- set-based, once per statement:
--
--   1. audit_begin(payloads) locks the chain's head (held to commit, as
--      before: writers are serialised and a rolled-back one leaves no hole)
--      and returns its seq and hash, the database's clock (every row's `at`)
--      and the payloads as jsonb's own text (the bytes the hash covers);
--   2. the writer hashes its rows (seq head+1, head+2, ...; the documented
--      canonical content of 004) and inserts them with every column given;
--   3. audit_verify, an AFTER INSERT trigger per statement over the
--      statement's new rows (a transition table), refuses the statement
--      unless the rows continue the head with no gap (seq), each links to
--      the one before (prev_hash), each hash is the one its content gives,
--      and each `at` is the database's clock during the writing transaction;
--      then it moves the head to the last row, once.
--
-- A writer that gives no hash (SQL that builds its payload in the database:
-- the scheme master's versions, NAV retractions) still has its rows numbered
-- and hashed by 004's per-row trigger, now fired only for such rows; the
-- statement's check covers them too. The application role still cannot
-- write a row whose seq, prev_hash, hash or at is wrong: it can INSERT, but
-- only rows the check accepts, and it cannot move the head or switch a
-- trigger off. `fundflow audit verify` recomputes the chain in Go as before.

-- Lock the head; the head, the clock and the canonical payloads. Security
-- definer: the application role may only SELECT audit_head, and FOR UPDATE
-- needs more.
CREATE FUNCTION audit_begin(payloads text[], OUT head_seq bigint, OUT head_hash text, OUT at timestamptz, OUT canon text[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_head h WHERE h.one FOR UPDATE;
    at := date_trunc('microseconds', clock_timestamp());
    canon := ARRAY(SELECT p::jsonb::text FROM unnest(payloads) WITH ORDINALITY AS u(p, n) ORDER BY n);
END $$;

-- The statement's rows against the head, then the head moved once. The
-- head is locked FOR UPDATE first: a writer that skipped audit_begin waits
-- here for the one holding it and is checked against the head it left.
CREATE FUNCTION audit_verify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    h_seq  bigint;
    h_hash text;
    bad    record;
BEGIN
    SELECT h.seq, h.hash INTO h_seq, h_hash FROM audit_head h WHERE h.one FOR UPDATE;
    SELECT x.seq, x.why INTO bad FROM (
        SELECT r.seq,
               CASE
                 WHEN r.seq <> h_seq + row_number() OVER w THEN 'seq ' || r.seq || ' does not follow ' || (h_seq + row_number() OVER w - 1)
                 WHEN r.prev_hash <> coalesce(lag(r.hash) OVER w, h_hash) THEN 'prev_hash is not the hash of the row before'
                 WHEN r.at < transaction_timestamp() OR r.at > clock_timestamp() THEN 'at is not the database''s clock'
                 WHEN r.hash <> encode(sha256(
                        convert_to(r.prev_hash, 'UTF8')
                        || audit_field(r.seq::text)
                        || audit_field(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                        || audit_field(r.entity)
                        || audit_field(r.entity_id)
                        || audit_field(r.action)
                        || audit_field(r.actor)
                        || audit_field(r.payload::text)), 'hex') THEN 'hash is not the one its content gives'
               END AS why
        FROM audit_new r
        WINDOW w AS (ORDER BY r.seq)
    ) x WHERE x.why IS NOT NULL ORDER BY x.seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit_log row seq % refused: %', bad.seq, bad.why
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE audit_head h SET seq = l.seq, hash = l.hash
    FROM (SELECT r.seq, r.hash FROM audit_new r ORDER BY r.seq DESC LIMIT 1) l
    WHERE h.one;
    RETURN NULL;
END $$;

DROP TRIGGER audit_log_head ON audit_log;
DROP TRIGGER audit_log_chain ON audit_log;

-- 004's numbering and hashing, for rows written without a hash only.
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION audit_chain();

CREATE TRIGGER audit_log_verify AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS audit_new
    FOR EACH STATEMENT EXECUTE FUNCTION audit_verify();
