-- A NAV's file is one row in nav_sources; navs carries its id (issue 15).
-- Every navs row named its file by name and SHA-256, about 90 of a row's
-- 180 bytes, the same for the 16,000 rows of a NAVAll file: a server-side
-- COPY of 628 k rows took 1.70-1.87 s with them and 1.28-1.31 s with an
-- integer in their place, and the table's heap is half its size (the
-- whole backfill's time moved within the machine's noise: README). The
-- lineage is unchanged: nav_lineage is navs with the file's name and
-- SHA-256 as before.
--
-- navs is locked for the whole migration (below) and rewritten with its
-- key: readers of NAVs wait for it, about the time of a COPY of the
-- table. Stop the loaders first; a run left going waits, then fails.
--
-- There is no foreign key from navs: its check is a trigger per row, and
-- the COPY of a backfill is the cost this removes. nav_sources is
-- append-only instead (the application may only SELECT and INSERT it,
-- internal/migrate appGrants) and its rows are never deleted, even one no
-- NAV names (a batch that failed after its file was added): an id a NAV
-- names stays.
LOCK TABLE navs IN ACCESS EXCLUSIVE MODE; -- no NAV written meanwhile is left behind

CREATE TABLE nav_sources (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file       text        NOT NULL,
    sha256     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sha256, file)
);

-- nav_source is the id of a file, added if it is new. Two writers of the
-- same new file (READ COMMITTED): the second's insert waits for the
-- first's, does nothing, and its next statement finds the row.
CREATE FUNCTION nav_source(p_file text, p_sha256 text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v integer;
BEGIN
    SELECT id INTO v FROM nav_sources WHERE sha256 = p_sha256 AND file = p_file;
    IF v IS NULL THEN
        INSERT INTO nav_sources (file, sha256) VALUES (p_file, p_sha256)
        ON CONFLICT (sha256, file) DO NOTHING RETURNING id INTO v;
    END IF;
    IF v IS NULL THEN
        SELECT id INTO v FROM nav_sources WHERE sha256 = p_sha256 AND file = p_file;
    END IF;
    IF v IS NULL THEN
        RAISE EXCEPTION 'nav_source: no id for % (%)', p_file, p_sha256;
    END IF;
    RETURN v;
END $$;

-- The files of the NAVs stored, first seen when their first NAV was.
INSERT INTO nav_sources (file, sha256, created_at)
SELECT source_file, source_sha256, min(loaded_at) FROM navs
GROUP BY source_file, source_sha256 ORDER BY min(loaded_at), 1, 2;

-- navs is rebuilt rather than altered: a dropped column keeps its bytes
-- in every row already stored, and an UPDATE of every row would leave a
-- dead copy of each. The key is built after the rows are in.
ALTER TABLE navs RENAME TO navs_068;
ALTER INDEX navs_pkey RENAME TO navs_068_pkey;
ALTER TABLE navs_068 RENAME CONSTRAINT navs_nav_check TO navs_068_nav_check; -- the names stay 002's
CREATE TABLE navs (
    scheme_code   text          NOT NULL,
    nav_date      date          NOT NULL,
    nav           numeric(18,8) NOT NULL CHECK (nav > 0),
    repurchase    numeric(18,8),
    sale          numeric(18,8),
    source_id     integer       NOT NULL,
    source_line   integer       NOT NULL,
    loaded_at     timestamptz   NOT NULL DEFAULT now()
);
INSERT INTO navs (scheme_code, nav_date, nav, repurchase, sale, source_id, source_line, loaded_at)
SELECT n.scheme_code, n.nav_date, n.nav, n.repurchase, n.sale, s.id, n.source_line, n.loaded_at
FROM navs_068 n JOIN nav_sources s ON s.file = n.source_file AND s.sha256 = n.source_sha256
ORDER BY n.scheme_code, n.nav_date;
DO $$
BEGIN
    IF (SELECT count(*) FROM navs) <> (SELECT count(*) FROM navs_068) THEN
        RAISE EXCEPTION '069: % NAVs copied of %', (SELECT count(*) FROM navs), (SELECT count(*) FROM navs_068);
    END IF;
END $$;
DROP TABLE navs_068;
ALTER TABLE navs ADD PRIMARY KEY (scheme_code, nav_date);
ANALYZE navs;

-- navs as it was: each NAV with the name and SHA-256 of its file. A LEFT
-- JOIN: a NAV whose id named no file would show NULLs (and fail the NOT
-- NULL columns of nav_latest's moves), not vanish.
CREATE VIEW nav_lineage AS
SELECT n.scheme_code, n.nav_date, n.nav, n.repurchase, n.sale,
       s.file AS source_file, s.sha256 AS source_sha256, n.source_line, n.loaded_at, n.source_id
FROM navs n LEFT JOIN nav_sources s ON s.id = n.source_id;
