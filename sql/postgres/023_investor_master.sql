-- The investor master (issue 23): what the platform's onboarding service
-- declares about an investor (POST/PATCH /v1/investors), effective-dated.
-- investors (003) stays the current row the rest of the platform reads
-- (name, email, phone, address, tax_country, pan_enc, bank_account_enc =
-- the default account); these tables add the record's history and the
-- facts reports and the KYC gate read without opening any PII.

-- Every version of the record, in order: the whole validated document as
-- JSON sealed for (investor, 'record') (it holds the PAN, date of birth,
-- accounts, nominees), the fields the change touched, its channel and the
-- time it takes effect. change_seq is investors.changed's change_seq.
CREATE TABLE investor_versions (
    investor_id    text        NOT NULL REFERENCES investors (id),
    change_seq     integer     NOT NULL CHECK (change_seq > 0),
    effective_from timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    channel        text        NOT NULL CHECK (channel IN ('api', 'kafka', 'kra_feed')),
    fields         text[]      NOT NULL,
    record_enc     bytea       NOT NULL,
    record_sha256  text        NOT NULL, -- of the record's canonical JSON: a resent identical record is recognised
    changed_by     text        NOT NULL,
    PRIMARY KEY (investor_id, change_seq)
);

-- The current record's facts in the clear that are not PII: the tax
-- status, fingerprints to match feeds on (a KRA file names investors by
-- PAN), the date a minor attains majority, whether a nomination or an
-- opt-out and a FATCA declaration are on file. One row per onboarded
-- investor; an investor created by an order alone has none.
CREATE TABLE investor_profiles (
    investor_id           text        PRIMARY KEY REFERENCES investors (id),
    change_seq            integer     NOT NULL,
    tax_status            text        NOT NULL CHECK (tax_status IN ('resident_individual', 'nri', 'huf', 'minor', 'non_individual')),
    pan_fp                text        NOT NULL DEFAULT '', -- pii Fingerprint of the PAN ('' : a minor without one)
    guardian_pan_fp       text        NOT NULL DEFAULT '',
    majority_on           date,                            -- minors: the 18th birthday
    majority_flagged_at   timestamptz,                     -- a minor of age: transactions stopped until the record is the investor's own
    nomination            text        NOT NULL CHECK (nomination IN ('nominated', 'opted_out', 'not_applicable')),
    nominee_count         smallint    NOT NULL,
    fatca_declared        boolean     NOT NULL,
    foreign_tax_residency boolean     NOT NULL,
    effective_from        timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
-- One PAN, one investor: a second onboarding with a PAN on file is refused.
CREATE UNIQUE INDEX investor_profiles_pan_fp ON investor_profiles (pan_fp) WHERE pan_fp <> '';
CREATE INDEX investor_profiles_guardian_pan_fp ON investor_profiles (guardian_pan_fp) WHERE guardian_pan_fp <> '';
CREATE INDEX investor_profiles_majority_on ON investor_profiles (majority_on) WHERE majority_on IS NOT NULL;

-- The investor's bank accounts, current and removed (a payout may still
-- name a removed one). The account number is sealed; the fingerprint
-- (pii Fingerprint of "IFSC:ACCOUNT") identifies it.
CREATE TABLE investor_bank_accounts (
    investor_id  text        NOT NULL REFERENCES investors (id),
    account_fp   text        NOT NULL,
    ifsc         text        NOT NULL,
    account_enc  bytea       NOT NULL,
    account_mask text        NOT NULL,
    holder_name  text        NOT NULL,
    account_type text        NOT NULL CHECK (account_type IN ('savings', 'current', 'nre', 'nro')),
    is_default   boolean     NOT NULL,
    added_at     timestamptz NOT NULL,
    removed_at   timestamptz,
    PRIMARY KEY (investor_id, account_fp)
);
CREATE UNIQUE INDEX investor_bank_accounts_one_default ON investor_bank_accounts (investor_id) WHERE is_default AND removed_at IS NULL;
CREATE INDEX investor_bank_accounts_fp ON investor_bank_accounts (account_fp);
