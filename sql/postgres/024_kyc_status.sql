-- KYC status from the KRAs (issue 23; pre-assigned 032 at the merge): the
-- latest status each onboarded investor's PAN has at the KRAs, and whether
-- the PAN is inoperative (not linked to Aadhaar). The KYC gate
-- (investors/kyc.go) turns them into the ledger's investor_restrictions
-- (source kyc). A status older than the one on file is not applied: the
-- last good status stays.
CREATE TABLE kyc_status (
    investor_id     text        PRIMARY KEY REFERENCES investors (id),
    pan_fp          text        NOT NULL,        -- the PAN the status is for (a minor's: the guardian's)
    status          text        NOT NULL DEFAULT '' CHECK (status IN ('', 'validated', 'registered', 'registered_incomplete',
                                    'under_process', 'on_hold', 'rejected', 'deactivated', 'not_available')),
    kra             text        NOT NULL DEFAULT '',
    kra_code        text        NOT NULL DEFAULT '',
    status_at       timestamptz,                 -- the KRA's APP_STATUSDT
    remarks         text        NOT NULL DEFAULT '',
    pan_inoperative boolean     NOT NULL DEFAULT false,
    aadhaar_at      timestamptz,                 -- the PAN-Aadhaar feed's date
    source_file     text        NOT NULL DEFAULT '',
    source_sha256   text        NOT NULL DEFAULT '',
    source_line     integer     NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX kyc_status_status ON kyc_status (status);

-- A feed row whose PAN is no onboarded investor's: kept (never dropped),
-- the PAN sealed, so it applies when the investor is onboarded.
CREATE TABLE kyc_unmatched (
    pan_fp        text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('kyc_status', 'pan_aadhaar')),
    pan_enc       bytea       NOT NULL,          -- sealed for (pan_fp, 'pan')
    status        text        NOT NULL DEFAULT '',
    kra_code      text        NOT NULL DEFAULT '',
    inoperative   boolean     NOT NULL DEFAULT false,
    status_at     timestamptz,
    source_file   text        NOT NULL,
    source_line   integer     NOT NULL,
    seen_at       timestamptz NOT NULL,
    PRIMARY KEY (pan_fp, kind)
);
