-- Scheme master (effective-dated) and NAVs with their lineage.

-- The current version of each scheme.
CREATE TABLE schemes (
    code          text PRIMARY KEY,
    name          text    NOT NULL,
    isin_growth   text    NOT NULL DEFAULT '',
    isin_reinvest text    NOT NULL DEFAULT '',
    plan          text    NOT NULL DEFAULT '',
    option        text    NOT NULL DEFAULT '',
    category      text    NOT NULL DEFAULT '',
    scheme_type   text    NOT NULL DEFAULT '',
    amc           text    NOT NULL DEFAULT '',
    version       integer NOT NULL,
    valid_from    date    NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schemes_amc ON schemes (amc);

-- Every version a scheme has had: a rename, a plan/option split or an ISIN
-- change adds a row; nothing is overwritten.
CREATE TABLE scheme_versions (
    code          text    NOT NULL,
    version       integer NOT NULL,
    valid_from    date    NOT NULL,
    valid_to      date,            -- NULL while current
    name          text    NOT NULL,
    isin_growth   text    NOT NULL,
    isin_reinvest text    NOT NULL,
    plan          text    NOT NULL,
    option        text    NOT NULL,
    category      text    NOT NULL,
    scheme_type   text    NOT NULL,
    amc           text    NOT NULL,
    source_sha256 text    NOT NULL,
    source_line   integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, version)
);

-- Every NAV ever loaded, with the file and line it came from. Allocation
-- reads NAVs of past dates from here inside its ledger transaction.
CREATE TABLE navs (
    scheme_code   text          NOT NULL,
    nav_date      date          NOT NULL,
    nav           numeric(18,8) NOT NULL CHECK (nav > 0),
    repurchase    numeric(18,8),
    sale          numeric(18,8),
    source_file   text          NOT NULL,
    source_sha256 text          NOT NULL,
    source_line   integer       NOT NULL,
    loaded_at     timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme_code, nav_date)
);

-- The newest NAV per scheme. Moves forward only.
CREATE TABLE nav_latest (
    scheme_code   text PRIMARY KEY,
    nav_date      date          NOT NULL,
    nav           numeric(18,8) NOT NULL CHECK (nav > 0),
    source_file   text          NOT NULL,
    source_sha256 text          NOT NULL,
    source_line   integer       NOT NULL,
    updated_at    timestamptz   NOT NULL DEFAULT now()
);
