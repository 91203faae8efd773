-- The audit trail: one row per state change of orders, payments, the ledger
-- and the scheme master, written in the same transaction as the change.
--
-- Append-only: UPDATE, DELETE and TRUNCATE are refused by triggers.
-- Hash-chained: a BEFORE INSERT trigger numbers the row (seq 1, 2, 3, ...
-- with no gaps: writers take the chain head's row lock FOR UPDATE and hold
-- it until their transaction ends, so a rolled-back writer leaves no hole)
-- and sets
--
--   hash = sha256(prev_hash || canonical content)
--
-- where the canonical content is every other column, each written as its
-- byte length, ':' and its UTF-8 bytes, in the order seq, at, entity,
-- entity_id, action, actor, payload (at as YYYY-MM-DDTHH:MI:SS.ffffffZ in
-- UTC; payload as jsonb's own text). Whatever a writer passes for seq, at,
-- prev_hash or hash is overwritten. `fundflow audit verify` recomputes the
-- chain in Go, independently of this function.
--
-- Writers hold the head lock from their first audit row to their commit:
-- write audit rows last in a transaction to keep that window short.

CREATE TABLE audit_log (
    seq       bigint      PRIMARY KEY,
    at        timestamptz NOT NULL,
    entity    text        NOT NULL,            -- order, payment, ledger_tx, scheme, ...
    entity_id text        NOT NULL,
    action    text        NOT NULL,            -- created, captured, allotted, version, ...
    actor     text        NOT NULL DEFAULT '', -- who or what made the change (pipeline, user)
    payload   jsonb       NOT NULL,
    prev_hash text        NOT NULL,            -- hex SHA-256 of the row before; 64 zeros for seq 1
    hash      text        NOT NULL UNIQUE
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's head: the last seq and hash (so a cut tail shows). One row,
-- locked by every writer; seq 0 and 64 zeros before the first row.
CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint  NOT NULL,
    hash text    NOT NULL
);
INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, repeat('0', 64));

-- The canonical-content field: byte length, ':', bytes.
CREATE FUNCTION audit_field(v text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT convert_to(octet_length(convert_to(v, 'UTF8'))::text || ':', 'UTF8') || convert_to(v, 'UTF8')
$$;

-- Per row: lock the head (serialises writers until they commit; a row this
-- transaction already locked is re-locked at no cost), chain to the last
-- row written (the primary key's rightmost entry: rows written earlier in
-- the same statement are visible here), number and hash the new row. The
-- head itself moves once per statement (audit_head_advance), not per row: a
-- single row updated thousands of times in one transaction leaves a chain of
-- dead versions that every later lock walks (quadratic).
CREATE FUNCTION audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev_seq  bigint;
    prev_hash text;
BEGIN
    PERFORM 1 FROM audit_head WHERE one FOR UPDATE;
    SELECT seq, hash INTO prev_seq, prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        SELECT seq, hash INTO prev_seq, prev_hash FROM audit_head WHERE one;
    END IF;
    NEW.seq := prev_seq + 1;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.actor := coalesce(NEW.actor, '');
    NEW.prev_hash := prev_hash;
    NEW.hash := encode(sha256(
        convert_to(prev_hash, 'UTF8')
        || audit_field(NEW.seq::text)
        || audit_field(to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_field(NEW.entity)
        || audit_field(NEW.entity_id)
        || audit_field(NEW.action)
        || audit_field(NEW.actor)
        || audit_field(NEW.payload::text)), 'hex');
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_chain();

-- The head follows the last row, once per statement.
CREATE FUNCTION audit_head_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head h SET seq = l.seq, hash = l.hash
    FROM (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l
    WHERE h.one AND h.seq < l.seq;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_advance();

CREATE FUNCTION audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
-- The head moves only inside audit_head_advance: a direct UPDATE or DELETE
-- (trigger depth 1) is refused; the UPDATE that trigger makes runs at depth 2.
CREATE FUNCTION audit_head_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'audit_head moves only by inserting into audit_log'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
