-- Bank account verification by penny drop (issue 23): RazorpayX fund account validation. Payouts (redemptions,
-- IDCW, refunds) go only to a verified account; an investor whose default
-- account is not verified has the ledger restriction of source bank, which
-- holds their redemptions with the reason.

-- Each account's verification: unverified until a penny drop is asked,
-- pending while it runs, verified (the bank says the account is valid and
-- the name matches at least the configured score) or failed. A changed
-- holder name makes it unverified again (investors/pgstore).
ALTER TABLE investor_bank_accounts
    ADD COLUMN verification     text        NOT NULL DEFAULT 'unverified'
        CHECK (verification IN ('unverified', 'pending', 'verified', 'failed')),
    ADD COLUMN name_match_score smallint    CHECK (name_match_score BETWEEN 0 AND 100),
    ADD COLUMN verify_reason    text        NOT NULL DEFAULT '',
    ADD COLUMN verified_at      timestamptz;

-- Every penny drop asked for, by our reference id (sent as reference_id and
-- carried back by the webhook, so an answer lost in a crash still lands).
-- The registered name the bank returns is PII: sealed.
CREATE TABLE bank_validations (
    reference_id        text        PRIMARY KEY,
    investor_id         text        NOT NULL REFERENCES investors (id),
    account_fp          text        NOT NULL,
    gateway_id          text        NOT NULL DEFAULT '', -- fav_…
    status              text        NOT NULL CHECK (status IN ('requested', 'created', 'completed', 'failed')),
    account_status      text        NOT NULL DEFAULT '', -- valid, invalid (active on the older entity)
    registered_name_enc bytea,
    name_match_score    smallint    CHECK (name_match_score BETWEEN 0 AND 100),
    utr                 text        NOT NULL DEFAULT '',
    reason              text        NOT NULL DEFAULT '', -- status_details.reason
    event_id            text        NOT NULL DEFAULT '', -- X-Razorpay-Event-Id of the outcome
    requested_at        timestamptz NOT NULL,
    completed_at        timestamptz,
    FOREIGN KEY (investor_id, account_fp) REFERENCES investor_bank_accounts (investor_id, account_fp)
);
CREATE INDEX bank_validations_account ON bank_validations (investor_id, account_fp, requested_at);

-- Bank verification restricts too (source bank: redemptions, whose money
-- is paid out).
ALTER TABLE investor_restrictions DROP CONSTRAINT investor_restrictions_source_check;
ALTER TABLE investor_restrictions ADD CONSTRAINT investor_restrictions_source_check
    CHECK (source IN ('fraud', 'aml', 'kyc', 'bank'));
