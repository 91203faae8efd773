-- A NAV's file is one row in nav_sources; navs carries its id (issue 15).
-- Every navs row named its file by name and SHA-256, about 90 of a row's
-- 180 bytes, the same for the 16,000 rows of a NAVAll file: a server-side
-- COPY of 628 k rows took 1.70-1.87 s with them and 1.28-1.31 s with an
-- integer in their place. The lineage is unchanged: nav_lineage is navs
-- with the file's name and SHA-256 as before.
--
-- There is no foreign key from navs: its check is a trigger per row, and
-- the COPY of a backfill is the cost this removes. nav_sources is
-- append-only instead (the application may only SELECT and INSERT it,
-- internal/migrate appGrants), so an id a NAV names stays.
CREATE TABLE nav_sources (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file       text        NOT NULL,
    sha256     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sha256, file)
);

-- nav_source is the id of a file, added if it is new. Two writers of the
-- same new file: the second waits for the first's insert, and finds it.
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
    RETURN v;
END $$;

INSERT INTO nav_sources (file, sha256)
SELECT DISTINCT source_file, source_sha256 FROM navs ORDER BY 1, 2;

ALTER TABLE navs ADD COLUMN source_id integer;
UPDATE navs n SET source_id = s.id FROM nav_sources s
WHERE s.file = n.source_file AND s.sha256 = n.source_sha256;
ALTER TABLE navs ALTER COLUMN source_id SET NOT NULL;
ALTER TABLE navs DROP COLUMN source_file;
ALTER TABLE navs DROP COLUMN source_sha256;

-- navs as it was: each NAV with the name and SHA-256 of its file.
CREATE VIEW nav_lineage AS
SELECT n.scheme_code, n.nav_date, n.nav, n.repurchase, n.sale,
       s.file AS source_file, s.sha256 AS source_sha256, n.source_line, n.loaded_at, n.source_id
FROM navs n JOIN nav_sources s ON s.id = n.source_id;
