-- The scheme dimension (issue 20): every version a scheme has had, copied
-- from Postgres scheme_versions by the analytics refresh, and a view with
-- the current one per code, so every model can show names. "Current" is
-- the highest version (argMax): any(category) would return a pre-2018
-- label for a scheme recategorised since.
-- ReplacingMergeTree(loaded_at) on (code, version): a refresh copies the
-- history again and leaves one row per version (FINAL before merges).
CREATE TABLE IF NOT EXISTS scheme_versions (
    code          String,
    version       UInt32,
    valid_from    Date,
    valid_to      Nullable(Date),
    name          String,
    isin_growth   String,
    isin_reinvest String,
    plan          String,
    option        String,
    category      String,
    scheme_type   String,
    amc           String,
    loaded_at     DateTime
) ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (code, version)
;
-- One row per scheme code: its current name, AMC, category, plan, option
-- and ISINs. Join it on scheme_code (LEFT JOIN … USING, or ANY LEFT JOIN on
-- 18.16, which keeps one match per key).
CREATE VIEW IF NOT EXISTS scheme_dim AS
SELECT
    code AS scheme_code,
    argMax(name, version)          AS name,
    argMax(amc, version)           AS amc,
    argMax(category, version)      AS category,
    argMax(plan, version)          AS plan,
    argMax(option, version)        AS option,
    argMax(isin_growth, version)   AS isin_growth,
    argMax(isin_reinvest, version) AS isin_reinvest,
    argMax(scheme_type, version)   AS scheme_type,
    max(version)                   AS current_version
FROM scheme_versions FINAL
GROUP BY code
