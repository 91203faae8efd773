-- folio-recon: the RTAs' side as loaded from their mailback feeds, the map
-- from the RTAs' scheme codes to ours, and the breaks between the RTAs'
-- books and our ledger (003), with their lifecycle.
--
-- The ledger side is read from ledger_transactions (units as of a date = the
-- signed sum of the allotments with nav_date on or before it), orders (an
-- RTA transaction whose order still waits for its NAV) and payments (the
-- three-way match order ↔ payment ↔ RTA transaction).

-- Which RTA services a scheme and under which code: the RTAs' scheme
-- masters, loaded by operations (`fundflow gen rta` registers the codes it
-- invents). A scheme has one current code; a merger is a new scheme.
CREATE TABLE rta_schemes (
    rta          text        NOT NULL CHECK (rta IN ('CAMS', 'KFINTECH')),
    product_code text        NOT NULL,
    scheme_code  text        NOT NULL UNIQUE,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rta, product_code)
);

-- Every feed file loaded (ingested_files has its bookkeeping; this is what
-- it is). as_of: for holdings the balance date; for transactions the report
-- date (the latest REP_DATE/CRDATE in it, else its latest trade date). The
-- reconciliation of date D reads the holdings rows dated D and the
-- transactions of the files reported on D.
CREATE TABLE rta_files (
    sha256    text        PRIMARY KEY,
    id        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE, -- what the rows refer to: 8 bytes, not 64
    name      text        NOT NULL,
    rta       text        NOT NULL,
    layout    text        NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('holdings', 'transactions')),
    as_of     date        NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rta_files_as_of ON rta_files (kind, as_of, rta);

-- The RTAs' holdings rows, as written (units exact; NAV and value
-- unconstrained numerics: never rounded on the way in), keyed by their file
-- and line: the lineage of every RTA number a break shows.
CREATE TABLE rta_holding_rows (
    file_id      bigint        NOT NULL,  -- rta_files.id
    line         integer       NOT NULL,
    rta          text          NOT NULL,
    as_of        date          NOT NULL,
    folio        text          NOT NULL,
    product_code text          NOT NULL,
    isin         text          NOT NULL DEFAULT '',
    units        numeric(24,9) NOT NULL,
    nav          numeric,
    value        numeric,
    PRIMARY KEY (file_id, line)
);
CREATE INDEX rta_holding_rows_as_of ON rta_holding_rows (as_of, rta);

-- The RTAs' transaction rows. units are signed (+ issue, − redemption);
-- amount is the gross amount, positive.
CREATE TABLE rta_txn_rows (
    file_id      bigint        NOT NULL,  -- rta_files.id
    line         integer       NOT NULL,
    rta          text          NOT NULL,
    folio        text          NOT NULL,
    product_code text          NOT NULL,
    isin         text          NOT NULL DEFAULT '',
    txn_no       text          NOT NULL,
    user_ref     text          NOT NULL DEFAULT '',
    type_code    text          NOT NULL,
    kind         text          NOT NULL,  -- fund.TxKind code: purchase, sip, switch_in, idcw_reinvest, redemption, switch_out
    trade_date   date          NOT NULL,
    nav_date     date          NOT NULL,
    post_date    date,
    reported     date,
    nav          numeric,
    units        numeric(24,9) NOT NULL,
    amount       numeric(18,2) NOT NULL,
    stamp_duty   numeric(18,2) NOT NULL DEFAULT 0,
    status       text          NOT NULL DEFAULT '',
    PRIMARY KEY (file_id, line)
);

-- One row per reconciled date: what was compared and what came out. A date
-- is reconciled again (after a corrected feed) by running it again; a date
-- before the latest reconciled one is refused (it would turn break ages
-- back).
CREATE TABLE recon_runs (
    id                  bigserial   PRIMARY KEY,
    recon_date          date        NOT NULL,
    window_from         date,                    -- transactions compared from this NAV date (NULL: all history)
    holdings_rtas       text[]      NOT NULL,    -- RTAs whose holdings were compared
    transactions_rtas   text[]      NOT NULL,    -- RTAs whose transactions were compared
    rta_holdings        bigint      NOT NULL DEFAULT 0,
    ledger_holdings     bigint      NOT NULL DEFAULT 0,
    rta_transactions    bigint      NOT NULL DEFAULT 0,
    ledger_transactions bigint      NOT NULL DEFAULT 0,
    breaks              bigint      NOT NULL DEFAULT 0, -- open or explained after this run
    new_breaks          bigint      NOT NULL DEFAULT 0,
    resolved            bigint      NOT NULL DEFAULT 0,
    unmapped_schemes    text[]      NOT NULL DEFAULT '{}', -- ledger schemes with no RTA code: not reconciled
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz
);
CREATE INDEX recon_runs_date ON recon_runs (recon_date, id);

-- Every break found. break_key is the break's identity across days
-- ("h|units_mismatch|CAMS|<folio>|<scheme>", "t|missing_at_rta|CAMS|<order>"):
-- a break seen again keeps its row and its first_seen; one not seen by a
-- run that covered its RTA and scope is resolved (resolved_on = that run's
-- date); if it comes back it is reopened with a new first_seen.
-- status: open; explained (a timing cause that clears itself — pending NAV,
-- after the cut-off — or explained by a person: explained_by); resolved.
CREATE TABLE recon_breaks (
    id                bigserial     PRIMARY KEY,
    break_key         text          NOT NULL UNIQUE,
    scope             text          NOT NULL CHECK (scope IN ('holding', 'transaction')),
    type              text          NOT NULL CHECK (type IN ('missing_in_ledger', 'missing_at_rta', 'units_mismatch',
                                                         'amount_mismatch', 'nav_date_mismatch', 'duplicate')),
    rta               text          NOT NULL,
    folio             text          NOT NULL,
    scheme_code       text          NOT NULL DEFAULT '',
    product_code      text          NOT NULL DEFAULT '',
    order_id          text          NOT NULL DEFAULT '',
    rta_txn_no        text          NOT NULL DEFAULT '',
    ledger_tx_id      bigint,
    rta_units         numeric(24,9),
    ledger_units      numeric(24,9),
    units_diff        numeric(24,9),             -- RTA − ledger
    rta_amount        numeric(18,2),
    ledger_amount     numeric(18,2),
    payment_amount    numeric(18,2),
    rta_stamp_duty    numeric(18,2),
    ledger_stamp_duty numeric(18,2),
    rta_nav_date      date,
    ledger_nav_date   date,
    rta_file          text          NOT NULL DEFAULT '',
    rta_file_sha256   text          NOT NULL DEFAULT '',
    rta_line          integer,
    cause             text          NOT NULL DEFAULT '',
    detail            text          NOT NULL DEFAULT '',
    status            text          NOT NULL CHECK (status IN ('open', 'explained', 'resolved')),
    explained_by      text          NOT NULL DEFAULT '',
    first_seen        date          NOT NULL,
    last_seen         date          NOT NULL,
    resolved_on       date,
    last_run          bigint        NOT NULL REFERENCES recon_runs (id), -- the last run that saw it
    resolved_run      bigint        REFERENCES recon_runs (id),          -- the run that resolved it
    updated_at        timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX recon_breaks_run ON recon_breaks (last_run);
CREATE INDEX recon_breaks_resolved_run ON recon_breaks (resolved_run) WHERE resolved_run IS NOT NULL;
CREATE INDEX recon_breaks_status ON recon_breaks (status, type) WHERE status <> 'resolved';
CREATE INDEX recon_breaks_folio ON recon_breaks (folio);
