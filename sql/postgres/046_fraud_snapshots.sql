-- Fraud window snapshots (issue 19): the evaluation keeps its rules'
-- windows in memory and writes here, every few seconds, the windows that
-- changed since the last snapshot and, in the same transaction, the stream
-- positions (fraud_positions) they are valid at. A start loads the last
-- full snapshot and the deltas after it, then replays the streams from
-- those positions; a replayed event's alert is found by its id (rule +
-- event) and raised nothing twice. fraud_windows (025) is read once, by
-- the first start after this migration, and emptied by its first full
-- snapshot.

CREATE TABLE fraud_snapshots (
    gen      bigserial   PRIMARY KEY,
    is_full  boolean     NOT NULL,   -- every window (a start needs nothing older); else the changed ones
    windows  integer     NOT NULL,   -- records in the chunks (a removed window is a record too)
    bytes    bigint      NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
);

-- A snapshot's records as newline-delimited JSON ({"k": "<rule>|<scope key>",
-- "s": fraud.State}, no "s": the window is empty and gone), cut in chunks of a
-- few MB; stored uncompressed (the evaluation writes them at stream speed).
CREATE TABLE fraud_snapshot_chunks (
    gen  bigint  NOT NULL REFERENCES fraud_snapshots (gen) ON DELETE CASCADE,
    seq  integer NOT NULL,
    data bytea   NOT NULL,
    PRIMARY KEY (gen, seq)
);
ALTER TABLE fraud_snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
